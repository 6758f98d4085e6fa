//! Log-linear duration histogram: the bucketing used on the hot path and the snapshot read off it.
//!
//! Values are counted in clock units: nanoseconds, or raw TSC ticks on the hot path, which then
//! needs no scaling; a snapshot carries the nanoseconds per unit and answers in time. Values below
//! 64 units get a bucket each; above that every power of two is split into 32 equal buckets, so a
//! bucket is never wider than 1/32 of its lower bound and the midpoint of a bucket is within 1/64
//! (1.6 %) of any value in it. Values of 2^44 units (4.9 hours in nanoseconds, about 2 hours in
//! ticks of a 2.5 GHz TSC) and more share the last bucket; the exact maximum is kept beside the
//! histogram, and quantiles never exceed it.

use crate::sorted::merge_keyed;
use std::time::Duration;

/// log2 of the number of buckets each power of two is split into.
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Values at or above `1 << MAX_BITS` units share the last bucket.
const MAX_BITS: u32 = 44;
/// Number of buckets: 2·32 exact ones below 64, then 32 per power of two from 2^6 to 2^43.
pub(crate) const BUCKETS: usize = ((MAX_BITS - SUB_BITS) as usize + 1) << SUB_BITS;

/// The bucket of a value, always below [`BUCKETS`]. Branch-free.
#[inline(always)]
pub(crate) fn bucket_of(units: u64) -> usize {
    // `| SUB` makes small values take the shift-0 path, where the bucket is the value itself.
    let msb = 63 - (units | SUB).leading_zeros();
    let shift = msb - SUB_BITS;
    let index = ((shift as usize) << SUB_BITS) + (units >> shift) as usize;
    // Values of 2^MAX_BITS and more land past the end: they share the last bucket. Clamping the
    // index rather than the value also shows the compiler that it is in bounds.
    index.min(BUCKETS - 1)
}

/// Lowest value of a bucket, and its width.
pub(crate) fn bucket_bounds(index: usize) -> (u64, u64) {
    let shift = (index >> SUB_BITS).saturating_sub(1) as u32;
    let mantissa = (index as u64) - ((shift as u64) << SUB_BITS);
    (mantissa << shift, 1 << shift)
}

/// A copy of a duration histogram: counts per bucket, sum and exact maximum.
///
/// Only the buckets that hold a value are stored, in bucket order, so a histogram of a site that
/// ran in a narrow band of durations — the usual case — is a few dozen pairs, not 1,280 counters;
/// merging, subtracting and quantiles walk those pairs.
///
/// # Examples
///
/// ```
/// use monitor_core::figures::Histogram;
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
#[derive(Clone, PartialEq)]
pub struct Histogram {
    /// Non-empty buckets, `(index, count)`, ascending by index.
    buckets: Vec<(u16, u64)>,
    count: u64,
    sum_units: u128,
    max_units: u64,
    /// Nanoseconds per unit counted: 1 for a histogram of nanoseconds.
    nanos_per_unit: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::in_units(1.0)
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
    /// An empty histogram counting units of `nanos_per_unit` nanoseconds.
    pub(crate) fn in_units(nanos_per_unit: f64) -> Histogram {
        let nanos_per_unit = if nanos_per_unit.is_finite() && nanos_per_unit > 0.0 {
            nanos_per_unit
        } else {
            1.0
        };
        Histogram {
            buckets: Vec::new(),
            count: 0,
            sum_units: 0,
            max_units: 0,
            nanos_per_unit,
        }
    }

    /// Adds one value.
    pub fn record(&mut self, value: Duration) {
        let units = self.to_units(value.as_nanos() as f64);
        self.add_raw(bucket_of(units), 1);
        self.add_sum_max(units, units);
    }

    fn to_units(&self, nanos: f64) -> u64 {
        // f64 → u64 `as` saturates.
        (nanos / self.nanos_per_unit).round() as u64
    }

    fn to_duration(&self, units: f64) -> Duration {
        Duration::from_nanos((units * self.nanos_per_unit).round() as u64)
    }

    /// Adds `n` values to a bucket. Cheapest in ascending bucket order (an append), which is how
    /// sites are read.
    pub(crate) fn add_raw(&mut self, bucket: usize, n: u64) {
        if n == 0 {
            return;
        }
        let bucket = bucket.min(BUCKETS - 1) as u16;
        if self.buckets.capacity() == 0 {
            // Sites' durations fall in a few bands: a few dozen buckets, usually.
            self.buckets.reserve(16);
        }
        match self.buckets.last_mut() {
            Some(last) if last.0 == bucket => last.1 += n,
            Some(last) if last.0 > bucket => {
                match self.buckets.binary_search_by_key(&bucket, |&(i, _)| i) {
                    Ok(at) => self.buckets[at].1 += n,
                    Err(at) => self.buckets.insert(at, (bucket, n)),
                }
            }
            _ => self.buckets.push((bucket, n)),
        }
        self.count += n;
    }

    pub(crate) fn add_sum_max(&mut self, sum_units: u64, max_units: u64) {
        self.sum_units += u128::from(sum_units);
        self.max_units = self.max_units.max(max_units);
    }

    /// Adds every value of `other` to this one. Histograms in different units (one read off a site,
    /// one filled by [`record`](Self::record)) are merged at the midpoints of `other`'s buckets.
    pub fn merge(&mut self, other: &Histogram) {
        if other.count == 0 && other.sum_units == 0 {
            return;
        }
        if self.nanos_per_unit == other.nanos_per_unit || self.count == 0 && self.sum_units == 0 {
            self.nanos_per_unit = other.nanos_per_unit;
            merge_keyed(&mut self.buckets, &other.buckets, |a, b| *a += b);
            self.count += other.count;
            self.sum_units += other.sum_units;
            self.max_units = self.max_units.max(other.max_units);
            return;
        }
        for &(index, n) in &other.buckets {
            let nanos = other.midpoint(usize::from(index)) as f64 * other.nanos_per_unit;
            self.add_raw(bucket_of(self.to_units(nanos)), n);
        }
        let ratio = other.nanos_per_unit / self.nanos_per_unit;
        self.sum_units += (other.sum_units as f64 * ratio).round() as u128;
        self.max_units = self
            .max_units
            .max((other.max_units as f64 * ratio).round() as u64);
    }

    /// What this histogram holds beyond `before`, an earlier reading of the same counters: bucket
    /// by bucket, the ones that grew. A bucket read lower than before (a reading racing a writer)
    /// adds nothing. The difference's exact maximum is not known: the top of its highest bucket
    /// stands in, at most 1/32 above it, and never above this histogram's maximum.
    pub(crate) fn since(&self, before: &Histogram) -> Histogram {
        let mut buckets = Vec::with_capacity(self.buckets.len());
        let mut theirs = before.buckets.iter().peekable();
        let mut count = 0;
        for &(index, n) in &self.buckets {
            while theirs.next_if(|(j, _)| *j < index).is_some() {}
            let earlier = theirs.next_if(|(j, _)| *j == index).map_or(0, |&(_, m)| m);
            if n > earlier {
                buckets.push((index, n - earlier));
                count += n - earlier;
            }
        }
        let max_units = buckets.last().map_or(0, |&(index, _)| {
            let (low, width) = bucket_bounds(usize::from(index));
            (low + width - 1).min(self.max_units)
        });
        Histogram {
            buckets,
            count,
            sum_units: self.sum_units.saturating_sub(before.sum_units),
            max_units,
            nanos_per_unit: self.nanos_per_unit,
        }
    }

    /// Bucket by bucket, the higher of the two counts, and the higher sum and maximum: of two
    /// readings of the same counters, a count that only ever grows. Returns whether this one held
    /// anything above `other`.
    pub(crate) fn max_with(&mut self, other: &Histogram) -> bool {
        if self.count == 0 && self.sum_units == 0 {
            self.nanos_per_unit = other.nanos_per_unit;
        }
        let rose = self.count > other.count
            || self.sum_units > other.sum_units
            || self.max_units > other.max_units;
        merge_keyed(&mut self.buckets, &other.buckets, |a, b| *a = (*a).max(*b));
        self.count = self.buckets.iter().map(|&(_, n)| n).sum();
        self.sum_units = self.sum_units.max(other.sum_units);
        self.max_units = self.max_units.max(other.max_units);
        // A reading with more calls has a higher count or a higher sum, whichever bucket they fell
        // in; one with as many has its buckets at most as high, so nothing rose.
        rose
    }

    /// This histogram less `parts` (histograms of some of its values, in the same units), bucket
    /// by bucket. Sums are not kept by part, so the result's sum is this one's less theirs.
    pub(crate) fn without(&self, parts: &[&Histogram]) -> Histogram {
        let mut rest = self.clone();
        for part in parts {
            rest = rest.since(part);
        }
        rest.max_units = rest.max_units.min(self.max_units);
        rest
    }

    #[cfg(test)]
    pub(crate) fn sum_units(&self) -> u128 {
        self.sum_units
    }

    #[cfg(feature = "persist")]
    /// What the histogram is made of, for a reader that stores it: the units, the non-empty
    /// buckets `(index, count)` in ascending order, the sum and the exact maximum, in units.
    pub(crate) fn parts(&self) -> (f64, &[(u16, u64)], u128, u64) {
        (
            self.nanos_per_unit,
            &self.buckets,
            self.sum_units,
            self.max_units,
        )
    }

    #[cfg(feature = "persist")]
    /// The histogram of [`parts`](Self::parts), or `None` when they could not have come from one:
    /// units that are not a positive number, buckets out of range, out of order, empty, or
    /// counting more than `u64::MAX` values.
    pub(crate) fn from_parts(
        nanos_per_unit: f64,
        buckets: Vec<(u16, u64)>,
        sum_units: u128,
        max_units: u64,
    ) -> Option<Histogram> {
        let ordered = buckets.windows(2).all(|w| w[0].0 < w[1].0);
        let in_range = buckets
            .iter()
            .all(|&(index, n)| usize::from(index) < BUCKETS && n > 0);
        if !(nanos_per_unit.is_finite() && nanos_per_unit > 0.0 && ordered && in_range) {
            return None;
        }
        let count = buckets
            .iter()
            .try_fold(0u64, |sum, &(_, n)| sum.checked_add(n))?;
        Some(Histogram {
            buckets,
            count,
            sum_units,
            max_units,
            nanos_per_unit,
        })
    }

    pub(crate) fn nanos_per_unit(&self) -> f64 {
        self.nanos_per_unit
    }

    /// The non-empty buckets as `(cumulative count, midpoint in seconds)`, ascending: what drawing
    /// values from the distribution needs.
    pub(crate) fn cdf(&self) -> Vec<(u64, f64)> {
        let mut seen = 0;
        self.buckets
            .iter()
            .map(|&(index, n)| {
                seen += n;
                (
                    seen,
                    self.to_duration(self.midpoint(usize::from(index)) as f64)
                        .as_secs_f64(),
                )
            })
            .collect()
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether no value was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Sum of the values recorded.
    pub fn sum(&self) -> Duration {
        let nanos = self.sum_units as f64 * self.nanos_per_unit;
        Duration::try_from_secs_f64(nanos / 1e9).unwrap_or(Duration::MAX)
    }

    /// The largest value recorded, exact.
    pub fn max(&self) -> Duration {
        self.to_duration(self.max_units as f64)
    }

    /// Arithmetic mean, or zero when empty.
    pub fn mean(&self) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        self.to_duration(self.sum_units as f64 / self.count as f64)
    }

    fn midpoint(&self, index: usize) -> u64 {
        let (low, width) = bucket_bounds(index);
        (low + (width - 1) / 2).min(self.max_units)
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
        for &(index, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return self.to_duration(self.midpoint(usize::from(index)) as f64);
            }
        }
        self.max()
    }

    /// The median: [`quantile(0.5)`](Self::quantile).
    pub fn p50(&self) -> Duration {
        self.quantile(0.5)
    }

    /// The 90th percentile: [`quantile(0.9)`](Self::quantile).
    pub fn p90(&self) -> Duration {
        self.quantile(0.9)
    }

    /// The 99th percentile: [`quantile(0.99)`](Self::quantile).
    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    /// Buckets that hold at least one value: `(upper bound, count)`, ascending. Every value counted
    /// in a bucket is below its upper bound and at or above the previous bucket's. This is what
    /// exporters turn into cumulative `le` buckets.
    pub fn buckets(&self) -> impl Iterator<Item = (Duration, u64)> + '_ {
        self.buckets.iter().map(|&(index, n)| {
            let (low, width) = bucket_bounds(usize::from(index));
            (self.to_duration((low + width) as f64), n)
        })
    }

    /// Buckets that hold at least one value: `(midpoint, count)`, ascending. The midpoint is what
    /// [`quantile`](Self::quantile) answers for a value in the bucket (never above
    /// [`max`](Self::max)), within 1.6 % of every value in it: what an exporter re-buckets onto
    /// another schema (an exponential histogram's) from.
    ///
    /// # Examples
    ///
    /// ```
    /// use monitor_core::figures::Histogram;
    /// use std::time::Duration;
    ///
    /// let mut h = Histogram::default();
    /// h.record(Duration::from_micros(1_000));
    /// let (mid, n) = h.midpoints().next().unwrap();
    /// assert_eq!(n, 1);
    /// assert!((mid.as_secs_f64() - 0.001).abs() / 0.001 < 0.016);
    /// ```
    pub fn midpoints(&self) -> impl Iterator<Item = (Duration, u64)> + '_ {
        self.buckets.iter().map(|&(index, n)| {
            (
                self.to_duration(self.midpoint(usize::from(index)) as f64),
                n,
            )
        })
    }

    /// Memory the histogram holds, approximately, in bytes.
    pub(crate) fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Histogram>() + self.buckets.len() * std::mem::size_of::<(u16, u64)>()
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
    fn a_histogram_of_clock_ticks_answers_in_time() {
        // 0.4 ns per tick: a 2.5 GHz counter.
        let mut ticks = Histogram::in_units(0.4);
        let mut nanos = Histogram::default();
        for i in 1..=10_000u64 {
            let t = i * 250; // 100 ns .. 1 ms
            ticks.add_raw(bucket_of(t), 1);
            ticks.add_sum_max(t, t);
            nanos.record(Duration::from_nanos(t * 2 / 5));
        }
        for q in [0.1, 0.5, 0.9, 0.99] {
            let (a, b) = (
                ticks.quantile(q).as_nanos() as f64,
                nanos.quantile(q).as_nanos() as f64,
            );
            assert!((a - b).abs() / b < 0.02, "q={q}: {a} vs {b}");
        }
        assert_eq!(ticks.max(), Duration::from_micros(1000));
        assert!(ticks.sum().abs_diff(nanos.sum()) <= Duration::from_nanos(1));
        let mut merged = nanos.clone();
        merged.merge(&ticks);
        assert_eq!(merged.count(), 20_000);
        assert_eq!(merged.max(), Duration::from_micros(1000));
        assert!(
            (merged.quantile(0.5).as_nanos() as f64 / nanos.quantile(0.5).as_nanos() as f64 - 1.0)
                .abs()
                < 0.02
        );
    }

    #[test]
    fn empty_histogram_answers_zero() {
        let h = Histogram::default();
        assert_eq!(h.quantile(0.99), Duration::ZERO);
        assert_eq!(h.mean(), Duration::ZERO);
        assert_eq!(h.quantile(f64::NAN), Duration::ZERO);
    }
}
