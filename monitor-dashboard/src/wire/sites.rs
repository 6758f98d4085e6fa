//! `/api/sites`: every site with its totals.

use super::common::{Histogram, Site, TokenFigures, secs};
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
            stats: (&*s.figures).into(),
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
    #[serde(flatten)]
    tokens: TokenFigures,
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

impl From<&monitor_core::Figures> for SiteStats {
    fn from(f: &monitor_core::Figures) -> SiteStats {
        let c = f.status_classes();
        let d = &f.durations;
        SiteStats {
            calls: f.calls(),
            errors: f.errors,
            client_errors: f.client_errors,
            panics: f.panics,
            cancelled: f.cancelled,
            statuses: StatusClasses {
                informational: c.informational,
                success: c.success,
                redirection: c.redirection,
                client_error: c.client_error,
                server_error: c.server_error,
            },
            request_bytes: f.request_bytes,
            response_bytes: f.response_bytes,
            token_calls: f.token_calls,
            tokens: f.into(),
            cost_usd: f.cost_usd(),
            known_cost_usd: f.known_cost_usd(),
            unpriced_calls: f.unpriced_calls,
            allocated_bytes: f.allocated_bytes,
            p50: secs(d.p50()),
            p90: secs(d.p90()),
            p99: secs(d.p99()),
            max: secs(d.max()),
            mean: secs(d.mean()),
            total_duration: secs(d.sum()),
            durations: d.into(),
            chunks: f.chunks,
            first_chunk: (&f.first_chunk).into(),
            per_output_chunk: (&f.per_output_chunk).into(),
        }
    }
}
