//! What a tick hands its subscribers.

use crate::figures::Figures;
use crate::memory::MemorySample;
use crate::record::site::Site;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// What one tick saw: every site called since the previous tick, with what it added.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Tick {
    /// When the tick ran.
    pub at: SystemTime,
    /// Time since the previous tick.
    #[serde(serialize_with = "crate::figures::seconds")]
    pub period: Duration,
    /// The sites called in the period.
    pub sites: Vec<SiteTick>,
    /// The process's memory at the tick, when it could be read.
    pub memory: Option<MemorySample>,
    /// Cache lookups in the period, for the caches looked up in it.
    pub caches: Vec<CacheTick>,
}

/// One cache's lookups during a tick's period.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
///
/// Serialises as the dashboard's stream has always sent it: `site`, `calls`, `errors`,
/// `client_errors`, `input_tokens`, `output_tokens`, `known_cost_usd`, `p50`, `p99` (seconds) of
/// what it added, and `total_calls`, `total_errors` as of the tick.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SiteTick {
    /// The site.
    pub site: &'static Site,
    /// What it added in the period.
    pub figures: Figures,
    /// Its figures since the start, as of the tick: a reader that holds totals read at another
    /// moment (a snapshot) catches up to these rather than adding `figures`, which may overlap
    /// them.
    pub total: Arc<Figures>,
}

impl SiteTick {
    /// What `site` added in a period, and where that left it.
    pub(crate) fn new(site: &'static Site, figures: Figures, total: Arc<Figures>) -> SiteTick {
        SiteTick {
            site,
            figures,
            total,
        }
    }
}

impl Serialize for SiteTick {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let f = &self.figures;
        let mut s = serializer.serialize_struct("SiteTick", 11)?;
        s.serialize_field("site", self.site)?;
        s.serialize_field("calls", &f.calls())?;
        s.serialize_field("errors", &f.errors)?;
        s.serialize_field("client_errors", &f.client_errors)?;
        s.serialize_field("input_tokens", &f.tokens.input)?;
        s.serialize_field("output_tokens", &f.tokens.output)?;
        s.serialize_field("known_cost_usd", &f.known_cost_usd())?;
        s.serialize_field("p50", &f.durations.p50().as_secs_f64())?;
        s.serialize_field("p99", &f.durations.p99().as_secs_f64())?;
        s.serialize_field("total_calls", &self.total.calls())?;
        s.serialize_field("total_errors", &self.total.errors)?;
        s.end()
    }
}
