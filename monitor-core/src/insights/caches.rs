//! Caches that miss more than they hit.

use super::read::{WINDOW, history};
use super::words::{percent, span};
use super::{Insight, Severity};
use crate::history::query::TimeRange;
use crate::snapshot::Snapshot;
use std::time::SystemTime;

/// Lookups a cache needs before its hit ratio is judged.
const MIN_CACHE_LOOKUPS: u64 = 20;

/// A hit ratio below this is worth knowing: the cache misses more often than it hits.
const LOW_HIT_RATIO: f64 = 0.5;

/// A hit ratio below this is worth acting on: the cache costs memory and lookups for little.
const VERY_LOW_HIT_RATIO: f64 = 0.2;

/// Caches that miss more than they hit, over the [`WINDOW`] or else since the start.
pub(super) fn caches(now: SystemTime, snapshot: &Snapshot) -> Vec<Insight> {
    let recent: Vec<(String, u64, u64)> = history(TimeRange::Last(WINDOW), now, None, &[])
        .map(|r| r.caches)
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.name, c.hits, c.misses))
        .collect();
    let (figures, when) = if recent.is_empty() {
        let totals = snapshot
            .caches
            .iter()
            .map(|c| (c.name.clone(), c.hits, c.misses))
            .collect();
        (totals, "since the start".to_owned())
    } else {
        (recent, format!("in the last {}", span(WINDOW)))
    };
    let mut low: Vec<(f64, Insight)> = figures
        .into_iter()
        .filter_map(|(name, hits, misses)| {
            let lookups = hits.saturating_add(misses);
            if lookups < MIN_CACHE_LOOKUPS {
                return None;
            }
            let ratio = hits as f64 / lookups as f64;
            let severity = if ratio < VERY_LOW_HIT_RATIO {
                Severity::Warning
            } else if ratio < LOW_HIT_RATIO {
                Severity::Info
            } else {
                return None;
            };
            let message = format!(
                "Cache `{name}` hits only {} of lookups ({hits} of {lookups}) {when}",
                percent(ratio),
            );
            Some((ratio, Insight::new(severity, "cache", message)))
        })
        .collect();
    low.sort_by(|a, b| a.0.total_cmp(&b.0));
    low.into_iter().map(|(_, insight)| insight).collect()
}
