//! `/api/stream`: one Server-Sent Event per collector tick.
//!
//! Each client gets its own bounded [`Subscription`]: a client that reads slowly loses ticks
//! (counted, and told in the next message's `dropped`) and never holds up the collector.

use crate::AppState;
use crate::api::{ApiError, only, params};
use axum::Router;
use axum::extract::RawQuery;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use monitor_core::Subscription;
use std::convert::Infallible;
use std::time::Duration;

/// Ticks a client may fall behind by before its ticks are dropped.
pub const STREAM_BUFFER: usize = 16;

/// How often a stream looks for a new tick: the subscription is a blocking channel, and polling it
/// from the runtime keeps a client from holding a thread.
const POLL_EVERY: Duration = Duration::from_millis(50);

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/stream", get(stream))
}

async fn stream(
    RawQuery(raw): RawQuery,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    only(&params(raw.as_deref())?, &[])?;
    monitor_core::ensure_collector();
    let subscription = monitor_core::subscribe(STREAM_BUFFER);
    let ticks = futures_util::stream::unfold(
        (subscription, tokio::time::interval(POLL_EVERY)),
        |(subscription, mut interval): (Subscription, tokio::time::Interval)| async move {
            loop {
                if let Some(tick) = subscription.try_recv() {
                    let event = tick_event(&tick, subscription.dropped());
                    return Some((Ok(event), (subscription, interval)));
                }
                interval.tick().await;
            }
        },
    );
    Ok(Sse::new(ticks).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn tick_event(tick: &monitor_core::Tick, dropped: u64) -> Event {
    let mut data = serde_json::to_value(tick).unwrap_or_default();
    if let Some(object) = data.as_object_mut() {
        object.insert("dropped".into(), dropped.into());
    }
    Event::default().event("tick").data(data.to_string())
}
