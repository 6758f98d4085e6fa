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
                .map(|s| {
                    let f = &s.figures;
                    SiteTick {
                        site: s.site.into(),
                        calls: f.calls(),
                        errors: f.errors,
                        client_errors: f.client_errors,
                        input_tokens: f.tokens.input,
                        output_tokens: f.tokens.output,
                        known_cost_usd: f.known_cost_usd(),
                        p50: secs(f.durations.p50()),
                        p99: secs(f.durations.p99()),
                        total_calls: s.total.calls(),
                        total_errors: s.total.errors,
                    }
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
