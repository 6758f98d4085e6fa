//! Insights: what to look at, in words.
//!
//! Each rule reads the read model — the history through queries, and one [`Snapshot`] for the
//! totals of sites, caches and models and the error patterns — and the memory samples, and says
//! in one sentence what stands out. Rules that judge the recent past read the history; when the history has nothing for
//! them (no collector running, or a quiet stretch) they fall back to the totals since the start, and
//! say so.

use monitor_core::figures::Histogram;
use monitor_core::history::{Field, GroupResult, Query, QueryResult, TimeRange};
use monitor_core::memory::{LeakDetector, LeakVerdict};
use monitor_core::site::SiteKind;
use monitor_core::snapshot::{ErrorSummary, ModelStats, SiteSnapshot};
use monitor_core::usage::TokenKind;
use monitor_core::{Site, Snapshot};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How much an insight matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Worth acting on.
    Warning,
}

/// One thing to look at.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Insight {
    /// How much it matters.
    pub severity: Severity,
    /// What it is about, for grouping: `slowest_stage`, `slowest_handler`, `rising_errors`,
    /// `rising_first_chunk`, `leak`, `cache`, `cache_writes`, `costliest_model`,
    /// `unpriced_models`, `error_pattern`, `objective`.
    pub kind: &'static str,
    /// What to look at, in one sentence.
    pub message: String,
}

impl Insight {
    fn new(severity: Severity, kind: &'static str, message: String) -> Insight {
        Insight {
            severity,
            kind,
            message,
        }
    }
}

/// The stretch of history the slowest stage, the slowest handler and the cache hit ratios are
/// judged over: long enough to smooth a burst, short enough to be about now.
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// The recent stretch whose error rate is compared with the one before it.
const RECENT: Duration = Duration::from_secs(5 * 60);

/// The stretch before [`RECENT`] that stands for the usual error rate. Together they span 15
/// minutes, which the history keeps at its finest resolution, so the boundary between them is
/// exact rather than rounded to a minute.
const BASELINE: Duration = Duration::from_secs(10 * 60);

/// Calls a site needs in each of [`RECENT`] and [`BASELINE`] before its error rates are compared:
/// below that, one error moves the rate by several points.
const MIN_CALLS_FOR_RATE: u64 = 20;

/// Errors a site needs in [`RECENT`] to be said to fail more: a rise of one or two errors is noise.
const MIN_RECENT_ERRORS: u64 = 5;

/// How many times the usual error rate the recent one must be to count as rising.
const ERROR_RISE_FACTOR: f64 = 2.0;

/// How much higher, in absolute terms, the recent error rate must be (0.05 = 5 points): doubling
/// 0.1 % to 0.2 % is not worth a warning.
const ERROR_RISE_MIN: f64 = 0.05;

/// Calls a handler needs in the window before its p99 is compared: a p99 of a handful of calls is
/// its maximum.
const MIN_CALLS_FOR_P99: u64 = 20;

/// Streamed calls a model needs in each of [`RECENT`] and [`BASELINE`] before its time to first
/// chunk p99 is compared: of fewer, the p99 is the slowest call or two.
const MIN_CALLS_FOR_FIRST_CHUNK: u64 = 20;

/// How many times the usual time to first chunk p99 the recent one must be to count as rising: a
/// tail half as long again is what the users of a chat notice, while a provider's p99 wanders by
/// a quarter or so from one stretch to the next.
const FIRST_CHUNK_RISE_FACTOR: f64 = 1.5;

/// How much longer, in absolute terms, the recent p99 must be: 100 ms, about the least delay a
/// person notices before an answer starts. A fast model whose p99 goes from 20 to 60 ms is not
/// worth a warning.
const FIRST_CHUNK_RISE_MIN_SECS: f64 = 0.1;

/// Metered calls a model needs before its prompt cache's balance is judged: right after the first
/// writes, the reads that pay for them are still to come.
const MIN_CALLS_FOR_CACHE: u64 = 20;

/// Lookups a cache needs before its hit ratio is judged.
const MIN_CACHE_LOOKUPS: u64 = 20;

/// A hit ratio below this is worth knowing: the cache misses more often than it hits.
const LOW_HIT_RATIO: f64 = 0.5;

/// A hit ratio below this is worth acting on: the cache costs memory and lookups for little.
const VERY_LOW_HIT_RATIO: f64 = 0.2;

/// Characters of an error pattern quoted in a message; the rest is cut.
const MAX_PATTERN_CHARS: usize = 120;

/// Unpriced models named in one message; the rest are counted.
const MAX_NAMED_MODELS: usize = 5;

/// What to look at now, most pressing first: warnings, then information.
///
/// `detector` judges the memory samples the collector took (see [`monitor_core::history::leak_check`]).
/// The history is read as of the system clock; [`insights_at`] takes a clock of its own.
///
/// # Examples
///
/// ```
/// use monitor_dashboard::{DEFAULT_LEAK_THRESHOLD, Severity, insights};
///
/// let detector = monitor_core::memory::LeakDetector::new(DEFAULT_LEAK_THRESHOLD);
/// for insight in insights(&detector) {
///     let mark = if insight.severity == Severity::Warning { "!" } else { "-" };
///     println!("{mark} {}: {}", insight.kind, insight.message);
/// }
/// ```
pub fn insights(detector: &LeakDetector) -> Vec<Insight> {
    insights_at(detector, SystemTime::now())
}

/// What to look at as of `now`, most pressing first: the history is read up to `now`, for tests
/// and replays that drive it with [`monitor_core::history::tick_at`].
///
/// # Examples
///
/// ```
/// use monitor_core::memory::LeakDetector;
/// use monitor_core::monitored_handler;
/// use monitor_core::history::tick_at;
/// use std::time::{Duration, SystemTime};
///
/// #[monitored_handler(route = "GET /slow")]
/// fn slow() -> &'static str {
///     std::thread::sleep(Duration::from_millis(1));
///     "done"
/// }
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
/// tick_at(now - Duration::from_secs(2));
/// for _ in 0..20 {
///     slow();
/// }
/// tick_at(now - Duration::from_secs(1));
/// let found = monitor_dashboard::insights_at(&LeakDetector::new(f64::INFINITY), now);
/// assert!(found.iter().any(|i| i.kind == "slowest_handler" && i.message.contains("`slow`")));
/// ```
pub fn insights_at(detector: &LeakDetector, now: SystemTime) -> Vec<Insight> {
    let snapshot = monitor_core::snapshot();
    let mut found = Vec::new();
    found.extend(leak_insight(&monitor_core::history::leak_check(detector)));
    // The heap, when counted, shows a leak before the resident size does: allocators keep freed
    // memory, so RSS lags and hides small leaks.
    found.extend(
        monitor_core::history::heap_leak_check(detector)
            .and_then(|verdict| leak_warning(&verdict, "the heap in use")),
    );
    found.extend(rising_errors(now));
    found.extend(rising_first_chunk(now));
    found.extend(caches(now, &snapshot));
    found.extend(slowest_stages(now, &snapshot));
    found.extend(slowest_handler(now, &snapshot));
    found.extend(costliest_model(&snapshot.models));
    found.extend(snapshot.models.iter().filter_map(cache_writes_unpaid));
    found.extend(unpriced_models(&snapshot.models));
    found.extend(error_pattern(&snapshot.errors));
    found.extend(objectives(now));
    // Stable: within a severity, the order above holds.
    found.sort_by_key(|i| std::cmp::Reverse(i.severity));
    found
}

/// A warning for each objective that burns its budget too fast or has spent it, in the
/// objective's own words ("objective `logo-api` burns its 30-day budget 14× too fast …").
fn objectives(now: SystemTime) -> Vec<Insight> {
    monitor_core::objectives::status_at(now)
        .into_iter()
        .filter_map(|status| {
            Some(Insight::new(
                Severity::Warning,
                "objective",
                status.insight?,
            ))
        })
        .collect()
}

/// The warning a leak verdict calls for: `None` unless a leak is suspected.
///
/// # Examples
///
/// ```
/// use monitor_core::memory::LeakDetector;
/// use std::time::Duration;
///
/// // Sixty samples a second apart, growing 50 kB a second: 3 MB a minute.
/// let rising: Vec<(f64, f64)> = (0..60).map(|s| (f64::from(s), 80e6 + 50e3 * f64::from(s))).collect();
/// let detector = LeakDetector::new(1024.0).window(Duration::from_secs(60));
/// let verdict = detector.assess(&rising);
/// let insight = monitor_dashboard::leak_insight(&verdict).unwrap();
/// assert!(insight.message.contains("3.0 MB/min"), "{}", insight.message);
///
/// let flat: Vec<(f64, f64)> = (0..60).map(|s| (f64::from(s), 80e6)).collect();
/// assert!(monitor_dashboard::leak_insight(&detector.assess(&flat)).is_none());
/// ```
pub fn leak_insight(verdict: &LeakVerdict) -> Option<Insight> {
    leak_warning(verdict, "resident size")
}

fn leak_warning(verdict: &LeakVerdict, measure: &str) -> Option<Insight> {
    if !verdict.suspected {
        return None;
    }
    Some(Insight::new(
        Severity::Warning,
        "leak",
        format!(
            "Memory keeps rising: {measure} grows {}/min, steadily over the last {:.0} min \
             ({} samples, fit {:.2}) and still in the later half; a leak is suspected",
            bytes(verdict.slope_bytes_per_sec * 60.0),
            verdict.span_secs / 60.0,
            verdict.samples,
            finite_or_zero(verdict.fit),
        ),
    ))
}

/// The history over `range`, grouped; `None` when the query cannot be answered.
fn history(
    range: TimeRange,
    now: SystemTime,
    kind: Option<SiteKind>,
    by: &[Field],
) -> Option<QueryResult> {
    let mut q = Query::new(range).at(now);
    if let Some(kind) = kind {
        q = q.filter(Field::Kind, kind.as_str());
    }
    for field in by {
        q = q.group_by(*field);
    }
    monitor_core::history::query(&q).ok()
}

/// Every field that tells a site apart, so groups are sites and keys describe them.
const SITE_FIELDS: [Field; 6] = [
    Field::Kind,
    Field::Site,
    Field::Route,
    Field::Pipeline,
    Field::Stage,
    Field::Model,
];

type Key = BTreeMap<&'static str, String>;

/// A site's description as a query's group key has it.
fn key_of(site: &Site) -> Key {
    let mut key = Key::new();
    key.insert("kind", site.kind().as_str().to_owned());
    key.insert("site", site.qualified_name().to_owned());
    let optional = [
        ("route", site.route()),
        ("pipeline", site.pipeline()),
        ("stage", site.stage()),
        ("model", site.model()),
    ];
    for (field, value) in optional {
        if let Some(value) = value {
            key.insert(field, value.to_owned());
        }
    }
    key
}

/// How a message names a site: `handler `create_logo` (POST /api/logos)`.
fn subject(key: &Key) -> String {
    let get = |field: &str| key.get(field).map(String::as_str);
    let name = get("site").unwrap_or("?");
    match get("kind") {
        // A route no instrumented handler served is a site named after its route.
        Some("handler") => match get("route") {
            Some(route) if route == name => format!("route `{route}`"),
            Some(route) => format!("handler `{name}` ({route})"),
            None => format!("handler `{name}`"),
        },
        Some("stage") => match (get("stage"), get("pipeline")) {
            (Some(stage), Some(pipeline)) => format!("stage `{stage}` of pipeline `{pipeline}`"),
            _ => format!("stage `{name}`"),
        },
        Some("tokens") => match get("model") {
            Some(model) => format!("metered call `{name}` ({model})"),
            None => format!("metered call `{name}`"),
        },
        _ => format!("`{name}`"),
    }
}

/// Sites whose error rate in the last [`RECENT`] is well above the one in the [`BASELINE`] before.
fn rising_errors(now: SystemTime) -> Vec<Insight> {
    let split = now.checked_sub(RECENT).unwrap_or(UNIX_EPOCH);
    let start = split.checked_sub(BASELINE).unwrap_or(UNIX_EPOCH);
    let window = |from, to| {
        history(TimeRange::Between { from, to }, now, None, &SITE_FIELDS)
            .map(|r| r.groups)
            .unwrap_or_default()
    };
    let before: BTreeMap<Key, GroupResult> = window(start, split)
        .into_iter()
        .map(|g| (g.key.clone(), g))
        .collect();
    let mut rising: Vec<(f64, Insight)> = window(split, now)
        .into_iter()
        .filter_map(|recent| {
            let usual = before.get(&recent.key)?;
            let (now_rate, usual_rate) = (recent.figures.error_rate(), usual.figures.error_rate());
            let rises = recent.figures.calls() >= MIN_CALLS_FOR_RATE
                && usual.figures.calls() >= MIN_CALLS_FOR_RATE
                && recent.figures.errors >= MIN_RECENT_ERRORS
                && now_rate >= usual_rate * ERROR_RISE_FACTOR
                && now_rate - usual_rate >= ERROR_RISE_MIN;
            rises.then(|| {
                let message = format!(
                    "Errors are rising in {}: {} of calls failed in the last {} ({} of {}), up \
                     from {} in the {} before",
                    subject(&recent.key),
                    percent(now_rate),
                    span(RECENT),
                    recent.figures.errors,
                    recent.figures.calls(),
                    percent(usual_rate),
                    span(BASELINE),
                );
                (
                    now_rate,
                    Insight::new(Severity::Warning, "rising_errors", message),
                )
            })
        })
        .collect();
    rising.sort_by(|a, b| b.0.total_cmp(&a.0));
    rising.into_iter().map(|(_, insight)| insight).collect()
}

/// Models whose time to first chunk p99 in the last [`RECENT`] is well above the one in the
/// [`BASELINE`] before: a provider slowing down, or prompts growing.
fn rising_first_chunk(now: SystemTime) -> Vec<Insight> {
    let split = now.checked_sub(RECENT).unwrap_or(UNIX_EPOCH);
    let start = split.checked_sub(BASELINE).unwrap_or(UNIX_EPOCH);
    let window = |from, to| -> BTreeMap<String, (u64, f64)> {
        history(
            TimeRange::Between { from, to },
            now,
            Some(SiteKind::Tokens),
            &[Field::Model],
        )
        .map(|r| r.groups)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|g| {
            let model = g.key.get("model")?.clone();
            Some((
                model,
                (
                    g.figures.streamed_calls(),
                    finite_or_zero(g.figures.first_chunk.p99().as_secs_f64()),
                ),
            ))
        })
        .collect()
    };
    let before = window(start, split);
    let mut rising: Vec<(f64, Insight)> = window(split, now)
        .into_iter()
        .filter_map(|(model, recent)| {
            let usual = before.get(&model)?;
            let insight = first_chunk_rise(&model, recent, *usual)?;
            Some((recent.1 / usual.1, insight))
        })
        .collect();
    rising.sort_by(|a, b| b.0.total_cmp(&a.0));
    rising.into_iter().map(|(_, insight)| insight).collect()
}

/// The warning for a model whose time to first chunk p99 rose from `usual` to `recent`, each
/// `(calls, p99 in seconds)`; `None` when it did not rise enough, or too few calls tell.
fn first_chunk_rise(model: &str, recent: (u64, f64), usual: (u64, f64)) -> Option<Insight> {
    let ((recent_calls, now_p99), (usual_calls, usual_p99)) = (recent, usual);
    let rises = recent_calls >= MIN_CALLS_FOR_FIRST_CHUNK
        && usual_calls >= MIN_CALLS_FOR_FIRST_CHUNK
        // Without streams in a window its p99 is 0: nothing to compare.
        && usual_p99 > 0.0
        && now_p99 >= usual_p99 * FIRST_CHUNK_RISE_FACTOR
        && now_p99 - usual_p99 >= FIRST_CHUNK_RISE_MIN_SECS;
    rises.then(|| {
        Insight::new(
            Severity::Warning,
            "rising_first_chunk",
            format!(
                "Time to first chunk is rising for model `{model}`: p99 {} in the last {} ({}), \
                 up from {} in the {} before",
                seconds(now_p99),
                span(RECENT),
                calls_of(recent_calls),
                seconds(usual_p99),
                span(BASELINE),
            ),
        )
    })
}

/// A model whose prompt cache costs more than it saves since the start: what its cache writes
/// cost beyond the same tokens as plain input is more than what its cache reads saved against
/// plain input. Both at the price's base rates: a long-context tier raises them alike.
///
/// The writes' premium, not their whole cost, is what caching adds: a prompt written once and read
/// once costs 1.25 + 0.1 times the input rate at Anthropic's rates, against 2 times uncached —
/// caching paid off, though the write alone cost more than the read saved.
fn cache_writes_unpaid(m: &ModelStats) -> Option<Insight> {
    let price = m.price.as_ref()?;
    if m.figures.token_calls < MIN_CALLS_FOR_CACHE || m.figures.tokens.cache_write == 0 {
        return None;
    }
    let input = price.rate(TokenKind::Input);
    let premium =
        m.figures.tokens.cache_write as f64 * (price.rate(TokenKind::CacheWrite) - input) / 1e6;
    let saved =
        m.figures.tokens.cached_input as f64 * (input - price.rate(TokenKind::CachedInput)) / 1e6;
    (premium > saved).then(|| {
        Insight::new(
            Severity::Warning,
            "cache_writes",
            format!(
                "Prompt caching costs model `{}` more than it saves: its {} tokens written to the \
                 cache cost {} more than plain input would have ({} in all), and its {} read \
                 from the cache saved {} since the start",
                m.model,
                count(m.figures.tokens.cache_write),
                usd(premium),
                usd(m.figures.kind_costs().cache_write),
                count(m.figures.tokens.cached_input),
                usd(saved),
            ),
        )
    })
}

/// Caches that miss more than they hit, over the [`WINDOW`] or else since the start.
fn caches(now: SystemTime, snapshot: &Snapshot) -> Vec<Insight> {
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

/// What one stage or handler did: from the history's window or from its totals.
struct Figures {
    calls: u64,
    /// Time spent in it, seconds.
    time: f64,
    /// Median, seconds.
    p50: f64,
    /// 99th percentile, seconds.
    p99: f64,
}

impl Figures {
    /// A group of the history: the time spent is the sum of its calls' durations.
    fn of_group(group: &GroupResult) -> Figures {
        Figures {
            calls: group.figures.calls(),
            time: finite_or_zero(group.figures.durations.sum().as_secs_f64()),
            p50: finite_or_zero(group.figures.durations.p50().as_secs_f64()),
            p99: finite_or_zero(group.figures.durations.p99().as_secs_f64()),
        }
    }

    /// The totals of sites that share a description (a stage named twice, say).
    fn of_totals<'a>(sites: impl IntoIterator<Item = &'a SiteSnapshot>) -> Figures {
        let mut calls = 0;
        let mut durations = Histogram::default();
        for site in sites {
            calls += site.figures.calls();
            durations.merge(&site.figures.durations);
        }
        Figures {
            calls,
            time: durations.sum().as_secs_f64(),
            p50: durations.quantile(0.5).as_secs_f64(),
            p99: durations.quantile(0.99).as_secs_f64(),
        }
    }
}

/// The figures of every site of `kind` with calls, by `fields`: over the [`WINDOW`] when the
/// history has any, else since the start. Also says which.
fn figures(
    now: SystemTime,
    snapshot: &Snapshot,
    kind: SiteKind,
    fields: &[Field],
) -> (Vec<(Key, Figures)>, String) {
    let recent: Vec<(Key, Figures)> = history(TimeRange::Last(WINDOW), now, Some(kind), fields)
        .map(|r| r.groups)
        .unwrap_or_default()
        .iter()
        .filter(|g| g.figures.calls() > 0)
        .map(|g| (g.key.clone(), Figures::of_group(g)))
        .collect();
    if !recent.is_empty() {
        return (recent, format!("in the last {}", span(WINDOW)));
    }
    let mut by_key: BTreeMap<Key, Vec<&SiteSnapshot>> = BTreeMap::new();
    for site in snapshot.sites.iter().filter(|s| s.site.kind() == kind) {
        let full = key_of(site.site);
        let key = fields
            .iter()
            .filter_map(|f| {
                let name = Field::ALL.iter().find(|(_, g)| g == f)?.0;
                Some((name, full.get(name)?.clone()))
            })
            .collect();
        by_key.entry(key).or_default().push(site);
    }
    let totals = by_key
        .into_iter()
        .map(|(key, sites)| (key, Figures::of_totals(sites)))
        .filter(|(_, f)| f.calls > 0)
        .collect();
    (totals, "since the start".to_owned())
}

/// Per pipeline of two stages or more, the stage that takes the largest share of its time.
fn slowest_stages(now: SystemTime, snapshot: &Snapshot) -> Vec<Insight> {
    let (stages, when) = figures(
        now,
        snapshot,
        SiteKind::Stage,
        &[Field::Pipeline, Field::Stage],
    );
    let mut pipelines: BTreeMap<String, Vec<(String, Figures)>> = BTreeMap::new();
    for (key, figures) in stages {
        if let (Some(pipeline), Some(stage)) = (key.get("pipeline"), key.get("stage")) {
            pipelines
                .entry(pipeline.clone())
                .or_default()
                .push((stage.clone(), figures));
        }
    }
    pipelines
        .into_iter()
        .filter(|(_, stages)| stages.len() >= 2)
        .filter_map(|(pipeline, stages)| {
            let total: f64 = stages.iter().map(|(_, f)| f.time).sum();
            let (stage, top) = stages.iter().max_by(|a, b| a.1.time.total_cmp(&b.1.time))?;
            let share = top.time / total;
            // No time at all (calls too fast for the clock) says nothing about which is slowest.
            (total > 0.0 && share.is_finite()).then(|| {
                Insight::new(
                    Severity::Info,
                    "slowest_stage",
                    format!(
                        "Stage `{stage}` takes {} of pipeline `{pipeline}`'s time {when} (p50 {}, \
                         {})",
                        percent(share),
                        seconds(top.p50),
                        calls_of(top.calls),
                    ),
                )
            })
        })
        .collect()
}

/// The handler with the highest p99 among those with enough calls.
fn slowest_handler(now: SystemTime, snapshot: &Snapshot) -> Option<Insight> {
    let (handlers, when) = figures(
        now,
        snapshot,
        SiteKind::Handler,
        &[Field::Kind, Field::Site, Field::Route],
    );
    let (key, top) = handlers
        .into_iter()
        .filter(|(_, f)| f.calls >= MIN_CALLS_FOR_P99)
        .max_by(|a, b| a.1.p99.total_cmp(&b.1.p99))?;
    Some(Insight::new(
        Severity::Info,
        "slowest_handler",
        format!(
            "The slowest handler by p99 is {}: p99 {}, p50 {}, over {} {when}",
            subject(&key),
            seconds(top.p99),
            seconds(top.p50),
            calls_of(top.calls),
        ),
    ))
}

/// The model that cost the most, with its share of what all models cost.
fn costliest_model(models: &[ModelStats]) -> Option<Insight> {
    let total: f64 = models
        .iter()
        .map(|m| finite_or_zero(m.figures.known_cost_usd()))
        .sum();
    let top = models
        .iter()
        .filter(|m| finite_or_zero(m.figures.known_cost_usd()) > 0.0)
        .max_by(|a, b| {
            a.figures
                .known_cost_usd()
                .total_cmp(&b.figures.known_cost_usd())
        })?;
    // Calls made while the model had no price are not in its cost: it is a floor then.
    let at_least = if top.figures.unpriced_calls > 0 {
        "at least "
    } else {
        ""
    };
    Some(Insight::new(
        Severity::Info,
        "costliest_model",
        format!(
            "Model `{}` costs the most: {at_least}{}, {} of the {} spent on priced models since \
             the start ({} tokens in {})",
            top.model,
            usd(top.figures.known_cost_usd()),
            percent(top.figures.known_cost_usd() / total),
            usd(total),
            count(
                top.figures
                    .tokens
                    .input
                    .saturating_add(top.figures.tokens.output)
            ),
            calls_of(top.figures.token_calls),
        ),
    ))
}

/// Models that used tokens while they had no price: their cost is unknown, and so is the total.
fn unpriced_models(models: &[ModelStats]) -> Option<Insight> {
    let unpriced: Vec<_> = models
        .iter()
        .filter(|m| {
            m.figures.unpriced_calls > 0
                && m.figures
                    .tokens
                    .input
                    .saturating_add(m.figures.tokens.output)
                    > 0
        })
        .collect();
    if unpriced.is_empty() {
        return None;
    }
    let calls: u64 = unpriced.iter().map(|m| m.figures.unpriced_calls).sum();
    let tokens: u64 = unpriced
        .iter()
        .map(|m| {
            m.figures
                .tokens
                .input
                .saturating_add(m.figures.tokens.output)
        })
        .sum();
    let mut names: Vec<String> = unpriced
        .iter()
        .take(MAX_NAMED_MODELS)
        .map(|m| format!("`{}`", m.model))
        .collect();
    if unpriced.len() > MAX_NAMED_MODELS {
        names.push(format!("{} more", unpriced.len() - MAX_NAMED_MODELS));
    }
    let (noun, list, their) = match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            ("models", format!("{} and {last}", rest.join(", ")), "their")
        }
        _ => ("model", names.concat(), "its"),
    };
    Some(Insight::new(
        Severity::Info,
        "unpriced_models",
        format!(
            "No price for {noun} {list}: the cost of {their} {} tokens in {} is \
             unknown; set one with `monitor_core::pricing::set_price`",
            count(tokens),
            calls_of(calls),
        ),
    ))
}

/// The most frequent error pattern.
fn error_pattern(summary: &ErrorSummary) -> Option<Insight> {
    let top = summary.patterns.first()?;
    let mut pattern: String = top.pattern.chars().take(MAX_PATTERN_CHARS).collect();
    if top.pattern.chars().nth(MAX_PATTERN_CHARS).is_some() {
        pattern.push('…');
    }
    Some(Insight::new(
        Severity::Info,
        "error_pattern",
        format!(
            "The most frequent error is \"{pattern}\": {} in {}",
            times(top.count),
            subject(&key_of(top.site)),
        ),
    ))
}

fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

/// A number with one decimal below 10 and none from there: `2.5`, `71`.
fn short(x: f64) -> String {
    if x < 9.95 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

/// Seconds for humans: `850 µs`, `12 ms`, `1.2 s`, `3.5 min`.
fn seconds(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "unknown".to_owned();
    }
    let units = [
        (1e-6, "ns", 1e9),
        (1e-3, "µs", 1e6),
        (1.0, "ms", 1e3),
        (60.0, "s", 1.0),
    ];
    for (below, unit, scale) in units {
        if s < below {
            return format!("{} {unit}", short(s * scale));
        }
    }
    if s < 3600.0 {
        format!("{} min", short(s / 60.0))
    } else {
        format!("{} h", short(s / 3600.0))
    }
}

/// `1 call`, `20 calls`.
fn calls_of(n: u64) -> String {
    if n == 1 {
        "1 call".to_owned()
    } else {
        format!("{n} calls")
    }
}

/// `once`, `165 times`.
fn times(n: u64) -> String {
    if n == 1 {
        "once".to_owned()
    } else {
        format!("{n} times")
    }
}

/// A stretch of time for humans: `5 min`, `30 s`, `2 h`.
fn span(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{} h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{} min", s / 60)
    } else {
        seconds(d.as_secs_f64())
    }
}

/// A fraction as a percentage: `71%`, `0.4%`, `99.6%`.
fn percent(fraction: f64) -> String {
    if !fraction.is_finite() {
        return "an unknown share".to_owned();
    }
    let p = fraction * 100.0;
    if (p > 0.0 && p < 1.0) || (p > 99.0 && p < 100.0) {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// US dollars: `$12.34`, `$0.00022` (two significant digits under a cent), `$1234`.
fn usd(v: f64) -> String {
    if !v.is_finite() || v <= 0.0 {
        return "$0".to_owned();
    }
    if v >= 100.0 {
        format!("${v:.0}")
    } else if v >= 0.01 {
        format!("${v:.2}")
    } else {
        let decimals = (1.0 - v.log10().floor()).clamp(3.0, 12.0) as usize;
        format!("${v:.decimals$}")
    }
}

/// A count for humans: `950`, `12.3k`, `4.0M`.
fn count(n: u64) -> String {
    let x = n as f64;
    if n < 1000 {
        n.to_string()
    } else if x < 1e6 {
        format!("{:.1}k", x / 1e3)
    } else if x < 1e9 {
        format!("{:.1}M", x / 1e6)
    } else {
        format!("{:.1}B", x / 1e9)
    }
}

/// Bytes for humans, in decimal units: `950 B`, `12.3 kB`, `3.0 MB`.
fn bytes(b: f64) -> String {
    if !b.is_finite() {
        return "an unknown amount".to_owned();
    }
    let units = [(1e3, "B", 1.0), (1e6, "kB", 1e3), (1e9, "MB", 1e6)];
    for (below, unit, scale) in units {
        if b.abs() < below {
            return format!("{:.1} {unit}", b / scale).replace(".0 B", " B");
        }
    }
    format!("{:.1} GB", b / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(seconds(0.000_85), "850 µs");
        assert_eq!(seconds(0.012), "12 ms");
        assert_eq!(seconds(0.0021), "2.1 ms");
        assert_eq!(seconds(1.2), "1.2 s");
        assert_eq!(seconds(210.0), "3.5 min");
        assert_eq!(seconds(f64::NAN), "unknown");
        assert_eq!(span(Duration::from_secs(300)), "5 min");
        assert_eq!(span(Duration::from_secs(7200)), "2 h");
        assert_eq!(percent(0.71), "71%");
        assert_eq!(percent(0.004), "0.4%");
        assert_eq!(percent(0.996), "99.6%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(f64::NAN), "an unknown share");
        assert_eq!(usd(12.345), "$12.35");
        assert_eq!(usd(0.000_22), "$0.00022");
        assert_eq!(usd(0.005), "$0.0050");
        assert_eq!(usd(1234.4), "$1234");
        assert_eq!(usd(0.0), "$0");
        assert_eq!(usd(f64::NAN), "$0");
        assert_eq!(count(950), "950");
        assert_eq!(count(12_345), "12.3k");
        assert_eq!(count(4_000_000), "4.0M");
        assert_eq!(bytes(950.0), "950 B");
        assert_eq!(bytes(3e6), "3.0 MB");
        assert_eq!(bytes(f64::INFINITY), "an unknown amount");
        assert_eq!(
            (calls_of(1), calls_of(20)),
            ("1 call".into(), "20 calls".into())
        );
        assert_eq!((times(1), times(165)), ("once".into(), "165 times".into()));
    }

    #[test]
    fn subjects_name_what_to_look_at() {
        let key = |pairs: &[(&'static str, &str)]| -> Key {
            pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
        };
        assert_eq!(
            subject(&key(&[
                ("kind", "handler"),
                ("site", "create"),
                ("route", "POST /x")
            ])),
            "handler `create` (POST /x)"
        );
        assert_eq!(
            subject(&key(&[
                ("kind", "handler"),
                ("site", "GET /y"),
                ("route", "GET /y")
            ])),
            "route `GET /y`"
        );
        assert_eq!(
            subject(&key(&[
                ("kind", "stage"),
                ("site", "f"),
                ("pipeline", "p"),
                ("stage", "s")
            ])),
            "stage `s` of pipeline `p`"
        );
        assert_eq!(subject(&Key::new()), "`?`");
    }

    #[test]
    fn a_time_to_first_chunk_half_as_long_again_and_100_ms_longer_is_rising() {
        let insight = first_chunk_rise("m", (40, 0.45), (120, 0.3)).unwrap();
        assert_eq!(insight.severity, Severity::Warning);
        assert_eq!(insight.kind, "rising_first_chunk");
        assert_eq!(
            insight.message,
            "Time to first chunk is rising for model `m`: p99 450 ms in the last 5 min (40 calls), \
             up from 300 ms in the 10 min before"
        );
        // Twice as long, but only 40 ms longer; 90 ms longer but not half as long again; too few
        // calls in either window; nothing streamed before.
        assert_eq!(first_chunk_rise("m", (40, 0.08), (40, 0.04)), None);
        assert_eq!(first_chunk_rise("m", (40, 0.39), (40, 0.3)), None);
        assert_eq!(first_chunk_rise("m", (19, 0.9), (40, 0.3)), None);
        assert_eq!(first_chunk_rise("m", (40, 0.9), (19, 0.3)), None);
        assert_eq!(first_chunk_rise("m", (40, 0.9), (40, 0.0)), None);
        assert!(first_chunk_rise("m", (20, 0.4), (20, 0.3)).is_none());
        assert!(first_chunk_rise("m", (20, 0.45), (20, 0.3)).is_some());
    }

    #[test]
    fn a_verdict_without_a_leak_says_nothing() {
        let flat: Vec<(f64, f64)> = (0..30).map(|s| (f64::from(s), 1e8)).collect();
        assert_eq!(leak_insight(&LeakDetector::new(1.0).assess(&flat)), None);
        assert_eq!(leak_insight(&LeakDetector::new(1.0).assess(&[])), None);
    }
}
