//! `/api/events`: the newest raw events that pass the filters.

use super::common::{Site, outcome};
use serde::Serialize;
use std::time::UNIX_EPOCH;

/// The answer: the newest events that pass the filters, and how many passed before the limit.
#[derive(Serialize)]
pub(crate) struct Events<'a> {
    pub(crate) events: Vec<Event<'a>>,
    pub(crate) matched: usize,
    pub(crate) evicted: u64,
    pub(crate) capacity: usize,
}

/// One event as the API shows it: times as Unix seconds, the outcome spelt out.
#[derive(Serialize)]
pub(crate) struct Event<'a> {
    site: Site,
    at: f64,
    duration_secs: f64,
    reason: &'static str,
    outcome: &'static str,
    status: Option<u16>,
    request_bytes: u64,
    response_bytes: Option<u64>,
    error_type: Option<&'static str>,
    error_message: Option<&'a str>,
    /// The run the call was part of, with tracing on; `/api/runs/{trace_id}` has it if it was
    /// kept.
    trace_id: Option<String>,
}

impl<'a> Event<'a> {
    /// `event` as the API shows it, with the outcome `/api/query` would count it under.
    pub(crate) fn new(
        event: &'a monitor_core::events::Event,
        counted: monitor_core::figures::OutcomeFilter,
    ) -> Self {
        use monitor_core::events::EventReason as R;
        Event {
            site: event.site.into(),
            // Milliseconds are all a person reading a table needs, and they survive a JS number.
            at: event
                .at
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as f64
                / 1000.0,
            duration_secs: event.duration.as_secs_f64(),
            reason: match event.reason {
                R::Failed => "failed",
                R::Outlier => "outlier",
                R::Sampled => "sampled",
            },
            outcome: outcome(counted),
            status: event.status,
            request_bytes: event.request_bytes,
            response_bytes: event.response_bytes,
            error_type: event.error_type,
            error_message: event.error_message.as_deref(),
            trace_id: event.trace_id.map(|id| id.to_string()),
        }
    }
}
