//! The run-time on/off switch, read once per instrumented call.

use std::sync::atomic::{AtomicU8, Ordering};

/// The one byte an instrumented call reads before anything else: whether to record ([`ON`]) and
/// whether the clock may be read with an inlined `rdtsc` ([`TSC`], see `clock.rs`).
static MODE: AtomicU8 = AtomicU8::new(ON);
#[doc(hidden)]
pub const ON: u8 = 1;
pub(crate) const TSC: u8 = 2;
/// Sampling of raw events is on (see `events.rs`).
pub(crate) const SAMPLE: u8 = 4;
/// An HTTP layer serves requests: a handler's record may wait for the layer (see `request.rs`).
pub(crate) const REQUESTS: u8 = 8;
/// Runs are traced (see `run/`): each call looks for the run enclosing it.
pub(crate) const TRACES: u8 = 16;

/// The mode bits; 0 (off) without the `enabled` feature.
#[doc(hidden)]
#[inline(always)]
pub fn mode() -> u8 {
    if cfg!(feature = "enabled") {
        MODE.load(Ordering::Relaxed)
    } else {
        0
    }
}

/// Records whether calls are sampled.
pub(crate) fn set_sampling(on: bool) {
    if on {
        MODE.fetch_or(SAMPLE, Ordering::Relaxed);
    } else {
        MODE.fetch_and(!SAMPLE, Ordering::Relaxed);
    }
}

/// Records whether runs are traced.
pub(crate) fn set_traces(on: bool) {
    if on {
        MODE.fetch_or(TRACES, Ordering::Relaxed);
    } else {
        MODE.fetch_and(!TRACES, Ordering::Relaxed);
    }
}

/// Records that an HTTP layer is in use.
pub(crate) fn set_requests() {
    // Every request calls this: a write each time would take the byte's cache line from every
    // core that reads it on each instrumented call.
    if MODE.load(Ordering::Relaxed) & REQUESTS == 0 {
        MODE.fetch_or(REQUESTS, Ordering::Relaxed);
    }
}

/// Records that the clock is the TSC.
pub(crate) fn set_tsc() {
    MODE.fetch_or(TSC, Ordering::Relaxed);
}

/// Turns recording on or off at run time, for every site at once.
///
/// Calls already in flight finish as they started. While off, an instrumented function costs one
/// relaxed load and a branch more than the bare function. Without the `enabled` cargo feature this
/// does nothing: there is no instrumentation to switch.
///
/// # Examples
///
/// ```
/// monitor_core::set_enabled(false);
/// assert!(!monitor_core::is_enabled());
/// monitor_core::set_enabled(true);
/// ```
pub fn set_enabled(on: bool) {
    if on {
        MODE.fetch_or(ON, Ordering::Relaxed);
    } else {
        MODE.fetch_and(!ON, Ordering::Relaxed);
    }
}

/// Whether instrumented calls are recorded now. Always `false` without the `enabled` feature.
#[inline(always)]
pub fn is_enabled() -> bool {
    mode() & ON != 0
}
