//! monitor's duration histograms on an exponential schema: OpenTelemetry's exponential histograms
//! and Prometheus's native histograms share it — at scale `s`, 2^s buckets per power of two, the
//! bucket of index `i` holding the values in `(2^(i·2^-s), 2^((i+1)·2^-s)]` seconds.
//!
//! The schemas do not line up: monitor splits each power of two of its clock units into 32 equal
//! buckets (units are nanoseconds, or TSC ticks of a rate that is no power of two), the
//! exponential schema splits powers of two of seconds by ratio. So each of monitor's buckets is
//! placed whole in the exponential bucket that holds its midpoint — the value monitor's own
//! quantiles answer for it, within 1.6 % of every value in it. At [`SCALE`] (6: 64 buckets per
//! power of two, each 1.09 % wide, finer than monitor's 1.6–3.1 %) a value is counted in its own
//! exponential bucket or one of its next two; a quantile read off the result is within one
//! exponential bucket (1.09 %) of monitor's, and so within about 2.7 % of the exact one.

use monitor_core::figures::Histogram;

/// The scale monitor exports at: 64 buckets per power of two, finer than its own buckets, so that
/// the re-bucketing adds at most one exponential bucket (1.09 %) to monitor's own error.
pub const SCALE: i32 = 6;

/// A histogram on the exponential schema, positive buckets only (durations are not negative).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exponential {
    /// The scale: 2^scale buckets per power of two.
    pub scale: i32,
    /// Values of zero seconds.
    pub zero_count: u64,
    /// The index of `counts[0]`.
    pub offset: i32,
    /// Counts of consecutive buckets from `offset`.
    pub counts: Vec<u64>,
    /// Every value counted: `zero_count` plus the buckets'.
    pub count: u64,
    /// The sum of the values, in seconds.
    pub sum: f64,
}

/// The exponential bucket (OpenTelemetry's index) that holds `seconds` > 0 at `scale`: `i` with
/// `2^(i·2^-scale) < seconds ≤ 2^((i+1)·2^-scale)`.
pub fn index(seconds: f64, scale: i32) -> i32 {
    let scaled = seconds.log2() * 2f64.powi(scale);
    // The upper bound is inclusive: a value exactly on it belongs to the bucket below.
    (scaled.ceil() as i32) - 1
}

/// `h` on the exponential schema at `scale` (see the module's notes for the error).
///
/// # Examples
///
/// ```
/// use monitor_core::figures::Histogram;
/// use monitor_export::exponential::{SCALE, from_histogram};
/// use std::time::Duration;
///
/// let mut h = Histogram::default();
/// for ms in [1, 2, 4, 1000] {
///     h.record(Duration::from_millis(ms));
/// }
/// let e = from_histogram(&h, SCALE);
/// assert_eq!(e.count, 4);
/// assert_eq!(e.counts.iter().sum::<u64>(), 4);
/// ```
pub fn from_histogram(h: &Histogram, scale: i32) -> Exponential {
    let mut zero_count = 0;
    let mut placed: Vec<(i32, u64)> = Vec::new();
    for (midpoint, n) in h.midpoints() {
        let seconds = midpoint.as_secs_f64();
        if seconds <= 0.0 {
            zero_count += n;
            continue;
        }
        let i = index(seconds, scale);
        match placed.last_mut() {
            Some((last, count)) if *last == i => *count += n,
            _ => placed.push((i, n)),
        }
    }
    let (offset, counts) = match (placed.first(), placed.last()) {
        (Some(&(first, _)), Some(&(last, _))) => {
            let mut counts = vec![0u64; usize::try_from(last - first).unwrap_or(0) + 1];
            for (i, n) in placed {
                counts[usize::try_from(i - first).unwrap_or(0)] += n;
            }
            (first, counts)
        }
        _ => (0, Vec::new()),
    };
    Exponential {
        scale,
        zero_count,
        offset,
        counts,
        count: h.count(),
        sum: h.sum().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_value_lands_in_the_bucket_whose_bounds_hold_it() {
        for seconds in [1e-6, 0.000_123, 0.0042, 0.5, 1.0, 3.7, 60.0] {
            let i = index(seconds, SCALE);
            let base = 2f64.powf(2f64.powi(-SCALE));
            assert!(
                base.powi(i) < seconds && seconds <= base.powi(i + 1) * (1.0 + 1e-12),
                "{seconds}"
            );
        }
        // On a bound: the bucket below.
        assert_eq!(index(1.0, SCALE), -1);
        assert_eq!(index(2.0, 0), 0);
    }

    #[test]
    fn quantiles_read_off_the_buckets_stay_within_a_bucket_of_monitors() {
        let mut h = Histogram::default();
        for micros in (1..=10_000u64).map(|i| i * 37 % 90_001 + 100) {
            h.record(Duration::from_micros(micros));
        }
        let e = from_histogram(&h, SCALE);
        assert_eq!(e.counts.iter().sum::<u64>() + e.zero_count, h.count());
        let base = 2f64.powf(2f64.powi(-SCALE));
        for q in [0.5, 0.9, 0.99] {
            // The upper bound of the bucket holding the value of rank ⌈q·n⌉.
            let rank = (q * e.count as f64).ceil() as u64;
            let mut seen = 0;
            let at = e
                .counts
                .iter()
                .position(|n| {
                    seen += n;
                    seen >= rank
                })
                .unwrap();
            let upper = base.powi(e.offset + at as i32 + 1);
            let monitor = h.quantile(q).as_secs_f64();
            assert!(
                (upper / monitor - 1.0).abs() <= base - 1.0 + 1e-9,
                "q {q}: {upper} against {monitor}"
            );
        }
    }
}
