//! The one clock every instrumented call reads.
//!
//! `quanta` picks the source: the TSC where it is invariant (two reads cost ~19 ns here, against
//! ~48 ns for two `std::time::Instant::now()`), the OS monotonic clock elsewhere, and it calibrates
//! the TSC against the OS clock. When it chose the TSC, calls read the counter with an inlined
//! `rdtsc` instead of calling into `quanta`; either way they keep the raw counter and scale only the
//! difference, so a call pays one scaling, not two.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
/// Set once `quanta`'s raw counter is known to be the TSC itself.
static TSC: AtomicBool = AtomicBool::new(false);

#[inline(always)]
fn clock() -> &'static quanta::Clock {
    CLOCK.get_or_init(|| {
        let clock = quanta::Clock::new();
        TSC.store(raw_is_tsc(&clock), Relaxed);
        clock
    })
}

/// Whether `quanta`'s raw reading is the TSC: it must fall between two `rdtsc` every time.
#[cfg(target_arch = "x86_64")]
fn raw_is_tsc(clock: &quanta::Clock) -> bool {
    (0..16).all(|_| {
        let before = rdtsc();
        let raw = clock.raw();
        let after = rdtsc();
        before <= raw && raw <= after
    })
}

#[cfg(not(target_arch = "x86_64"))]
fn raw_is_tsc(_: &quanta::Clock) -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` has no preconditions on x86_64; it only reads the time-stamp counter.
    #[allow(unused_unsafe)]
    unsafe {
        core::arch::x86_64::_rdtsc()
    }
}

/// The raw counter: only differences of two readings mean anything.
#[inline(always)]
pub(crate) fn now() -> u64 {
    #[cfg(target_arch = "x86_64")]
    if TSC.load(Relaxed) {
        return rdtsc();
    }
    clock().raw()
}

/// Nanoseconds from a raw reading to now; zero if the counter went backwards.
#[inline(always)]
pub(crate) fn since(start: u64) -> u64 {
    let end = now();
    clock().delta_as_nanos(start, end)
}
