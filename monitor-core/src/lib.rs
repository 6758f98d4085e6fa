//! Compile-time instrumentation for Rust services.
//!
//! Put an attribute on a function and every call to it is measured:
//!
//! - [`#[monitored_handler]`](monitored_handler) on API handlers: duration, outcome (ok, error, HTTP
//!   status), request and response sizes where the types tell them.
//! - [`#[pipeline_stage]`](pipeline_stage) on the steps of a multi-step job: duration, success, and
//!   the tokens and cost spent by the metered calls made inside it.
//! - [`#[tracks_tokens]`](tracks_tokens) on calls to an LLM or another metered API: tokens of five
//!   kinds, the model, and the cost from a [price table](pricing::PriceTable).
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
//! second is filed, every pusher handed to it ([`Monitor::own_exporter`]) pushes once more within
//! a bounded wait, and the history file is checkpointed. A second `init` while a guard lives is
//! [`InitError::AlreadyRunning`]. Nothing else starts a collector — not the dashboard's router,
//! not the first instrumented call — so that a test driving the history with
//! [`history::tick_at`] and a clock of its own gets no real-time ticks mixed in.
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
//! [`Config`] says how it runs, in code or from `MONITOR_*` variables; [`init`] applies it
//! ([`Config::apply`]: everything is checked first, and on any error nothing changes — a bad value
//! is a [`ConfigError`] naming the key and the value), installs the panic hook
//! ([`errors::record_panics`]) and starts the collector.
//!
//! # The attributes
//!
//! | attribute | arguments | records per call |
//! |---|---|---|
//! | [`#[monitored_handler]`](monitored_handler) | `name = "…"`, `route = "METHOD /path"`, `cache = "…"`, `objective = "…"`, all optional | duration; outcome (ok, error, HTTP status); request bytes from arguments whose type tells a size; response bytes from the return value |
//! | [`#[pipeline_stage]`](pipeline_stage) | `pipeline = "…"` (required), `stage = "…"` (defaults to the function's name), `name`, `cache`, `objective` | duration; success; the tokens and cost of every `#[tracks_tokens]` call made inside it |
//! | [`#[tracks_tokens]`](tracks_tokens) | `model = "…"` or `model = <expression>`, `provider = "…"`, `operation = "…"`, `name`, `cache`, `objective`, all optional | duration; outcome; tokens of five kinds (input, cached input, cache writes, output, reasoning); model asked for and model that answered; cost by kind; for a stream, time to first chunk, time per output chunk, chunks |
//!
//! `cache = "…"` makes each call a lookup of the named cache (see [`caches`]); `objective = "…"`
//! (or `objective = ["a", "b"]`) names the [objectives] the site serves.
//!
//! ## Every function shape
//!
//! The attributes take any function shape: free functions and methods (`self`, `&self`,
//! `&mut self`), `mut` parameters, generics, where-clauses and lifetimes, `unsafe fn`, raw
//! identifiers (`fn r#match` is the site `match`: names, stages and labels never carry the `r#`),
//! `async fn` (also native `async fn` in a trait, on its default body and its impls), `impl Trait`
//! arguments and returns, bodies with `return` and `?`, trait default bodies, methods of an
//! `#[async_trait]` impl (the boxed future is timed, not the boxing), recursive `async fn`s
//! through `Box::pin`, and functions that return `impl Future`, `Pin<Box<dyn Future>>` or
//! `BoxFuture` (timed from the call to the future's completion), and functions that return a
//! stream — `impl Stream<Item = C>`, `Pin<Box<dyn Stream<Item = C> + Send + '_>>`,
//! `BoxStream<'_, C>`, directly, from an `async fn` or a future, or inside a `Result` — timed from
//! the call to the stream's end.
//!
//! The signature, docs and attributes stay as written. An `async fn`'s future is `Send` when its
//! body's is: the wrapper holds nothing that is not `Send` across an await. axum handlers with
//! extractors (`State`, `Path`, `Json`) still satisfy axum's `Handler` bound. The attributes sit
//! beside `#[tracing::instrument]` (in either order), `#[tokio::main]` and `#[tokio::test]`, under
//! `#[cfg(…)]` and inside `#[cfg_attr(…, monitored_handler)]`. Each of these shapes is a test in
//! the repository's `tests/macros/ui/pass` that runs and checks what was recorded.
//!
//! Any of the three on an `impl` block makes every method with a body a site of its kind: see
//! [`monitor`] for the rules, and `#[monitor(skip)]`.
//!
//! ## Streams
//!
//! A returned stream is wrapped: each poll runs in the site's scope; the first item's arrival is
//! the call's time to first chunk, and (last item − first item) / (items − 1) its time per output
//! chunk; an `Err` item makes the call an error (its message filed with the error patterns), as
//! does, under `#[tracks_tokens]`, an item that reports a failure ([`TokenUsage::failure`]: the
//! Responses API's `response.failed`); a stream dropped before its end is a cancelled call whose
//! items' tokens are still counted and priced. Items whose type tells a size add to the response
//! bytes. Under `#[tracks_tokens]`, each item reports usage (see [`tracks_tokens`] for how it
//! adds up).
//!
//! A stream is known by the signature (`impl Stream`, `BoxStream`, `Pin<Box<dyn Stream>>`) or by
//! the value's type: a boxed stream behind an alias (async-openai's `ChatCompletionResponseStream`),
//! or a `Result` of one, is measured until it ends too. A handler or stage that returns a stream of
//! another concrete type is recorded when it returns (`#[tracks_tokens]` says it cannot measure
//! it).
//!
//! ```
//! use futures_core::Stream;
//! use monitor_core::{TokenUsage, Tokens, tracks_tokens};
//! use std::pin::{Pin, pin};
//! use std::task::{Context, Poll, Waker};
//!
//! /// OpenAI with `stream_options.include_usage`: the usage is in the last chunk only.
//! struct Chunk {
//!     delta: String,
//!     usage: Option<Tokens>,
//! }
//!
//! impl TokenUsage for Chunk {
//!     fn token_usage(&self) -> Tokens {
//!         self.usage.unwrap_or_default()
//!     }
//! }
//!
//! #[tracks_tokens(model = "gpt-4o", provider = "openai")]
//! fn chat_streamed(prompt: &str) -> impl Stream<Item = Result<Chunk, std::io::Error>> + '_ {
//!     let words = prompt.split(' ').map(|w| Ok(Chunk { delta: w.to_owned(), usage: None }));
//!     let last = Ok(Chunk { delta: String::new(), usage: Some(Tokens::new(12, 3).cached(8)) });
//!     Chunks(words.chain([last]))
//! }
//!
//! // Drained by hand here; a service awaits it (`StreamExt::next`) or hands it to its client.
//! let mut stream = pin!(chat_streamed("a bold logo"));
//! let mut cx = Context::from_waker(Waker::noop());
//! let mut text = String::new();
//! while let Poll::Ready(Some(chunk)) = stream.as_mut().poll_next(&mut cx) {
//!     text.push_str(&chunk?.delta);
//! }
//! assert_eq!(text, "aboldlogo");
//! # #[cfg(feature = "enabled")] {
//! let s = monitor_core::sites().find(|s| s.name() == "chat_streamed").unwrap().stats();
//! assert_eq!((s.calls(), s.chunks, s.tokens.input, s.tokens.cached_input), (1, 4, 12, 8));
//! assert_eq!(s.first_chunk.count(), 1);
//! # }
//! # /// An iterator as a stream, standing in for an HTTP client's.
//! # struct Chunks<I>(I);
//! # impl<I: Iterator + Unpin> Stream for Chunks<I> {
//! #     type Item = I::Item;
//! #     fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<I::Item>> {
//! #         Poll::Ready(self.get_mut().0.next())
//! #     }
//! # }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Misuse is a compile error
//!
//! Misuse is a compile error on the offending token, in one sentence: the attribute on something
//! other than a function or an `impl` block, on a `const fn`, or on a trait method without a body;
//! an unknown or duplicate argument, an argument of another attribute (named with the attributes
//! that take it), a value of the wrong type, a malformed route or objective name;
//! `#[pipeline_stage]` without `pipeline`; `#[tracks_tokens]` on a function returning `()` or a
//! type that reports no token usage, or a stream whose item type reports none (underlined on the
//! item type). On an `impl` block: `name`, `stage` or `route` on the block, a method's `pipeline`
//! other than the block's, `#[monitor(skip)]` beside a method's own attribute, two attributes on
//! one method, `#[monitor(…)]` with anything but `skip`, and `#[monitor(skip)]` where no block
//! attribute removes it. Each is a trybuild case in the repository's `tests/macros/ui/fail`.
//!
//! # What a return value tells
//!
//! The return value is classified by its type at compile time; any type compiles and just records
//! less.
//!
//! - `Result::Err` is an error — unless it carries a 4xx status (axum's
//!   `Err(StatusCode::NOT_FOUND)`), which is a client error.
//! - An HTTP status (`http::StatusCode`, `http::Response<B>`, `(StatusCode, T)`,
//!   `(StatusCode, HeaderMap, T)`, also inside `Result`) of 500 or more is an error; 4xx is counted
//!   as a client error, apart from errors.
//! - Strings, byte buffers (`Vec<u8>`, `&[u8]`, `Bytes`) and `http` messages with a
//!   `Content-Length` or a body of known length give payload sizes (return value: response;
//!   arguments of a handler: request).
//! - A panic is recorded as an error and resumed; a future dropped before it finished is recorded
//!   as cancelled.
//! - Token usage: `T:` [`TokenUsage`] or `Result<T: TokenUsage, E>`, a future of either, or a
//!   stream of items of either.
//! - A stream's items: an `Err` item fails the call; items whose type tells a size add to the
//!   response bytes.
//! - A failure a metered value or item reports though it was returned as a success
//!   ([`TokenUsage::failure`]): an OpenAI response whose `status` is `failed`, a `response.failed`
//!   or `error` event. The call is an error of the failure's type; its tokens still count.
//! - A cache lookup, on a site with `cache = "…"`: a [`Lookup`] (`Hit`/`Miss`), an `Option`
//!   (`Some` is a hit), a `Result` of either, or any [`CacheLookup`] type.
//!
//! A handler's final status and the bytes its bodies really carried are known only to the HTTP
//! server: `monitor-tower`'s `MonitorLayer` hands them to the handler's call.
//!
//! # Where things are
//!
//! The root holds what every user needs. The rest is grouped by job: [`site`] (kinds, route
//! sites, selectors), [`figures`] (the figures of a set of calls and their histograms),
//! [`snapshot`](mod@snapshot) (the read model, models and error patterns), [`history`] (queries, ticks,
//! subscriptions, estimates, the history file), [`objectives`], [`pricing`], [`usage`] (tokens and
//! models), [`errors`] (redaction and panics), [`memory`], [`caches`], [`events`] (single calls
//! kept whole), [`trace`] (runs followed as traces), [`insights`], [`exports`] (the pushers'
//! health) and [`request`] (for HTTP layers).
//!
//! Beside this crate: `monitor-export` writes what it recorded for Prometheus (text, OpenMetrics,
//! the protobuf exposition with native histograms, remote write), OpenTelemetry (OTLP metrics and
//! traces) and Grafana; `monitor-tower` is the HTTP layer; `monitor-dashboard` serves the
//! dashboard, its JSON API and `/metrics`.
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
//! Every site is listed by [`sites()`], called or not, so a test can check that every route of a
//! service is served by a monitored handler (see its example).
//!
//! # Switching it off
//!
//! At run time, [`set_enabled(false)`](set_enabled) stops recording: a call then costs one relaxed
//! load more than the bare function. At compile time, building without the default feature
//! `enabled` (`monitor-core = { …, default-features = false, features = ["http"] }`) makes the
//! attributes return the function untouched — they still reject misuse — and [`sites()`] is empty;
//! the rest of this API still compiles, as no-ops, so no `#[cfg]` is needed in your code. The
//! repository's `tests/disabled` crate checks this, down to an attributed future being exactly the
//! size of the bare one.
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
/// Arguments, all optional:
///
/// - `name = "…"`: the site's name; defaults to the function's.
/// - `route = "METHOD /path"`: the route it serves (`"GET /api/logos/{id}"`), its `route` label
///   in every exporter and what [`Site::route`] gives; a malformed route is a compile error.
/// - `cache = "…"`: each call is a lookup of that cache, told by the return value (see
///   [`caches`]).
/// - `objective = "…"` or `objective = ["a", "b"]`: the [objectives] the site serves.
///
/// Per call it records the duration and the outcome — ok, error, client error (a 4xx), panic or
/// cancelled — with the HTTP status where the return value has one; the request bytes from
/// arguments whose type tells a size; the response bytes from the return value (see [What a return
/// value tells](crate#what-a-return-value-tells)). Under `monitor-tower`'s `MonitorLayer`, the call
/// is completed with the status the response really had and the bytes its bodies carried, and its
/// duration stays the handler's own time. [`#[pipeline_stage]`](pipeline_stage) and
/// [`#[tracks_tokens]`](tracks_tokens) calls made inside it credit their tokens and cost to it too.
///
/// Like the other two, it can be put on an `impl` block, which makes each method a site (see
/// [`monitor`]).
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
/// Arguments:
///
/// - `pipeline = "…"` (required): the pipeline the stage belongs to.
/// - `stage = "…"`: the stage's name; defaults to the function's.
/// - `name`, `cache` and `objective`: as on [`#[monitored_handler]`](monitored_handler).
///
/// Per call it records the duration and whether the call succeeded, and the tokens and cost
/// spent by the `#[tracks_tokens]` calls made inside it — in its own body or in futures it
/// awaits, even when the stage future moves between threads or is interleaved with other futures
/// on one thread: they are credited per poll, not per thread. The durations a pipeline's stages
/// record feed [`history::estimate`], which predicts a run's duration from its stages' past.
///
/// On an `impl` block, every method is a stage of the block's pipeline, named after the method
/// (see [`monitor`]).
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
/// Arguments, all optional:
///
/// - `model = "…"`, or `model = <expression>` evaluated at each call (e.g.
///   `model = self.model.as_str()`). Without it, the model the return value names
///   ([`TokenUsage::model`]) is used, else `"unknown"`. A site whose model is named per call
///   splits its calls by model (see [`snapshot::models`]).
/// - `provider = "…"` (`gen_ai.provider.name`): a site that names its provider is priced by
///   `provider/model` first, then by the bare model name (see [`pricing`]).
/// - `operation = "…"` (`gen_ai.operation.name`): `chat` by default.
/// - `usage = <function>`: reads the usage off a type that implements no [`TokenUsage`] (see
///   below).
/// - `name`, `cache` and `objective`: as on [`#[monitored_handler]`](monitored_handler).
///
/// The return value — a [`TokenUsage`], a `Result` of one, a future of either, or a stream of items
/// of either — gives the tokens, of five kinds (input, cached input, cache writes, output,
/// reasoning: see [`Tokens`]); the cost of each kind comes from the [price
/// table](pricing::set_table), priced on the record path. A model without a price counts its tokens
/// and leaves its cost unknown, never zero; a value that carries no usage
/// ([`TokenUsage::has_usage`]) leaves the call's usage unknown, never zero. The enclosing [`#[pipeline_stage]`](pipeline_stage) and
/// [`#[monitored_handler]`](monitored_handler) are credited the same tokens and cost. A function
/// that returns `()`, or a type that reports no usage, is a compile error.
///
/// A stream is measured from the call to its end. That is decided by the value's type, not by how
/// the signature spells it: `impl Stream<Item = …>`, `BoxStream`, a `Pin<Box<dyn Stream<…>>>` (or
/// an unpinned `Box<dyn Stream<…> + Unpin>`), with any of `Send` and `Sync`, whatever alias names
/// it (async-openai's `ChatCompletionResponseStream`), or a `Result` of one. A boxed stream comes
/// back as the same type with the measuring inside; a stream of another concrete type cannot, and
/// is a compile error that says to return `impl Stream` or a boxed stream.
///
/// For a returned stream, each item's usage is added (an item without usage says so with
/// [`TokenUsage::has_usage`]) or, when the item says its usage is a running total
/// ([`TokenUsage::is_running_total`], as Anthropic's `message_delta` is), kept kind by kind as the
/// largest so far. Tokens reach the enclosing stage and handler poll by poll, each credit priced
/// as the call's cost so far less what was credited, so a call that crosses a long-context
/// threshold mid-stream is credited the tier's price for all its tokens. The call also records its
/// time to first chunk, its time per output chunk and its chunks (see
/// [Streams](crate#streams)).
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
/// fn chat_through_usage(prompt: &str) -> Result<ChatResponse, std::io::Error> {
///     Ok(ChatResponse {
///         model: "gpt-4o-mini".into(),
///         prompt_tokens: Some(prompt.len() as i32),
///         completion_tokens: Some(7),
///     })
/// }
///
/// chat_through_usage("a fox")?;
/// # #[cfg(feature = "enabled")] {
/// let stats = monitor_core::sites()
///     .find(|s| s.name() == "chat_through_usage")
///     .unwrap()
///     .stats();
/// assert_eq!(stats.tokens, Tokens::new(5, 7));
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
pub use monitor_macros::tracks_tokens;

/// `#[monitor(skip)]`, and the rules for the attributes on an `impl` block.
///
/// Any of the three attributes on an `impl` block — inherent or trait impl, generic or not, with
/// `#[async_trait]` above or below — makes every method with a body a site of its kind, with the
/// block's arguments; under `#[pipeline_stage(pipeline = "…")]` each method's stage is its name.
/// Associated consts, types and macro calls pass through untouched, and so does a `const fn`
/// (instrumented, it could no longer be called in const contexts).
///
/// ```
/// use monitor_core::{Tokens, pipeline_stage, tracks_tokens};
///
/// struct LogoPipeline {
///     model: String,
/// }
///
/// #[pipeline_stage(pipeline = "logo")]
/// impl LogoPipeline {
///     const SIDES: usize = 6;
///
///     fn analyse(&self, prompt: &str) -> Vec<String> { // stage "analyse"
///         prompt.split(' ').map(str::to_owned).collect()
///     }
///
///     #[pipeline_stage(stage = "draw")] // its own stage; the block's pipeline
///     fn render(&self, words: &[String]) -> String {
///         format!("<svg sides={}>{}</svg>", Self::SIDES, words.join(" "))
///     }
///
///     #[tracks_tokens(model = self.model.as_str())] // another kind: its own arguments only
///     fn complete(&self, prompt: &str) -> Tokens {
///         Tokens::new(prompt.len() as u64, 4)
///     }
///
///     #[monitor(skip)] // left as written
///     fn palette(&self) -> [&'static str; 2] {
///         ["#1f6feb", "#f2cc60"]
///     }
/// }
///
/// let pipeline = LogoPipeline { model: "gpt-4o".to_owned() };
/// let words = pipeline.analyse("a bold fox");
/// pipeline.render(&words);
/// pipeline.complete("a bold fox");
/// pipeline.palette();
/// # #[cfg(feature = "enabled")] {
/// let site = monitor_core::sites().find(|s| s.stage() == Some("draw")).unwrap();
/// assert_eq!(site.type_name(), Some("LogoPipeline"));
/// assert_eq!(site.qualified_name(), "LogoPipeline::render");
/// assert!(monitor_core::sites().all(|s| s.function() != "palette"));
/// # }
/// ```
///
/// A method's own attribute decides for it:
///
/// - of the block's kind, it takes the block's arguments with its own over them (`stage`, `name`,
///   `route`, `cache`, `model`, …) — except a `pipeline` other than the block's, which is an
///   error: the stages of one impl block belong to one pipeline;
/// - of another kind, it is that kind of site with its own arguments only (the block's belong to
///   another macro); a `#[tracks_tokens]` method of a pipeline credits its tokens to the stage
///   that calls it, as anywhere;
/// - `#[monitor(skip)]` leaves it alone; together with an attribute of its own it is an error, and
///   so are two attributes of its own (a method is one site).
///
/// `name`, `stage` and `route` name one method, so on the block they are errors. With the
/// `enabled` feature off the block comes back as written, without `#[monitor(skip)]`.
/// `#[monitor(skip)]` needs no import: the block's attribute removes it before it is expanded.
/// This item exists so that, imported and put on a method of a block without a monitor attribute,
/// it is an error rather than a silent no-op. (A block under `#[cfg_attr(…, pipeline_stage(…))]`
/// whose condition is false leaves its `#[monitor(skip)]`s behind: put those under the same
/// `cfg_attr`.)
///
/// A site instrumented through its impl block knows its type: [`Site::type_name`] is the `Self`
/// type's last path segment without generics (`Some("LogoPipeline")` for
/// `impl<T> app::LogoPipeline<T>`), and [`Site::qualified_name`] is `LogoPipeline::render` (the
/// plain name for other sites). The qualified name is what tells sites apart: two `render`
/// methods on two types are two groups in queries (`site` is the qualified name), two series in
/// `/metrics`, OTLP and remote write (their `site` label is the qualified name — see
/// `monitor_export::rules::site_labels` for why not a label of its own), two rows on the
/// dashboard, and the JSON of a site carries `type_name` and `qualified_name`.
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
    //! By hand, `cache("logos").hit()`, `.miss()` or `.record(hit)`; [`all`] lists every cache
    //! with its hits, misses and hit ratio. Or put `cache = "logos"` on any of the three
    //! attributes and return a [`Lookup<T>`](crate::Lookup) (`Hit`/`Miss`), an `Option<T>`
    //! (`Some` is a hit), a `Result` of either, or any [`CacheLookup`](crate::CacheLookup) type:
    //! each call records its lookup. At most [`MAX_CACHES`] names are kept; further ones share
    //! [`OTHER_CACHES`]. The history files each tick's lookups, so queries give a cache's hit
    //! ratio over time.
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
    //! An [`Event`] gives the site, time, duration, status, sizes, error type, redacted message
    //! and, with [tracing](crate::trace) on, the trace of the run the call was part of. The buffer
    //! keeps [`EVENT_CAPACITY`] (10,000) events: every failed call, outliers — slower than
    //! [`set_outlier_factor`]`(f)` × the site's p99, once the collector has seen 100 calls of it;
    //! f = 2 by default — and a sample of all calls ([`set_sampling`]`(0.01)`, or
    //! `MONITOR_SAMPLE_RATE=0.01`: one call in a hundred, per thread). Sampling off costs a test of
    //! a bit the call reads anyway. The aggregates count every call regardless. The dashboard's
    //! `/api/events` and its panel of recent failures and slow calls show them.
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
    //! set_price("gpt-4o", Price::per_million(2.50, 10.00).with_cached_input(1.25))?;
    //! assert!(price_of("gpt-4o").is_some());
    //! # Ok::<(), monitor_core::pricing::PricingError>(())
    //! ```
    //!
    //! # Prices
    //!
    //! Prices are USD per million tokens: [`Price::per_million`]`(input, output)` with
    //! `.with_cached_input(x)`, `.with_cache_write(x)` (default: the input rate),
    //! `.with_reasoning(x)` (default: the output rate) and `.with_tier(input_tokens_above, Price)`:
    //! a call whose input exceeds the threshold has every token billed at the tier's rates (the
    //! highest threshold exceeded wins), as Anthropic and Google bill long-context calls.
    //! [`TokenKind::ALL`](crate::usage::TokenKind::ALL) splits a call's tokens so that each is in
    //! one kind — fresh input, cached input, cache writes, visible output, reasoning — and each
    //! kind is billed once, at its own rate.
    //!
    //! [`set_price`] sets one model's, [`set_table`] a whole [`PriceTable`], [`load_file`] reads a
    //! JSON file (also `Config::pricing_file`, `MONITOR_PRICING_FILE`), and [`price_of`] reads
    //! one back. A metered call is priced on the record path with the price's rates compiled once
    //! into fixed-point picodollars per token and read with one load, so a new table never makes
    //! a call wait.
    //!
    //! # Price files
    //!
    //! Two forms are read: monitor's own (`{"models": {"claude-sonnet-4-5": {"input": 3, "output":
    //! 15, "cached_input": 0.3, "cache_write": 3.75, "tiers": [{"above_input_tokens": 200000,
    //! "input": 6, "output": 22.5}]}}}`; the demo's is `monitor-examples/pricing.json`), and
    //! **LiteLLM's `model_prices_and_context_window.json`** as that project publishes it (USD per
    //! token: `input_cost_per_token`, `output_cost_per_token`, `cache_read_input_token_cost`,
    //! `cache_creation_input_token_cost`, `output_cost_per_reasoning_token`, the
    //! `*_above_<N>k_tokens` tiers). From LiteLLM's file, entries not priced per token and
    //! service-tier rates (`_batches`, `_flex`, `_priority`) are skipped and counted, other keys
    //! ignored; [`load_file`] returns the [`PriceFileReport`].
    //!
    //! A site that names its provider (`#[tracks_tokens(provider = "…")]`) is priced by
    //! `provider/model` first, then by the bare name, as LiteLLM looks them up (in its file, 286
    //! of the 506 `provider/model` entries whose bare name also exists have other rates —
    //! `vertex_ai/claude-sonnet-4-5` has long-context tiers, Anthropic's own entry none); names
    //! otherwise match exactly.
    //!
    //! A negative or non-numeric rate, a tier threshold that is not a positive whole number, or
    //! an unknown key in monitor's form is a [`PricingError`] naming the file, model and key; the
    //! table in force stays.
    //!
    //! What each model used and cost, across all sites, is
    //! [`snapshot::models`](crate::snapshot::models).
    pub use crate::usage::entry::{load_file, set_price, set_table};
    pub use crate::usage::pricing::{
        Price, PriceFileReport, PriceFormat, PriceTable, PriceTier, PricingError, price_of, table,
    };
}
