//! Log-linear duration histogram: the bucketing used on the hot path and the snapshot read off it.
//!
//! Values below 64 ns get a bucket each; above that every power of two is split into 32 equal
//! buckets, so a bucket is never wider than 1/32 of its lower bound and the midpoint of a bucket is
//! within 1/64 (1.6 %) of any value in it. Values of 2^42 ns (73 minutes) and more share the last
//! bucket; the exact maximum is kept beside the histogram, and quantiles never exceed it.

use serde::{Serialize, Serializer, ser::SerializeSeq};
use std::time::Duration;

/// log2 of the number of buckets each power of two is split into.
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Values at or above `1 << MAX_BITS` nanoseconds share the last bucket.
const MAX_BITS: u32 = 42;
/// Number of buckets: 2·32 exact ones below 64, then 32 per power of two from 2^6 to 2^41.
pub(crate) const BUCKETS: usize = ((MAX_BITS - SUB_BITS) as usize + 1) << SUB_BITS;

/// The bucket of a value in nanoseconds. Branch-free but for the clamp.
#[inline(always)]
pub(crate) fn bucket_of(nanos: u64) -> usize {
    let v = nanos.min((1 << MAX_BITS) - 1);
    // `| SUB` makes small values take the shift-0 path, where the bucket is the value itself.
    let msb = 63 - (v | SUB).leading_zeros();
    let shift = msb - SUB_BITS;
    ((shift as usize) << SUB_BITS) + (v >> shift) as usize
}

/// Lowest value of a bucket, and its width.
pub(crate) fn bucket_bounds(index: usize) -> (u64, u64) {
    let shift = (index >> SUB_BITS).saturating_sub(1) as u32;
    let mantissa = (index as u64) - ((shift as u64) << SUB_BITS);
    (mantissa << shift, 1 << shift)
}

/// A copy of a duration histogram: counts per bucket, sum and exact maximum, in nanoseconds.
///
/// # Examples
///
/// ```
/// use monitor_core::Histogram;
/// use std::time::Duration;
///
/// let mut h = Histogram::default();
/// for ms in 1..=100 {
///     h.record(Duration::from_millis(ms));
/// }
/// let p50 = h.quantile(0.5).as_secs_f64();
/// assert!((p50 - 0.050).abs() / 0.050 < 0.02);
/// assert_eq!(h.max(), Duration::from_millis(100));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    count: u64,
    sum_nanos: u128,
    max_nanos: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: Box::new([0; BUCKETS]),
            count: 0,
            sum_nanos: 0,
            max_nanos: 0,
        }
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count)
            .field("sum", &self.sum())
            .field("max", &self.max())
            .field("p50", &self.quantile(0.5))
            .field("p99", &self.quantile(0.99))
            .finish()
    }
}

impl Histogram {
    /// Adds one value.
    pub fn record(&mut self, value: Duration) {
        let nanos = u64::try_from(value.as_nanos()).unwrap_or(u64::MAX);
        self.add_raw(bucket_of(nanos), 1);
        self.sum_nanos += u128::from(nanos);
        self.max_nanos = self.max_nanos.max(nanos);
    }

    pub(crate) fn add_raw(&mut self, bucket: usize, n: u64) {
        self.counts[bucket] += n;
        self.count += n;
    }

    pub(crate) fn add_sum_max(&mut self, sum_nanos: u64, max_nanos: u64) {
        self.sum_nanos += u128::from(sum_nanos);
        self.max_nanos = self.max_nanos.max(max_nanos);
    }

    /// Adds every value of `other` to this one.
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine += theirs;
        }
        self.count += other.count;
        self.sum_nanos += other.sum_nanos;
        self.max_nanos = self.max_nanos.max(other.max_nanos);
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Sum of the values recorded.
    pub fn sum(&self) -> Duration {
        duration_from_nanos(self.sum_nanos)
    }

    /// The largest value recorded, exact.
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max_nanos)
    }

    /// Arithmetic mean, or zero when empty.
    pub fn mean(&self) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        duration_from_nanos(self.sum_nanos / u128::from(self.count))
    }

    /// The value below which a fraction `q` of the values lie (`q` is clamped to `0.0..=1.0`).
    ///
    /// The result is the midpoint of the bucket that holds the value of rank `⌈q·n⌉`, so it is within
    /// 1.6 % of the exact sample quantile of that rank; it never exceeds [`max`](Self::max). An empty
    /// histogram answers zero.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        // Rank of the wanted value, 1-based: the smallest k with k >= q·n.
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (index, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (low, width) = bucket_bounds(index);
                let mid = low + (width - 1) / 2;
                return Duration::from_nanos(mid.min(self.max_nanos));
            }
        }
        self.max()
    }

    /// Buckets that hold at least one value: `(upper bound inclusive, count)`, ascending. This is
    /// what exporters turn into cumulative `le` buckets.
    pub fn buckets(&self) -> impl Iterator<Item = (Duration, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(index, &n)| {
                let (low, width) = bucket_bounds(index);
                (Duration::from_nanos(low + width - 1), n)
            })
    }
}

fn duration_from_nanos(nanos: u128) -> Duration {
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    Duration::new(secs, (nanos % 1_000_000_000) as u32)
}

/// Serialised as its summary and the non-empty buckets, `[[upper_ns, count], …]`.
impl Serialize for Histogram {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Buckets<'a>(&'a Histogram);
        impl Serialize for Buckets<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(None)?;
                for (upper, n) in self.0.buckets() {
                    seq.serialize_element(&(upper.as_nanos() as u64, n))?;
                }
                seq.end()
            }
        }
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Histogram", 4)?;
        s.serialize_field("count", &self.count)?;
        s.serialize_field("sum_ns", &(self.sum_nanos.min(u128::from(u64::MAX)) as u64))?;
        s.serialize_field("max_ns", &self.max_nanos)?;
        s.serialize_field("buckets", &Buckets(self))?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_once_and_in_order() {
        let mut previous_upper = None;
        for index in 0..BUCKETS {
            let (low, width) = bucket_bounds(index);
            if let Some(upper) = previous_upper {
                assert_eq!(low, upper + 1, "gap or overlap before bucket {index}");
            }
            assert_eq!(bucket_of(low), index);
            assert_eq!(bucket_of(low + width - 1), index);
            previous_upper = Some(low + width - 1);
        }
        assert_eq!(previous_upper, Some((1 << MAX_BITS) - 1));
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn bucket_width_stays_within_a_thirty_second_of_its_value() {
        for index in 64..BUCKETS {
            let (low, width) = bucket_bounds(index);
            assert!(width * SUB <= low, "bucket {index}: {low} +{width}");
        }
    }

    #[test]
    fn empty_histogram_answers_zero() {
        let h = Histogram::default();
        assert_eq!(h.quantile(0.99), Duration::ZERO);
        assert_eq!(h.mean(), Duration::ZERO);
        assert_eq!(h.quantile(f64::NAN), Duration::ZERO);
    }
}
