//! Pieces several answers share: a site's description, a histogram, costs by kind, a moment,
//! and the names of core's enums.

use serde::Serialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A site's description, without its figures.
#[derive(Serialize)]
pub(crate) struct Site {
    id: String,
    kind: &'static str,
    name: &'static str,
    type_name: Option<&'static str>,
    qualified_name: &'static str,
    function: &'static str,
    module_path: &'static str,
    file: &'static str,
    line: u32,
    route: Option<&'static str>,
    pipeline: Option<&'static str>,
    stage: Option<&'static str>,
    model: Option<&'static str>,
    model_expr: Option<&'static str>,
    provider: Option<&'static str>,
    operation: Option<&'static str>,
    cache: Option<&'static str>,
}

impl From<&monitor_core::Site> for Site {
    fn from(s: &monitor_core::Site) -> Site {
        Site {
            id: s.id(),
            kind: kind(s.kind()),
            name: s.name(),
            type_name: s.type_name(),
            qualified_name: s.qualified_name(),
            function: s.function(),
            module_path: s.module_path(),
            file: s.file(),
            line: s.line(),
            route: s.route(),
            pipeline: s.pipeline(),
            stage: s.stage(),
            model: s.model(),
            model_expr: s.model_expr(),
            provider: s.provider(),
            // The API has always told only the operation the attribute wrote, not the default.
            operation: s.declared_operation(),
            cache: s.cache(),
        }
    }
}

pub(crate) fn kind(kind: monitor_core::site::SiteKind) -> &'static str {
    match kind {
        monitor_core::site::SiteKind::Handler => "handler",
        monitor_core::site::SiteKind::Stage => "stage",
        monitor_core::site::SiteKind::Tokens => "tokens",
    }
}

pub(crate) fn outcome(outcome: monitor_core::figures::OutcomeFilter) -> &'static str {
    match outcome {
        monitor_core::figures::OutcomeFilter::Ok => "ok",
        monitor_core::figures::OutcomeFilter::Error => "error",
        monitor_core::figures::OutcomeFilter::ClientError => "client_error",
    }
}

/// A duration in seconds, as every duration of the API is.
pub(crate) fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// A moment, as serde has always written a `SystemTime`.
#[derive(Serialize)]
pub(crate) struct Moment {
    secs_since_epoch: u64,
    nanos_since_epoch: u32,
}

impl From<SystemTime> for Moment {
    fn from(at: SystemTime) -> Moment {
        // Before 1970 serde refused to write it at all (and the whole answer with it).
        let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        Moment {
            secs_since_epoch: since.as_secs(),
            nanos_since_epoch: since.subsec_nanos(),
        }
    }
}

/// A distribution: its summary and the non-empty buckets, `[[upper_ns, count], …]`.
#[derive(Serialize)]
pub(crate) struct Histogram {
    count: u64,
    sum_ns: u64,
    max_ns: u64,
    buckets: Vec<(u64, u64)>,
}

impl From<&monitor_core::figures::Histogram> for Histogram {
    fn from(h: &monitor_core::figures::Histogram) -> Histogram {
        Histogram {
            count: h.count(),
            sum_ns: h.sum().as_nanos() as u64,
            max_ns: h.max().as_nanos() as u64,
            buckets: h
                .buckets()
                .map(|(upper, n)| (upper.as_nanos() as u64, n))
                .collect(),
        }
    }
}

/// Tokens by kind and what each kind cost: the same fields in a site's, a model's and a query
/// group's answer, written once and flattened into each.
#[derive(Serialize)]
pub(crate) struct TokenFigures {
    input_tokens: u64,
    output_tokens: u64,
    cached_input_tokens: u64,
    cache_write_tokens: u64,
    reasoning_tokens: u64,
    cost_by_kind: KindCosts,
}

impl From<&monitor_core::Figures> for TokenFigures {
    fn from(f: &monitor_core::Figures) -> TokenFigures {
        TokenFigures {
            input_tokens: f.tokens.input,
            output_tokens: f.tokens.output,
            cached_input_tokens: f.tokens.cached_input,
            cache_write_tokens: f.tokens.cache_write,
            reasoning_tokens: f.tokens.reasoning,
            cost_by_kind: (&f.kind_costs()).into(),
        }
    }
}

/// What each kind of token cost, in USD.
#[derive(Serialize)]
pub(crate) struct KindCosts {
    input: f64,
    cached_input: f64,
    cache_write: f64,
    output: f64,
    reasoning: f64,
}

impl KindCosts {
    /// The costs of each kind, by name.
    pub(crate) fn new(
        input: f64,
        cached_input: f64,
        cache_write: f64,
        output: f64,
        reasoning: f64,
    ) -> KindCosts {
        KindCosts {
            input,
            cached_input,
            cache_write,
            output,
            reasoning,
        }
    }
}

impl From<&monitor_core::figures::KindCosts> for KindCosts {
    fn from(c: &monitor_core::figures::KindCosts) -> KindCosts {
        KindCosts {
            input: c.input,
            cached_input: c.cached_input,
            cache_write: c.cache_write,
            output: c.output,
            reasoning: c.reasoning,
        }
    }
}
