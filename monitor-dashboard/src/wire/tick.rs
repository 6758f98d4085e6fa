//! `/api/stream`'s `tick` message: what one collector tick saw.

use super::common::{Moment, Site, secs};
use super::memory::MemorySample;
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct Tick {
    at: Moment,
    period: f64,
    sites: Vec<SiteTick>,
    memory: Option<MemorySample>,
    caches: Vec<CacheTick>,
    /// Ticks this client missed since its previous message, for reading too slowly.
    dropped: u64,
}

impl Tick {
    pub(crate) fn new(tick: &monitor_core::history::Tick, dropped: u64) -> Tick {
        Tick {
            at: tick.at.into(),
            period: secs(tick.period),
            sites: tick
                .sites
                .iter()
                .map(|s| SiteTick {
                    site: s.site.into(),
                    calls: s.calls,
                    errors: s.errors,
                    client_errors: s.client_errors,
                    input_tokens: s.input_tokens,
                    output_tokens: s.output_tokens,
                    known_cost_usd: s.known_cost_usd,
                    p50: secs(s.p50),
                    p99: secs(s.p99),
                    total_calls: s.total_calls,
                    total_errors: s.total_errors,
                })
                .collect(),
            memory: tick.memory.as_ref().map(Into::into),
            caches: tick
                .caches
                .iter()
                .map(|c| CacheTick {
                    name: c.name.clone(),
                    hits: c.hits,
                    misses: c.misses,
                })
                .collect(),
            dropped,
        }
    }
}

#[derive(Serialize)]
struct SiteTick {
    site: Site,
    calls: u64,
    errors: u64,
    client_errors: u64,
    input_tokens: u64,
    output_tokens: u64,
    known_cost_usd: f64,
    p50: f64,
    p99: f64,
    total_calls: u64,
    total_errors: u64,
}

#[derive(Serialize)]
struct CacheTick {
    name: String,
    hits: u64,
    misses: u64,
}
