//! Raw per-call events, kept for the calls worth looking at one by one: a sample of all calls (at a
//! configurable rate), every failed call, and outliers (calls much slower than their site's p99).
//! The aggregates count every call regardless; these are examples, in a bounded buffer.

use super::outcome::Outcome;
use super::site::Site;
use super::switch;
use parking_lot::Mutex;
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime};

/// Events kept; older ones make way for newer ones.
pub const EVENT_CAPACITY: usize = 10_000;

/// Why an event was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventReason {
    /// The call failed.
    Failed,
    /// The call took longer than its site's outlier threshold.
    Outlier,
    /// The call was drawn by sampling.
    Sampled,
}

/// One call, kept whole.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// The site.
    pub site: &'static Site,
    /// When the call ended.
    pub at: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// Why it was kept.
    pub reason: EventReason,
    /// HTTP status, when the return value carried one.
    pub status: Option<u16>,
    /// Request payload bytes, when the arguments told.
    pub request_bytes: u64,
    /// Response payload bytes, when the return value told.
    pub response_bytes: Option<u64>,
    /// The error's type, for a failed call.
    pub error_type: Option<&'static str>,
    /// The error's message, redacted, for a failed call.
    pub error_message: Option<String>,
    /// The trace of the run the call was part of, when runs are traced: the run a failed or
    /// slow call's root makes is kept by the same rules, so this opens it
    /// ([`trace::find_run`](crate::trace::find_run)); a call inside a run that ended well (a
    /// failed attempt that was retried) names a run that may not have been kept.
    pub trace_id: Option<super::traceparent::TraceId>,
}

struct Buffer {
    events: VecDeque<Event>,
    evicted: u64,
}

// Record path: a failed or slow call is kept here as it is recorded, from generated code.
static BUFFER: Mutex<Buffer> = Mutex::new(Buffer {
    events: VecDeque::new(),
    evicted: 0,
});
/// Keep one call in this many; 0 when sampling is off (then the hot path never looks here).
static SAMPLE_EVERY: AtomicU32 = AtomicU32::new(0);
/// Outlier threshold as a multiple of a site's p99, in thousandths.
static OUTLIER_FACTOR_MILLI: AtomicU64 = AtomicU64::new(2_000);

thread_local! {
    static COUNTDOWN: Cell<u32> = const { Cell::new(0) };
}

/// Keeps a fraction `rate` of all calls as events (0 to 1; 0, the default, turns sampling off).
///
/// # Examples
///
/// ```
/// monitor_core::events::set_sampling(0.01); // one call in a hundred
/// monitor_core::events::set_sampling(0.0);
/// ```
pub fn set_sampling(rate: f64) {
    let every = if rate.is_finite() && rate > 0.0 {
        (1.0 / rate.min(1.0)).round() as u32
    } else {
        0
    };
    SAMPLE_EVERY.store(every, Relaxed);
    switch::set_sampling(every != 0);
}

/// Calls slower than `factor` × their site's p99 are kept as outliers (default 2; at least 1).
pub fn set_outlier_factor(factor: f64) {
    let factor = if factor.is_finite() {
        factor.max(1.0)
    } else {
        2.0
    };
    OUTLIER_FACTOR_MILLI.store((factor * 1000.0) as u64, Relaxed);
}

pub(crate) fn outlier_factor() -> f64 {
    OUTLIER_FACTOR_MILLI.load(Relaxed) as f64 / 1000.0
}

/// Whether this call is the one in `SAMPLE_EVERY` to keep. Each thread counts down on its own.
#[inline]
pub(crate) fn sample_due() -> bool {
    let every = SAMPLE_EVERY.load(Relaxed);
    every != 0
        && COUNTDOWN.with(|c| {
            let left = c.get();
            if left <= 1 {
                c.set(every);
                true
            } else {
                c.set(left - 1);
                false
            }
        })
}

/// Keeps one call.
#[cold]
#[inline(never)]
pub(crate) fn keep(
    site: &'static Site,
    duration: Duration,
    reason: EventReason,
    outcome: &Outcome,
    request_bytes: u64,
) {
    let event = Event {
        site,
        at: SystemTime::now(),
        duration,
        reason,
        status: (outcome.status != 0).then_some(outcome.status),
        request_bytes,
        response_bytes: outcome.response_bytes,
        error_type: outcome.error_type,
        error_message: outcome
            .error_message
            .as_deref()
            .map(crate::errors::redact::redact_cached),
        trace_id: super::run::event_trace(),
    };
    let mut buffer = BUFFER.lock();
    if buffer.events.len() >= EVENT_CAPACITY {
        buffer.events.pop_front();
        buffer.evicted += 1;
    }
    buffer.events.push_back(event);
}

/// The events kept, oldest first, and how many older ones made way for them.
pub fn events() -> (Vec<Event>, u64) {
    let buffer = BUFFER.lock();
    (buffer.events.iter().cloned().collect(), buffer.evicted)
}
