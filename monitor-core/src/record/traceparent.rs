//! Trace and span ids, and the W3C Trace Context headers that carry them between processes.
//!
//! Ids come from a per-thread generator (wyrand, seeded from the standard library's random
//! hasher keys): a run's ids cost a few multiplications, no lock and no system call.

use std::cell::Cell;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::num::{NonZeroU64, NonZeroU128};

/// The id of a trace: 16 bytes, never all zero, written as 32 lowercase hex digits.
///
/// ```
/// use monitor_core::trace::TraceId;
///
/// let id: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
/// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!("00000000000000000000000000000000".parse::<TraceId>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(NonZeroU128);

/// The id of a span: 8 bytes, never all zero, written as 16 lowercase hex digits.
///
/// ```
/// use monitor_core::trace::SpanId;
///
/// let id: SpanId = "00f067aa0ba902b7".parse().unwrap();
/// assert_eq!(id.to_string(), "00f067aa0ba902b7");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(NonZeroU64);

impl TraceId {
    /// A new random id.
    pub fn random() -> TraceId {
        loop {
            let id = (u128::from(next_u64()) << 64) | u128::from(next_u64());
            if let Some(id) = NonZeroU128::new(id) {
                return TraceId(id);
            }
        }
    }

    /// The id of these 16 bytes, `None` when all are zero (the invalid id).
    pub fn from_bytes(bytes: [u8; 16]) -> Option<TraceId> {
        NonZeroU128::new(u128::from_be_bytes(bytes)).map(TraceId)
    }

    /// The 16 bytes, as OTLP's `trace_id` field holds them.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.get().to_be_bytes()
    }

    /// The id as a number.
    pub fn get(self) -> u128 {
        self.0.get()
    }

    /// The low 8 bytes: what head sampling by ratio compares with its threshold (W3C Trace
    /// Context level 2 makes the right-most 7 bytes random).
    pub(crate) fn low(self) -> u64 {
        self.0.get() as u64
    }
}

impl SpanId {
    /// A new random id.
    pub fn random() -> SpanId {
        SpanId(random_nonzero())
    }

    /// The id of these 8 bytes, `None` when all are zero (the invalid id).
    pub fn from_bytes(bytes: [u8; 8]) -> Option<SpanId> {
        NonZeroU64::new(u64::from_be_bytes(bytes)).map(SpanId)
    }

    /// The 8 bytes, as OTLP's `span_id` field holds them.
    pub fn to_bytes(self) -> [u8; 8] {
        self.0.get().to_be_bytes()
    }

    /// The id as a number.
    pub fn get(self) -> u64 {
        self.0.get()
    }

    pub(crate) fn from_raw(raw: u64) -> Option<SpanId> {
        NonZeroU64::new(raw).map(SpanId)
    }
}

/// A bad id: not the right number of lowercase hex digits, or all zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidId;

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a valid id: expected lowercase hex digits, not all zero")
    }
}

impl std::error::Error for InvalidId {}

impl std::str::FromStr for TraceId {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<TraceId, InvalidId> {
        let n = hex::<16>(s).ok_or(InvalidId)?;
        TraceId::from_bytes(n).ok_or(InvalidId)
    }
}

impl std::str::FromStr for SpanId {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<SpanId, InvalidId> {
        let n = hex::<8>(s).ok_or(InvalidId)?;
        SpanId::from_bytes(n).ok_or(InvalidId)
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

impl serde::Serialize for TraceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl serde::Serialize for SpanId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `N` bytes from exactly `2N` lowercase hex digits. W3C Trace Context forbids uppercase.
fn hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.as_bytes();
    if s.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = (digit(s[2 * i])? << 4) | digit(s[2 * i + 1])?;
    }
    Some(out)
}

/// The longest `tracestate` kept: the W3C limit is 32 members, and a vendor may cut at 512
/// characters; a longer header is dropped rather than cut mid-member.
pub const MAX_TRACESTATE_LEN: usize = 512;

/// A parent span from another process: what an incoming `traceparent` header says (and its
/// `tracestate`, passed on untouched), or what [`to_header`](TraceParent::to_header) writes for
/// an outgoing call.
///
/// ```
/// use monitor_core::trace::TraceParent;
///
/// let parent = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// assert!(parent.sampled);
/// assert_eq!(parent.span_id.to_string(), "00f067aa0ba902b7");
/// assert_eq!(parent.to_header(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
///
/// // A malformed header is no parent: the run starts a trace of its own.
/// assert!(TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    /// The trace.
    pub trace_id: TraceId,
    /// The span in the other process this one is a child of.
    pub span_id: SpanId,
    /// Whether the caller recorded its span (the `sampled` flag).
    pub sampled: bool,
    /// The `tracestate` header that came with it, when one did.
    pub tracestate: Option<String>,
}

impl TraceParent {
    /// Parses a `traceparent` header as W3C Trace Context level 1 says: version `00` is exactly
    /// `00-{32 hex}-{16 hex}-{2 hex}`; a later version may add fields after a `-`; version `ff`,
    /// uppercase digits, zero ids, or anything else is `None`.
    pub fn parse(header: &str) -> Option<TraceParent> {
        let header = header.trim_matches([' ', '\t']);
        // Checked first, so that the slices below fall on character boundaries.
        if !header.is_ascii() {
            return None;
        }
        let b = header.as_bytes();
        if b.len() < 55 || b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
            return None;
        }
        let [version] = hex::<1>(&header[0..2])?;
        match version {
            0xff => return None,
            0 if b.len() != 55 => return None,
            0 => {}
            _ if b.len() > 55 && b[55] != b'-' => return None,
            _ => {}
        }
        let trace_id = header[3..35].parse().ok()?;
        let span_id = header[36..52].parse().ok()?;
        let [flags] = hex::<1>(&header[53..55])?;
        Some(TraceParent {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
            tracestate: None,
        })
    }

    /// With the `tracestate` header that came beside it: kept when it is at most
    /// [`MAX_TRACESTATE_LEN`] characters of printable ASCII, dropped otherwise.
    pub fn with_tracestate(mut self, tracestate: Option<&str>) -> TraceParent {
        self.tracestate = tracestate
            .map(|s| s.trim_matches([' ', '\t']))
            .filter(|s| {
                !s.is_empty()
                    && s.len() <= MAX_TRACESTATE_LEN
                    && s.bytes().all(|c| (0x20..0x7f).contains(&c))
            })
            .map(str::to_owned);
        self
    }

    /// The `traceparent` header naming this span (version `00`).
    pub fn to_header(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }
}

thread_local! {
    static STATE: Cell<u64> = const { Cell::new(0) };
}

/// The next number of the thread's wyrand generator.
pub(crate) fn next_u64() -> u64 {
    STATE
        .try_with(|state| {
            let mut s = state.get();
            if s == 0 {
                s = seed();
            }
            s = s.wrapping_add(0xa076_1d64_78bd_642f);
            state.set(s);
            let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
            ((t >> 64) as u64) ^ (t as u64)
        })
        .unwrap_or_else(|_| seed())
}

/// A non-zero random number: a span id.
#[inline]
pub(crate) fn random_nonzero() -> NonZeroU64 {
    loop {
        if let Some(n) = NonZeroU64::new(next_u64()) {
            return n;
        }
    }
}

#[cold]
fn seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish() | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_header_round_trips() {
        let parent = TraceParent::parse(VALID).unwrap();
        assert_eq!(parent.to_header(), VALID);
        assert!(parent.sampled);
        let unsampled = TraceParent::parse(&VALID.replace("-01", "-00")).unwrap();
        assert!(!unsampled.sampled);
        // Other flags are kept out of `sampled`.
        assert!(
            !TraceParent::parse(&VALID.replace("-01", "-02"))
                .unwrap()
                .sampled
        );
    }

    #[test]
    fn malformed_headers_are_no_parent() {
        for bad in [
            "",
            "00",
            "garbage",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-\u{e9}1",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_later_version_may_add_fields() {
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next";
        assert!(TraceParent::parse(later).is_some());
        assert!(TraceParent::parse(&VALID.replacen("00", "cc", 1)).is_some());
    }

    #[test]
    fn tracestate_is_kept_when_sane() {
        let parent = TraceParent::parse(VALID).unwrap();
        let kept = parent.clone().with_tracestate(Some("congo=t61rcWkgMzE"));
        assert_eq!(kept.tracestate.as_deref(), Some("congo=t61rcWkgMzE"));
        let long = "a=".to_owned() + &"x".repeat(MAX_TRACESTATE_LEN);
        assert_eq!(parent.clone().with_tracestate(Some(&long)).tracestate, None);
        assert_eq!(parent.with_tracestate(Some("a=\u{1}")).tracestate, None);
    }

    #[test]
    fn ids_are_random_and_never_zero() {
        let a = TraceId::random();
        let b = TraceId::random();
        assert_ne!(a, b);
        assert_eq!(a.to_string().len(), 32);
        assert_eq!(a.to_string().parse::<TraceId>(), Ok(a));
        let s = SpanId::random();
        assert_eq!(SpanId::from_bytes(s.to_bytes()), Some(s));
    }
}
