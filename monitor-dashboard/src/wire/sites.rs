//! `/api/sites`: every site with its totals.

use super::common::{Histogram, KindCosts, Site, secs};
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct Sites {
    pub(crate) sites: Vec<SiteEntry>,
}

/// A site's description and, beside it, its totals.
#[derive(Serialize)]
pub(crate) struct SiteEntry {
    #[serde(flatten)]
    site: Site,
    stats: SiteStats,
}

impl From<&monitor_core::snapshot::SiteSnapshot> for SiteEntry {
    fn from(s: &monitor_core::snapshot::SiteSnapshot) -> SiteEntry {
        SiteEntry {
            site: s.site.into(),
            stats: (&monitor_core::figures::SiteStats::from(monitor_core::Figures::clone(
                &s.figures,
            )))
                .into(),
        }
    }
}

#[derive(Serialize)]
struct StatusClasses {
    informational: u64,
    success: u64,
    redirection: u64,
    client_error: u64,
    server_error: u64,
}

#[derive(Serialize)]
struct SiteStats {
    calls: u64,
    errors: u64,
    client_errors: u64,
    panics: u64,
    cancelled: u64,
    statuses: StatusClasses,
    request_bytes: u64,
    response_bytes: u64,
    token_calls: u64,
    input_tokens: u64,
    output_tokens: u64,
    cached_input_tokens: u64,
    cache_write_tokens: u64,
    reasoning_tokens: u64,
    cost_by_kind: KindCosts,
    cost_usd: Option<f64>,
    known_cost_usd: f64,
    unpriced_calls: u64,
    allocated_bytes: u64,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    mean: f64,
    total_duration: f64,
    durations: Histogram,
    chunks: u64,
    first_chunk: Histogram,
    per_output_chunk: Histogram,
}

impl From<&monitor_core::figures::SiteStats> for SiteStats {
    fn from(s: &monitor_core::figures::SiteStats) -> SiteStats {
        let c = &s.statuses;
        SiteStats {
            calls: s.calls,
            errors: s.errors,
            client_errors: s.client_errors,
            panics: s.panics,
            cancelled: s.cancelled,
            statuses: StatusClasses {
                informational: c.informational,
                success: c.success,
                redirection: c.redirection,
                client_error: c.client_error,
                server_error: c.server_error,
            },
            request_bytes: s.request_bytes,
            response_bytes: s.response_bytes,
            token_calls: s.token_calls,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            cached_input_tokens: s.cached_input_tokens,
            cache_write_tokens: s.cache_write_tokens,
            reasoning_tokens: s.reasoning_tokens,
            cost_by_kind: (&s.cost_by_kind).into(),
            cost_usd: s.cost_usd,
            known_cost_usd: s.known_cost_usd,
            unpriced_calls: s.unpriced_calls,
            allocated_bytes: s.allocated_bytes,
            p50: secs(s.p50),
            p90: secs(s.p90),
            p99: secs(s.p99),
            max: secs(s.max),
            mean: secs(s.mean),
            total_duration: secs(s.total_duration),
            durations: (&s.durations).into(),
            chunks: s.chunks,
            first_chunk: (&s.first_chunk).into(),
            per_output_chunk: (&s.per_output_chunk).into(),
        }
    }
}
