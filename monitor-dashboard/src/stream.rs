//! `/api/stream`: one Server-Sent Event per collector tick, pushed as the tick happens.
//!
//! One subscription to the collector feeds a broadcast every stream listens on: an idle stream
//! waits on it and costs nothing (each polled its own subscription every 50 ms, and 500 idle
//! streams cost 5 % of a core). A client that reads slowly loses ticks (counted, and told in the
//! next message's `dropped`) and never holds up the collector or the other clients. Open streams
//! are capped ([`DashboardConfig::max_streams`](crate::DashboardConfig::max_streams)): beyond, a
//! JSON 503.

use crate::AppState;
use crate::params::{only, params};
use crate::problem::error;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use monitor_core::history::Tick;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};

/// Ticks a client may fall behind by before its ticks are dropped.
pub const STREAM_BUFFER: usize = 16;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/stream", get(stream))
}

/// The broadcast of the collector's ticks, fed from one subscription by a thread of its own: the
/// subscription's receiver blocks, and a thread waiting on it holds no runtime worker.
fn ticks() -> &'static broadcast::Sender<Arc<Tick>> {
    static HUB: OnceLock<broadcast::Sender<Arc<Tick>>> = OnceLock::new();
    HUB.get_or_init(|| {
        let (sender, _) = broadcast::channel(STREAM_BUFFER);
        let subscription = monitor_core::history::subscribe(STREAM_BUFFER);
        let feed = sender.clone();
        let spawned = std::thread::Builder::new()
            .name("monitor-stream".into())
            .spawn(move || {
                while let Some(tick) = subscription.recv() {
                    // No listener now is no error: the next one gets the next tick.
                    let _ = feed.send(tick);
                }
            });
        if let Err(e) = spawned {
            eprintln!("monitor: no thread for /api/stream ({e}); streams will stay silent");
        }
        sender
    })
}

async fn stream(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    if let Err(e) = params(raw.as_deref()).and_then(|p| only(&p, &[])) {
        return e.into_response();
    }
    let Ok(permit) = Arc::clone(&state.streams).try_acquire_owned() else {
        return too_many(state.config.stream_cap());
    };
    let receiver = ticks().subscribe();
    let events = futures_util::stream::unfold(
        (receiver, 0u64, permit),
        |(mut receiver, mut dropped, permit)| async move {
            loop {
                match receiver.recv().await {
                    Ok(tick) => {
                        let event = tick_event(&tick, dropped);
                        return Some((
                            Ok::<_, std::convert::Infallible>(event),
                            (receiver, dropped, permit),
                        ));
                    }
                    Err(RecvError::Lagged(n)) => dropped = dropped.saturating_add(n),
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

fn too_many(cap: usize) -> Response {
    let mut response = error(
        http::StatusCode::SERVICE_UNAVAILABLE,
        "too_many_streams",
        format!("{cap} streams are open, the most this dashboard serves; retry later"),
    );
    response.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("5"),
    );
    response
}

fn tick_event(tick: &Tick, dropped: u64) -> Event {
    let data = serde_json::to_string(&crate::wire::tick::Tick::new(tick, dropped))
        .unwrap_or_else(|_| "{}".to_owned());
    Event::default().event("tick").data(data)
}
