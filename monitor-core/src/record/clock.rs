//! The one clock every instrumented call reads.
//!
//! `quanta` picks the source: the TSC where it is invariant (two reads cost ~19 ns here, against
//! ~48 ns for two `std::time::Instant::now()`), the OS monotonic clock elsewhere, and it calibrates
//! the TSC against the OS clock. When it chose the TSC, calls read the counter with an inlined
//! `rdtsc` instead of calling into `quanta`. Either way a call keeps the difference of two raw
//! readings, unscaled: sites count in counter units and scale to nanoseconds when read.

use super::switch::{self, TSC};
use std::sync::OnceLock;

static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();

#[inline(always)]
fn clock() -> &'static quanta::Clock {
    CLOCK.get_or_init(|| {
        let clock = quanta::Clock::new();
        if raw_is_tsc(&clock) {
            switch::set_tsc();
        }
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

/// The raw counter: only differences of two readings mean anything. `mode` is the
/// [`switch::mode`] read at the call's start, so that both readings of a call come from one source.
#[inline(always)]
pub(crate) fn now(mode: u8) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if mode & TSC != 0 {
        return rdtsc();
    }
    let _ = mode;
    clock().raw()
}

/// Units of the raw counter from a reading to now; zero if the counter went backwards. Sites count
/// durations in these units and scale only when read.
#[inline(always)]
pub(crate) fn since(start: u64, mode: u8) -> u64 {
    now(mode).saturating_sub(start)
}

/// Nanoseconds per unit of the raw counter: 1 for the OS clock, the calibrated TSC period else.
pub(crate) fn nanos_per_unit() -> f64 {
    const SPAN: u64 = 1 << 40;
    clock().delta_as_nanos(0, SPAN) as f64 / SPAN as f64
}

/// A duration measured in clock units.
pub(crate) fn to_duration(units: u64) -> std::time::Duration {
    std::time::Duration::from_nanos((units as f64 * nanos_per_unit()).round() as u64)
}

/// `duration` in clock units, rounded down: a call of more units took longer.
pub(crate) fn units_of(duration: std::time::Duration) -> u64 {
    let units = duration.as_nanos() as f64 / nanos_per_unit();
    // f64 → u64 `as` saturates; a threshold of 0 units would count every call.
    (units.floor() as u64).max(1)
}
