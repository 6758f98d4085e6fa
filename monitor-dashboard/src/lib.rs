//! The admin dashboard and the exporters of monitor, as an axum [`Router`].
//!
//! [`router`] gives routes a service mounts under any prefix (with `Router::nest_service`, which
//! answers both `/admin` and `/admin/`; axum's `nest` leaves `/admin/` unanswered); [`serve`] runs
//! them standalone (on 127.0.0.1 by default; it refuses an address beyond loopback without a
//! token):
//!
//! - `/metrics`: every site, model, cache and the process's memory, for a Prometheus (and what
//!   sits on it) to scrape: `monitor-export`'s Prometheus text of a fresh snapshot (format 0.0.4;
//!   OpenMetrics with exemplars, or the protobuf exposition with native histograms, to a scraper
//!   that asks for them). Its families are listed in `monitor_export::prometheus`, the
//!   OpenTelemetry GenAI client histograms in `monitor_export::gen_ai`.
//! - `/api/sites`, `/api/query`, `/api/errors`, `/api/memory`, `/api/estimates`, `/api/models`,
//!   `/api/insights`, `/api/exports`, `/api/objectives`: JSON, from the same data and queries as
//!   `monitor_core`'s own API (see [The JSON API](#the-json-api)).
//! - `/api/events`: the raw per-call events (failed calls, outliers, samples), newest first.
//! - `/api/runs`, `/api/runs/{trace_id}`: the runs tracing kept (with
//!   [`monitor_core::Config::traces`]), newest first, and one run span by span.
//! - `/api/stream`: Server-Sent Events, one `tick` message per collector tick.
//! - `/`: a page that shows all of it live (assets served from the binary; it works offline).
//!
//! [`MonitorLayer`] (monitor-tower's layer for axum, re-exported) is a tower layer for the
//! service's own router: it gives each `#[monitored_handler]` the final status and the request and
//! response body sizes, and records requests that no instrumented handler served under their route.
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use monitor_dashboard::{DashboardConfig, MonitorLayer};
//! use tower::ServiceExt; // `oneshot`: one request, without a server
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let app = Router::new()
//!     .route("/hello", get(|| async { "hello" }))              // #[monitored_handler] handlers
//!     .layer(MonitorLayer::new())                              // final status and body sizes
//!     .nest_service("/admin", monitor_dashboard::router(DashboardConfig::from_env()?));
//! // A service serves it: axum::serve(tokio::net::TcpListener::bind(addr).await?, app).await?;
//! let response = app.oneshot(http::Request::get("/admin/metrics").body(Body::empty())?).await?;
//! assert_eq!(response.status(), 200);
//! # Ok::<(), Box<dyn std::error::Error>>(()) })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A server that bounds what a client can hold — header, request and write timeouts, a cap on
//! connections and on bodies — is [`serve_with_limits`] with [`ServerLimits`] (which lists them);
//! [`json_errors`] gives a router of your own the dashboard's JSON error shape.
//!
//! # The JSON API
//!
//! - `/api/sites[?kind=]`: every site, called or not, with its totals.
//! - `/api/query`: a [query](monitor_core::history::query) as URL parameters (`range=1h`,
//!   `kind=stage`, `group_by=stage,model`, `resolution=10s`, `outcome=error`).
//! - `/api/errors`: the error patterns.
//! - `/api/memory`: memory now, its history, and the leak verdicts for the resident size and the
//!   heap (the detector takes [`DashboardConfig::leak_threshold`] / `leak_window`, or
//!   `MONITOR_DASHBOARD_LEAK_BYTES_PER_SEC` and `MONITOR_DASHBOARD_LEAK_WINDOW_SECS`).
//! - `/api/estimates[?pipeline=&finished=a,b]`: a pipeline's expected duration, and what remains.
//! - `/api/models`: tokens and cost by model.
//! - `/api/insights`: what to look at, in words ([`insights`]): the stage that takes most of a
//!   pipeline, rising error rates, a model whose time to first chunk p99 rose (the last 5 min
//!   against the 10 before: 1.5× and 100 ms longer), a model whose prompt cache costs more than
//!   it saves (its writes' cost above plain input beyond what its reads saved), a suspected leak,
//!   a low cache hit ratio, the costliest and the unpriced models, the most frequent error, the
//!   objectives burning too fast.
//! - `/api/exports`: the pushing exporters' health, and the history file's.
//! - `/api/objectives`: every objective as it stands (`monitor_core::objectives::status`).
//! - `/api/events`: the raw events, newest first, filtered by `site` (name or id), `kind`,
//!   `pipeline`, `outcome` (`ok`, `error`, `client_error`), `reason` (`failed`, `outlier`,
//!   `sampled`, or a list: `failed,outlier`), `from` and `to` (Unix seconds, `to` excluded) or
//!   `range=15m`, and `limit` (1 to 1,000; 100 by default). The answer gives `matched` (the count
//!   before the limit), `evicted` and `capacity`; each event its site, `at` (Unix seconds, to the
//!   millisecond), `duration_secs`, `reason`, `outcome`, `status`, `request_bytes`,
//!   `response_bytes`, `error_type`, the redacted `error_message` and, with tracing on, the
//!   `trace_id` of the run it was part of.
//! - `/api/runs`: the runs tracing kept (`Config::traces`, `MONITOR_TRACES=on`), newest first,
//!   filtered by `site` (by name or id), `route` and `pipeline` (each: runs with a span of it),
//!   `outcome` (the root's: `ok`, `client_error`, `error`, `panicked`, `cancelled`, or a list),
//!   `kept` (`failed`, `cancelled`, `slow`, `over_budget`, `sampled`, or a list), `min_ms` (at
//!   least that long) and `limit` (1 to 500; 50 by default). Each run gives its `trace_id`, root
//!   site, route and kind, `kept`, `start_ms`, `duration_ms`, `outcome`, `status`, `span_count`,
//!   `dropped_spans`, `errors` (failed spans), `tokens` by kind and `cost_usd` (`null` when a
//!   call was unpriced; `known_cost_usd` beside it); the answer also `matched` and `tracing`
//!   (whether it is on, runs kept by reason, unsampled and dropped counts).
//! - `/api/runs/{trace_id}`: one kept run, every span depth first with its `span_id`,
//!   `parent_id`, `depth`, site, route, pipeline, stage and model, `offset_ms` from the run's
//!   start, `duration_ms`, `outcome`, `status`, `error_type`, redacted `error_message`, bytes,
//!   `tokens`, `cost_usd` and `cost_by_kind`, `chunks` and `first_chunk_ms`; a 404 when the run
//!   was not kept (or newer runs pushed it out), a 400 for a malformed id.
//! - `/api/stream`: Server-Sent Events, one `tick` per collector tick, pushed from one
//!   subscription through a broadcast (an idle stream costs nothing; a slow client loses ticks,
//!   counted in the message's `dropped`, and holds up no one). At most `max_streams` are open
//!   ([`DashboardConfig::max_streams`], `MONITOR_DASHBOARD_MAX_STREAMS`, default 256); beyond, a
//!   JSON 503 with `Retry-After`.
//!
//! The JSON is written from wire types of the dashboard's own; golden files under the crate's
//! `tests/` pin it.
//!
//! # The page
//!
//! `/` serves the page, with its script, styles and chart library (uPlot, vendored with its
//! licence) in the binary: live request rates and latencies per handler, errors and their
//! patterns, the newest failed, slow and sampled calls (time, site, reason, outcome, status,
//! duration, bytes, error type, redacted message, a link to its run), the kept runs (filtered by
//! outcome, reason kept and duration) and one run's waterfall (a bar per span on the run's time
//! axis, nested, coloured by outcome, with tokens, cost and errors by the bars, the reason kept and
//! the trace id to copy), each pipeline's stage breakdown and estimate, tokens and cost by stage,
//! and per model its tokens of the five kinds with each kind's cost, its streams, and time to
//! first chunk and per output chunk (p50 / p99), memory with the leak flag, cache ratios, the
//! objectives, the exporters' health, every site; a range selector (live, 15 min, 1 h, 24 h) and
//! filters by kind, pipeline, site. The crate's `tests/browser.rs` drives it in headless Chromium.
//!
//! # Access
//!
//! With a token configured ([`DashboardConfig::token`] or `MONITOR_DASHBOARD_TOKEN`, at least 8
//! characters; set but empty is no token), the API and the stream answer only requests that carry
//! it (`Authorization: Bearer <token>`, the scheme in any case, RFC 9110), compared in constant
//! time; the page asks for it once and keeps it in the tab's session storage. `/metrics` stays
//! open for scrapers unless [`DashboardConfig::protect_metrics`] says otherwise
//! (`MONITOR_DASHBOARD_PROTECT_METRICS=true`). Without a token, anyone who reaches the routes may
//! read them, so [`serve`] refuses to listen beyond loopback then.
//!
//! Every error is one JSON shape, `{"error", "status", "message"}` (and `"parameter"` when one was
//! at fault): a missing or bad token is a 401 (another scheme is named as such); a bad, unknown or
//! repeated parameter, an unknown kind or stage, or a time past the year 9999 a 400 naming it; an
//! unknown route a 404 with the path as sent; a method a route does not take a 405 with `Allow`.
//! Unknown paths under `/api` answer only with the token, so routes cannot be probed. Every answer
//! carries `X-Content-Type-Options: nosniff`, and `Cache-Control: no-store` unless its route set
//! one (the page revalidates).
//!
//! # Features
//!
//! None of its own: the dashboard turns on what it needs of the other crates (monitor-core's
//! `http`, monitor-export's `protobuf`, monitor-tower's `axum`).

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod api;
mod auth;
mod events;
mod metrics;
mod page;
mod params;
mod problem;
mod runs;
mod server;
mod stream;
mod wire;

use axum::Router;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

pub use metrics::render;
// Insights moved to monitor-core, beside the other readers of the read model; these names stay
// for code that found them here.
pub use monitor_core::insights::{Insight, Severity, insights, insights_at, leak_insight};
pub use monitor_export::CONTENT_TYPE;
pub use monitor_tower::axum::{MonitorLayer, MonitorService, ResponseFuture};
pub use server::{
    SERVER_VARS, ServerLimits, json_errors, serve_with_limits, serve_with_limits_until,
};
pub use stream::STREAM_BUFFER;

/// How the dashboard is served: its token and what it protects.
///
/// # Examples
///
/// ```
/// use monitor_dashboard::DashboardConfig;
///
/// let config = DashboardConfig::new().token("s3cret-token")?.protect_metrics(true);
/// assert!(config.has_token());
/// # Ok::<(), monitor_dashboard::DashboardError>(())
/// ```
#[derive(Clone, Default)]
pub struct DashboardConfig {
    token: Option<Arc<str>>,
    protect_metrics: bool,
    leak_threshold_bytes_per_sec: Option<f64>,
    leak_window: Option<std::time::Duration>,
    max_streams: Option<usize>,
}

/// The token is a secret: it never appears in debug output.
impl fmt::Debug for DashboardConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DashboardConfig")
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("protect_metrics", &self.protect_metrics)
            .field(
                "leak_threshold_bytes_per_sec",
                &self.leak_threshold_bytes_per_sec,
            )
            .field("leak_window", &self.leak_window)
            .field("max_streams", &self.stream_cap())
            .finish()
    }
}

/// The environment variable that holds the dashboard's token.
pub const TOKEN_VAR: &str = "MONITOR_DASHBOARD_TOKEN";
/// The environment variable that protects `/metrics` with the token (`true` or `false`).
pub const PROTECT_METRICS_VAR: &str = "MONITOR_DASHBOARD_PROTECT_METRICS";
/// The environment variable that caps the open `/api/stream` connections (a whole number, 1 or
/// more).
pub const MAX_STREAMS_VAR: &str = "MONITOR_DASHBOARD_MAX_STREAMS";
/// The environment variable that sets the growth, in bytes per second, above which memory that
/// keeps rising is a suspected leak (a whole number, 1 or more).
pub const LEAK_THRESHOLD_VAR: &str = "MONITOR_DASHBOARD_LEAK_BYTES_PER_SEC";
/// The environment variable that sets the stretch, in seconds, a leak is judged over (a whole
/// number, 1 or more).
pub const LEAK_WINDOW_VAR: &str = "MONITOR_DASHBOARD_LEAK_WINDOW_SECS";

/// Open `/api/stream` connections allowed unless configured otherwise; beyond, a JSON 503. Each
/// costs a task and a buffer of [`STREAM_BUFFER`] ticks, and nothing while idle.
pub const DEFAULT_MAX_STREAMS: usize = 256;

/// Shortest token accepted: a guessable token is no protection.
pub const MIN_TOKEN_LEN: usize = 8;

/// Growth of memory, in bytes per second, above which a steady rise is flagged as a suspected
/// leak unless configured otherwise: monitor-core's [`monitor_core::memory::DEFAULT_LEAK_THRESHOLD`].
pub const DEFAULT_LEAK_THRESHOLD: f64 = monitor_core::memory::DEFAULT_LEAK_THRESHOLD;

impl DashboardConfig {
    /// No token, `/metrics` open: for loopback only.
    pub fn new() -> DashboardConfig {
        DashboardConfig::default()
    }

    /// Reads `MONITOR_DASHBOARD_TOKEN`, `MONITOR_DASHBOARD_PROTECT_METRICS` and
    /// `MONITOR_DASHBOARD_MAX_STREAMS`.
    pub fn from_env() -> Result<DashboardConfig, DashboardError> {
        DashboardConfig::from_vars(std::env::vars_os().filter_map(|(k, v)| {
            Some((k.into_string().ok()?, v.into_string().unwrap_or_default()))
        }))
    }

    /// Reads the same keys as [`from_env`](DashboardConfig::from_env) from `vars`; others are
    /// ignored.
    ///
    /// # Examples
    ///
    /// ```
    /// use monitor_dashboard::{DashboardConfig, DashboardError};
    ///
    /// let err = DashboardConfig::from_vars([("MONITOR_DASHBOARD_PROTECT_METRICS", "maybe")])
    ///     .unwrap_err();
    /// assert!(matches!(err, DashboardError::InvalidValue { .. }));
    /// assert!(err.to_string().contains("maybe"));
    /// ```
    pub fn from_vars<K: AsRef<str>, V: AsRef<str>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<DashboardConfig, DashboardError> {
        let mut config = DashboardConfig::new();
        for (key, value) in vars {
            let (key, value) = (key.as_ref(), value.as_ref());
            match key {
                // Set but empty, as `MONITOR_DASHBOARD_TOKEN= cmd` or an unfilled template gives
                // it: no token, as if unset, rather than a fatal error.
                TOKEN_VAR if value.trim().is_empty() => {}
                TOKEN_VAR => config = config.token(value)?,
                PROTECT_METRICS_VAR => {
                    let protect = match value.trim() {
                        "1" | "true" | "yes" | "on" => true,
                        "0" | "false" | "no" | "off" | "" => false,
                        _ => {
                            return Err(DashboardError::InvalidValue {
                                key: key.to_owned(),
                                value: value.to_owned(),
                                expected: "true or false",
                            });
                        }
                    };
                    config = config.protect_metrics(protect);
                }
                MAX_STREAMS_VAR => {
                    let n = positive_number(key, value)?;
                    config = config.max_streams(usize::try_from(n).unwrap_or(usize::MAX));
                }
                LEAK_THRESHOLD_VAR => {
                    config = config.leak_threshold(positive_number(key, value)? as f64);
                }
                LEAK_WINDOW_VAR => {
                    let secs = positive_number(key, value)?;
                    config = config.leak_window(std::time::Duration::from_secs(secs));
                }
                _ => {}
            }
        }
        Ok(config)
    }

    /// Requires `token` for the API, the stream (and `/metrics` if protected). It must be at
    /// least [`MIN_TOKEN_LEN`] characters, without whitespace.
    pub fn token(mut self, token: impl AsRef<str>) -> Result<DashboardConfig, DashboardError> {
        let token = token.as_ref();
        if token.len() < MIN_TOKEN_LEN || token.chars().any(char::is_whitespace) {
            return Err(DashboardError::InvalidValue {
                key: TOKEN_VAR.to_owned(),
                // The value is a secret even when it is a bad one.
                value: format!("<{} characters>", token.chars().count()),
                expected: "at least 8 characters, no whitespace",
            });
        }
        self.token = Some(Arc::from(token));
        Ok(self)
    }

    /// Whether `/metrics` needs the token too (default: no, as Prometheus scrapers expect).
    pub fn protect_metrics(mut self, protect: bool) -> DashboardConfig {
        self.protect_metrics = protect;
        self
    }

    /// Growth of memory, in bytes per second, above which a steady rise is flagged as a
    /// suspected leak (default [`DEFAULT_LEAK_THRESHOLD`]).
    pub fn leak_threshold(mut self, bytes_per_sec: f64) -> DashboardConfig {
        self.leak_threshold_bytes_per_sec = Some(bytes_per_sec);
        self
    }

    /// The stretch of memory samples a leak is judged over (default
    /// [`monitor_core::memory::DEFAULT_LEAK_WINDOW`], ten minutes): a verdict needs half of it.
    pub fn leak_window(mut self, window: std::time::Duration) -> DashboardConfig {
        self.leak_window = Some(window);
        self
    }

    /// Caps the open `/api/stream` connections (default [`DEFAULT_MAX_STREAMS`]); at least 1.
    pub fn max_streams(mut self, n: usize) -> DashboardConfig {
        self.max_streams = Some(n.max(1));
        self
    }

    pub(crate) fn stream_cap(&self) -> usize {
        self.max_streams.unwrap_or(DEFAULT_MAX_STREAMS)
    }

    /// Whether a token is set.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    pub(crate) fn leak_detector(&self) -> monitor_core::memory::LeakDetector {
        monitor_core::memory::LeakDetector::new(
            self.leak_threshold_bytes_per_sec
                .unwrap_or(DEFAULT_LEAK_THRESHOLD),
        )
        .window(
            self.leak_window
                .unwrap_or(monitor_core::memory::DEFAULT_LEAK_WINDOW),
        )
    }
}

/// Configuration or serving that cannot go ahead.
#[derive(Debug)]
#[non_exhaustive]
pub enum DashboardError {
    /// A configuration value that does not parse.
    InvalidValue {
        /// The key (environment variable or setting).
        key: String,
        /// The value given (a secret is described, never repeated).
        value: String,
        /// What the key accepts.
        expected: &'static str,
    },
    /// [`serve`] was asked to listen beyond loopback without a token.
    OpenToNetwork {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address could not be bound or the server failed.
    Io(std::io::Error),
}

impl fmt::Display for DashboardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DashboardError::InvalidValue {
                key,
                value,
                expected,
            } => write!(
                f,
                "`{key}` has an invalid value {value:?}: expected {expected}"
            ),
            DashboardError::OpenToNetwork { addr } => write!(
                f,
                "refusing to serve the dashboard on {addr} without a token: set {TOKEN_VAR} or \
                 listen on 127.0.0.1"
            ),
            DashboardError::Io(e) => write!(f, "dashboard server: {e}"),
        }
    }
}

impl std::error::Error for DashboardError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DashboardError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// A variable that holds a whole number, 1 or more; otherwise an error naming the key and value.
pub(crate) fn positive_number(key: &str, value: &str) -> Result<u64, DashboardError> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| DashboardError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
            expected: "a whole number, 1 or more",
        })
}

/// What every route's handler can read.
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub(crate) config: DashboardConfig,
    /// A permit per open stream, at most the configured cap.
    pub(crate) streams: Arc<tokio::sync::Semaphore>,
}

/// The dashboard's routes, to mount under any prefix (`Router::nest_service("/admin",
/// router(config))`) or to serve on their own.
///
/// The history, the charts and the stream are made of the collector's ticks: start it with
/// [`monitor_core::init`], whose guard the service keeps (or, in a test, with a
/// [`monitor_core::history::start_collector`] of its own). Without one, the routes serve what
/// is recorded and the history stays empty.
pub fn router(config: DashboardConfig) -> Router {
    let streams = Arc::new(tokio::sync::Semaphore::new(config.stream_cap()));
    let state = AppState { config, streams };
    let protected = Router::new().merge(api::routes()).merge(stream::routes());
    let metrics = metrics::routes();
    let (protected, metrics) = if state.config.protect_metrics {
        (protected.merge(metrics), Router::new())
    } else {
        (protected, metrics)
    };
    let protected = protected.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::require_token,
    ));
    Router::new()
        .merge(page::routes())
        .merge(metrics)
        .merge(protected)
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(axum::middleware::map_response(server::no_sniff_no_store))
        .with_state(state)
}

/// Where [`serve`] listens unless told otherwise.
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9464);

/// Serves [`router`] on `addr` until the process ends. Refuses an address beyond loopback when no
/// token is set.
///
/// It holds to [`ServerLimits::from_env`]: timeouts for headers, idle connections and requests,
/// a cap on connections and on request bodies.
pub async fn serve(addr: SocketAddr, config: DashboardConfig) -> Result<(), DashboardError> {
    check_exposure(addr, &config)?;
    let limits = ServerLimits::from_env()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(DashboardError::Io)?;
    serve_with_limits(listener, router(config), &limits)
        .await
        .map_err(DashboardError::Io)
}

/// Whether `config` may be served on `addr`: beyond loopback only with a token.
pub fn check_exposure(addr: SocketAddr, config: &DashboardConfig) -> Result<(), DashboardError> {
    if addr.ip().is_loopback() || config.has_token() {
        Ok(())
    } else {
        Err(DashboardError::OpenToNetwork { addr })
    }
}
