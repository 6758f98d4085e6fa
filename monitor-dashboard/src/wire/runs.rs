//! `/api/runs` and `/api/runs/{trace_id}`: the runs tracing kept, and one run span by span.

use super::common::{KindCosts, kind};
use monitor_core::trace::{KeepReason, KeptRun, KeptSpan, SpanId, SpanOutcome, TraceStats};
use monitor_core::usage::TokenKind;
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

/// The answer of `/api/runs`: the newest kept runs that pass the filters, how many passed before
/// the limit, and what tracing kept and dropped so far.
#[derive(Serialize)]
pub(crate) struct Runs {
    pub(crate) runs: Vec<RunSummary>,
    pub(crate) matched: usize,
    pub(crate) tracing: Tracing,
}

/// Whether runs are traced, and the counts of [`TraceStats`].
#[derive(Serialize)]
pub(crate) struct Tracing {
    enabled: bool,
    kept: KeptCounts,
    unsampled: u64,
    spans_dropped: u64,
    spans_detached: u64,
    runs_over_limit: u64,
    export_dropped: u64,
    in_flight: u64,
}

/// Runs kept, by the reason they were kept.
#[derive(Serialize)]
struct KeptCounts {
    failed: u64,
    cancelled: u64,
    slow: u64,
    over_budget: u64,
    sampled: u64,
}

impl Tracing {
    pub(crate) fn new(enabled: bool, stats: &TraceStats) -> Tracing {
        // By name, not by position: `kept` is in `KeepReason::ALL` order, which may grow.
        let kept = |reason: KeepReason| {
            KeepReason::ALL
                .iter()
                .position(|r| *r == reason)
                .and_then(|i| stats.kept.get(i).copied())
                .unwrap_or(0)
        };
        Tracing {
            enabled,
            kept: KeptCounts {
                failed: kept(KeepReason::Failed),
                cancelled: kept(KeepReason::Cancelled),
                slow: kept(KeepReason::Slow),
                over_budget: kept(KeepReason::OverBudget),
                sampled: kept(KeepReason::Sampled),
            },
            unsampled: stats.unsampled,
            spans_dropped: stats.spans_dropped,
            spans_detached: stats.spans_detached,
            runs_over_limit: stats.runs_over_limit,
            export_dropped: stats.export_dropped,
            in_flight: stats.in_flight,
        }
    }
}

/// A duration in milliseconds, fractional: a span's times are often under one.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub(crate) fn outcome(outcome: SpanOutcome) -> &'static str {
    match outcome {
        SpanOutcome::Ok => "ok",
        SpanOutcome::ClientError => "client_error",
        SpanOutcome::Error => "error",
        SpanOutcome::Panicked => "panicked",
        SpanOutcome::Cancelled => "cancelled",
    }
}

/// Tokens by kind, of one call or of a whole run.
#[derive(Serialize)]
struct TokenCounts {
    input: u64,
    output: u64,
    cached_input: u64,
    cache_write: u64,
    reasoning: u64,
}

impl From<monitor_core::Tokens> for TokenCounts {
    fn from(t: monitor_core::Tokens) -> TokenCounts {
        TokenCounts {
            input: t.input,
            output: t.output,
            cached_input: t.cached_input,
            cache_write: t.cache_write,
            reasoning: t.reasoning,
        }
    }
}

/// One kept run in a list: its root, why it was kept, when, how long, how it ended, and its
/// totals over every span under the root.
#[derive(Serialize)]
pub(crate) struct RunSummary {
    trace_id: String,
    /// The root's site, by the name that tells sites apart, and its id.
    site: &'static str,
    site_id: String,
    kind: &'static str,
    route: Option<&'static str>,
    pipeline: Option<&'static str>,
    kept: &'static str,
    head_sampled: bool,
    /// The caller's span, when the run continued a `traceparent`.
    remote_parent: Option<String>,
    /// When the root started, in milliseconds since the Unix epoch.
    start_ms: f64,
    duration_ms: f64,
    outcome: &'static str,
    status: Option<u16>,
    span_count: usize,
    dropped_spans: u64,
    /// Spans that failed: an error, a 5xx, a panic.
    errors: usize,
    tokens: TokenCounts,
    /// `None` when a metered call had no price: a partial sum would understate it.
    cost_usd: Option<f64>,
    known_cost_usd: f64,
}

impl From<&KeptRun> for RunSummary {
    fn from(run: &KeptRun) -> RunSummary {
        let root = run.root();
        let (known_cost_usd, unpriced) = run.cost_under(root.id);
        RunSummary {
            trace_id: run.trace_id.to_string(),
            site: root.site.qualified_name(),
            site_id: root.site.id(),
            kind: kind(root.site.kind()),
            route: root.site.route(),
            pipeline: root.site.pipeline(),
            kept: run.kept.as_str(),
            head_sampled: run.head_sampled,
            remote_parent: run.remote_parent.map(|id| id.to_string()),
            start_ms: ms(run.start.duration_since(UNIX_EPOCH).unwrap_or_default()),
            duration_ms: ms(run.duration()),
            outcome: outcome(root.outcome),
            status: root.status,
            span_count: run.span_count(),
            dropped_spans: run.dropped_spans,
            errors: run.spans().filter(KeptSpan::failed).count(),
            tokens: run.tokens_under(root.id).into(),
            cost_usd: (!unpriced).then_some(known_cost_usd),
            known_cost_usd,
        }
    }
}

/// The answer of `/api/runs/{trace_id}`: the run's summary and every span, depth first (each
/// span followed by the spans under it, by start), with its depth under the root.
#[derive(Serialize)]
pub(crate) struct Run<'a> {
    #[serde(flatten)]
    summary: RunSummary,
    tracestate: Option<&'a str>,
    spans: Vec<Span>,
}

/// One call of a run.
#[derive(Serialize)]
struct Span {
    span_id: String,
    /// `None` for the root.
    parent_id: Option<String>,
    /// 0 for the root; a span whose parent was dropped (beyond the per-run limit) sits at 1.
    depth: usize,
    site: &'static str,
    site_id: String,
    kind: &'static str,
    route: Option<&'static str>,
    pipeline: Option<&'static str>,
    stage: Option<&'static str>,
    /// The model a metered call asked for, and the one its response named.
    model: Option<&'static str>,
    response_model: Option<&'static str>,
    /// From the run's start to this call's, in milliseconds.
    offset_ms: f64,
    duration_ms: f64,
    outcome: &'static str,
    status: Option<u16>,
    error_type: Option<&'static str>,
    /// Redacted when the run was kept.
    error_message: Option<String>,
    request_bytes: u64,
    response_bytes: Option<u64>,
    /// Only on metered (`#[tracks_tokens]`) calls.
    tokens: Option<TokenCounts>,
    /// `None` when not metered or unpriced.
    cost_usd: Option<f64>,
    cost_by_kind: Option<KindCosts>,
    chunks: Option<u64>,
    first_chunk_ms: Option<f64>,
}

impl Span {
    fn new(span: KeptSpan, depth: usize) -> Span {
        let site = span.site;
        let cost_usd = span.cost_usd();
        Span {
            span_id: span.id.to_string(),
            parent_id: span.parent.map(|id| id.to_string()),
            depth,
            site: site.qualified_name(),
            site_id: site.id(),
            kind: kind(site.kind()),
            route: site.route(),
            pipeline: site.pipeline(),
            stage: site.stage(),
            model: span.model,
            response_model: span.response_model,
            offset_ms: ms(span.offset),
            duration_ms: ms(span.duration),
            outcome: outcome(span.outcome),
            status: span.status,
            error_type: span.error_type,
            error_message: span.error_message,
            request_bytes: span.request_bytes,
            response_bytes: span.response_bytes,
            tokens: span.tokens.map(Into::into),
            cost_usd,
            cost_by_kind: span.cost_by_kind_usd.map(kind_costs),
            chunks: span.chunks,
            first_chunk_ms: span.first_chunk.map(ms),
        }
    }
}

/// Costs in [`TokenKind::ALL`] order, by name.
fn kind_costs(costs: [f64; 5]) -> KindCosts {
    let of = |kind: TokenKind| {
        TokenKind::ALL
            .iter()
            .position(|k| *k == kind)
            .and_then(|i| costs.get(i).copied())
            .unwrap_or(0.0)
    };
    KindCosts::new(
        of(TokenKind::Input),
        of(TokenKind::CachedInput),
        of(TokenKind::CacheWrite),
        of(TokenKind::Output),
        of(TokenKind::Reasoning),
    )
}

impl<'a> Run<'a> {
    pub(crate) fn new(run: &'a KeptRun) -> Run<'a> {
        let spans: Vec<KeptSpan> = run.spans().collect();
        let order = depth_first(&spans);
        let mut spans: Vec<Option<KeptSpan>> = spans.into_iter().map(Some).collect();
        Run {
            summary: run.into(),
            tracestate: run.tracestate.as_deref(),
            spans: order
                .into_iter()
                .filter_map(|(i, depth)| Some(Span::new(spans.get_mut(i)?.take()?, depth)))
                .collect(),
        }
    }
}

/// The spans in the order a waterfall draws them: each followed by those under it, siblings by
/// start. A span whose parent is not in the run (dropped beyond the per-run limit) is put under
/// the root, so that every span is shown once. Positions in `spans`, with their depths.
fn depth_first(spans: &[KeptSpan]) -> Vec<(usize, usize)> {
    if spans.is_empty() {
        return Vec::new();
    }
    let index: HashMap<SpanId, usize> = spans.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    // Children in the order of `spans`, which is by start.
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    for (i, span) in spans.iter().enumerate().skip(1) {
        let parent = span
            .parent
            .and_then(|p| index.get(&p).copied())
            .filter(|&p| p != i)
            .unwrap_or(0);
        children[parent].push(i);
    }
    let mut order = Vec::with_capacity(spans.len());
    let mut seen = vec![false; spans.len()];
    // An explicit stack: a run's depth is bounded only by its spans.
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, depth)) = stack.pop() {
        // A cycle of parent ids cannot come from core, but is not followed if it does.
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        order.push((i, depth));
        for &child in children[i].iter().rev() {
            stack.push((child, depth + 1));
        }
    }
    // Spans in a cycle never reached from the root: shown under it rather than lost.
    for (i, seen) in seen.into_iter().enumerate() {
        if !seen {
            order.push((i, 1));
        }
    }
    order
}
