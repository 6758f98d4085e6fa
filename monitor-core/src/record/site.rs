//! Instrumented sites: one `static` per instrumented function, with its description, its totals,
//! and a mark of whether it recorded anything since the read model last read it.

use super::caches::Cache;
use super::cells::{Cells, ModelCell, ResponseModel};
use super::outcome::Outcome;
use super::stripes::Aggregates;
use super::stripes::{Share, StreamEnd};
use crate::figures::Figures;
use crate::usage::entry::{ModelEntry, Named, Usage};
use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

/// The `file` of a route's site: no source file has this name.
pub(crate) const ROUTE_FILE: &str = "<route>";

/// Which macro instrumented a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SiteKind {
    /// `#[monitored_handler]`: an API handler.
    Handler,
    /// `#[pipeline_stage]`: one step of a multi-step job.
    Stage,
    /// `#[tracks_tokens]`: a call to an LLM or another metered API.
    Tokens,
}

impl SiteKind {
    /// The kind as a number, for const generics. Not public API. Used by generated code.
    #[doc(hidden)]
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The inverse of [`code`](Self::code).
    pub(crate) const fn from_code(code: u8) -> SiteKind {
        match code {
            0 => SiteKind::Handler,
            1 => SiteKind::Stage,
            _ => SiteKind::Tokens,
        }
    }

    /// The kind named `handler`, `stage` or `tokens` ([`as_str`](Self::as_str)); `None` for any
    /// other name.
    pub fn parse(name: &str) -> Option<SiteKind> {
        [SiteKind::Handler, SiteKind::Stage, SiteKind::Tokens]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// `handler`, `stage` or `tokens`.
    pub fn as_str(self) -> &'static str {
        match self {
            SiteKind::Handler => "handler",
            SiteKind::Stage => "stage",
            SiteKind::Tokens => "tokens",
        }
    }
}

impl fmt::Display for SiteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What the macro knows at expansion. Not public API. Used by generated code.
#[doc(hidden)]
#[derive(Debug)]
pub struct SiteMeta {
    pub kind: SiteKind,
    pub name: &'static str,
    /// `Type::name` for a method instrumented through its impl block, else `name`; made at
    /// expansion, so reading it costs nothing.
    pub qualified_name: &'static str,
    pub type_name: Option<&'static str>,
    pub function: &'static str,
    pub module_path: &'static str,
    pub file: &'static str,
    pub line: u32,
    pub route: Option<&'static str>,
    pub pipeline: Option<&'static str>,
    pub stage: Option<&'static str>,
    pub model: Option<&'static str>,
    pub model_expr: Option<&'static str>,
    pub provider: Option<&'static str>,
    pub cache: Option<&'static str>,
    pub operation: Option<&'static str>,
    /// The objectives `objective = …` names.
    pub objectives: &'static [&'static str],
}

/// One instrumented function: where it is, what its attribute said, and its running totals.
///
/// Every site linked into the binary is listed by [`sites`](crate::sites), whether it has been called or not.
///
/// # Examples
///
/// ```
/// use monitor_core::site::SiteKind;
/// use monitor_core::monitored_handler;
///
/// #[monitored_handler(route = "GET /health")]
/// fn health() -> &'static str {
///     "ok"
/// }
///
/// health();
/// # #[cfg(feature = "enabled")] {
/// let site = monitor_core::sites().find(|s| s.name() == "health").unwrap();
/// assert_eq!(site.kind(), SiteKind::Handler);
/// assert_eq!(site.route(), Some("GET /health"));
/// assert_eq!(site.stats().calls(), 1);
/// assert_eq!(site.stats().response_bytes, 2);
/// # }
/// ```
pub struct Site {
    meta: SiteMeta,
    /// The running totals, in a `static` of their own (see [`Aggregates`]).
    aggregates: &'static Aggregates,
    /// The entry of a literal `model = "…"`, resolved on first use.
    literal_model: OnceLock<&'static ModelEntry>,
    /// The cache of `cache = "…"`, resolved on first use.
    cache: OnceLock<Cache>,
    /// Calls split by model, for a token site whose model is named per call.
    cells: Cells,
    /// The model the latest response named, when not the one asked for.
    response_model: ResponseModel,
    activity: Activity,
    /// Calls slower than the latency objectives' thresholds, counted at record time.
    slow: SlowCalls,
    /// The most a call of the site, and a run it is part of, may spend before the tail rules
    /// keep the run as over budget: read once per span, when a run ends.
    budget: Budget,
}

/// Token and cost budgets, from the objectives covering a site: `u64::MAX` for none.
struct Budget {
    call_tokens: AtomicU64,
    call_picousd: AtomicU64,
    run_tokens: AtomicU64,
    run_picousd: AtomicU64,
}

/// The budgets of a site: what one call may spend, and what a run that passes through it may,
/// in tokens (input and output) and picodollars; `u64::MAX` for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budgets {
    pub(crate) call_tokens: u64,
    pub(crate) call_picousd: u64,
    pub(crate) run_tokens: u64,
    pub(crate) run_picousd: u64,
}

impl Budgets {
    pub(crate) const NONE: Budgets = Budgets {
        call_tokens: u64::MAX,
        call_picousd: u64::MAX,
        run_tokens: u64::MAX,
        run_picousd: u64::MAX,
    };
}

/// Latency thresholds a site counts its slower calls against (for latency objectives): the
/// record path only compares a call's duration with the lowest of these and the outlier
/// threshold (`Activity::watch_units`), which it compared with the outlier threshold alone
/// before; a call above it takes the cold path that counts it here.
pub const MAX_LATENCY_THRESHOLDS: usize = 4;

struct SlowCalls {
    slots: [SlowSlot; MAX_LATENCY_THRESHOLDS],
}

struct SlowSlot {
    /// The threshold in clock units; `u64::MAX` for a free slot.
    units: AtomicU64,
    /// The same in nanoseconds: what readers key the count by.
    nanos: AtomicU64,
    /// Calls that finished in more than the threshold.
    count: AtomicU64,
}

/// What the record path and the read model share about a site, on a cache line of its own: every
/// call reads it (the outlier threshold, whether the site is marked), and it is written about once
/// per tick, not once per call.
#[repr(align(64))]
struct Activity {
    /// Calls longer than this, in clock units, are kept as outlier events. Set by the collector
    /// from the site's p99; no call is an outlier before it has.
    outlier_units: AtomicU64,
    /// The lower of `outlier_units` and the lowest latency threshold: what every call's duration
    /// is compared with.
    watch_units: AtomicU64,
    /// The site recorded something the read model has not read yet: it is on the list of
    /// [`take_marked`].
    marked: AtomicBool,
    /// The next site on that list.
    next: AtomicPtr<Site>,
    /// Position among [`sites`](super::registry::sites), or `usize::MAX` before it has one.
    index: AtomicUsize,
}

/// Sites marked since the list was last taken, newest first.
static MARKED: AtomicPtr<Site> = AtomicPtr::new(std::ptr::null_mut());

/// Takes the sites that recorded anything since the previous call. Each site is on the list once
/// however much it recorded, so taking it costs what was active, not what is linked in.
pub(crate) fn take_marked() -> impl Iterator<Item = &'static Site> {
    let mut next = MARKED.swap(std::ptr::null_mut(), Ordering::Acquire);
    std::iter::from_fn(move || {
        // SAFETY: only `&'static Site`s are put on the list (`Site::mark`), so the pointer is
        // valid for ever; the Acquire swap or load made its `next` visible.
        let site: &'static Site = unsafe { next.as_ref()? };
        next = site.activity.next.load(Ordering::Acquire);
        // Unmarked before it is read: a call recording from now on marks it again.
        site.activity.marked.store(false, Ordering::Release);
        Some(site)
    })
}

impl Site {
    #[doc(hidden)]
    pub const fn new(meta: SiteMeta, totals: &'static Aggregates) -> Site {
        Site {
            meta,
            aggregates: totals,
            literal_model: OnceLock::new(),
            cache: OnceLock::new(),
            cells: Cells::new(),
            response_model: ResponseModel::new(),
            slow: SlowCalls {
                slots: [const {
                    SlowSlot {
                        units: AtomicU64::new(u64::MAX),
                        nanos: AtomicU64::new(0),
                        count: AtomicU64::new(0),
                    }
                }; MAX_LATENCY_THRESHOLDS],
            },
            budget: Budget {
                call_tokens: AtomicU64::new(u64::MAX),
                call_picousd: AtomicU64::new(u64::MAX),
                run_tokens: AtomicU64::new(u64::MAX),
                run_picousd: AtomicU64::new(u64::MAX),
            },
            activity: Activity {
                outlier_units: AtomicU64::new(u64::MAX),
                watch_units: AtomicU64::new(u64::MAX),
                marked: AtomicBool::new(false),
                next: AtomicPtr::new(std::ptr::null_mut()),
                index: AtomicUsize::new(usize::MAX),
            },
        }
    }

    /// Marks the site as having recorded something: a load of a line every call reads anyway, and
    /// a store the first time after each read. (A mark per stripe, to read only the stripes
    /// marked, cost the record path a nanosecond: the stripes say themselves which were written.)
    #[inline(always)]
    fn touch(&'static self) {
        if !self.activity.marked.load(Ordering::Relaxed) {
            self.mark();
        }
    }

    #[cold]
    #[inline(never)]
    fn mark(&'static self) {
        if self.activity.marked.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = std::ptr::from_ref(self).cast_mut();
        let mut head = MARKED.load(Ordering::Relaxed);
        loop {
            self.activity.next.store(head, Ordering::Relaxed);
            match MARKED.compare_exchange_weak(head, me, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }

    /// One finished call.
    #[inline(always)]
    pub(crate) fn record(&'static self, units: u64, outcome: &Outcome, request_bytes: u64) {
        self.aggregates.record(units, outcome, request_bytes);
        self.touch();
    }

    /// A call that unwound.
    #[cold]
    pub(crate) fn record_panic(&'static self, units: u64, request_bytes: u64) {
        self.aggregates.record_panic(units, request_bytes);
        self.touch();
    }

    /// A future dropped before it finished, after `units` of the clock.
    #[cold]
    pub(crate) fn record_cancelled(&'static self, units: u64) {
        self.aggregates.record_cancelled(units);
        self.touch();
    }

    /// Tokens of one metered call, credited to this site.
    #[inline(always)]
    pub(crate) fn record_usage(&'static self, usage: &Usage, share: Share) {
        self.aggregates.record_usage(usage, share);
        self.touch();
    }

    /// The items and times of a streamed call that ended.
    #[cold]
    pub(crate) fn record_stream(&'static self, end: StreamEnd) {
        self.aggregates.record_stream(end);
        self.touch();
    }

    /// Keeps the model the latest response named, when it is not the model asked for.
    pub(crate) fn note_response(&'static self, named: Named<'_>) {
        if let Some(asked) = self.literal_model() {
            self.response_model
                .note_for(named, asked, self.meta.provider);
        }
    }

    /// The model the latest response named, when a response named one other than the model
    /// asked for.
    pub(crate) fn response_model(&self) -> Option<&'static ModelEntry> {
        self.response_model.get()
    }

    /// Heap bytes allocated by the site's own code.
    #[cfg(feature = "alloc")]
    pub(crate) fn record_allocated(&'static self, bytes: u64) {
        if bytes > 0 {
            self.aggregates.record_allocated(bytes);
            self.touch();
        }
    }

    /// `n` calls of the site were spans of a run kept as a trace.
    pub(crate) fn record_kept(&'static self, n: u64) {
        self.aggregates.record_kept(n);
        self.touch();
    }

    /// The site's budgets, from the token and cost objectives covering it.
    pub(crate) fn budgets(&self) -> Budgets {
        let b = &self.budget;
        Budgets {
            call_tokens: b.call_tokens.load(Ordering::Relaxed),
            call_picousd: b.call_picousd.load(Ordering::Relaxed),
            run_tokens: b.run_tokens.load(Ordering::Relaxed),
            run_picousd: b.run_picousd.load(Ordering::Relaxed),
        }
    }

    /// Sets the site's budgets: the lowest of each kind among the objectives covering it.
    pub(crate) fn set_budgets(&self, budgets: Budgets) {
        let b = &self.budget;
        b.call_tokens.store(budgets.call_tokens, Ordering::Relaxed);
        b.call_picousd
            .store(budgets.call_picousd, Ordering::Relaxed);
        b.run_tokens.store(budgets.run_tokens, Ordering::Relaxed);
        b.run_picousd.store(budgets.run_picousd, Ordering::Relaxed);
    }

    /// The outlier threshold, in clock units.
    #[inline(always)]
    pub(crate) fn outlier_units(&self) -> u64 {
        self.activity.outlier_units.load(Ordering::Relaxed)
    }

    pub(crate) fn set_outlier_units(&self, units: u64) {
        if self.outlier_units() != units {
            self.activity.outlier_units.store(units, Ordering::Relaxed);
            self.set_watch();
        }
    }

    /// What every call's duration is compared with: above it, the call is an outlier or slower
    /// than a latency threshold, and takes [`count_slow`](Self::count_slow).
    #[inline(always)]
    pub(crate) fn watch_units(&self) -> u64 {
        self.activity.watch_units.load(Ordering::Relaxed)
    }

    fn set_watch(&self) {
        let lowest = self
            .slow
            .slots
            .iter()
            .map(|s| s.units.load(Ordering::Relaxed))
            .min()
            .unwrap_or(u64::MAX);
        self.activity
            .watch_units
            .store(lowest.min(self.outlier_units()), Ordering::Relaxed);
    }

    /// Counts, from now on, the calls slower than `threshold` (for a latency objective). Returns
    /// whether the site counts them: false once it counts [`MAX_LATENCY_THRESHOLDS`] others.
    pub(crate) fn watch_latency(&self, threshold: std::time::Duration, units: u64) -> bool {
        let nanos = u64::try_from(threshold.as_nanos()).unwrap_or(u64::MAX);
        let counted = self.slow.slots.iter().any(|slot| {
            slot.units.load(Ordering::Relaxed) != u64::MAX
                && slot.nanos.load(Ordering::Relaxed) == nanos
        });
        if counted {
            return true;
        }
        for slot in &self.slow.slots {
            // Claimed with the units last, so that a call never counts against a threshold
            // whose nanoseconds readers do not know yet.
            if slot.units.load(Ordering::Relaxed) == u64::MAX {
                slot.nanos.store(nanos, Ordering::Relaxed);
                slot.count.store(0, Ordering::Relaxed);
                if slot
                    .units
                    .compare_exchange(u64::MAX, units, Ordering::Release, Ordering::Relaxed)
                    .is_ok()
                {
                    self.set_watch();
                    return true;
                }
            }
        }
        false
    }

    /// A call of `units` that took longer than [`watch_units`](Self::watch_units): counted
    /// against each latency threshold it exceeds.
    #[cold]
    #[inline(never)]
    pub(crate) fn count_slow(&self, units: u64) {
        for slot in &self.slow.slots {
            if units > slot.units.load(Ordering::Acquire) {
                slot.count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The objectives the site's attribute names (`objective = "…"`).
    pub fn objective_names(&self) -> &'static [&'static str] {
        self.meta.objectives
    }

    /// The latency thresholds the site counts its calls against, in nanoseconds.
    pub(crate) fn latency_thresholds(&self) -> Vec<u64> {
        self.slow_calls()
            .into_iter()
            .map(|(nanos, _)| nanos)
            .collect()
    }

    /// The calls slower than each latency threshold so far, `(threshold in nanoseconds, calls)`,
    /// ascending by threshold.
    pub(crate) fn slow_calls(&self) -> Vec<(u64, u64)> {
        let mut slow: Vec<(u64, u64)> = self
            .slow
            .slots
            .iter()
            .filter(|s| s.units.load(Ordering::Acquire) != u64::MAX)
            .map(|s| {
                (
                    s.nanos.load(Ordering::Relaxed),
                    s.count.load(Ordering::Relaxed),
                )
            })
            .collect();
        slow.sort_unstable();
        slow
    }

    /// Position among the sites, once it has one.
    pub(crate) fn index(&self) -> Option<usize> {
        let index = self.activity.index.load(Ordering::Relaxed);
        (index != usize::MAX).then_some(index)
    }

    pub(crate) fn set_index(&self, index: usize) {
        self.activity.index.store(index, Ordering::Relaxed);
    }

    /// Everything the site recorded so far.
    pub(crate) fn figures(&self) -> Figures {
        let mut figures = self.aggregates.read();
        figures.slow_calls = self.slow_calls();
        figures
    }

    /// The site's calls split by model, when its model is named per call: `(model, figures)`.
    pub(crate) fn figures_by_model(&self) -> Vec<(&'static str, Figures)> {
        self.cells
            .iter()
            .map(|cell| (cell.model().name(), cell.totals.read()))
            .collect()
    }

    /// The models the responses of each model's calls named, for a site whose model is named per
    /// call: `(model, response model)`, when they differ.
    pub(crate) fn responses_by_model(&self) -> Vec<(&'static str, &'static str)> {
        self.cells
            .iter()
            .filter_map(|cell| Some((cell.model().name(), cell.response_model()?.name())))
            .collect()
    }

    /// Whether the site's calls name their model per call (no literal `model = "…"`).
    pub(crate) fn models_per_call(&self) -> bool {
        self.meta.kind == SiteKind::Tokens && self.meta.model.is_none()
    }

    /// The cell of `model`'s calls at this site, for a site whose model is named per call.
    pub(crate) fn model_cell(&'static self, model: &'static ModelEntry) -> &'static ModelCell {
        self.cells.of(model)
    }

    /// Whether any call split by model was recorded.
    pub(crate) fn has_models(&self) -> bool {
        !self.cells.is_empty()
    }

    /// Whether this site stands for a route that no instrumented handler served ([`route_site`](crate::site::route_site)),
    /// rather than for an instrumented function.
    pub fn is_route(&self) -> bool {
        self.meta.line == 0 && self.meta.file == ROUTE_FILE
    }

    /// Which macro instrumented the function.
    #[inline]
    pub fn kind(&self) -> SiteKind {
        self.meta.kind
    }

    /// The `name = "…"` argument, or else the function's name.
    pub fn name(&self) -> &'static str {
        self.meta.name
    }

    /// The `Self` type of a method instrumented through an attribute on its `impl` block: the
    /// type's last path segment, without generics (`Some("LogoPipeline")` for
    /// `impl<T> pipeline::LogoPipeline<T>`). `None` for a free function, and for a method whose
    /// attribute is on the method alone: an attribute on a method cannot see the type it is in.
    ///
    /// # Examples
    ///
    /// ```
    /// use monitor_core::pipeline_stage;
    ///
    /// struct LogoPipeline;
    ///
    /// #[pipeline_stage(pipeline = "logo_svg")]
    /// impl LogoPipeline {
    ///     fn render(&self) -> String {
    ///         "<svg/>".to_owned()
    ///     }
    /// }
    ///
    /// LogoPipeline.render();
    /// # #[cfg(feature = "enabled")] {
    /// let site = monitor_core::sites().find(|s| s.pipeline() == Some("logo_svg")).unwrap();
    /// assert_eq!(site.type_name(), Some("LogoPipeline"));
    /// assert_eq!(site.qualified_name(), "LogoPipeline::render");
    /// assert_eq!(site.name(), "render");
    /// # }
    /// ```
    pub fn type_name(&self) -> Option<&'static str> {
        self.meta.type_name
    }

    /// `Type::name` when the site knows its type ([`type_name`](Self::type_name)), else the
    /// [`name`](Self::name). This is the name that tells sites apart: two `render` methods on two
    /// types are two series in queries, in `/metrics` (its `site` label) and on the dashboard.
    pub fn qualified_name(&self) -> &'static str {
        self.meta.qualified_name
    }

    /// The function's own name, whatever `name = "…"` says.
    pub fn function(&self) -> &'static str {
        self.meta.function
    }

    /// The module the function is in, as `module_path!()` gives it.
    pub fn module_path(&self) -> &'static str {
        self.meta.module_path
    }

    /// The source file, as `file!()` gives it.
    pub fn file(&self) -> &'static str {
        self.meta.file
    }

    /// The line of the `fn` keyword.
    pub fn line(&self) -> u32 {
        self.meta.line
    }

    /// `route = "METHOD /path"` of a handler.
    pub fn route(&self) -> Option<&'static str> {
        self.meta.route
    }

    /// `pipeline = "…"` of a stage.
    pub fn pipeline(&self) -> Option<&'static str> {
        self.meta.pipeline
    }

    /// The stage's name: `stage = "…"`, or else the function's name.
    pub fn stage(&self) -> Option<&'static str> {
        self.meta.stage
    }

    /// `model = "…"` when it is a string literal.
    pub fn model(&self) -> Option<&'static str> {
        self.meta.model
    }

    /// The source text of `model = …` when it is an expression evaluated per call.
    pub fn model_expr(&self) -> Option<&'static str> {
        self.meta.model_expr
    }

    /// `provider = "…"` of a token-tracking site (`gen_ai.provider.name`).
    pub fn provider(&self) -> Option<&'static str> {
        self.meta.provider
    }

    /// `operation = "…"` of a token-tracking site (`gen_ai.operation.name`), `chat` when not
    /// given.
    pub fn operation(&self) -> &'static str {
        self.meta.operation.unwrap_or("chat")
    }

    /// `operation = "…"` as the attribute wrote it: `None` when it did not, where
    /// [`operation`](Site::operation) gives the default.
    pub fn declared_operation(&self) -> Option<&'static str> {
        self.meta.operation
    }

    /// `cache = "…"`: the cache whose hits and misses the return value reports.
    pub fn cache(&self) -> Option<&'static str> {
        self.meta.cache
    }

    /// The handle of the site's cache.
    pub(crate) fn cache_handle(&self) -> Option<Cache> {
        let name = self.meta.cache?;
        Some(*self.cache.get_or_init(|| super::caches::cache(name)))
    }

    /// A name unique among the sites of a binary: `module::name@file:line`, with the
    /// [qualified name](Self::qualified_name) (`module::Type::name@file:line` for a method that
    /// knows its type).
    pub fn id(&self) -> String {
        format!(
            "{}::{}@{}:{}",
            self.meta.module_path, self.meta.qualified_name, self.meta.file, self.meta.line
        )
    }

    /// The figures recorded so far: counts are fields or methods of [`Figures`] (`calls()`,
    /// `errors`, `tokens.output`, `cost_usd()`), quantiles those of its histograms
    /// (`durations.p99()`). Reading costs what the site used — the stripes of the threads
    /// that called it, the bands of durations its calls fell in — and never blocks a call being
    /// recorded.
    pub fn stats(&self) -> Figures {
        self.figures()
    }

    #[inline]
    pub(crate) fn literal_model(&'static self) -> Option<&'static ModelEntry> {
        let name = self.meta.model?;
        Some(
            self.literal_model
                .get_or_init(|| crate::usage::entry::model(name, self.meta.provider)),
        )
    }
}

/// Sites are equal when they are the same site.
impl PartialEq for Site {
    fn eq(&self, other: &Site) -> bool {
        std::ptr::eq(self, other)
    }
}

impl fmt::Debug for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Site")
            .field("kind", &self.meta.kind)
            .field("name", &self.meta.name)
            .field("type_name", &self.meta.type_name)
            .field("module_path", &self.meta.module_path)
            .field("file", &self.meta.file)
            .field("line", &self.meta.line)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::{Aggregates, Site};

    #[test]
    fn a_site_takes_at_most_64_kib() {
        let (site, totals) = (
            std::mem::size_of::<Site>(),
            std::mem::size_of::<Aggregates>(),
        );
        assert!(
            site + totals <= 64 * 1024,
            "a site takes {site} + {totals} bytes"
        );
        assert!(site <= 512, "a site's description takes {site} bytes");
        eprintln!(
            "a site takes {site} bytes, and its totals {totals} ({:.1} KiB)",
            totals as f64 / 1024.0
        );
    }
}
