//! What a tick hands its subscribers.

use crate::figures::Figures;
use crate::memory::MemorySample;
use crate::record::site::Site;
use std::time::{Duration, SystemTime};

/// What one tick saw: every site called since the previous tick, with what it added.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Tick {
    /// When the tick ran.
    pub at: SystemTime,
    /// Time since the previous tick.
    pub period: Duration,
    /// The sites called in the period.
    pub sites: Vec<SiteTick>,
    /// The process's memory at the tick, when it could be read.
    pub memory: Option<MemorySample>,
    /// Cache lookups in the period, for the caches looked up in it.
    pub caches: Vec<CacheTick>,
}

/// One cache's lookups during a tick's period.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CacheTick {
    /// The cache.
    pub name: String,
    /// Lookups that hit.
    pub hits: u64,
    /// Lookups that missed.
    pub misses: u64,
}

/// What one site added during a tick's period.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SiteTick {
    /// The site.
    pub site: &'static Site,
    /// Calls finished, panicked or cancelled.
    pub calls: u64,
    /// Failed calls.
    pub errors: u64,
    /// Calls answered with a 4xx status.
    pub client_errors: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cost of the calls whose model had a price, in USD.
    pub known_cost_usd: f64,
    /// Median duration in the period.
    pub p50: Duration,
    /// 99th percentile duration in the period.
    pub p99: Duration,
    /// Calls since the start, as of the tick: a reader that holds totals read at another moment
    /// (a snapshot) catches up to these rather than adding `calls`, which may overlap them.
    pub total_calls: u64,
    /// Failed calls since the start, as of the tick.
    pub total_errors: u64,
}

impl SiteTick {
    /// What `site` added in a period, and where that left it: views of the figures it added and
    /// of those it has now.
    pub(crate) fn of(site: &'static Site, added: &Figures, now: &Figures) -> SiteTick {
        SiteTick {
            site,
            calls: added.calls(),
            errors: added.errors,
            client_errors: added.client_errors,
            input_tokens: added.tokens.input,
            output_tokens: added.tokens.output,
            known_cost_usd: added.known_cost_usd(),
            p50: added.durations.quantile(0.5),
            p99: added.durations.quantile(0.99),
            total_calls: now.calls(),
            total_errors: now.errors,
        }
    }
}
