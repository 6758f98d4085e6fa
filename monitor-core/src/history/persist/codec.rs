//! A frame as bytes, and back: how the history file stores one period of one tier.
//!
//! Integers are LEB128 varints — most counters of a frame are 0 or small, so most take a byte —
//! and a frame names its sites by their id in the file's `sites` table, not by their position in
//! this binary, which a rebuild may change. The counters of [`Figures`] are written in the one
//! order `Figures` walks them in, after their number, so that a file written by a build with
//! another set of counters is told apart rather than misread.
//!
//! Decoding never trusts the bytes: every length is checked against what is left, every value
//! against what a frame can hold, and any mismatch is an error, never a panic.

use crate::figures::{COUNTERS, Figures, Histogram};
use crate::history::tiers::Frame;
use crate::interned::{Registry, intern};
use crate::usage::{MAX_MODELS, OTHER_MODELS};

/// Encodes `frame`, naming each site by `site_id(index)`.
pub(crate) fn encode(frame: &Frame, site_id: impl Fn(usize) -> i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 96 * (frame.sites.len() + frame.models.len()));
    put(&mut out, frame.sites.len() as u64);
    for (index, figures) in &frame.sites {
        put_signed(&mut out, site_id(*index));
        put_figures(&mut out, figures);
    }
    put(&mut out, frame.models.len() as u64);
    for ((index, model), figures) in &frame.models {
        put_signed(&mut out, site_id(*index));
        put_str(&mut out, model);
        put_figures(&mut out, figures);
    }
    put(&mut out, frame.caches.len() as u64);
    for (name, (hits, misses)) in &frame.caches {
        put_str(&mut out, name);
        put(&mut out, *hits);
        put(&mut out, *misses);
    }
    let check = fnv1a(&out);
    out.extend_from_slice(&check.to_le_bytes());
    out
}

/// FNV-1a, 64 bits: a damaged frame — a flipped bit SQLite cannot see, since it checks none of
/// a page's contents — fails its check instead of being read as figures no program recorded.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A frame as the file holds it: sites named by their id in the file, not yet by their position
/// in this process.
#[derive(Debug)]
pub(crate) struct StoredFrame {
    pub(crate) start_ms: u64,
    pub(crate) end_ms: u64,
    pub(crate) sites: Vec<(i64, Figures)>,
    pub(crate) models: Vec<((i64, &'static str), Figures)>,
    pub(crate) caches: Vec<(String, (u64, u64))>,
}

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) &'static str);

/// Decodes what [`encode`] wrote for the frame from `start_ms` to `end_ms`.
pub(crate) fn decode(bytes: &[u8], start_ms: u64, end_ms: u64) -> Result<StoredFrame, Malformed> {
    let (bytes, check) = bytes
        .split_last_chunk::<8>()
        .ok_or(Malformed("a frame shorter than its check"))?;
    if fnv1a(bytes) != u64::from_le_bytes(*check) {
        return Err(Malformed("a frame that fails its check"));
    }
    let mut r = Reader { bytes };
    let sites = r.list(|r| Ok((r.signed()?, r.figures()?)))?;
    let models = r.list(|r| {
        let site = r.signed()?;
        let model = model_name(r.str()?);
        Ok(((site, model), r.figures()?))
    })?;
    let caches = r.list(|r| Ok((r.str()?.to_owned(), (r.int()?, r.int()?))))?;
    if !r.bytes.is_empty() {
        return Err(Malformed("bytes left over after the frame"));
    }
    Ok(StoredFrame {
        start_ms,
        end_ms,
        sites,
        models,
        caches,
    })
}

/// Model names read back, kept for the life of the process like the models themselves, and as
/// bounded: a file cannot make more names than the runtime would keep.
pub(crate) fn model_name(name: &str) -> &'static str {
    static NAMES: Registry<String> = Registry::new(std::collections::BTreeMap::new());
    intern(&NAMES, name, MAX_MODELS, OTHER_MODELS, &[], str::to_owned).as_str()
}

fn put(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_signed(out: &mut Vec<u8>, n: i64) {
    // Zig-zag, so that a small negative number stays short.
    put(out, ((n << 1) ^ (n >> 63)) as u64);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_figures(out: &mut Vec<u8>, figures: &Figures) {
    put(out, COUNTERS as u64);
    for n in figures.counter_values() {
        put(out, n);
    }
    for histogram in histograms(figures) {
        put_histogram(out, histogram);
    }
    put(out, figures.status_durations.len() as u64);
    for (status, histogram) in &figures.status_durations {
        put(out, u64::from(*status));
        put_histogram(out, histogram);
    }
    put(out, figures.slow_calls.len() as u64);
    for (threshold, calls) in &figures.slow_calls {
        put(out, *threshold);
        put(out, *calls);
    }
}

fn put_histogram(out: &mut Vec<u8>, histogram: &Histogram) {
    let (nanos_per_unit, buckets, sum, max) = histogram.parts();
    out.extend_from_slice(&nanos_per_unit.to_le_bytes());
    put(out, sum as u64);
    put(out, (sum >> 64) as u64);
    put(out, max);
    put(out, buckets.len() as u64);
    let mut previous = 0;
    for &(index, n) in buckets {
        // Ascending indices: the gap to the previous one is short.
        put(out, u64::from(index - previous));
        put(out, n);
        previous = index;
    }
}

/// The histograms of `figures`, in the order they are stored.
fn histograms(figures: &Figures) -> [&Histogram; 6] {
    [
        &figures.durations,
        &figures.error_durations,
        &figures.client_error_durations,
        &figures.first_chunk,
        &figures.per_output_chunk,
        &figures.cancelled_durations,
    ]
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn int(&mut self) -> Result<u64, Malformed> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self
                .bytes
                .split_first()
                .ok_or(Malformed("the frame ends inside a number"))?;
            self.bytes = rest;
            if shift == 63 && byte > 1 {
                return Err(Malformed("a number beyond 64 bits"));
            }
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(Malformed("a number beyond 64 bits"))
    }

    fn signed(&mut self) -> Result<i64, Malformed> {
        let n = self.int()?;
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    /// A count of items, each at least `min_bytes` long: never more than the bytes left could
    /// hold, so a bad count cannot make a large allocation.
    fn count(&mut self, min_bytes: usize) -> Result<usize, Malformed> {
        let n = self.int()?;
        usize::try_from(n)
            .ok()
            .filter(|n| n.saturating_mul(min_bytes) <= self.bytes.len())
            .ok_or(Malformed("a count larger than the frame"))
    }

    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, Malformed>,
    ) -> Result<Vec<T>, Malformed> {
        let n = self.count(1)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(item(self)?);
        }
        Ok(items)
    }

    fn str(&mut self) -> Result<&str, Malformed> {
        let len = self.count(1)?;
        let (text, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        std::str::from_utf8(text).map_err(|_| Malformed("a name that is not UTF-8"))
    }

    fn figures(&mut self) -> Result<Figures, Malformed> {
        if self.int()? != COUNTERS as u64 {
            return Err(Malformed(
                "figures with another set of counters than this build's",
            ));
        }
        let mut figures = Figures::default();
        for counter in figures.counters_mut() {
            *counter = self.int()?;
        }
        figures.durations = self.histogram()?;
        figures.error_durations = self.histogram()?;
        figures.client_error_durations = self.histogram()?;
        figures.first_chunk = self.histogram()?;
        figures.per_output_chunk = self.histogram()?;
        figures.cancelled_durations = self.histogram()?;
        figures.status_durations = self.list(|r| {
            let status = u16::try_from(r.int()?).map_err(|_| Malformed("a status beyond 65535"))?;
            Ok((status, r.histogram()?))
        })?;
        if !figures.status_durations.windows(2).all(|w| w[0].0 < w[1].0) {
            return Err(Malformed("statuses out of order"));
        }
        figures.slow_calls = self.list(|r| Ok((r.int()?, r.int()?)))?;
        if !figures.slow_calls.windows(2).all(|w| w[0].0 < w[1].0) {
            return Err(Malformed("latency thresholds out of order"));
        }
        Ok(figures)
    }

    fn histogram(&mut self) -> Result<Histogram, Malformed> {
        let (unit, rest) = self
            .bytes
            .split_first_chunk::<8>()
            .ok_or(Malformed("the frame ends inside a histogram"))?;
        self.bytes = rest;
        let nanos_per_unit = f64::from_le_bytes(*unit);
        let sum = u128::from(self.int()?) | u128::from(self.int()?) << 64;
        let max = self.int()?;
        let n = self.count(2)?;
        let mut buckets = Vec::with_capacity(n);
        let mut index = 0u64;
        for _ in 0..n {
            index = index
                .checked_add(self.int()?)
                .ok_or(Malformed("a bucket out of range"))?;
            let bucket = u16::try_from(index).map_err(|_| Malformed("a bucket out of range"))?;
            buckets.push((bucket, self.int()?));
        }
        Histogram::from_parts(nanos_per_unit, buckets, sum, max)
            .ok_or(Malformed("a histogram no reading could make"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample() -> Frame {
        let mut a = Figures::in_units(0.4);
        for us in [3, 40, 40, 900, 12_000] {
            a.durations.record(Duration::from_micros(us));
        }
        a.error_durations.record(Duration::from_micros(900));
        a.errors = 1;
        a.statuses = [0, 4, 0, 0, 1];
        a.tokens.input = 1_234_567;
        a.cost_picousd = u64::MAX;
        a.tokens_per_call[1][13] = 2;
        let mut not_found = Histogram::in_units(0.4);
        not_found.record(Duration::from_micros(40));
        a.status_durations = vec![(200, a.durations.clone()), (404, not_found)];
        a.slow_calls = vec![(400_000_000, 2), (1_000_000_000, 1)];
        let mut b = Figures {
            cancelled: 3,
            ..Figures::default()
        };
        for ms in [2, 30, 30] {
            b.cancelled_durations.record(Duration::from_millis(ms));
        }
        Frame {
            start_ms: 1_700_000_000_000,
            end_ms: 1_700_000_001_000,
            sites: vec![(0, a.clone()), (7, b)],
            models: vec![((7, "gpt-4o"), a)],
            caches: vec![("logos".into(), (5, 2))],
        }
    }

    /// `body` with its check after it.
    fn checked(mut body: Vec<u8>) -> Vec<u8> {
        let check = fnv1a(&body);
        body.extend_from_slice(&check.to_le_bytes());
        body
    }

    #[test]
    fn a_frame_comes_back_as_it_was() {
        let frame = sample();
        let bytes = encode(&frame, |index| index as i64 * 10 - 3);
        let back = decode(&bytes, frame.start_ms, frame.end_ms).expect("decodes");
        assert_eq!(back.sites.len(), 2);
        assert_eq!(back.sites[0], (-3, frame.sites[0].1.clone()));
        assert_eq!(back.sites[1], (67, frame.sites[1].1.clone()));
        assert_eq!(
            back.models,
            vec![((67, "gpt-4o"), frame.models[0].1.clone())]
        );
        assert_eq!(back.caches, frame.caches);
    }

    #[test]
    fn every_cut_and_every_flipped_byte_is_an_error_or_a_frame_never_a_panic() {
        let bytes = encode(&sample(), |index| index as i64);
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len], 0, 1).is_err(), "cut at {len}");
        }
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut bad = bytes.clone();
                bad[at] ^= 1 << bit;
                assert!(decode(&bad, 0, 1).is_err(), "bit {bit} of byte {at}");
            }
        }
        // Past the check, the reader itself refuses what is not a frame.
        let body = &bytes[..bytes.len() - 8];
        for at in 0..body.len() {
            for bit in 0..8 {
                let mut bad = body.to_vec();
                bad[at] ^= 1 << bit;
                let _ = decode(&checked(bad), 0, 1);
            }
        }
        let mut long = body.to_vec();
        long.push(0);
        assert_eq!(
            decode(&checked(long), 0, 1).unwrap_err(),
            Malformed("bytes left over after the frame")
        );
    }

    #[test]
    fn a_count_beyond_the_bytes_is_refused_before_allocating() {
        let mut bytes = Vec::new();
        put(&mut bytes, u64::MAX / 2);
        assert_eq!(
            decode(&checked(bytes), 0, 1).unwrap_err(),
            Malformed("a count larger than the frame")
        );
    }
}
