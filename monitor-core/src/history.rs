//! The collector and the history it keeps: each tick reads every site's totals, turns them into
//! the deltas since the previous tick, and files those into rollups of growing width — one frame
//! per tick for the recent past, one per minute further back, one per hour beyond — bounded by age
//! and by memory. Subscribers get each tick as it happens.

use crate::aggregate::Totals;
use crate::histogram::{BUCKETS, Histogram, bucket_bounds};
use crate::site::{Site, sites};
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What one site added during one period. Durations are in clock units, as sites count them.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Delta {
    pub(crate) calls: u64,
    pub(crate) errors: u64,
    pub(crate) client_errors: u64,
    pub(crate) panics: u64,
    pub(crate) cancelled: u64,
    pub(crate) request_bytes: u64,
    pub(crate) response_bytes: u64,
    pub(crate) token_calls: u64,
    pub(crate) input_tokens: u64,
    pub(crate) output_tokens: u64,
    pub(crate) cached_input_tokens: u64,
    pub(crate) cost_picousd: u64,
    pub(crate) unpriced_calls: u64,
    pub(crate) allocated_bytes: u64,
    pub(crate) sum_units: u128,
    /// Non-empty duration buckets, by index.
    pub(crate) buckets: Vec<(u16, u64)>,
    /// The same, of the failed calls only.
    pub(crate) error_buckets: Vec<(u16, u64)>,
    /// The same, of the calls answered with a 4xx only.
    pub(crate) client_error_buckets: Vec<(u16, u64)>,
}

/// `now − before`, bucket by bucket, keeping the buckets that grew.
fn sparse_between(now: Option<&Histogram>, before: Option<&Histogram>) -> Vec<(u16, u64)> {
    let Some(now) = now else {
        return Vec::new();
    };
    let zero = [0u64; BUCKETS];
    let before = before.map_or(&zero, |b| b.counts());
    now.counts()
        .iter()
        .zip(before.iter())
        .enumerate()
        .filter(|(_, (n, p))| n > p)
        .map(|(i, (n, p))| (i as u16, n - p))
        .collect()
}

/// Two sparse bucket lists, ordered by index, added into one.
fn sparse_merge(a: &[(u16, u64)], b: &[(u16, u64)]) -> Vec<(u16, u64)> {
    let mut merged = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.iter().peekable(), b.iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (Some(&&(i, n)), Some(&&(j, m))) if i == j => {
                merged.push((i, n + m));
                a.next();
                b.next();
            }
            (Some(&&(i, n)), Some(&&(j, _))) if i < j => {
                merged.push((i, n));
                a.next();
            }
            (_, Some(&&(j, m))) => {
                merged.push((j, m));
                b.next();
            }
            (Some(&&(i, n)), None) => {
                merged.push((i, n));
                a.next();
            }
            (None, None) => break,
        }
    }
    merged
}

impl Delta {
    /// `now − before`, field by field. Counters only grow, so a negative difference can only come
    /// from a reading racing a writer; it saturates to zero.
    fn between(before: Option<&Totals>, now: &Totals) -> Delta {
        let zero = Totals::default();
        let b = before.unwrap_or(&zero);
        let d = |now: u64, before: u64| now.saturating_sub(before);
        let buckets = sparse_between(Some(&now.durations), Some(&b.durations));
        Delta {
            calls: d(
                now.durations.count() + now.cancelled,
                b.durations.count() + b.cancelled,
            ),
            errors: d(now.errors, b.errors),
            client_errors: d(now.client_errors, b.client_errors),
            panics: d(now.panics, b.panics),
            cancelled: d(now.cancelled, b.cancelled),
            request_bytes: d(now.request_bytes, b.request_bytes),
            response_bytes: d(now.response_bytes, b.response_bytes),
            token_calls: d(now.token_calls, b.token_calls),
            input_tokens: d(now.tokens.input, b.tokens.input),
            output_tokens: d(now.tokens.output, b.tokens.output),
            cached_input_tokens: d(now.tokens.cached_input, b.tokens.cached_input),
            cost_picousd: d(now.cost_picousd, b.cost_picousd),
            unpriced_calls: d(now.unpriced_calls, b.unpriced_calls),
            allocated_bytes: d(now.allocated_bytes, b.allocated_bytes),
            sum_units: now
                .durations
                .sum_units()
                .saturating_sub(b.durations.sum_units()),
            buckets,
            error_buckets: sparse_between(now.error_durations.as_ref(), b.error_durations.as_ref()),
            client_error_buckets: sparse_between(
                now.client_error_durations.as_ref(),
                b.client_error_durations.as_ref(),
            ),
        }
    }

    fn is_empty(&self) -> bool {
        self.calls == 0 && self.token_calls == 0 && self.buckets.is_empty()
    }

    pub(crate) fn merge(&mut self, other: &Delta) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.client_errors += other.client_errors;
        self.panics += other.panics;
        self.cancelled += other.cancelled;
        self.request_bytes += other.request_bytes;
        self.response_bytes += other.response_bytes;
        self.token_calls += other.token_calls;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.cost_picousd += other.cost_picousd;
        self.unpriced_calls += other.unpriced_calls;
        self.allocated_bytes += other.allocated_bytes;
        self.sum_units += other.sum_units;
        self.buckets = sparse_merge(&self.buckets, &other.buckets);
        self.error_buckets = sparse_merge(&self.error_buckets, &other.error_buckets);
        self.client_error_buckets =
            sparse_merge(&self.client_error_buckets, &other.client_error_buckets);
    }

    /// The durations as a histogram in time.
    pub(crate) fn histogram(&self, nanos_per_unit: f64) -> Histogram {
        histogram_of(&self.buckets, self.sum_units, nanos_per_unit)
    }

    fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Delta>()
            + (self.buckets.len() + self.error_buckets.len() + self.client_error_buckets.len())
                * std::mem::size_of::<(u16, u64)>()
    }
}

/// A histogram of sparse buckets; `sum_units` for its mean.
pub(crate) fn histogram_of(
    buckets: &[(u16, u64)],
    sum_units: u128,
    nanos_per_unit: f64,
) -> Histogram {
    {
        let mut h = Histogram::in_units(nanos_per_unit);
        let mut max = 0;
        for &(i, n) in buckets {
            h.add_raw(usize::from(i).min(BUCKETS - 1), n);
            let (low, width) = bucket_bounds(usize::from(i));
            max = low + width - 1;
        }
        // The period's exact maximum is not kept: the top of its highest bucket stands in, 1.6 %
        // at most above it.
        h.add_sum_max(u64::try_from(sum_units).unwrap_or(u64::MAX), max);
        h
    }
}

/// One period of one tier: what every site that was called added in it.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// Start and end, in milliseconds since the Unix epoch.
    pub(crate) start_ms: u64,
    pub(crate) end_ms: u64,
    /// By site index in [`sites`] order.
    pub(crate) sites: Vec<(usize, Delta)>,
    /// Cache lookups in the period, by cache name: `(hits, misses)`.
    pub(crate) caches: Vec<(String, (u64, u64))>,
}

impl Frame {
    fn merge(&mut self, other: &Frame) {
        self.start_ms = self.start_ms.min(other.start_ms);
        self.end_ms = self.end_ms.max(other.end_ms);
        for (site, delta) in &other.sites {
            match self.sites.binary_search_by_key(site, |(s, _)| *s) {
                Ok(i) => self.sites[i].1.merge(delta),
                Err(i) => self.sites.insert(i, (*site, delta.clone())),
            }
        }
        for (name, (hits, misses)) in &other.caches {
            match self.caches.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
                Ok(i) => {
                    self.caches[i].1.0 += hits;
                    self.caches[i].1.1 += misses;
                }
                Err(i) => self.caches.insert(i, (name.clone(), (*hits, *misses))),
            }
        }
    }

    fn approx_bytes(&self) -> usize {
        self.caches
            .iter()
            .map(|(name, _)| 40 + name.len())
            .sum::<usize>()
            + std::mem::size_of::<Frame>()
            + self
                .sites
                .iter()
                .map(|(_, d)| 8 + d.approx_bytes())
                .sum::<usize>()
    }
}

/// Frames of one width, oldest first.
#[derive(Debug)]
pub(crate) struct Tier {
    pub(crate) width_ms: u64,
    /// How far back this tier reaches; a finer tier covers the recent past at a finer width.
    pub(crate) span_ms: u64,
    pub(crate) frames: VecDeque<Frame>,
}

impl Tier {
    fn file(&mut self, frame: &Frame) {
        let slot = frame.start_ms / self.width_ms;
        match self.frames.back_mut() {
            Some(last) if last.start_ms / self.width_ms == slot => last.merge(frame),
            _ => {
                let mut aligned = frame.clone();
                aligned.start_ms = slot * self.width_ms;
                self.frames.push_back(aligned);
            }
        }
    }
}

/// How the collector ticks and how much history it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HistoryLimits {
    pub(crate) tick: Duration,
    pub(crate) retention: Duration,
    pub(crate) max_bytes: usize,
}

/// What one tick saw: every site called since the previous tick, with what it added.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Tick {
    /// When the tick ran.
    pub at: SystemTime,
    /// Time since the previous tick.
    #[serde(serialize_with = "crate::stats::seconds")]
    pub period: Duration,
    /// The sites called in the period.
    pub sites: Vec<SiteTick>,
    /// The process's memory at the tick, when it could be read.
    pub memory: Option<crate::MemorySample>,
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
#[derive(Debug, Clone, Serialize)]
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
    #[serde(serialize_with = "crate::stats::seconds")]
    pub p50: Duration,
    /// 99th percentile duration in the period.
    #[serde(serialize_with = "crate::stats::seconds")]
    pub p99: Duration,
}

pub(crate) struct State {
    limits: HistoryLimits,
    previous: Vec<Option<Totals>>,
    last_tick_ms: Option<u64>,
    pub(crate) tiers: Vec<Tier>,
    subscribers: Vec<Subscriber>,
    /// Memory at each tick, the latest [`MEMORY_SAMPLES`].
    memory: VecDeque<crate::MemorySample>,
    /// Each cache's totals at the previous tick.
    previous_caches: std::collections::BTreeMap<String, (u64, u64)>,
}

/// Memory samples kept: an hour of one-second ticks.
pub const MEMORY_SAMPLES: usize = 3600;

struct Subscriber {
    sender: SyncSender<Arc<Tick>>,
    dropped: Arc<AtomicU64>,
}

pub(crate) static STATE: Mutex<Option<State>> = Mutex::new(None);

/// Calls slower than the outlier factor times the site's p99 become outlier events; a site needs
/// 100 calls before it has a p99 worth the name.
fn set_outlier_threshold(site: &Site, durations: &Histogram) {
    if durations.count() < 100 {
        return;
    }
    let p99_units = durations.quantile(0.99).as_nanos() as f64 / durations.nanos_per_unit();
    let threshold = (p99_units * crate::events::outlier_factor()).min(u64::MAX as f64) as u64;
    site.outlier_units.store(threshold, Ordering::Relaxed);
}

/// Milliseconds since the Unix epoch; 0 before it.
pub(crate) fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
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
        })
        .collect();
        State {
            limits,
            previous: Vec::new(),
            last_tick_ms: None,
            tiers,
            subscribers: Vec::new(),
            memory: VecDeque::new(),
            previous_caches: std::collections::BTreeMap::new(),
        }
    }

    /// Reads every site, files the deltas, trims to the limits, and tells the subscribers.
    pub(crate) fn tick(&mut self, at: SystemTime) -> Arc<Tick> {
        let now_ms = unix_ms(at);
        let start_ms = self.last_tick_ms.unwrap_or(now_ms).min(now_ms);
        let all: Vec<&'static Site> = sites().collect();
        self.previous.resize_with(all.len(), || None);
        // Cache lookups since the previous tick.
        let mut caches = Vec::new();
        for stats in crate::caches() {
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
                caches.push((stats.name.clone(), delta));
            }
            self.previous_caches
                .insert(stats.name, (stats.hits, stats.misses));
        }
        let mut frame = Frame {
            start_ms,
            end_ms: now_ms,
            caches: caches.clone(),
            sites: Vec::new(),
        };
        let previous_sample = self.memory.back().copied();
        let memory = crate::memory().ok().map(|sample| crate::MemorySample {
            at,
            allocations_per_sec: allocation_rate(previous_sample.as_ref(), &sample, at),
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
            caches: caches
                .into_iter()
                .map(|(name, (hits, misses))| CacheTick { name, hits, misses })
                .collect(),
        };
        for (index, site) in all.iter().enumerate() {
            let totals = site.aggregates.totals();
            let delta = Delta::between(self.previous[index].as_ref(), &totals);
            let scale = totals.durations.nanos_per_unit();
            set_outlier_threshold(site, &totals.durations);
            self.previous[index] = Some(totals);
            if delta.is_empty() {
                continue;
            }
            let h = delta.histogram(scale);
            tick.sites.push(SiteTick {
                site,
                calls: delta.calls,
                errors: delta.errors,
                client_errors: delta.client_errors,
                input_tokens: delta.input_tokens,
                output_tokens: delta.output_tokens,
                known_cost_usd: crate::usage::picousd_to_usd(delta.cost_picousd),
                p50: h.quantile(0.5),
                p99: h.quantile(0.99),
            });
            frame.sites.push((index, delta));
        }
        self.last_tick_ms = Some(now_ms);
        if !frame.sites.is_empty() || !frame.caches.is_empty() {
            for tier in &mut self.tiers {
                tier.file(&frame);
            }
        }
        self.trim(now_ms);
        let tick = Arc::new(tick);
        self.subscribers
            .retain(|s| match s.sender.try_send(Arc::clone(&tick)) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    s.dropped.fetch_add(1, Ordering::Relaxed);
                    true
                }
                Err(TrySendError::Disconnected(_)) => false,
            });
        tick
    }

    /// Keeps each tier to the frames that a finer tier does not already cover and that are within
    /// the retention, then drops the oldest frames until the memory bound holds.
    fn trim(&mut self, now_ms: u64) {
        let retention_ms = u64::try_from(self.limits.retention.as_millis()).unwrap_or(u64::MAX);
        let oldest_kept = now_ms.saturating_sub(retention_ms);
        for tier in &mut self.tiers {
            let from = oldest_kept.max(now_ms.saturating_sub(tier.span_ms));
            while tier.frames.front().is_some_and(|f| f.end_ms <= from) {
                tier.frames.pop_front();
            }
        }
        let mut bytes = self.approx_bytes();
        while bytes > self.limits.max_bytes {
            // The coarsest tier holds the oldest frames.
            let Some(tier) = self.tiers.iter_mut().rev().find(|t| !t.frames.is_empty()) else {
                break;
            };
            let dropped = tier.frames.pop_front().map_or(0, |f| f.approx_bytes());
            bytes = bytes.saturating_sub(dropped);
        }
    }

    /// When the latest tick ran, in milliseconds since the Unix epoch.
    pub(crate) fn last_tick_ms(&self) -> Option<u64> {
        self.last_tick_ms
    }

    pub(crate) fn approx_bytes(&self) -> usize {
        self.tiers
            .iter()
            .flat_map(|t| t.frames.iter())
            .map(Frame::approx_bytes)
            .sum()
    }

    pub(crate) fn subscribe(&mut self, capacity: usize) -> Subscription {
        let (sender, receiver) = sync_channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        self.subscribers.push(Subscriber {
            sender,
            dropped: Arc::clone(&dropped),
        });
        Subscription { receiver, dropped }
    }
}

/// A consumer of ticks. Its buffer is bounded: when the consumer falls behind, new ticks are
/// dropped (and counted) rather than slowing the collector or anything it measures.
#[derive(Debug)]
pub struct Subscription {
    receiver: Receiver<Arc<Tick>>,
    dropped: Arc<AtomicU64>,
}

impl Subscription {
    /// The next tick, waiting for it; `None` once the collector is gone.
    pub fn recv(&self) -> Option<Arc<Tick>> {
        self.receiver.recv().ok()
    }

    /// The next tick, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Arc<Tick>> {
        self.receiver.recv_timeout(timeout).ok()
    }

    /// The next tick if one is waiting.
    pub fn try_recv(&self) -> Option<Arc<Tick>> {
        self.receiver.try_recv().ok()
    }

    /// Ticks dropped because this subscription's buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Defaults: a tick a second, 24 hours kept, 64 MiB at most.
pub(crate) const DEFAULT_LIMITS: HistoryLimits = HistoryLimits {
    tick: Duration::from_secs(1),
    retention: Duration::from_secs(24 * 3600),
    max_bytes: 64 << 20,
};

/// Sets the limits for the ticks to come; frames already kept stay until trimmed.
pub(crate) fn set_limits(limits: HistoryLimits) {
    let mut state = STATE.lock();
    match state.as_mut() {
        Some(state) => state.limits = limits,
        None => *state = Some(State::new(limits)),
    }
}

pub(crate) fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let mut state = STATE.lock();
    f(state.get_or_insert_with(|| State::new(DEFAULT_LIMITS)))
}

/// Runs one tick now, as of `at`: reads every site, files what each added since the previous tick,
/// and hands the tick to the subscribers. The background collector ([`start_collector`]) calls it
/// every tick; tests and hosts with a scheduler of their own can call it with a clock of their own.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
///
/// let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// monitor_core::tick_at(t0);
/// let tick = monitor_core::tick_at(t0 + Duration::from_secs(1));
/// assert_eq!(tick.period, Duration::from_secs(1));
/// ```
pub fn tick_at(at: SystemTime) -> Arc<Tick> {
    with_state(|state| state.tick(at))
}

/// The process's memory at the latest ticks (up to [`MEMORY_SAMPLES`]), oldest first.
pub fn memory_history() -> Vec<crate::MemorySample> {
    with_state(|state| state.memory.iter().copied().collect())
}

/// Allocations per second between the previous sample and this one, taken at `at`.
fn allocation_rate(
    previous: Option<&crate::MemorySample>,
    now: &crate::MemorySample,
    at: SystemTime,
) -> Option<f64> {
    let previous = previous?;
    let seconds = at.duration_since(previous.at).ok()?.as_secs_f64();
    let made = now.allocations?.checked_sub(previous.allocations?)?;
    (seconds > 0.0).then(|| made as f64 / seconds)
}

/// Whether the heap in use has kept rising over the ticks kept, assessed by `detector`; `None`
/// when the heap is not counted (`MonitoredAlloc` is not the global allocator).
pub fn heap_leak_check(detector: &crate::LeakDetector) -> Option<crate::LeakVerdict> {
    let samples = memory_history();
    let first = samples.first()?.at;
    let points: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|s| {
            let t = s.at.duration_since(first).unwrap_or_default();
            Some((t.as_secs_f64(), s.heap_bytes? as f64))
        })
        .collect();
    (!points.is_empty()).then(|| detector.assess(&points))
}

/// Whether memory has kept rising over the ticks kept: resident size against tick time, assessed
/// by `detector`. [`heap_leak_check`] does the same for the heap.
///
/// # Examples
///
/// ```
/// let verdict = monitor_core::leak_check(&monitor_core::LeakDetector::new(1024.0 * 1024.0));
/// assert!(!verdict.suspected || verdict.samples >= 10);
/// ```
pub fn leak_check(detector: &crate::LeakDetector) -> crate::LeakVerdict {
    let samples = memory_history();
    let first = samples.first().map(|s| s.at);
    let points: Vec<(f64, f64)> = samples
        .iter()
        .map(|s| {
            let t = first
                .and_then(|f| s.at.duration_since(f).ok())
                .unwrap_or_default();
            (t.as_secs_f64(), s.rss_bytes as f64)
        })
        .collect();
    detector.assess(&points)
}

/// A new consumer of ticks, with a buffer of `capacity` ticks.
pub fn subscribe(capacity: usize) -> Subscription {
    with_state(|state| state.subscribe(capacity))
}

/// Memory the history holds now, approximately, in bytes.
pub fn history_bytes() -> usize {
    with_state(|state| state.approx_bytes())
}

/// The background collector: a thread that ticks until stopped or dropped.
#[derive(Debug)]
#[must_use = "the collector stops when this handle is dropped"]
pub struct Collector {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts a thread that calls [`tick_at`] with the system clock every `every`.
/// Without the `enabled` feature there is nothing to collect, and no thread is started.
pub fn start_collector(every: Duration) -> Collector {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if !cfg!(feature = "enabled") {
        return Collector { stop, thread: None };
    }
    let flag = Arc::clone(&stop);
    let every = every.max(Duration::from_millis(10));
    let thread = std::thread::Builder::new()
        .name("monitor-collector".into())
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::park_timeout(every);
                if !flag.load(Ordering::Relaxed) {
                    tick_at(SystemTime::now());
                }
            }
        })
        .ok();
    Collector { stop, thread }
}

impl Collector {
    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.halt();
    }
}

/// The collector [`init`](crate::init) starts.
static GLOBAL: Mutex<Option<Collector>> = Mutex::new(None);

/// Starts the background collector, ticking at the configured interval ([`Config`](crate::Config)'s
/// `tick`, 1 s by default), unless it runs already. What consumes ticks calls it on first use: the
/// dashboard's router does, so a service that serves the dashboard has a history without a call to
/// [`init`](crate::init). Returns whether this call started it.
///
/// # Examples
///
/// ```
/// monitor_core::ensure_collector();
/// assert!(!monitor_core::ensure_collector()); // already running
/// monitor_core::stop_collector();
/// ```
pub fn ensure_collector() -> bool {
    let tick = with_state(|state| state.limits.tick);
    start_global(tick)
}

pub(crate) fn start_global(every: Duration) -> bool {
    let mut global = GLOBAL.lock();
    if global.is_some() {
        return false;
    }
    *global = Some(start_collector(every));
    true
}

/// Stops the collector [`init`](crate::init) started, if it runs. The history stays.
pub fn stop_collector() {
    let collector = GLOBAL.lock().take();
    if let Some(collector) = collector {
        collector.stop();
    }
}
