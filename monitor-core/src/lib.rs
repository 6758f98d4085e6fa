//! Compile-time instrumentation for Rust services.
//!
//! Put an attribute on a function and every call to it is measured:
//!
//! - [`#[monitored_handler]`](monitored_handler) on API handlers: duration, outcome (ok, error, HTTP
//!   status), request and response sizes where the types tell them.
//! - [`#[pipeline_stage]`](pipeline_stage) on the steps of a multi-step job: duration, success, and
//!   the tokens and cost spent by the metered calls made inside it.
//! - [`#[tracks_tokens]`](tracks_tokens) on calls to an LLM or another metered API: input, output
//!   and cached tokens, the model, and the cost from a [price table](PriceTable).
//!
//! Each instrumented function gets a `static` [`Site`], registered at link time, so [`sites()`]
//! lists them all — called or not — and [`Site::stats`] reads what they recorded. Recording a call
//! takes two clock reads and a few stores into counters of the site's own, which no other thread
//! writes: no lock, no lookup, no allocation.
//!
//! ```
//! use monitor_core::{Tokens, monitored_handler, pipeline_stage, tracks_tokens};
//!
//! #[tracks_tokens(model = "gpt-4o")]
//! fn complete(prompt: &str) -> Result<Tokens, String> {
//!     Ok(Tokens::new(prompt.len() as u64, 42))
//! }
//!
//! #[pipeline_stage(pipeline = "logo", stage = "concepts")]
//! fn concepts(prompt: &str) -> Result<usize, String> {
//!     complete(prompt)?;
//!     Ok(3)
//! }
//!
//! #[monitored_handler(route = "POST /api/logos")]
//! fn create_logo(prompt: String) -> Result<String, String> {
//!     let n = concepts(&prompt)?;
//!     Ok(format!("{n} concepts"))
//! }
//!
//! monitor_core::set_price("gpt-4o", monitor_core::Price::per_million(2.50, 10.00))?;
//! create_logo("a fox".to_owned())?;
//!
//! # #[cfg(feature = "enabled")] {
//! let stage = monitor_core::sites().find(|s| s.stage() == Some("concepts")).unwrap();
//! let stats = stage.stats();
//! assert_eq!(stats.calls, 1);
//! assert_eq!(stats.output_tokens, 42); // spent by `complete`, inside the stage
//! assert!(stats.cost_usd.unwrap() > 0.0);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Reading what was recorded
//!
//! [`snapshot()`] is the read model every reader uses: every site with its description and
//! [`Figures`], the models, the caches, the memory and the error patterns, as of one moment, at a
//! cost that follows what was active since the previous one. The history ([`query`],
//! [`subscribe`], [`estimate`]) is built from it, and so are the exporters of `monitor-export`.
//!
//! ```
//! let snap = monitor_core::snapshot();
//! let busiest = snap.sites.iter().max_by_key(|s| s.figures.calls());
//! # let _ = busiest;
//! ```
//!
//! # Switching it off
//!
//! At run time, [`set_enabled(false)`](set_enabled) stops recording: a call then costs one relaxed
//! load more than the bare function. At compile time, building without the default feature
//! `enabled` makes the attributes return the function untouched; [`sites()`] is empty and the rest
//! of this API still compiles, so no `#[cfg]` is needed in your code.
//!
//! # What a return value tells
//!
//! The macros read the return value by its type, at compile time, and any type compiles:
//! `Result::Err` is an error (unless it carries a 4xx status, which is counted as a client error);
//! an HTTP status (`http::StatusCode`, `http::Response`, `(StatusCode, T)`) of 500 or more is an
//! error and 4xx a client error; strings, byte buffers and `http` bodies of known length give the
//! response size. A panic is recorded as an error and resumed; a future dropped before it finished
//! is recorded as cancelled.

#![warn(missing_docs)]

// The layers, bottom up: interned and sorted, usage, figures, errors, memory, record, snapshot,
// history, objectives, insights (which reads all of the read model), and config above them all.
// Each uses only those before it (`tests/tests/layers.rs` checks).
mod config;
pub(crate) mod errors;
mod exports;
pub(crate) mod figures;
pub(crate) mod history;
pub mod insights;
mod interned;
pub(crate) mod memory;
pub(crate) mod objectives;
pub(crate) mod record;
pub(crate) mod snapshot;
mod sorted;
pub(crate) mod usage;

#[doc(hidden)]
pub mod __private;

/// Instruments an API handler.
///
/// Arguments, all optional: `name = "…"` (defaults to the function's name) and
/// `route = "METHOD /path"`. Like the other two, it can be put on an `impl` block, which makes
/// each method a site (see [`monitor`]).
///
/// ```
/// # use monitor_core::monitored_handler;
/// #[monitored_handler(route = "GET /api/logos/{id}")]
/// async fn get_logo(id: u64) -> Result<String, std::io::Error> {
///     Ok(format!("logo {id}"))
/// }
/// ```
pub use monitor_macros::monitored_handler;

/// Instruments one stage of a multi-step job.
///
/// Arguments: `pipeline = "…"` (required), `stage = "…"` (defaults to the function's name), and
/// `name = "…"`. On an `impl` block, every method is a stage of the pipeline named after it (see
/// [`monitor`]). Tokens spent by `#[tracks_tokens]` calls made inside the stage — in its own body or
/// in futures it awaits — are credited to it.
///
/// ```
/// # use monitor_core::pipeline_stage;
/// #[pipeline_stage(pipeline = "logo", stage = "render")]
/// fn render(concept: &str) -> String {
///     format!("<svg><!-- {concept} --></svg>")
/// }
/// ```
pub use monitor_macros::pipeline_stage;

/// Instruments a call to an LLM or another metered API.
///
/// Arguments: `model = "…"` or `model = <expression>` (evaluated at each call, e.g.
/// `model = self.model.as_str()`), `provider = "…"` and `name = "…"`, all optional. The return
/// value — a [`TokenUsage`], a `Result` of one, or a future of either — gives the tokens; the cost
/// comes from the [price table](set_pricing). A model without a price counts tokens and leaves its
/// cost unknown, never zero. Without `model`, the model the return value names is used.
///
/// ```
/// # use monitor_core::{Tokens, tracks_tokens};
/// struct Client {
///     model: String,
/// }
///
/// impl Client {
///     #[tracks_tokens(model = self.model.as_str(), provider = "openai")]
///     async fn complete(&self, prompt: &str) -> Result<Tokens, std::io::Error> {
///         Ok(Tokens::new(prompt.len() as u64, 10))
///     }
/// }
/// ```
pub use monitor_macros::tracks_tokens;

/// `#[monitor(skip)]`: leaves one method of an instrumented `impl` block as written.
///
/// Any of the three attributes put on an `impl` block makes every method with a body a site of
/// its kind, with the block's arguments; `#[monitor(skip)]` on a method opts it out. The block's
/// attribute removes it before it is expanded — with the `enabled` feature off too — so it needs
/// no import. Expanded on its own (imported, on a method of an impl block without a monitor
/// attribute) it is a compile error: it would skip nothing.
///
/// ```
/// use monitor_core::monitored_handler;
///
/// struct Api;
///
/// #[monitored_handler]
/// impl Api {
///     fn uptime(&self) -> u64 {
///         42
///     }
///
///     #[monitor(skip)]
///     fn build_info(&self) -> &'static str {
///         "1.0"
///     }
/// }
///
/// # Api.uptime(); Api.build_info();
/// # #[cfg(feature = "enabled")] {
/// assert!(monitor_core::sites().any(|s| s.qualified_name() == "Api::uptime"));
/// assert!(monitor_core::sites().all(|s| s.name() != "build_info"));
/// # }
/// ```
///
/// ```compile_fail
/// use monitor_core::monitor;
///
/// struct Api;
///
/// impl Api {
///     #[monitor(skip)] // no attribute on the block: an error
///     fn version(&self) -> &'static str {
///         "1.0"
///     }
/// }
/// ```
pub use monitor_macros::monitor;

// The record path: sites and what they record, caches, raw events, the switch.
pub use record::{
    Cache, CacheLookup, CacheStats, DEFAULT_MAX_ROUTE_SITES, EVENT_CAPACITY, Event, EventReason,
    Lookup, MAX_CACHES, MAX_LATENCY_THRESHOLDS, MAX_MODEL_CELLS, MAX_ROUTE_LEN,
    MAX_ROUTE_SITES_LIMIT, MAX_STATUS_CODES, OTHER_CACHES, OTHER_ROUTES, RequestScope, Selector,
    Site, SiteBuilder, SiteKind, cache, caches, events, is_enabled, max_route_sites, route_site,
    set_enabled, set_max_route_sites, set_outlier_factor, set_sampling, sites,
};
// The figures of a set of calls, and their views.
pub use figures::{
    Figures, Histogram, KindCosts, Outcomes, SiteStats, StatusClasses, TOKEN_BOUNDS, TOKEN_BUCKETS,
};
// The health of the pushing exporters.
pub use exports::{ExportEntry, ExportHealth, exports};
// The read model.
pub use snapshot::{
    ErrorPattern, ErrorSummary, ModelStats, SiteSnapshot, Snapshot, error_patterns, models,
    snapshot,
};
// Tokens, prices and models.
pub use usage::{
    MAX_MODEL_NAME, MAX_MODELS, OTHER_MODELS, Price, PriceFileReport, PriceFormat, PriceTable,
    PriceTier, PricingError, TokenKind, TokenUsage, Tokens, UNKNOWN_MODEL, load_pricing, price_of,
    pricing, set_price, set_pricing,
};
// History, queries, estimates, subscribers.
pub use history::{
    CacheResult, CacheTick, Collector, Estimate, Field, GroupResult, HistoryFileError,
    HistoryFileProblem, MEMORY_SAMPLES, OutcomeFilter, Point, Query, QueryError, QueryResult,
    SiteTick, StageEstimate, StageModel, Subscription, Tick, TimeRange, ensure_collector, estimate,
    estimate_stages, heap_leak_check, history_bytes, leak_check, memory_history, query,
    start_collector, stop_collector, subscribe, tick_at,
};
// Errors and redaction.
pub use errors::{
    MAX_EXAMPLE_CHARS, MAX_PATTERNS, REDACTED, RedactionError, add_redaction, normalize,
    record_panics, redact,
};
// Memory.
pub use memory::{
    DEFAULT_LEAK_THRESHOLD, DEFAULT_LEAK_WINDOW, LeakDetector, LeakVerdict, MemoryError,
    MemorySample, memory,
};
#[cfg(feature = "alloc")]
pub use memory::{HeapStats, MonitoredAlloc, heap};
// Objectives and budgets.
pub use objectives::{
    BURN_WINDOWS, BurnRate, DEFAULT_WINDOW, Goal, LONGEST_BURN_WINDOW, Objective, ObjectiveError,
    ObjectiveState, ObjectiveStatus, ObjectivesFileError, PAGE, Per, TICKET, declared, objectives,
    objectives_at,
};
// Configuration.
pub use config::{Config, ConfigError, init};
