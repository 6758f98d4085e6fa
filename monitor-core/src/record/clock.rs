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

/// The wall-clock time of an earlier raw reading: now, less the time since. A run reads it only
/// when it is kept, so that starting one reads no wall clock (callgrind: a dropped run of three
/// spans 1,512 → 1,455 instructions; a kept one pays 98 more, once).
pub(crate) fn wall_time_of(units: u64) -> std::time::SystemTime {
    let since = to_duration(clock().raw().saturating_sub(units));
    let now = std::time::SystemTime::now();
    now.checked_sub(since).unwrap_or(now)
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
    std::time::Duration::from_nanos(nanos(units, scale()))
}

/// [`nanos_per_unit`] in fixed point, with 32 bits after the point: what [`nanos`] multiplies
/// by. Integers, not `f64`: a kept run converts each of its spans' times, and rounding an `f64`
/// and converting it to `u64` costs several times the multiply.
pub(crate) fn scale() -> u64 {
    static SCALE: OnceLock<u64> = OnceLock::new();
    *SCALE.get_or_init(|| (nanos_per_unit() * (1u64 << 32) as f64).round() as u64)
}

/// `units` of the clock in nanoseconds, to the nearest; `scale` is [`scale`].
#[inline]
pub(crate) fn nanos(units: u64, scale: u64) -> u64 {
    let n = (u128::from(units) * u128::from(scale) + (1 << 31)) >> 32;
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// `duration` in clock units, rounded down: a call of more units took longer.
pub(crate) fn units_of(duration: std::time::Duration) -> u64 {
    let units = duration.as_nanos() as f64 / nanos_per_unit();
    // f64 → u64 `as` saturates; a threshold of 0 units would count every call.
    (units.floor() as u64).max(1)
}
