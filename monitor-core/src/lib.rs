//! Compile-time instrumentation for Rust services.
//!
//! Put an attribute on a function and every call to it is measured:
//!
//! - [`#[monitored_handler]`](monitored_handler) on API handlers: duration, outcome (ok, error, HTTP
//!   status), request and response sizes where the types tell them.
//! - [`#[pipeline_stage]`](pipeline_stage) on the steps of a multi-step job: duration, success, and
//!   the tokens and cost spent by the metered calls made inside it.
//! - [`#[tracks_tokens]`](tracks_tokens) on calls to an LLM or another metered API: input, output
//!   and cached tokens, the model, and the cost from a [price table](pricing::PriceTable).
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
//! monitor_core::pricing::set_price("gpt-4o", monitor_core::pricing::Price::per_million(2.50, 10.00))?;
//! create_logo("a fox".to_owned())?;
//!
//! # #[cfg(feature = "enabled")] {
//! let stage = monitor_core::sites().find(|s| s.stage() == Some("concepts")).unwrap();
//! let stats = stage.stats();
//! assert_eq!(stats.calls(), 1);
//! assert_eq!(stats.tokens.output, 42); // spent by `complete`, inside the stage
//! assert!(stats.cost_usd().unwrap() > 0.0);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Starting and stopping
//!
//! Calls are recorded from the first one on, with nothing to start. What reads them over time —
//! the collector that files each second into the [`history`], checks [`objectives`] and feeds
//! subscribers, the pushers of `monitor-export`, the history file — is started by [`init`], the
//! one call a service makes at start-up. It returns a [`Monitor`] guard: keep it in `main`; when
//! it is dropped (or [`Monitor::shutdown`] is called, which reports what it flushed) the last
//! second is filed, every pusher pushes once more, and the history file is checkpointed.
//!
//! ```
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let _monitor = monitor_core::init(monitor_core::Config::from_env()?)?;
//!     // … serve …
//!     Ok(())
//! } // the guard ends the runtime here
//! # main().unwrap();
//! ```
//!
//! # Where things are
//!
//! The root holds what every user needs. The rest is grouped by job: [`site`] (kinds, route
//! sites, selectors), [`figures`] (the figures of a set of calls and their histograms),
//! [`snapshot`](mod@snapshot) (the read model, models and error patterns), [`history`] (queries, ticks,
//! subscriptions, estimates), [`objectives`], [`pricing`], [`usage`] (tokens and models),
//! [`errors`] (redaction and panics), [`memory`], [`caches`], [`events`] (single calls kept
//! whole), [`exports`] (the pushers' health) and [`request`] (for HTTP layers).
//!
//! # Reading what was recorded
//!
//! [`snapshot()`] is the read model every reader uses: every site with its description and
//! [`Figures`], the models, the caches, the memory and the error patterns, as of one moment, at a
//! cost that follows what was active since the previous one. The history ([`history::query`],
//! [`history::subscribe`], [`history::estimate`]) is built from it, and so are the exporters of
//! `monitor-export`.
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
//! # Features
//!
//! - `enabled` (default): instrumentation on; without it the attributes return the function
//!   untouched.
//! - `http` (default): HTTP status and body sizes from `http`'s types.
//! - `alloc`: `memory::MonitoredAlloc`, a global allocator that counts the heap.
//! - `persist`: the history kept in a SQLite file across restarts (`Config::history_path`).
//! - `async-openai`: [`TokenUsage`] for [async-openai](https://docs.rs/async-openai/0.43)'s
//!   response types — `CreateChatCompletionResponse`, the chunks of a chat completion stream,
//!   the Responses API's `Response` and `ResponseStreamEvent`, `CreateEmbeddingResponse` — so that
//!   `#[tracks_tokens(provider = "openai")]` on a function returning one of them (or a `Result` or
//!   a stream of them) records input, cached input, output and reasoning tokens and the model with
//!   no code of yours. It depends on async-openai's types only (`default-features = false`): no
//!   HTTP client or TLS comes with it.
//!
//! # What a return value tells
//!
//! The macros read the return value by its type, at compile time, and any type compiles:
//! `Result::Err` is an error (unless it carries a 4xx status, which is counted as a client error);
//! an HTTP status (`http::StatusCode`, `http::Response`, `(StatusCode, T)`) of 500 or more is an
//! error and 4xx a client error; strings, byte buffers and `http` bodies of known length give the
//! response size. A panic is recorded as an error and resumed; a future dropped before it finished
//! is recorded as cancelled.
//!
//! # Features
//!
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

// The layers, bottom up: interned and sorted, usage, figures, errors, memory, record, snapshot,
// exports, history, objectives, insights, config and the runtime above them all. Each uses only
// those before it (`tests/tests/layers.rs` checks, through the re-exports below too).
mod config;
pub mod errors;
pub mod exports;
pub mod figures;
pub mod history;
pub mod insights;
mod interned;
pub mod memory;
pub mod objectives;
pub(crate) mod record;
mod runtime;
pub mod snapshot;
mod sorted;
pub mod trace;
pub mod usage;

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
/// `model = self.model.as_str()`), `provider = "…"`, `name = "…"` and `usage = <function>`, all
/// optional. The return value — a [`TokenUsage`], a `Result` of one, a stream of either, or a
/// future of any of these — gives the tokens; the cost comes from the
/// [price table](pricing::set_table). A model without a price counts tokens and leaves its cost
/// unknown, never zero. Without `model`, the model the return value names is used. A value that
/// carries no usage ([`TokenUsage::has_usage`]) leaves the call's usage unknown, never zero.
///
/// A stream is measured from the call to its end: its first chunk, its chunks, the usage its
/// items report, and, dropped before its end, a cancelled call. That is decided by the value's
/// type, not by how the signature spells it: `impl Stream<Item = …>`, `BoxStream`, a
/// `Pin<Box<dyn Stream<…>>>` (or an unpinned `Box<dyn Stream<…> + Unpin>`), with any of `Send`
/// and `Sync`, whatever alias names it (async-openai's `ChatCompletionResponseStream`), or a
/// `Result` of one. A boxed stream comes back as the same type with the measuring inside; a stream
/// of another concrete type cannot, and is a compile error that says to return `impl Stream` or a
/// boxed stream.
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
///
/// With the feature `async-openai`, its responses, stream chunks and events report their usage and
/// model themselves:
///
/// ```ignore
/// use async_openai::{Client, config::OpenAIConfig, error::OpenAIError};
/// use async_openai::types::chat::{ChatCompletionResponseStream, CreateChatCompletionRequest};
///
/// #[monitor_core::tracks_tokens(provider = "openai")]
/// async fn chat(
///     client: &Client<OpenAIConfig>,
///     request: CreateChatCompletionRequest, // with `stream_options.include_usage` set
/// ) -> Result<ChatCompletionResponseStream, OpenAIError> {
///     client.chat().create_stream(request).await
/// }
/// ```
///
/// # `usage = f`: any client in one line
///
/// For a type that implements no [`TokenUsage`] — another crate's, which the orphan rule keeps
/// you from implementing it for — name a function from `&T` to its usage:
///
/// - `T` is the returned value; for a `Result`, its `Ok` value (an `Err` reports no usage); for a
///   stream, each item (for a stream of `Result`s, each `Ok` item).
/// - It returns [`Tokens`], or any [`TokenUsage`]: `Option<Tokens>` when a value may carry none
///   (`None` — a stream's chunks before the last — says so, so that a stream cut off before its
///   usage has its usage unknown rather than zero), or `(Tokens, &str)` to name the model that
///   answered too (else `model = …` names it).
///
/// A function of another type is one compile error at its name. With
/// [genai](https://docs.rs/genai)'s `ChatResponse`, whose `prompt_tokens` count cached and
/// cache-written tokens too, as [`Tokens`] does:
///
/// ```ignore
/// use genai::chat::{ChatRequest, ChatResponse};
/// use monitor_core::{Tokens, tracks_tokens};
///
/// fn genai_usage(response: &ChatResponse) -> (Tokens, &str) {
///     let u = &response.usage;
///     let n = |v: Option<i32>| v.map_or(0, |v| u64::try_from(v).unwrap_or(0));
///     let prompt = u.prompt_tokens_details.as_ref();
///     let completion = u.completion_tokens_details.as_ref();
///     let tokens = Tokens::new(n(u.prompt_tokens), n(u.completion_tokens))
///         .cached(n(prompt.and_then(|d| d.cached_tokens)))
///         .cache_write(n(prompt.and_then(|d| d.cache_creation_tokens)))
///         .reasoning(n(completion.and_then(|d| d.reasoning_tokens)));
///     // The model the provider says answered.
///     (tokens, response.provider_model_iden.model_name.as_str())
/// }
///
/// #[tracks_tokens(usage = genai_usage, provider = "openai")]
/// async fn chat(client: &genai::Client, request: ChatRequest) -> genai::Result<ChatResponse> {
///     client.exec_chat("gpt-4o-mini", request, None).await
/// }
/// ```
///
/// The same, checked here with a type of this crate's standing in for another crate's:
///
/// ```
/// use monitor_core::{Tokens, tracks_tokens};
///
/// // Another crate's response: `TokenUsage` cannot be implemented for it.
/// pub struct ChatResponse {
///     pub model: String,
///     pub prompt_tokens: Option<i32>,
///     pub completion_tokens: Option<i32>,
/// }
///
/// fn usage(response: &ChatResponse) -> (Tokens, &str) {
///     let n = |v: Option<i32>| v.map_or(0, |v| u64::try_from(v).unwrap_or(0));
///     let tokens = Tokens::new(n(response.prompt_tokens), n(response.completion_tokens));
///     (tokens, response.model.as_str())
/// }
///
/// #[tracks_tokens(usage = usage, provider = "openai")]
/// fn chat(prompt: &str) -> Result<ChatResponse, std::io::Error> {
///     Ok(ChatResponse {
///         model: "gpt-4o-mini".into(),
///         prompt_tokens: Some(prompt.len() as i32),
///         completion_tokens: Some(7),
///     })
/// }
///
/// chat("a fox")?;
/// # #[cfg(feature = "enabled")] {
/// let stats = monitor_core::sites().find(|s| s.name() == "chat").unwrap().stats();
/// assert_eq!(stats.tokens, Tokens::new(5, 7));
/// # }
/// # Ok::<(), std::io::Error>(())
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

// What every user needs, at the root; the rest lives in the modules named for their job.
pub use config::{Config, ConfigError};
pub use figures::Figures;
pub use record::{CacheLookup, Lookup, Site, cache, is_enabled, set_enabled, sites};
pub use runtime::{InitError, Monitor, ShutdownReport, init};
pub use snapshot::{Snapshot, snapshot};
pub use usage::{TokenUsage, Tokens};

pub mod site {
    //! Sites beyond [`Site`](crate::Site) itself: their kinds, the routes a layer makes sites of,
    //! selectors that pick sites by kind and name, and the bounds a site keeps.
    //!
    //! Reach for it when you make sites at run time ([`route_site`], [`SiteBuilder`]) or pick
    //! sites by what they are ([`Selector`], used by objectives).
    //!
    //! ```
    //! use monitor_core::site::{SiteKind, route_site};
    //!
    //! let site = route_site("GET /health");
    //! assert_eq!(site.kind(), SiteKind::Handler);
    //! assert_eq!(site.route(), Some("GET /health"));
    //! ```
    pub use crate::record::{
        DEFAULT_MAX_ROUTE_SITES, MAX_LATENCY_THRESHOLDS, MAX_MODEL_CELLS, MAX_ROUTE_LEN,
        MAX_ROUTE_SITES_LIMIT, MAX_STATUS_CODES, OTHER_ROUTES, Selector, SiteBuilder, SiteKind,
        max_route_sites, route_site, set_max_route_sites,
    };
}

pub mod request {
    //! The HTTP request a layer holds a handler's call for: what `monitor-tower`'s
    //! `MonitorLayer` uses to give `#[monitored_handler]` calls their final status and sizes.
    //!
    //! Reach for it only to write a layer for a server framework of your own.
    pub use crate::record::RequestScope;
}

pub mod caches {
    //! Cache hit ratios: a named [`Cache`] counts hits and misses, given by hand
    //! ([`cache`](crate::cache)) or by the `cache = "…"` argument of the attributes from the
    //! return value ([`Lookup`](crate::Lookup), [`CacheLookup`](crate::CacheLookup)).
    //!
    //! ```
    //! let logos = monitor_core::cache("logos");
    //! logos.hit();
    //! logos.miss();
    //! # #[cfg(feature = "enabled")]
    //! assert!(monitor_core::caches::all().iter().any(|c| c.name == "logos"));
    //! ```
    pub use crate::record::{Cache, CacheStats, MAX_CACHES, OTHER_CACHES, caches as all};
}

pub mod events {
    //! Raw events: single calls kept whole — failed ones, outliers slower than their site's p99
    //! times a factor, and a sample of the rest — newest first, in a bounded buffer.
    //!
    //! Reach for it to see the calls behind an error rate or a slow percentile.
    //!
    //! ```
    //! monitor_core::events::set_sampling(0.0); // no sampled calls, only failed and slow ones
    //! let (events, dropped) = monitor_core::events::recent();
    //! for event in events {
    //!     println!("{} {:?} {:?}", event.site.qualified_name(), event.reason, event.duration);
    //! }
    //! # let _ = dropped;
    //! ```
    pub use crate::record::{
        EVENT_CAPACITY, Event, EventReason, events as recent, set_outlier_factor, set_sampling,
    };
}

pub mod pricing {
    //! What tokens cost: the price table in force, prices by model (tiers above a long-context
    //! threshold, service tiers), and price files in monitor's format or LiteLLM's.
    //!
    //! Reach for it at start-up to load prices ([`load_file`], [`set_price`]); a model without a
    //! price counts its tokens and leaves its cost unknown, never zero.
    //!
    //! ```
    //! use monitor_core::pricing::{Price, price_of, set_price};
    //!
    //! set_price("gpt-4o", Price::per_million(2.50, 10.00))?;
    //! assert!(price_of("gpt-4o").is_some());
    //! # Ok::<(), monitor_core::pricing::PricingError>(())
    //! ```
    pub use crate::usage::entry::{load_file, set_price, set_table};
    pub use crate::usage::pricing::{
        Price, PriceFileReport, PriceFormat, PriceTable, PriceTier, PricingError, price_of, table,
    };
}
