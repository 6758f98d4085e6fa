//! A kept run as bytes, and back: how the history file stores the runs of the buffer of recent
//! runs ([`trace::recent_runs`](crate::trace::recent_runs)), so that they outlive the process.
//!
//! A run is JSON — a run is read once, at start, and an operator reading the file with the
//! `sqlite3` tool can read it too — followed by the FNV-1a check the frames carry, for the same
//! reason: SQLite checks none of a page's contents. Its spans name their site by its id in the
//! file's `sites` table, as frames do, and everything else by value: ids in hex, times in
//! nanoseconds, costs as the shortest text that reads back as the same `f64` (serde_json's own
//! reading of a number may differ from it in the last bit). Fields with nothing in them are left
//! out, and a field this build does not know is skipped, so a later build may add some.
//!
//! This form is private to the file: [`KeptRun`] and [`KeptSpan`] are made only by monitor-core,
//! and reading a row makes them only after every field of it is checked ([`StoredRun::check`]).

use super::codec::{Malformed, fnv1a, model_name};
use crate::interned::{Registry, intern};
use crate::record::run::{KeepReason, KeptRun, KeptSpan, SpanOutcome};
use crate::record::site::Site;
use crate::record::traceparent::{SpanId, TraceId};
use crate::usage::Tokens;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};

/// A kept run as the file holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredRun {
    pub(crate) trace_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    remote_parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tracestate: Option<String>,
    kept: String,
    head_sampled: bool,
    /// Since the Unix epoch.
    start_ns: u64,
    spans: Vec<StoredSpan>,
    #[serde(default)]
    dropped_spans: u64,
}

/// A span as the file holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StoredSpan {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
    /// The site's id in the file.
    site: i64,
    offset_ns: u64,
    duration_ns: u64,
    outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
    #[serde(default)]
    request_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tokens: Option<Tokens>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cost_by_kind_usd: Option<[String; 5]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chunks: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_chunk_ns: Option<u64>,
}

const OUTCOMES: [SpanOutcome; 5] = [
    SpanOutcome::Ok,
    SpanOutcome::ClientError,
    SpanOutcome::Error,
    SpanOutcome::Panicked,
    SpanOutcome::Cancelled,
];

/// An outcome's name: the one its `Serialize` writes.
fn outcome_name(outcome: SpanOutcome) -> &'static str {
    match outcome {
        SpanOutcome::Ok => "ok",
        SpanOutcome::ClientError => "client_error",
        SpanOutcome::Error => "error",
        SpanOutcome::Panicked => "panicked",
        SpanOutcome::Cancelled => "cancelled",
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl StoredRun {
    /// The stored form of `run`, its spans' sites named by `site_id`; `None` when a site has no
    /// id (a site made by [`Site::builder`] and never registered: nothing could name it again).
    pub(crate) fn of<E>(
        run: &KeptRun,
        mut site_id: impl FnMut(&'static Site) -> Result<Option<i64>, E>,
    ) -> Result<Option<StoredRun>, E> {
        let mut spans = Vec::with_capacity(run.span_count());
        for span in run.spans() {
            let Some(site) = site_id(span.site)? else {
                return Ok(None);
            };
            spans.push(StoredSpan {
                id: span.id.to_string(),
                parent: span.parent.map(|p| p.to_string()),
                site,
                offset_ns: nanos(span.offset),
                duration_ns: nanos(span.duration),
                outcome: outcome_name(span.outcome).to_owned(),
                status: span.status,
                error_type: span.error_type.map(str::to_owned),
                error_message: span.error_message,
                request_bytes: span.request_bytes,
                response_bytes: span.response_bytes,
                model: span.model.map(str::to_owned),
                response_model: span.response_model.map(str::to_owned),
                tokens: span.tokens,
                cost_by_kind_usd: span.cost_by_kind_usd.map(|c| c.map(|usd| usd.to_string())),
                chunks: span.chunks,
                first_chunk_ns: span.first_chunk.map(nanos),
            });
        }
        Ok(Some(StoredRun {
            trace_id: run.trace_id.to_string(),
            remote_parent: run.remote_parent.map(|p| p.to_string()),
            tracestate: run.tracestate.clone(),
            kept: run.kept.as_str().to_owned(),
            head_sampled: run.head_sampled,
            start_ns: run
                .start
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, nanos),
            spans,
            dropped_spans: run.dropped_spans,
        }))
    }

    /// The run's trace id.
    pub(crate) fn trace_id(&self) -> Result<TraceId, Malformed> {
        self.trace_id
            .parse()
            .map_err(|_| Malformed("an invalid trace id"))
    }

    fn remote_parent(&self) -> Result<Option<SpanId>, Malformed> {
        self.remote_parent.as_deref().map(span_id).transpose()
    }

    fn kept(&self) -> Result<KeepReason, Malformed> {
        KeepReason::parse(&self.kept).ok_or(Malformed("a reason for keeping a run that is none"))
    }

    fn start(&self) -> Result<SystemTime, Malformed> {
        SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_nanos(self.start_ns))
            .ok_or(Malformed("a start this system cannot tell"))
    }

    /// Checks every field that [`StoredRun::into_kept`] reads, and the shape of the run — a root
    /// first, every other span under one, each of a site `known` to the file — so that a damaged
    /// row is refused when the file is opened, rather than left out once it is in force.
    pub(crate) fn check(&self, known: impl Fn(i64) -> bool) -> Result<(), Malformed> {
        self.trace_id()?;
        self.remote_parent()?;
        self.kept()?;
        self.start()?;
        let (root, rest) = self
            .spans
            .split_first()
            .ok_or(Malformed("a run without spans"))?;
        if root.parent.is_some() {
            return Err(Malformed("a run whose first span is not its root"));
        }
        if rest.iter().any(|s| s.parent.is_none()) {
            return Err(Malformed("a run with two roots"));
        }
        for span in &self.spans {
            span.id()?;
            span.parent()?;
            span.outcome()?;
            span.costs()?;
            if !known(span.site) {
                return Err(Malformed("a span of a site the file does not name"));
            }
        }
        Ok(())
    }

    /// The kept run, its spans' sites found by `site_of`; `None` when one of them is gone from
    /// the code (or the row did not pass [`StoredRun::check`]).
    pub(crate) fn into_kept(
        self,
        site_of: impl Fn(i64) -> Option<&'static Site>,
    ) -> Option<KeptRun> {
        let mut spans = Vec::with_capacity(self.spans.len());
        for span in &self.spans {
            spans.push(KeptSpan {
                id: span.id().ok()?,
                parent: span.parent().ok()?,
                site: site_of(span.site)?,
                offset: Duration::from_nanos(span.offset_ns),
                duration: Duration::from_nanos(span.duration_ns),
                outcome: span.outcome().ok()?,
                status: span.status,
                error_type: span.error_type.as_deref().map(error_type),
                error_message: span.error_message.clone(),
                request_bytes: span.request_bytes,
                response_bytes: span.response_bytes,
                model: span.model.as_deref().map(model_name),
                response_model: span.response_model.as_deref().map(model_name),
                tokens: span.tokens,
                cost_by_kind_usd: span.costs().ok()?,
                chunks: span.chunks,
                first_chunk: span.first_chunk_ns.map(Duration::from_nanos),
            });
        }
        let (trace_id, remote_parent) = (self.trace_id().ok()?, self.remote_parent().ok()?);
        let (kept, start) = (self.kept().ok()?, self.start().ok()?);
        KeptRun::from_spans(
            trace_id,
            remote_parent,
            self.tracestate,
            kept,
            self.head_sampled,
            start,
            spans,
            self.dropped_spans,
        )
    }
}

fn span_id(text: &str) -> Result<SpanId, Malformed> {
    text.parse().map_err(|_| Malformed("an invalid span id"))
}

impl StoredSpan {
    fn id(&self) -> Result<SpanId, Malformed> {
        span_id(&self.id)
    }

    fn parent(&self) -> Result<Option<SpanId>, Malformed> {
        self.parent.as_deref().map(span_id).transpose()
    }

    fn outcome(&self) -> Result<SpanOutcome, Malformed> {
        OUTCOMES
            .into_iter()
            .find(|o| outcome_name(*o) == self.outcome)
            .ok_or(Malformed("a span outcome that is none"))
    }

    fn costs(&self) -> Result<Option<[f64; 5]>, Malformed> {
        let Some(texts) = &self.cost_by_kind_usd else {
            return Ok(None);
        };
        let mut costs = [0.0; 5];
        for (cost, text) in costs.iter_mut().zip(texts) {
            *cost = text
                .parse::<f64>()
                .ok()
                .filter(|c| c.is_finite() && *c >= 0.0)
                .ok_or(Malformed("a cost that is not a number of dollars"))?;
        }
        Ok(Some(costs))
    }
}

/// Error types read back, kept for the life of the process like the type names of the binary
/// itself, and bounded: a file cannot make more names than this.
fn error_type(name: &str) -> &'static str {
    /// Error types read back at most; later ones read as "other".
    const MAX_ERROR_TYPES: usize = 1024;
    static NAMES: Registry<String> = Registry::new(std::collections::BTreeMap::new());
    intern(&NAMES, name, MAX_ERROR_TYPES, "other", &[], str::to_owned).as_str()
}

/// `run` as the bytes of a row.
pub(crate) fn encode(run: &StoredRun) -> Vec<u8> {
    // Only strings, integers and booleans, keyed by plain names: a run always serializes.
    let mut out = serde_json::to_vec(run).unwrap_or_default();
    let check = fnv1a(&out);
    out.extend_from_slice(&check.to_le_bytes());
    out
}

/// Reads what [`encode`] wrote; damage is an error, never a panic.
pub(crate) fn decode(bytes: &[u8]) -> Result<StoredRun, Malformed> {
    let (json, check) = bytes
        .split_last_chunk::<8>()
        .ok_or(Malformed("a run shorter than its check"))?;
    if fnv1a(json) != u64::from_le_bytes(*check) {
        return Err(Malformed("a run that fails its check"));
    }
    serde_json::from_slice(json).map_err(|_| Malformed("a run that is not one"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::SiteKind;

    fn sample(site: &'static Site) -> KeptRun {
        let root = SpanId::random();
        let span = |id: SpanId, parent: Option<SpanId>| KeptSpan {
            id,
            parent,
            site,
            offset: Duration::from_nanos(1_234),
            duration: Duration::from_micros(5_678),
            outcome: SpanOutcome::Error,
            status: Some(502),
            error_type: Some("std::io::Error"),
            error_message: Some("upstream said \"no\" to <redacted>".into()),
            request_bytes: 12,
            response_bytes: None,
            model: Some("gpt-4o"),
            response_model: Some("gpt-4o-2024-08-06"),
            tokens: Some(Tokens::new(1_000, 100).cached(400)),
            cost_by_kind_usd: Some([0.1 + 0.2, 1e-12, 0.0, 3.0e-7 / 7.0, 0.000_123_456_789]),
            chunks: Some(9),
            first_chunk: Some(Duration::from_nanos(987_654_321)),
        };
        KeptRun::from_spans(
            TraceId::random(),
            Some(SpanId::random()),
            Some("vendor=a".into()),
            KeepReason::OverBudget,
            true,
            SystemTime::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789),
            vec![span(root, None), span(SpanId::random(), Some(root))],
            3,
        )
        .expect("a run with a root")
    }

    fn site() -> &'static Site {
        Site::builder(SiteKind::Tokens, "complete")
            .model("gpt-4o")
            .build()
    }

    #[test]
    fn a_run_comes_back_as_it_was() {
        let site = site();
        let run = sample(site);
        let stored = StoredRun::of(&run, |_| Ok::<_, ()>(Some(7)))
            .unwrap()
            .unwrap();
        let back = decode(&encode(&stored)).expect("decodes");
        assert_eq!(back, stored);
        back.check(|id| id == 7).expect("checks");
        let kept = back
            .into_kept(|id| (id == 7).then_some(site))
            .expect("kept");
        let json = |r: &KeptRun| serde_json::to_string(r).unwrap();
        assert_eq!(json(&kept), json(&run));
        assert_eq!(kept.root().cost_by_kind_usd, run.root().cost_by_kind_usd);
        assert_eq!(kept.start, run.start);
        // A site gone: the run is left out.
        let stored = StoredRun::of(&run, |_| Ok::<_, ()>(Some(7)))
            .unwrap()
            .unwrap();
        assert!(stored.into_kept(|_| None).is_none());
    }

    #[test]
    fn every_cut_and_every_flipped_byte_is_an_error_never_a_panic() {
        let stored = StoredRun::of(&sample(site()), |_| Ok::<_, ()>(Some(7)))
            .unwrap()
            .unwrap();
        let bytes = encode(&stored);
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "cut at {len}");
        }
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(decode(&bad).is_err(), "byte {at}");
        }
    }

    #[test]
    fn a_run_of_a_bad_shape_is_refused() {
        let stored = StoredRun::of(&sample(site()), |_| Ok::<_, ()>(Some(7)))
            .unwrap()
            .unwrap();
        let refused = |change: &dyn Fn(&mut StoredRun), why: &str| {
            let mut bad = stored.clone();
            change(&mut bad);
            assert_eq!(bad.check(|id| id == 7).map_err(|m| m.0), Err(why));
        };
        refused(&|r| r.spans.clear(), "a run without spans");
        refused(
            &|r| r.spans.swap(0, 1),
            "a run whose first span is not its root",
        );
        refused(&|r| r.spans[1].parent = None, "a run with two roots");
        refused(
            &|r| r.spans[1].site = 8,
            "a span of a site the file does not name",
        );
        refused(&|r| r.trace_id = "00".repeat(16), "an invalid trace id");
        refused(
            &|r| r.kept = "liked".into(),
            "a reason for keeping a run that is none",
        );
        refused(
            &|r| r.spans[1].outcome = "fine".into(),
            "a span outcome that is none",
        );
        refused(
            &|r| {
                r.spans[0].cost_by_kind_usd =
                    Some(["-1".into(), "0".into(), "0".into(), "0".into(), "0".into()])
            },
            "a cost that is not a number of dollars",
        );
        refused(&|r| r.spans[0].id = "xyz".into(), "an invalid span id");
    }
}
