//! The logo service: an "AI logo generator" written as a user of monitor writes a service.
//!
//! Three axum handlers with `#[monitored_handler]`, a pipeline of four `#[pipeline_stage]`s (one
//! of them a cache), and two simulated LLM clients whose streamed calls carry `#[tracks_tokens]`
//! (an Anthropic-style one with prompt caching, an OpenAI-style reasoning model); the judging
//! model can be a real OpenAI-compatible endpoint instead ([`OpenAiJudge`], through async-openai). The router
//! carries [`monitor_dashboard::MonitorLayer`]; the monitor's dashboard is nested at
//! `/admin`, behind a token. The binary `logo-service` runs it under a built-in load.
//!
//! # Running it
//!
//! `cargo run --release -p monitor-examples` needs only a Rust toolchain. It starts the service
//! on `127.0.0.1:8080`, prints the dashboard's address and a fresh token, drives 200 logo requests
//! through it over HTTP (a progress bar whose ETA comes from the monitor's own estimate of the
//! pipeline, `monitor_core::history::estimate`), prints what the monitor recorded, and keeps
//! serving until Ctrl-C (or SIGTERM): open `http://127.0.0.1:8080/admin/` and paste the token.
//!
//! The report: every site with calls, errors, 4xx, p50/p99, tokens and cost; totals; per model
//! its tokens by kind (input, cached input, cache writes, output, reasoning) and cost; its streams
//! with time to first chunk and per output chunk (p50/p99) and the cut-off ones; cost by token
//! kind, and what each prompt cache cost and saved; memory and heap; cache hit ratio; the top error
//! patterns; the insights; and the demo's objectives, as they stand.
//!
//! `-- --help` lists the flags: `--requests`, `--concurrency`, `--addr` (port 0 picks a free one),
//! `--token`, `--no-serve` (exit after the report), `--list-sites` (print every instrumented site
//! and exit), `--remote-write URL` and `--otlp URL` (push to Prometheus or an OpenTelemetry
//! collector, metrics and traces: see `monitor_export::remote_write` and `monitor_export::otlp`),
//! `--trace-sample RATE` (follow requests as traces, keeping that share besides the failed, slow
//! and costly ones), `--history PATH` (keep the history in a file, so that a restart keeps it: see
//! `monitor_core::history`), `--fail-rate SHARE` (answer that share of logo requests with a 500),
//! `--print-rules` (the Prometheus rules of its objectives: see
//! `monitor_export::objective_rules`) and `--print-grafana DIR` (its Grafana dashboards: the
//! repository's `dashboards/` holds them).
//!
//! `--openai-base-url URL` sends the judging model's calls to a real OpenAI-compatible API instead
//! — OpenAI (`https://api.openai.com/v1`), a local vLLM or Ollama (`http://127.0.0.1:11434/v1`), a
//! LiteLLM proxy — through the official async-openai client, streamed with
//! `stream_options.include_usage`, with the key from `OPENAI_API_KEY` (never printed nor recorded)
//! and `--openai-model` (default `o4-mini`); `#[tracks_tokens(provider = "openai")]` reads the
//! chunks' usage itself. Its failures are filed as what they are — `rate_limited`, `http 401`,
//! `stream_cut`, `timeout` — and the pipeline retries a 429 after its `retry-after` (up to 5 s), a
//! 5xx or a cut stream, not a 401. Without the flag the simulated judge answers, and no key is
//! needed.
//!
//! # What it simulates
//!
//! The service's LLM calls stream, from two simulated providers, deterministic from a seed. An
//! Anthropic-style drafting model (`claude-sonnet-4-5`) sends running-total events; its system
//! prompt is marked for caching, so a prompt's first call writes the cache and later calls read
//! it; now and then a stream fails midway. An OpenAI-style reasoning model (`o4-mini`) judges the
//! drafts and reports its usage once, in its last chunk. The first chunk comes after a log-normal
//! time to first token and the rest a few milliseconds apart, at about a twentieth of a real
//! provider's times. One client in twenty gives up after 100 ms and disconnects: the service
//! drops the request and the stream it was reading, which the monitor records as a cancelled call
//! whose tokens still count.
//!
//! The prices ([`prices`], and the same in `pricing.json`) are example figures, not a price list;
//! set `MONITOR_PRICING_FILE` to use your own. Logo ids are 128 random bits (no one reaches
//! another's logo, and prompt, by counting), the service keeps the 10,000 logos last made or read
//! (the least recently used go first), and `POST /api/logos` takes `application/json` only (a 415
//! otherwise: a cross-site form cannot post).

mod handlers;
mod llm;
pub mod load;
mod openai;
mod pipeline;
pub mod prices;
mod summary;

use axum::Router;
use axum::routing::{get, post};
use monitor_dashboard::{DashboardConfig, MonitorLayer};
use std::net::SocketAddr;
use std::sync::Arc;

pub use handlers::{ApiError, App, CreateLogo, Logo, MAX_PROMPT_CHARS};
pub use openai::OpenAiJudge;
pub use pipeline::Style;
pub use prices::example_prices;
pub use summary::{handler_calls_in_history, summary};

/// Every route of the service, as `(method, path)`. [`router`] serves each with an instrumented
/// handler, and the "every handler is monitored" test checks them against the sites.
pub const ROUTES: [(&str, &str); 3] = [
    ("POST", "/api/logos"),
    ("GET", "/api/logos/{id}"),
    ("GET", "/api/logos/{id}/svg"),
];

/// Where the dashboard is nested.
pub const ADMIN: &str = "/admin";

/// The service's own routes, under [`MonitorLayer`].
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(ROUTES[0].1, post(handlers::create_logo))
        .route(ROUTES[1].1, get(handlers::get_logo))
        .route(ROUTES[2].1, get(handlers::get_logo_svg))
        .with_state(app)
        .layer(MonitorLayer::new())
}

/// The service with the dashboard nested at [`ADMIN`]. The dashboard's routes come after the
/// layer, so reading the dashboard is not counted as traffic of the service.
pub fn service(app: Arc<App>, dashboard: DashboardConfig) -> Router {
    // `nest_service`, not `nest`: axum's `nest` answers `/admin` but not `/admin/`.
    router(app).nest_service(ADMIN, monitor_dashboard::router(dashboard))
}

/// A token for the dashboard: 128 random bits, in hex.
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Binds `addr` and serves [`service`] on it in the background; returns the address bound (pick a
/// free port with port 0).
pub async fn start(
    addr: SocketAddr,
    dashboard: DashboardConfig,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    start_app(addr, dashboard, App::new()).await
}

/// [`start`] with an [`App`] of the caller's (one that fails on purpose, say).
pub async fn start_app(
    addr: SocketAddr,
    dashboard: DashboardConfig,
    app: App,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    start_app_until(addr, dashboard, app, std::future::pending()).await
}

/// As [`start_app`], serving until `shutdown` completes: then the server stops accepting,
/// answers the requests under way, and its task ends once every connection has closed
/// ([`monitor_dashboard::serve_with_limits_until`]).
pub async fn start_app_until(
    addr: SocketAddr,
    dashboard: DashboardConfig,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let limits = limits().map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = service(Arc::new(app), dashboard);
    let server = tokio::spawn(async move {
        monitor_dashboard::serve_with_limits_until(listener, app, &limits, shutdown).await
    });
    Ok((bound, server))
}

/// What the service holds to: the server's defaults, but bodies of 16 KiB at most (a request is a
/// prompt of 500 characters), refused from their `Content-Length` before any is read; the
/// environment's `MONITOR_SERVER_*` over that.
pub fn limits() -> Result<monitor_dashboard::ServerLimits, monitor_dashboard::DashboardError> {
    monitor_dashboard::ServerLimits::default()
        .max_body_bytes(MAX_BODY_BYTES)
        .with_env()
}

/// The service's objectives: the API succeeds 99.5 % of the time (its handlers name `logo-api`
/// in their attribute), 99 % of logo requests finish within 500 ms, a logo costs at most
/// $0.007 of LLM calls (a typical one costs about $0.006: the few over it, made dear by a retry
/// or a long draft, are kept as traces), and the drafting model costs at most $50 a day.
pub fn objectives() -> Vec<monitor_core::objectives::Objective> {
    use monitor_core::objectives::{Objective, Per};
    use std::time::Duration;
    vec![
        Objective::success_rate("logo-api", 0.995),
        Objective::latency("logo-latency", Duration::from_millis(500), 0.99)
            .route("POST /api/logos"),
        Objective::cost("logo-cost", 0.007, Per::Run).pipeline("logo"),
        Objective::cost(
            "draft-model-spend",
            50.0,
            Per::Period(Duration::from_secs(86_400)),
        )
        .model(prices::DRAFT_MODEL),
    ]
}

/// Largest request body the service reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Every instrumented site, one per line: kind, qualified name (`LogoPipeline::render` for a
/// stage of the pipeline's `impl`), route / pipeline and stage / model, file and line. The
/// listing a test harness would read.
pub fn list_sites() -> String {
    let mut out = String::new();
    for site in monitor_core::sites().filter(|s| !s.is_route()) {
        let what = summary::place(site);
        out.push_str(&format!(
            "{:<8} {:<24} {:<28} {}:{}\n",
            site.kind().as_str(),
            site.qualified_name(),
            what,
            site.file(),
            site.line()
        ));
    }
    out
}
