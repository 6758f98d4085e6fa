//! The run-time on/off switch, read once per instrumented call.

use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(true);

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
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether instrumented calls are recorded now. Always `false` without the `enabled` feature.
#[inline(always)]
pub fn is_enabled() -> bool {
    cfg!(feature = "enabled") && ENABLED.load(Ordering::Relaxed)
}
