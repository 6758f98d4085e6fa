//! What a tick hands its subscribers.

use crate::figures::Figures;
use crate::memory::MemorySample;
use crate::record::site::Site;
use std::sync::Arc;
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
