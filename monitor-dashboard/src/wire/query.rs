//! `/api/query`: the history, filtered and grouped.

use super::common::{TokenFigures, secs};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
pub(crate) struct QueryResult {
    from: u64,
    to: u64,
    resolution_secs: f64,
    groups: Vec<GroupResult>,
    caches: Vec<CacheResult>,
}

impl From<&monitor_core::history::QueryResult> for QueryResult {
    fn from(r: &monitor_core::history::QueryResult) -> QueryResult {
        QueryResult {
            from: r.from,
            to: r.to,
            resolution_secs: r.resolution_secs,
            groups: r.groups.iter().map(Into::into).collect(),
            caches: r.caches.iter().map(Into::into).collect(),
        }
    }
}

#[derive(Serialize)]
struct CacheResult {
    name: String,
    hits: u64,
    misses: u64,
    hit_ratio: Option<f64>,
    /// `[start of the interval in Unix seconds, hits, misses]`.
    series: Vec<(u64, u64, u64)>,
}

impl From<&monitor_core::history::CacheResult> for CacheResult {
    fn from(c: &monitor_core::history::CacheResult) -> CacheResult {
        CacheResult {
            name: c.name.clone(),
            hits: c.hits,
            misses: c.misses,
            hit_ratio: c.hit_ratio,
            series: c.series.clone(),
        }
    }
}

#[derive(Serialize)]
struct GroupResult {
    key: BTreeMap<&'static str, String>,
    calls: u64,
    rate_per_sec: f64,
    errors: u64,
    error_rate: f64,
    client_errors: u64,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    total_duration: f64,
    mean: f64,
    request_bytes: u64,
    response_bytes: u64,
    #[serde(flatten)]
    tokens: TokenFigures,
    chunks: u64,
    streamed_calls: u64,
    first_chunk_p50: f64,
    first_chunk_p99: f64,
    per_output_chunk_p50: f64,
    cost_usd: Option<f64>,
    known_cost_usd: f64,
    allocated_bytes: u64,
    series: Vec<Point>,
}

impl From<&monitor_core::history::GroupResult> for GroupResult {
    fn from(g: &monitor_core::history::GroupResult) -> GroupResult {
        let f = &g.figures;
        let h = &f.durations;
        GroupResult {
            key: g.key.clone(),
            calls: f.calls(),
            rate_per_sec: g.rate_per_sec,
            errors: f.errors,
            error_rate: f.error_rate(),
            client_errors: f.client_errors,
            p50: secs(h.p50()),
            p90: secs(h.p90()),
            p99: secs(h.p99()),
            max: secs(h.max()),
            total_duration: secs(h.sum()),
            mean: secs(h.mean()),
            request_bytes: f.request_bytes,
            response_bytes: f.response_bytes,
            tokens: f.into(),
            chunks: f.chunks,
            streamed_calls: f.streamed_calls(),
            first_chunk_p50: secs(f.first_chunk.p50()),
            first_chunk_p99: secs(f.first_chunk.p99()),
            per_output_chunk_p50: secs(f.per_output_chunk.p50()),
            cost_usd: f.cost_usd(),
            known_cost_usd: f.known_cost_usd(),
            allocated_bytes: f.allocated_bytes,
            series: g.series.iter().map(Into::into).collect(),
        }
    }
}

#[derive(Serialize)]
struct Point {
    at: u64,
    calls: u64,
    errors: u64,
    p50: f64,
    p99: f64,
    total_duration: f64,
    tokens: u64,
    cost_usd: f64,
    first_chunk_p99: f64,
}

impl From<&monitor_core::history::Point> for Point {
    fn from(p: &monitor_core::history::Point) -> Point {
        let f = &p.figures;
        Point {
            at: p.at,
            calls: f.calls(),
            errors: f.errors,
            p50: secs(f.durations.p50()),
            p99: secs(f.durations.p99()),
            total_duration: secs(f.durations.sum()),
            tokens: f.tokens.input + f.tokens.output,
            cost_usd: f.known_cost_usd(),
            first_chunk_p99: secs(f.first_chunk.p99()),
        }
    }
}
