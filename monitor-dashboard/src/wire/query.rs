//! `/api/query`: the history, filtered and grouped.

use super::common::KindCosts;
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
    input_tokens: u64,
    output_tokens: u64,
    cached_input_tokens: u64,
    cache_write_tokens: u64,
    reasoning_tokens: u64,
    cost_by_kind: KindCosts,
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
        GroupResult {
            key: g.key.clone(),
            calls: g.calls,
            rate_per_sec: g.rate_per_sec,
            errors: g.errors,
            error_rate: g.error_rate,
            client_errors: g.client_errors,
            p50: g.p50,
            p90: g.p90,
            p99: g.p99,
            max: g.max,
            total_duration: g.total_duration,
            mean: g.mean,
            request_bytes: g.request_bytes,
            response_bytes: g.response_bytes,
            input_tokens: g.input_tokens,
            output_tokens: g.output_tokens,
            cached_input_tokens: g.cached_input_tokens,
            cache_write_tokens: g.cache_write_tokens,
            reasoning_tokens: g.reasoning_tokens,
            cost_by_kind: (&g.cost_by_kind).into(),
            chunks: g.chunks,
            streamed_calls: g.streamed_calls,
            first_chunk_p50: g.first_chunk_p50,
            first_chunk_p99: g.first_chunk_p99,
            per_output_chunk_p50: g.per_output_chunk_p50,
            cost_usd: g.cost_usd,
            known_cost_usd: g.known_cost_usd,
            allocated_bytes: g.allocated_bytes,
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
        Point {
            at: p.at,
            calls: p.calls,
            errors: p.errors,
            p50: p.p50,
            p99: p.p99,
            total_duration: p.total_duration,
            tokens: p.tokens,
            cost_usd: p.cost_usd,
            first_chunk_p99: p.first_chunk_p99,
        }
    }
}
