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
//!     Ok(Tokens { input: prompt.len() as u64, output: 42, cached_input: 0 })
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

mod aggregate;
#[cfg(feature = "alloc")]
mod alloc;
mod caches;
mod clock;
mod config;
mod context;
mod errors;
mod estimate;
mod events;
mod guard;
mod histogram;
mod history;
mod memory;
mod outcome;
mod pricing;
mod query;
mod registry;
mod request;
mod site;
mod stats;
mod switch;
mod tokens;
mod usage;

#[doc(hidden)]
pub mod __private;

/// Instruments an API handler.
///
/// Arguments, all optional: `name = "…"` (defaults to the function's name) and
/// `route = "METHOD /path"`.
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
/// `name = "…"`. Tokens spent by `#[tracks_tokens]` calls made inside the stage — in its own body or
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
///         Ok(Tokens { input: prompt.len() as u64, output: 10, cached_input: 0 })
///     }
/// }
/// ```
pub use monitor_macros::tracks_tokens;

#[cfg(feature = "alloc")]
pub use alloc::{HeapStats, MonitoredAlloc, heap};
pub use caches::{Cache, CacheLookup, CacheStats, Lookup, MAX_CACHES, OTHER_CACHES, cache, caches};
pub use config::{Config, ConfigError, init};
pub use errors::{
    ErrorPattern, ErrorSummary, MAX_EXAMPLE_CHARS, MAX_PATTERNS, REDACTED, RedactionError,
    add_redaction, error_patterns, normalize, record_panics, redact,
};
pub use estimate::{Estimate, StageEstimate, StageModel, estimate, estimate_stages};
pub use events::{EVENT_CAPACITY, Event, EventReason, events, set_outlier_factor, set_sampling};
pub use histogram::Histogram;
pub use history::{
    CacheTick, Collector, MEMORY_SAMPLES, SiteTick, Subscription, Tick, ensure_collector,
    heap_leak_check, history_bytes, leak_check, memory_history, start_collector, stop_collector,
    subscribe, tick_at,
};
pub use memory::{LeakDetector, LeakVerdict, MemoryError, MemorySample, memory};
pub use pricing::{
    Price, PriceTable, PricingError, load_pricing, price_of, pricing, set_price, set_pricing,
};
pub use query::{
    CacheResult, Field, GroupResult, OutcomeFilter, Point, Query, QueryError, QueryResult,
    TimeRange, query,
};
pub use request::{EnteredRequest, RequestScope};
pub use site::{MAX_ROUTE_SITES, OTHER_ROUTES, Site, SiteKind, route_site, sites};
pub use stats::{SiteStats, StatusClasses};
pub use switch::{is_enabled, set_enabled};
pub use tokens::{TokenUsage, Tokens};
pub use usage::{MAX_MODELS, ModelStats, OTHER_MODELS, UNKNOWN_MODEL, models};
