//! The history's state and one tick: take a snapshot, file what each active site added since the
//! previous tick into the tiers, sample memory, set outlier thresholds, tell the subscribers.
//!
//! A tick costs what was active: it asks the read model for the sites whose figures changed
//! since the previous tick, and reads nothing of the others.

use super::subscribe::{Subscribers, Subscription};
use super::tick::{CacheTick, SiteTick, Tick};
use super::tiers::{Frame, Tier, file_all};
use crate::figures::Histogram;
use crate::memory::MemorySample;
use crate::record::events;
use crate::record::site::Site;
use crate::snapshot::{Added, changes};
use parking_lot::Mutex;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How the collector ticks and how much history it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HistoryLimits {
    pub(crate) tick: Duration,
    pub(crate) retention: Duration,
    pub(crate) max_bytes: usize,
}

/// Defaults: a tick a second, 24 hours kept, 64 MiB at most.
pub(crate) const DEFAULT_LIMITS: HistoryLimits = HistoryLimits {
    tick: Duration::from_secs(1),
    retention: Duration::from_secs(24 * 3600),
    max_bytes: 64 << 20,
};

/// Memory samples kept: an hour of one-second ticks.
pub const MEMORY_SAMPLES: usize = 3600;

pub(crate) struct State {
    limits: HistoryLimits,
    /// For each site, the count of calls its outlier threshold was worked out at.
    thresholds: Vec<u64>,
    last_tick_ms: Option<u64>,
    pub(crate) tiers: Vec<Tier>,
    subscribers: Subscribers,
    /// Memory at each tick, the latest [`MEMORY_SAMPLES`].
    memory: VecDeque<MemorySample>,
    /// Each cache's totals at the previous tick.
    previous_caches: BTreeMap<String, (u64, u64)>,
}

// Process-wide, not the guard's: the history is made of the sites, which are the process's, and
// queries and ticks reach it from free functions with or without a guard (tests tick it by hand).
// The guard owns what fills it (the collector) and the file it is written to.
static STATE: Mutex<Option<State>> = Mutex::new(None);

/// Calls slower than the outlier factor times the site's p99 become outlier events; a site needs
/// 100 calls before it has a p99 worth the name. The p99 of all a site's calls moves slowly: it is
/// worked out again once the calls have grown by a tenth since `last` (the count it was worked out
/// at), not at every tick. Returns the count it was worked out at.
fn set_outlier_threshold(site: &Site, durations: &Histogram, last: u64) -> u64 {
    let count = durations.count();
    if count < 100 || count < last.saturating_add(last / 10) {
        return last;
    }
    let p99_units = durations.quantile(0.99).as_nanos() as f64 / durations.nanos_per_unit();
    let threshold = (p99_units * events::outlier_factor()).min(u64::MAX as f64) as u64;
    site.set_outlier_units(threshold);
    count
}

/// Milliseconds since the Unix epoch; 0 before it.
pub(crate) fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Allocations per second between the previous sample and this one, taken at `at`.
fn allocation_rate(
    previous: Option<&MemorySample>,
    now: &MemorySample,
    at: SystemTime,
) -> Option<f64> {
    let previous = previous?;
    let seconds = at.duration_since(previous.at).ok()?.as_secs_f64();
    let made = now.allocations?.checked_sub(previous.allocations?)?;
    (seconds > 0.0).then(|| made as f64 / seconds)
}

impl State {
    pub(crate) fn new(limits: HistoryLimits) -> State {
        let tick_ms = u64::try_from(limits.tick.as_millis())
            .unwrap_or(1000)
            .max(1);
        // A tick wide for 15 minutes, a minute wide for 24 hours, an hour wide beyond (as far as
        // retention allows).
        let tiers = [
            (tick_ms, 15 * 60_000),
            (60_000, 24 * 3_600_000),
            (3_600_000, u64::MAX),
        ]
        .into_iter()
        .filter(|(width, _)| *width >= tick_ms)
        .map(|(width_ms, span_ms)| Tier {
            width_ms,
            span_ms,
            frames: VecDeque::new(),
            bytes: 0,
            filed_to_ms: 0,
        })
        .collect();
        State {
            limits,
            thresholds: Vec::new(),
            last_tick_ms: None,
            tiers,
            subscribers: Subscribers::default(),
            memory: VecDeque::new(),
            previous_caches: BTreeMap::new(),
        }
    }

    /// Takes what changed from the read model, files what each site added, trims to the limits,
    /// and tells the subscribers.
    pub(crate) fn tick(&mut self, at: SystemTime) -> Arc<Tick> {
        let now_ms = unix_ms(at);
        let start_ms = self.last_tick_ms.unwrap_or(now_ms).min(now_ms);
        let snap = changes();
        self.thresholds.resize(snap.sites, 0);
        let mut frame = Frame {
            start_ms,
            end_ms: now_ms,
            sites: Vec::new(),
            models: Vec::new(),
            caches: self.cache_lookups(&snap.caches),
        };
        let memory = snap.memory.map(|sample| MemorySample {
            at,
            allocations_per_sec: allocation_rate(self.memory.back(), &sample, at),
            ..sample
        });
        if let Some(sample) = memory {
            if self.memory.len() >= MEMORY_SAMPLES {
                self.memory.pop_front();
            }
            self.memory.push_back(sample);
        }
        let mut tick = Tick {
            at,
            period: Duration::from_millis(now_ms - start_ms),
            sites: Vec::new(),
            memory,
            caches: frame
                .caches
                .iter()
                .map(|(name, (hits, misses))| CacheTick {
                    name: name.clone(),
                    hits: *hits,
                    misses: *misses,
                })
                .collect(),
        };
        frame.sites.reserve(snap.changed.len());
        tick.sites.reserve(snap.changed.len());
        for (index, site, now, added) in snap.changed {
            if let Some(at) = self.thresholds.get_mut(index) {
                *at = set_outlier_threshold(site, &now.durations, *at);
            }
            let Added { figures, by_model } = added;
            if figures.is_empty() {
                continue;
            }
            tick.sites
                .push(SiteTick::new(site, figures.clone(), Arc::clone(&now)));
            frame.sites.push((index, figures));
            frame
                .models
                .extend(by_model.into_iter().map(|(model, f)| ((index, model), f)));
        }
        frame.models.sort_by(|a, b| a.0.cmp(&b.0));
        self.last_tick_ms = Some(now_ms);
        if !frame.is_empty() {
            file_all(&mut self.tiers, frame);
        }
        self.trim(now_ms);
        let tick = Arc::new(tick);
        self.subscribers.send(&tick);
        tick
    }

    /// Cache lookups since the previous tick, for the caches looked up.
    fn cache_lookups(&mut self, caches: &[crate::record::CacheStats]) -> Vec<(String, (u64, u64))> {
        let mut lookups = Vec::new();
        for stats in caches {
            let before = self
                .previous_caches
                .get(&stats.name)
                .copied()
                .unwrap_or_default();
            let delta = (
                stats.hits.saturating_sub(before.0),
                stats.misses.saturating_sub(before.1),
            );
            if delta != (0, 0) {
                lookups.push((stats.name.clone(), delta));
                self.previous_caches
                    .insert(stats.name.clone(), (stats.hits, stats.misses));
            }
        }
        lookups
    }

    /// Keeps each tier to the frames that a finer tier does not already cover and that are within
    /// the retention, then drops the oldest frames until the memory bound holds.
    pub(crate) fn trim(&mut self, now_ms: u64) {
        let retention_ms = u64::try_from(self.limits.retention.as_millis()).unwrap_or(u64::MAX);
        let oldest_kept = now_ms.saturating_sub(retention_ms);
        for tier in &mut self.tiers {
            let from = oldest_kept.max(now_ms.saturating_sub(tier.span_ms));
            while tier.frames.front().is_some_and(|f| f.end_ms <= from) {
                tier.drop_oldest();
            }
        }
        while self.approx_bytes() > self.limits.max_bytes {
            // The coarsest tier holds the oldest frames; but each tier's latest frame is the one
            // every tick adds to, so it goes last: dropping it would only have the next tick
            // start it again, from a copy.
            let tiers = &mut self.tiers;
            let index = tiers
                .iter()
                .rposition(|t| t.frames.len() > 1)
                .or_else(|| tiers.iter().position(|t| !t.frames.is_empty()));
            if index.and_then(|i| tiers[i].drop_oldest()).is_none() {
                break;
            }
        }
    }

    /// When the latest tick ran, in milliseconds since the Unix epoch.
    pub(crate) fn last_tick_ms(&self) -> Option<u64> {
        self.last_tick_ms
    }

    fn approx_bytes(&self) -> usize {
        self.tiers.iter().map(|t| t.bytes).sum()
    }
}

/// Sets the limits for the ticks to come; frames already kept stay until trimmed.
pub(crate) fn set_limits(limits: HistoryLimits) {
    let mut state = STATE.lock();
    match state.as_mut() {
        Some(state) => state.limits = limits,
        None => *state = Some(State::new(limits)),
    }
}

/// Runs `f` on the history, holding its lock: keep `f` short (queries take the frames they need
/// and compute after).
pub(crate) fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let mut state = STATE.lock();
    f(state.get_or_insert_with(|| State::new(DEFAULT_LIMITS)))
}

/// The start of the oldest frame the history holds, in milliseconds since the Unix epoch.
pub(crate) fn oldest_ms() -> Option<u64> {
    with_state(|state| {
        state
            .tiers
            .iter()
            .filter_map(|t| t.frames.front().map(|f| f.start_ms))
            .min()
    })
}

/// The process's memory at the latest ticks (up to [`MEMORY_SAMPLES`]), oldest first.
pub fn memory_history() -> Vec<MemorySample> {
    with_state(|state| state.memory.iter().copied().collect())
}

/// A new consumer of ticks, with a buffer of `capacity` ticks.
pub fn subscribe(capacity: usize) -> Subscription {
    with_state(|state| state.subscribers.add(capacity))
}

/// Memory the history holds now, approximately, in bytes.
pub fn history_bytes() -> usize {
    with_state(|state| state.approx_bytes())
}
