//! The read model: every site with its figures, the models, the caches, the memory and the error
//! patterns, as of one moment.
//!
//! Reach for it to read everything at once, consistently: [`snapshot()`] is what the history, the
//! dashboard and every exporter read; [`models`] and [`error_patterns`] give one part of it.
//!
//! A [`Snapshot`] holds `at`, every site ([`SiteSnapshot`]: the `site`, its `figures`, its
//! `by_model` split, a `version` that changes whenever they do), the `models`, the `caches`, the
//! `memory` and the error patterns (`errors`). Its figures are [`Figures`], defined once and held
//! by every view: `Site::stats`, the snapshot's sites and models, query groups and points, ticks
//! and the exporters' input.
//!
//! ```
//! let snap = monitor_core::snapshot();
//! for s in snap.sites.iter().filter(|s| s.figures.calls() > 0) {
//!     let o = s.figures.outcomes();
//!     let p99 = s.figures.durations.quantile(0.99);
//!     println!("{}: {} ok, {} failed, p99 {p99:?}", s.site.name(), o.ok, o.error);
//! }
//! ```
//!
//! Taking a snapshot costs what was active, not what is linked in: a site that records anything
//! puts itself, once, on a list the read model takes; the read model reads only those sites —
//! only the stripes their threads wrote, and in them only the bands of durations their calls fell
//! in — and shares the figures of the rest with the previous snapshot. Counters never read lower
//! than in an earlier snapshot. A histogram keeps only its non-empty buckets. What that costs at
//! 1,000 and 10,000 sites is measured in the repository's `docs/performance.md` ("Scale").
//!
//! # Models
//!
//! [`models`] gives tokens and cost by model across all sites. A site with a literal model counts
//! its calls under it; a site whose model is named per call (`model = <expression>`, or the model
//! the reply names) splits its calls by model — calls, errors, durations, tokens and cost of each
//! (at most [`MAX_MODEL_CELLS`](crate::site::MAX_MODEL_CELLS) site-and-model pairs, then a site's
//! further models share its [`OTHER_MODELS`](crate::usage::OTHER_MODELS)) — which is what
//! `model=` and `group_by=model` in [queries](crate::history::query) read.

// The read model: one consistent view of the runtime, the only way readers see it.
//
// [`snapshot()`] gives every site with its description and figures, the models, the caches, the
// memory and the error patterns, as of one moment. The collector, queries, insights, the JSON API
// and every exporter read through it (or through the history built from it).
//
// Taking one costs what was active, not what is linked in: a site that recorded anything puts
// itself, once, on a list the read model takes (`record::site`); the read model reads only
// those sites, keeps the latest figures of every site, and hands out shared references to them.
// A site that recorded nothing since the previous snapshot costs a reference count.
use crate::errors::patterns;
use crate::figures::Figures;
use crate::memory::{MemorySample, sample as memory};
use crate::record::caches::{CacheStats, caches};
use crate::record::registry::{all, index_of, site_at};
use crate::record::site::{Site, SiteKind, take_marked};
use crate::usage::entry;
use crate::usage::pricing::Price;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

/// The runtime as of one moment: what every reader reads.
///
/// Built by [`snapshot()`], or by hand (an exporter's test renders one with no instrumented call
/// at all).
///
/// # Examples
///
/// ```
/// let snap = monitor_core::snapshot();
/// for s in &snap.sites {
///     println!("{} {} calls", s.site.name(), s.figures.calls());
/// }
/// println!("{} models, {} caches", snap.models.len(), snap.caches.len());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Snapshot {
    /// When it was taken.
    pub at: SystemTime,
    /// Every site, called or not, in [`sites`](crate::sites) order.
    pub sites: Vec<SiteSnapshot>,
    /// Tokens and cost by model, sorted by name.
    pub models: Vec<ModelStats>,
    /// Every cache, by name.
    pub caches: Vec<CacheStats>,
    /// The process's memory, when it could be read.
    pub memory: Option<MemorySample>,
    /// The error patterns.
    pub errors: Arc<ErrorSummary>,
    /// The pushing exporters' health ([`exports`](crate::exports::health)).
    pub exports: Vec<crate::exports::ExportHealth>,
    /// What tracing kept and dropped so far ([`trace::stats`](crate::trace::stats)): exporters
    /// read it here, as they read everything else.
    pub traces: crate::record::run::TraceStats,
}

impl Snapshot {
    /// An empty snapshot taken at `at`, to fill by hand.
    pub fn new(at: SystemTime) -> Snapshot {
        Snapshot {
            at,
            sites: Vec::new(),
            models: Vec::new(),
            caches: Vec::new(),
            memory: None,
            errors: Arc::default(),
            exports: Vec::new(),
            traces: crate::record::run::TraceStats::default(),
        }
    }
}

/// One site in a [`Snapshot`]: its description and everything it recorded since the start.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SiteSnapshot {
    /// The site.
    pub site: &'static Site,
    /// Its figures.
    pub figures: Arc<Figures>,
    /// For a token site that names its model per call, its calls split by model; empty
    /// otherwise (a literal model's calls are the site's own figures).
    pub by_model: Arc<[(&'static str, Figures)]>,
    /// Changes whenever the figures do: equal versions of a site mean equal figures.
    pub version: u64,
    /// For a token site, the model the latest response named for each model asked for, where
    /// they differ (`gpt-4o` answered by `gpt-4o-2024-08-06`): `(request, response)`.
    pub responses: Arc<[(&'static str, &'static str)]>,
}

impl SiteSnapshot {
    /// A site with its figures.
    pub fn new(site: &'static Site, figures: Figures) -> SiteSnapshot {
        SiteSnapshot {
            site,
            figures: Arc::new(figures),
            by_model: Arc::new([]),
            version: 0,
            responses: Arc::new([]),
        }
    }

    /// The same, with the models responses named (see [`SiteSnapshot::responses`]).
    pub fn with_responses(mut self, responses: Vec<(&'static str, &'static str)>) -> SiteSnapshot {
        self.responses = responses.into();
        self
    }

    /// The model that answered calls asking for `request` (`gen_ai.response.model`): the one the
    /// latest response named, or `request` itself.
    pub fn response_model<'a>(&'a self, request: &'a str) -> &'a str {
        self.responses
            .iter()
            .find(|(asked, _)| *asked == request)
            .map_or(request, |(_, answered)| answered)
    }

    /// The same, with the calls split by model.
    pub fn with_models(mut self, by_model: Vec<(&'static str, Figures)>) -> SiteSnapshot {
        self.by_model = by_model.into();
        self
    }

    /// The model of each part of the site's calls: the literal model and all of them, or each
    /// model named per call and its share.
    pub fn model_parts(&self) -> Vec<(Option<&'static str>, &Figures)> {
        if self.by_model.is_empty() {
            vec![(self.site.model(), &*self.figures)]
        } else {
            self.by_model.iter().map(|(m, f)| (Some(*m), f)).collect()
        }
    }
}

/// Token usage and cost of one model, over every site that called it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ModelStats {
    /// The model's name; [`UNKNOWN_MODEL`](crate::usage::UNKNOWN_MODEL) for calls that named none.
    pub model: String,
    /// The price in force now, if any.
    pub price: Option<Price>,
    /// The calls of every token site that called it: all of them, failed ones included, in
    /// `calls()`; those that reported usage in `token_calls` (a model none of whose calls did is
    /// listed, with `token_calls` 0: its usage is unknown, not zero). `cost_usd()` is `None` when
    /// some calls were made while the model had no price; `cancelled` calls (streams cut off,
    /// futures cancelled) count with their tokens.
    pub figures: Figures,
}

impl ModelStats {
    /// A model's stats from the figures of its calls.
    pub fn new(model: impl Into<String>, price: Option<Price>, figures: Figures) -> ModelStats {
        ModelStats {
            model: model.into(),
            price,
            figures,
        }
    }
}

/// One group of errors: same site, same error type, same normalised message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ErrorPattern {
    /// The site that failed.
    pub site: &'static Site,
    /// The error's type, as `std::any::type_name` gives it.
    pub error_type: &'static str,
    /// The redacted message with numbers, ids, hex and quoted values replaced by placeholders.
    pub pattern: String,
    /// Errors in this group.
    pub count: u64,
    /// When the first one happened.
    pub first_seen: SystemTime,
    /// When the latest one happened.
    pub last_seen: SystemTime,
    /// The latest message, redacted and cut to [`MAX_EXAMPLE_CHARS`](crate::errors::MAX_EXAMPLE_CHARS).
    pub example: String,
}

impl ErrorPattern {
    /// A pattern of `count` errors of `site`, the latest at `last_seen`: for a snapshot built by
    /// hand.
    pub fn new(
        site: &'static Site,
        error_type: &'static str,
        pattern: impl Into<String>,
        count: u64,
        last_seen: SystemTime,
    ) -> ErrorPattern {
        let pattern = pattern.into();
        ErrorPattern {
            site,
            error_type,
            example: pattern.clone(),
            pattern,
            count,
            first_seen: last_seen,
            last_seen,
        }
    }
}

/// Every pattern, most frequent first, and how many errors did not fit.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ErrorSummary {
    /// The patterns, most frequent first.
    pub patterns: Vec<ErrorPattern>,
    /// Errors not grouped because [`MAX_PATTERNS`](crate::errors::MAX_PATTERNS) patterns were already kept.
    pub dropped: u64,
}

impl ErrorSummary {
    /// A summary of `patterns`, most frequent first as given, and `dropped` errors that did not
    /// fit: for a snapshot built by hand.
    pub fn new(patterns: Vec<ErrorPattern>, dropped: u64) -> ErrorSummary {
        ErrorSummary { patterns, dropped }
    }
}

/// The error patterns recorded so far, most frequent first.
///
/// # Examples
///
/// ```
/// for p in monitor_core::snapshot::error_patterns().patterns {
///     println!("{} × {} in {}: {}", p.count, p.error_type, p.site.name(), p.pattern);
/// }
/// ```
pub fn error_patterns() -> ErrorSummary {
    let (rows, dropped) = patterns::table();
    let mut patterns: Vec<ErrorPattern> = rows
        .into_iter()
        .filter_map(|((site, error_type, pattern), entry)| {
            Some(ErrorPattern {
                site: site_at(site)?,
                error_type,
                pattern,
                count: entry.count,
                first_seen: entry.first_seen,
                last_seen: entry.last_seen,
                example: entry.example,
            })
        })
        .collect();
    patterns.sort_by(|a, b| b.count.cmp(&a.count).then(b.last_seen.cmp(&a.last_seen)));
    ErrorSummary { patterns, dropped }
}

/// Usage by model, sorted by name.
///
/// # Examples
///
/// ```
/// for model in monitor_core::snapshot::models() {
///     println!("{}: {} tokens in", model.model, model.figures.tokens.input);
/// }
/// ```
pub fn models() -> Vec<ModelStats> {
    snapshot().models
}

/// The latest figures of one site, as the read model holds them.
#[derive(Clone)]
struct Entry {
    figures: Arc<Figures>,
    by_model: Arc<[(&'static str, Figures)]>,
    version: u64,
    /// What the site added since the collector last asked ([`changes`]); `None` while nothing.
    added: Option<Added>,
}

/// What a site added over a stretch of time: its figures, and its split by model.
#[derive(Clone, Default)]
pub(crate) struct Added {
    pub(crate) figures: Figures,
    pub(crate) by_model: Vec<(&'static str, Figures)>,
}

impl Added {
    fn add(&mut self, figures: &Figures, by_model: Vec<(&'static str, Figures)>) {
        self.figures.add(figures);
        for (model, f) in by_model {
            match self.by_model.iter_mut().find(|(m, _)| *m == model) {
                Some((_, mine)) => mine.add(&f),
                None => self.by_model.push((model, f)),
            }
        }
    }
}

struct ReadModel {
    entries: Vec<Entry>,
    /// Sites read by the previous refresh, read once more by the next: a call that wrote its
    /// counters just as its site was taken off the marked list may have been missed by that read.
    recent: Vec<usize>,
    versions: u64,
    /// The sites that added anything since the collector last asked, each once.
    changed: Vec<usize>,
    /// The error table as last built, and the count of errors filed it reflects.
    errors: Option<(u64, Arc<ErrorSummary>)>,
}

// The read model's baseline: the latest figures of every site, which are the process's. Readers
// share it so that a snapshot costs what was active since the previous one, whoever took it.
static READ: Mutex<ReadModel> = Mutex::new(ReadModel {
    entries: Vec::new(),
    recent: Vec::new(),
    versions: 0,
    changed: Vec::new(),
    errors: None,
});

impl ReadModel {
    /// Reads the sites that recorded anything since the previous refresh.
    fn refresh(&mut self, all: &[&'static Site]) {
        if self.entries.len() < all.len() {
            let empty = Entry {
                figures: Arc::new(Figures::default()),
                by_model: Arc::new([]),
                version: 0,
                added: None,
            };
            self.entries.resize(all.len(), empty);
        }
        let marked: Vec<usize> = take_marked().filter_map(index_of).collect();
        let mut to_read = marked.clone();
        to_read.append(&mut self.recent);
        to_read.sort_unstable();
        to_read.dedup();
        for index in to_read {
            let (Some(site), Some(entry)) = (all.get(index), self.entries.get_mut(index)) else {
                continue;
            };
            let mut figures = site.figures();
            let mut changed = figures.max_with(&entry.figures);
            let by_model: Vec<(&'static str, Figures)> = if site.has_models() {
                let mut now = site.figures_by_model();
                now.sort_by_key(|(model, _)| *model);
                changed |= now.len() != entry.by_model.len();
                for (model, f) in &mut now {
                    match entry.by_model.iter().find(|(m, _)| m == model) {
                        Some((_, before)) => changed |= f.max_with(before),
                        None => changed = true,
                    }
                }
                now
            } else {
                Vec::new()
            };
            if changed {
                self.versions += 1;
                // What it added, worked out now, while the figures it is measured from are in
                // the cache the comparison above just brought them into.
                let added_figures = figures.since(&entry.figures);
                let added_models: Vec<(&'static str, Figures)> = by_model
                    .iter()
                    .map(|(model, f)| {
                        let before = entry.by_model.iter().find(|(m, _)| m == model);
                        (
                            *model,
                            before.map_or_else(|| f.clone(), |(_, b)| f.since(b)),
                        )
                    })
                    .filter(|(_, f)| !f.is_empty())
                    .collect();
                let added = match entry.added.take() {
                    Some(mut earlier) => {
                        earlier.add(&added_figures, added_models);
                        earlier
                    }
                    None => {
                        self.changed.push(index);
                        Added {
                            figures: added_figures,
                            by_model: added_models,
                        }
                    }
                };
                *entry = Entry {
                    figures: Arc::new(figures),
                    by_model: by_model.into(),
                    version: self.versions,
                    added: Some(added),
                };
            }
        }
        self.recent = marked;
    }

    fn errors(&mut self) -> Arc<ErrorSummary> {
        let changes = patterns::changes();
        match &self.errors {
            Some((seen, errors)) if *seen == changes => Arc::clone(errors),
            _ => {
                let errors = Arc::new(error_patterns());
                self.errors = Some((changes, Arc::clone(&errors)));
                errors
            }
        }
    }
}

/// The runtime now: every site with its figures, the models, the caches, the memory and the
/// error patterns.
///
/// Sites that recorded nothing since the previous snapshot are not read again; their figures are
/// shared with it. Counters never read lower than in an earlier snapshot.
///
/// # Examples
///
/// ```
/// use monitor_core::monitored_handler;
///
/// #[monitored_handler]
/// fn ping() -> &'static str {
///     "pong"
/// }
///
/// ping();
/// let snap = monitor_core::snapshot();
/// # #[cfg(feature = "enabled")] {
/// let ping = snap.sites.iter().find(|s| s.site.name() == "ping").unwrap();
/// assert_eq!(ping.figures.calls(), 1);
/// # }
/// ```
pub fn snapshot() -> Snapshot {
    let at = SystemTime::now();
    let all = all();
    let (sites, errors) = {
        let mut read = READ.lock();
        read.refresh(&all);
        let sites: Vec<SiteSnapshot> = all
            .iter()
            .zip(&read.entries)
            .map(|(site, e)| SiteSnapshot {
                site,
                figures: Arc::clone(&e.figures),
                by_model: Arc::clone(&e.by_model),
                version: e.version,
                responses: responses_of(site),
            })
            .collect();
        (sites, read.errors())
    };
    Snapshot {
        at,
        models: models_of(&sites),
        sites,
        caches: caches(),
        memory: memory().ok(),
        errors,
        exports: crate::exports::health(),
        traces: crate::record::run::stats(),
    }
}

/// What the read model saw change since the previous call: the part of a snapshot the collector
/// needs, at a cost that follows activity — what each site that recorded anything added, by
/// position, with the caches and the memory.
pub(crate) struct Changes {
    /// Every site there is now.
    pub(crate) sites: usize,
    /// The sites that added anything, ascending by position: the site, its figures now, and
    /// what it added.
    pub(crate) changed: Vec<(usize, &'static Site, Arc<Figures>, Added)>,
    pub(crate) caches: Vec<CacheStats>,
    pub(crate) memory: Option<MemorySample>,
}

/// What each site added since the previous call (and the caches and memory now). Only the
/// collector calls it: each change is handed out once.
pub(crate) fn changes() -> Changes {
    let all = all();
    let changed = {
        let mut read = READ.lock();
        read.refresh(&all);
        let mut changed = std::mem::take(&mut read.changed);
        changed.sort_unstable();
        changed
            .into_iter()
            .filter_map(|index| {
                let site = all.get(index)?;
                let e = read.entries.get_mut(index)?;
                Some((index, *site, Arc::clone(&e.figures), e.added.take()?))
            })
            .collect()
    };
    Changes {
        sites: all.len(),
        changed,
        caches: caches(),
        memory: memory().ok(),
    }
}

/// The models responses named at a token site, where not the one asked for.
fn responses_of(site: &'static Site) -> Arc<[(&'static str, &'static str)]> {
    if site.kind() != SiteKind::Tokens {
        return Arc::new([]);
    }
    let mut responses = site.responses_by_model();
    if let (Some(asked), Some(answered)) = (site.model(), site.response_model()) {
        responses.push((asked, answered.name()));
    }
    responses.into()
}

/// Tokens and cost by model: the calls of every token site, under its model.
fn models_of(sites: &[SiteSnapshot]) -> Vec<ModelStats> {
    // By name, with the provider of the first site that called it, whose `provider/model` price
    // is the one shown (the calls themselves were each priced with their own site's).
    let mut by_model: BTreeMap<&'static str, (Option<&'static str>, Figures)> = BTreeMap::new();
    for s in sites.iter().filter(|s| s.site.kind() == SiteKind::Tokens) {
        for (model, f) in s.model_parts() {
            if f.token_calls == 0 && f.calls() == 0 {
                continue;
            }
            by_model
                .entry(model.unwrap_or(entry::UNKNOWN_MODEL))
                .or_insert_with(|| (s.site.provider(), Figures::default()))
                .1
                .add(f);
        }
    }
    let table = crate::usage::pricing::TABLE.read();
    // A model none of whose calls reported usage is listed too: its calls are what an operator
    // needs to see to know that its spend is unknown.
    by_model
        .into_iter()
        .map(|(model, (provider, f))| {
            ModelStats::new(model, table.lookup(model, provider).cloned(), f)
        })
        .collect()
}
