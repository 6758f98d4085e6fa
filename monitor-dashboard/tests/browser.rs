//! The dashboard page in a real browser: headless Chromium driven through chromedriver.
//!
//! A test server nests the dashboard under `/admin` (with a token), `/ops` (the same, through
//! `nest_service`, which also answers `/ops/`: axum 0.8's `nest` answers `/admin` but not
//! `/admin/`, tokio-rs/axum#2659) and `/open` (no token); a thread calls instrumented
//! handlers, stages and streamed token calls of two models (five kinds of tokens between them),
//! with errors, while a collector ticks. The browser loads the page, is refused a wrong token, is
//! let in with the right one, sees charts with live data, the failed calls among the recent
//! events and each model's tokens by kind and stream timings, opens a failed run's waterfall
//! from the Runs panel and from a failed event's link (tracing keeps the failed runs), changes
//! the filters and the range, and leaves a screenshot in `target/dashboard-screenshot.png`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian: `chromium chromium-driver`,
//! which `scripts/deps.sh` installs).

use axum::Router;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::stream::{self, Stream, StreamExt};
use monitor_core::memory::MonitoredAlloc;
use monitor_core::pricing::Price;
use monitor_core::{TokenUsage, Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use monitor_dashboard::DashboardConfig;
use serde_json::{Value, json};
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const TOKEN: &str = "test-token-123";
/// A site name a careless page would turn into markup.
const HOSTILE_NAME: &str = "<img src=x onerror=\"document.body.dataset.pwned=1\">";

/// Counts the heap, so that the memory chart has its heap line.
#[global_allocator]
static ALLOC: MonitoredAlloc = MonitoredAlloc::system();

// ---- The instrumented service the page shows ----------------------------------------------------

static CALLS: AtomicU64 = AtomicU64::new(0);

/// A streamed item: a chunk's usage, as its own (OpenAI's last chunk) or as the stream's so far
/// (Anthropic's events).
#[derive(Debug, Clone, Copy)]
struct Chunk {
    usage: Tokens,
    running_total: bool,
}

impl TokenUsage for Chunk {
    fn token_usage(&self) -> Tokens {
        self.usage
    }

    fn is_running_total(&self) -> bool {
        self.running_total
    }

    /// The chunks between the first event and the usage chunk carry none, as OpenAI's do.
    fn has_usage(&self) -> bool {
        self.usage != Tokens::default()
    }
}

/// Plays `chunks`: the first after `first_ms`, the others 1 ms apart.
fn play(first_ms: u64, chunks: Vec<Chunk>) -> impl Stream<Item = Chunk> {
    stream::iter(chunks.into_iter().enumerate()).then(move |(i, chunk)| async move {
        let wait = if i == 0 { first_ms } else { 1 };
        tokio::time::sleep(Duration::from_millis(wait)).await;
        chunk
    })
}

/// OpenAI-style: a reasoning model, its usage in the last chunk.
#[tracks_tokens(model = "gpt-4o-mini", provider = "openai")]
fn complete(prompt: &str) -> impl Stream<Item = Chunk> + use<> {
    let usage = Tokens::new(200 + prompt.len() as u64, 80)
        .cached(50)
        .reasoning(30);
    let mut chunks = vec![
        Chunk {
            usage: Tokens::default(),
            running_total: false,
        };
        3
    ];
    chunks.push(Chunk {
        usage,
        running_total: false,
    });
    play(4, chunks)
}

/// Anthropic-style: running totals, its system prompt written to the cache on the first call and
/// read from it after.
#[tracks_tokens(model = "claude-haiku")]
fn critique(text: &str) -> impl Stream<Item = Chunk> + use<> {
    static WRITTEN: AtomicBool = AtomicBool::new(false);
    let first = !WRITTEN.swap(true, Ordering::Relaxed);
    let (written, read) = if first { (400, 0) } else { (0, 400) };
    let start = Tokens::new(120 + text.len() as u64 + 400, 1)
        .cached(read)
        .cache_write(written);
    let running = |usage| Chunk {
        usage,
        running_total: true,
    };
    let chunks = vec![
        running(start),
        running(Tokens::default()),
        running(Tokens::new(0, 30)),
    ];
    play(3, chunks)
}

thread_local! {
    /// Where the load's thread reads its streams.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime for the load's streams");
}

/// Reads a stream to its end on the thread's runtime; its chunks.
fn read<S: Stream>(stream: S) -> usize {
    RUNTIME.with(|runtime| runtime.block_on(stream.count()))
}

#[pipeline_stage(pipeline = "logo", stage = "analyse")]
fn analyse(prompt: &str) -> Result<usize, String> {
    std::thread::sleep(Duration::from_millis(1));
    Ok(prompt.split_whitespace().count())
}

#[pipeline_stage(pipeline = "logo", stage = "concepts")]
fn concepts(prompt: &str, n: u64) -> Result<usize, String> {
    // Every fifth draft is abandoned after two chunks, before its usage chunk: a call whose
    // usage is unknown, which the models table writes under the model's calls. Never in a run
    // whose render fails (`n` a multiple of 7): the waterfall test reads one of those, and
    // expects the tokens of both its model calls.
    let drafted = if n % 5 == 4 && !n.is_multiple_of(7) {
        RUNTIME.with(|runtime| runtime.block_on(complete(prompt).take(2).count()))
    } else {
        read(complete(prompt))
    };
    Ok(drafted + read(critique(prompt)))
}

#[pipeline_stage(pipeline = "logo", stage = "render")]
fn render(n: u64) -> Result<Vec<u8>, String> {
    std::thread::sleep(Duration::from_millis(3));
    if n.is_multiple_of(7) {
        return Err(format!("renderer timed out after {n} ms on job {n}"));
    }
    Ok(vec![0; 512])
}

#[pipeline_stage(pipeline = "report", stage = "collect")]
fn collect(n: u64) -> Result<u64, String> {
    Ok(n * 2)
}

#[monitored_handler(route = "POST /api/logos")]
fn create_logo(prompt: String) -> Result<String, String> {
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    analyse(&prompt)?;
    concepts(&prompt, n)?;
    let png = render(n)?;
    Ok(format!("{} bytes", png.len()))
}

#[monitored_handler(route = "GET /api/logos/{id}")]
fn get_logo(id: u64) -> Result<String, String> {
    let cache = monitor_core::cache("logo-cache");
    if id.is_multiple_of(4) {
        cache.miss();
    } else {
        cache.hit();
    }
    if id.is_multiple_of(11) {
        return Err(format!("logo {id} not found in bucket"));
    }
    Ok(format!("logo {id}"))
}

#[monitored_handler(
    route = "GET /api/reports",
    name = "<img src=x onerror=\"document.body.dataset.pwned=1\">"
)]
fn hostile(n: u64) -> Result<u64, String> {
    collect(n)
}

/// Registered but never called: the sites list shows it anyway.
#[expect(dead_code, reason = "never called, on purpose")]
#[monitored_handler(route = "GET /health")]
fn health() -> &'static str {
    "ok"
}

/// Calls the service until dropped.
struct Load {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start() -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut i: u64 = 0;
            while !flag.load(Ordering::Relaxed) {
                i += 1;
                let _ = create_logo(format!("a fox in a hat, take {i}"));
                let _ = get_logo(i);
                let _ = get_logo(i + 1);
                if i.is_multiple_of(3) {
                    let _ = hostile(i);
                }
                std::thread::sleep(Duration::from_millis(15));
            }
        });
        Load {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---- chromedriver and Chromium -------------------------------------------------------------------

/// chromedriver as a child process, killed when dropped, with Chromium's profile directory.
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn start_driver() -> Result<Driver, Box<dyn std::error::Error + Send + Sync>> {
    let port = free_port()?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let profile = std::env::temp_dir().join(format!(
        "monitor-dashboard-chromium-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&profile)?;
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let driver = Driver {
        child,
        port,
        profile,
    };
    let status = format!("http://127.0.0.1:{port}/status");
    wait_for(
        "chromedriver to answer",
        Duration::from_secs(20),
        || async {
            let body: Value = reqwest::get(&status).await.ok()?.json().await.ok()?;
            body["value"]["ready"].as_bool().filter(|ready| *ready)
        },
    )
    .await?;
    Ok(driver)
}

async fn connect(driver: &Driver) -> Result<Client, Box<dyn std::error::Error + Send + Sync>> {
    let profile = driver.profile.to_string_lossy().into_owned();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1400,900",
                format!("--user-data-dir={profile}"),
            ],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await?;
    Ok(client)
}

// ---- Helpers -------------------------------------------------------------------------------------

/// Polls `check` until it gives a value, or fails after `timeout` saying what it waited for.
async fn wait_for<T, F, Fut>(
    what: &str,
    timeout: Duration,
    mut check: F,
) -> Result<T, Box<dyn std::error::Error + Send + Sync>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `script` in the page (its `return` value comes back as JSON).
async fn js(client: &Client, script: &str) -> Result<Value, fantoccini::error::CmdError> {
    client.execute(script, Vec::new()).await
}

/// Waits until `script` returns something truthy in the page, and gives it back.
async fn wait_js(
    client: &Client,
    what: &str,
    script: &str,
) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
    let timeout = Duration::from_secs(20);
    let result = wait_for(what, timeout, || async {
        let value = js(client, script).await.ok()?;
        let truthy = match &value {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(_) => true,
        };
        truthy.then_some(value)
    })
    .await;
    if result.is_err() {
        // Say what the page showed instead.
        let seen = js(
            client,
            "return {status: document.body.dataset.status, banner: document.getElementById('banner').textContent, \
             authHidden: document.getElementById('auth').hidden, authError: document.getElementById('auth-error').textContent, \
             errors: window.__pageErrors || []}",
        )
        .await
        .unwrap_or_default();
        eprintln!("the page when {what} timed out: {seen}");
    }
    result
}

/// Records uncaught errors and Content-Security-Policy violations from now on.
async fn watch_errors(client: &Client) -> Result<(), fantoccini::error::CmdError> {
    js(
        client,
        "window.__pageErrors = [];
         window.addEventListener('error', e => window.__pageErrors.push(String(e.message)));
         window.addEventListener('unhandledrejection', e => window.__pageErrors.push(String(e.reason)));
         document.addEventListener('securitypolicyviolation', e => window.__pageErrors.push('CSP: ' + e.violatedDirective));
         return true;",
    )
    .await
    .map(drop)
}

async fn page_errors(client: &Client) -> Result<Vec<Value>, fantoccini::error::CmdError> {
    let errors = js(client, "return window.__pageErrors || []").await?;
    Ok(errors.as_array().cloned().unwrap_or_default())
}

/// The page's modules all loaded, from under `prefix`: the entry module ran (it runs only once
/// every module it imports has), and every script the page fetched came with a 200.
async fn check_modules(client: &Client, prefix: &str) -> TestResult {
    let loaded = js(
        client,
        "const scripts = performance.getEntriesByType('resource') \
           .map(e => [new URL(e.name), e.responseStatus]) \
           .filter(([url]) => /\\.js$/.test(url.pathname + url.search)) \
           .map(([url, status]) => [url.pathname + url.search, status]); \
         return {flag: document.body.dataset.modules || null, scripts}",
    )
    .await?;
    assert_eq!(loaded["flag"], "loaded", "{loaded}");
    let scripts = loaded["scripts"].as_array().cloned().unwrap_or_default();
    for script in &scripts {
        assert_eq!(script[1], 200, "{script}");
    }
    for path in [
        "/assets/main.js",
        "/assets/format.js",
        "/assets/panels/sites.js",
    ] {
        assert!(
            scripts.iter().any(|s| s[0] == format!("{prefix}{path}")),
            "{prefix}{path} not among {scripts:?}"
        );
    }
    Ok(())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

async fn start_server() -> Result<SocketAddr, Box<dyn std::error::Error + Send + Sync>> {
    let protected = DashboardConfig::new().token(TOKEN)?;
    let app = Router::new()
        .nest("/admin", monitor_dashboard::router(protected.clone()))
        .nest_service("/ops", monitor_dashboard::router(protected))
        .nest("/open", monitor_dashboard::router(DashboardConfig::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// The models' cells, as the page shows them: tokens of each kind with their cost, the streams'
/// times to first chunk and per output chunk.
async fn check_models(client: &Client, base: &str) -> TestResult {
    // Every cell of a model's row by field, once both models have streamed and been priced.
    let cells = |model: &str| {
        format!(
            "const row = document.querySelector('#models-table tr[data-model=\"{model}\"]'); \
             if (!row) return null; \
             const cells = {{}}; \
             for (const c of row.querySelectorAll('[data-field]')) cells[c.dataset.field] = c.firstChild.textContent; \
             return Number(cells.streams.replace(/,/g, '')) > 0 && cells.first_chunk !== '–' && cells"
        )
    };
    let gpt = wait_js(client, "gpt-4o-mini's streams", &cells("gpt-4o-mini")).await?;
    let claude = wait_js(client, "claude-haiku's streams", &cells("claude-haiku")).await?;
    let text = |row: &Value, field: &str| row[field].as_str().unwrap_or_default().to_owned();

    // A count as the page writes it (`950`, `1.2K`, `3.4M`).
    let count = |text: &str| -> f64 {
        let (digits, scale) = match text.chars().last() {
            Some('K') => (&text[..text.len() - 1], 1e3),
            Some('M') => (&text[..text.len() - 1], 1e6),
            _ => (text, 1.0),
        };
        digits.replace(',', "").parse::<f64>().unwrap_or(-1.0) * scale
    };
    // Both models used every kind they bill: gpt-4o-mini no cache writes, claude-haiku no
    // reasoning.
    for (row, kinds, none) in [
        (
            &gpt,
            ["input", "cached_input", "output", "reasoning"],
            "cache_write",
        ),
        (
            &claude,
            ["input", "cached_input", "cache_write", "output"],
            "reasoning",
        ),
    ] {
        for kind in kinds {
            assert!(count(&text(row, kind)) > 0.0, "{kind}: {row}");
            let cost = text(row, &format!("{kind}_cost"));
            assert!(cost.starts_with('$') && cost != "$0", "{kind} cost: {row}");
        }
        assert_eq!(text(row, none), "0", "{row}");
        assert!(text(row, "cost").starts_with('$'), "{row}");
    }
    // gpt-4o-mini's abandoned drafts: their count under its calls, as the API counts them.
    let unknown = wait_js(
        client,
        "gpt-4o-mini's calls without usage",
        "const cell = document.querySelector('#models-table tr[data-model=\"gpt-4o-mini\"] \
         [data-field=unknown_usage]'); return cell && cell.textContent",
    )
    .await?;
    let unknown = unknown.as_str().unwrap_or_default();
    let (n, words) = unknown.split_once(' ').unwrap_or_default();
    assert!(count(n) >= 1.0 && words == "without usage", "{unknown}");
    assert!(
        text(&claude, "unknown_usage").is_empty(),
        "every critique reported its usage: {claude}"
    );

    // Each of claude-haiku's calls that reported usage, after the first, read its 400-token
    // system prompt from the cache: its cached input is 400 times those calls less one (the page
    // lags the server). The calls without usage are written under the count, when there are any.
    let without_usage = text(&claude, "unknown_usage");
    let without_usage = without_usage.split_whitespace().next().map_or(0.0, count);
    let calls = count(&text(&claude, "calls")) - without_usage;
    let cached = count(&text(&claude, "cached_input"));
    assert!(
        calls >= 2.0 && (cached - 400.0 * (calls - 1.0)).abs() <= 400.0 * 0.05 * calls,
        "{claude}"
    );

    // Durations as the page writes them: `5.12 ms / 9.3 ms`.
    let seconds = |pair: &str| -> Vec<f64> {
        pair.split(" / ")
            .map(|d| {
                let (value, unit) = d.split_once(' ').unwrap_or((d, ""));
                let scale = match unit {
                    "µs" => 1e-6,
                    "ms" => 1e-3,
                    "s" => 1.0,
                    _ => f64::NAN,
                };
                value.parse::<f64>().unwrap_or(f64::NAN) * scale
            })
            .collect()
    };
    // First chunks come after 4 ms (gpt-4o-mini) and 3 ms (claude-haiku), later ones 1 ms apart;
    // sleeps run some ms over on a loaded machine.
    for (row, first) in [(&gpt, 0.004), (&claude, 0.003)] {
        let [p50, p99] = seconds(&text(row, "first_chunk"))[..] else {
            panic!("{row}")
        };
        assert!(p50 >= first * 0.98 && p50 < 0.1 && p99 >= p50, "{row}");
        let [p50, p99] = seconds(&text(row, "per_output_chunk"))[..] else {
            panic!("{row}")
        };
        assert!((0.00098..0.05).contains(&p50) && p99 >= p50, "{row}");
    }

    // The page's figures are the API's, which the same formatting gives.
    let models: Value = reqwest::Client::new()
        .get(format!("{base}/admin/api/models"))
        .bearer_auth(TOKEN)
        .send()
        .await?
        .json()
        .await?;
    let api = models["models"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["model"] == "claude-haiku"))
        .ok_or("no claude-haiku in /api/models")?;
    assert!(api["cache_write_tokens"] == 400, "{api}");
    let gpt_api = models["models"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["model"] == "gpt-4o-mini"))
        .ok_or("no gpt-4o-mini in /api/models")?;
    let (calls, token_calls) = (&gpt_api["calls"], &gpt_api["token_calls"]);
    assert!(
        calls.as_u64() > token_calls.as_u64() && token_calls.as_u64() > Some(0),
        "{gpt_api}"
    );
    assert_eq!(text(&claude, "cache_write"), "400", "{claude}");
    let legend = js(
        client,
        "return document.getElementById('kinds-legend').textContent",
    )
    .await?;
    assert_eq!(
        legend, "InputCached inputCache writeOutputReasoning",
        "{legend}"
    );
    Ok(())
}

/// The waterfall on the page, row by row: `[span id, parent id, depth, outcome, site, indent in
/// px, error text]`, once it shows the run `trace_id` (`null` while it does not).
fn waterfall_rows(trace_id: &str) -> String {
    format!(
        "const w = document.getElementById('waterfall'); \
         if (w.hidden || w.dataset.traceId !== '{trace_id}' || w.dataset.state !== 'shown') return null; \
         return [...document.querySelectorAll('#waterfall-rows .wf-row')].map(r => {{ \
           const error = r.querySelector('[data-field=\"error\"]'); \
           const bar = r.querySelector('.wf-bar'); \
           return [r.dataset.spanId, r.dataset.parentId || null, Number(r.dataset.depth), \
                   bar.dataset.outcome, r.dataset.site, \
                   parseFloat(getComputedStyle(r.querySelector('.wf-label')).paddingLeft), \
                   error ? error.textContent : null, bar.getBoundingClientRect().width]; }})"
    )
}

/// The run `trace_id` as the API has it, and the page's waterfall of it: every span, in the
/// API's order, nested by its depth, the failed render with its error on its bar.
async fn check_waterfall(client: &Client, base: &str, trace_id: &str) -> TestResult {
    let run: Value = reqwest::Client::new()
        .get(format!("{base}/admin/api/runs/{trace_id}"))
        .bearer_auth(TOKEN)
        .send()
        .await?
        .json()
        .await?;
    let spans = run["spans"].as_array().ok_or("no spans")?;
    let rows = wait_js(client, "the run's waterfall", &waterfall_rows(trace_id)).await?;
    let rows = rows.as_array().ok_or("no rows")?;
    assert_eq!(rows.len(), spans.len(), "{rows:?}\n{run}");
    assert!(spans.len() >= 4, "{run}");
    for (row, span) in rows.iter().zip(spans) {
        assert_eq!(row[0], span["span_id"], "{row}");
        assert_eq!(row[1], span["parent_id"], "{row}");
        assert_eq!(row[2], span["depth"], "{row}");
        assert_eq!(row[3], span["outcome"], "{row}");
        assert_eq!(row[4], span["site"], "{row}");
        // Nested: indented by its depth.
        assert_eq!(
            row[5].as_f64(),
            span["depth"].as_f64().map(|d| d * 14.0),
            "{row}"
        );
        assert!(
            row[7].as_f64().unwrap_or_default() >= 2.0,
            "a bar too thin to see: {row}"
        );
    }
    // The handler at the top; the stages under it; the failed render with its error on its bar.
    assert_eq!(rows[0][4], "create_logo");
    assert_eq!(rows[0][2], 0);
    assert_eq!(rows[0][3], "error");
    let render = rows
        .iter()
        .find(|r| r[4] == "render")
        .ok_or("no render span")?;
    assert_eq!(render[2], 1, "{render}");
    assert_eq!(render[3], "error", "{render}");
    assert!(
        render[6]
            .as_str()
            .unwrap_or_default()
            .contains("renderer timed out"),
        "{render}"
    );
    for stage in ["analyse", "concepts"] {
        let row = rows.iter().find(|r| r[4] == stage).ok_or(stage)?;
        assert_eq!(row[2], 1, "{row}");
        assert_eq!(row[3], "ok", "{row}");
        assert_eq!(row[6], Value::Null, "{row}");
    }
    // The streamed model calls, under `concepts`, with their tokens and cost on their bars.
    let head = js(
        client,
        "const calls = [...document.querySelectorAll('#waterfall-rows .wf-row[data-site=\"complete\"], \
                                                     #waterfall-rows .wf-row[data-site=\"critique\"]')]; \
         return {calls: calls.map(r => [Number(r.dataset.depth), \
                   r.querySelector('[data-field=\"tokens\"]')?.textContent, \
                   r.querySelector('[data-field=\"cost\"]')?.textContent]), \
                 kept: document.getElementById('waterfall-kept').textContent, \
                 trace: document.getElementById('waterfall-trace').textContent, \
                 summary: document.getElementById('waterfall-summary').textContent, \
                 below: ['create_logo', 'concepts', 'analyse'].map(site => document.querySelector( \
                   `#waterfall-rows .wf-row[data-site=\"${site}\"] [data-field=\"below\"]`)?.textContent ?? null), \
                 axis: document.querySelectorAll('#waterfall-axis .wf-tick').length}",
    )
    .await?;
    let calls = head["calls"].as_array().cloned().unwrap_or_default();
    assert_eq!(calls.len(), 2, "{head}");
    for call in &calls {
        assert_eq!(call[0], 2, "{head}");
        assert!(
            call[1].as_str().unwrap_or_default().ends_with("tokens"),
            "{head}"
        );
        assert!(
            call[2].as_str().unwrap_or_default().starts_with('$'),
            "{head}"
        );
    }
    // The handler and `concepts` show the tokens and cost of the calls under them added up;
    // `analyse`, with none under it, shows none.
    let below = head["below"].as_array().cloned().unwrap_or_default();
    assert_eq!(below.len(), 3, "{head}");
    for sum in &below[..2] {
        let sum = sum.as_str().unwrap_or_default();
        assert!(sum.starts_with('Σ') && sum.contains("tokens, $"), "{head}");
    }
    assert_eq!(below[0], below[1], "{head}");
    assert_eq!(below[2], Value::Null, "{head}");
    assert_eq!(head["kept"], "kept: failed", "{head}");
    assert_eq!(head["trace"], trace_id, "{head}");
    assert!(
        head["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("failed"),
        "{head}"
    );
    assert!(head["axis"].as_u64().unwrap_or_default() >= 3, "{head}");
    Ok(())
}

/// The Runs panel: failed runs listed, one opened from the list and one from a failed event's
/// link, and a run that was not kept said to be so.
async fn check_runs(client: &Client, base: &str) -> TestResult {
    client
        .find(Locator::Id("runs-kept"))
        .await?
        .select_by_value("failed")
        .await?;
    // Found and clicked in one script: the list is drawn again at every refresh.
    let trace_id = wait_js(
        client,
        "a failed create_logo run in the Runs panel",
        "const rows = [...document.querySelectorAll('#runs-table tbody tr[data-trace-id]')]; \
         if (rows.length === 0 || rows.some(r => r.dataset.kept !== 'failed')) return null; \
         const row = rows.find(r => r.cells[1].textContent.includes('create_logo')); \
         if (!row) return null; \
         row.querySelector('button[data-trace-id]').click(); \
         return row.dataset.traceId",
    )
    .await?;
    let trace_id = trace_id.as_str().ok_or("no trace id")?.to_owned();
    check_waterfall(client, base, &trace_id).await?;
    // The URL names the open run.
    assert_eq!(
        js(
            client,
            "return new URLSearchParams(location.hash.slice(1)).get('run')"
        )
        .await?,
        trace_id.as_str()
    );
    let png = client.screenshot().await?;
    std::fs::write(target_dir().join("dashboard-waterfall.png"), png)?;

    // From a failed render among the recent events: its link opens its run.
    let linked = wait_js(
        client,
        "a failed render's link to its run",
        &format!(
            "const rows = [...document.querySelectorAll('#events-table tbody tr[data-reason=\"failed\"]')]; \
             const row = rows.find(r => r.cells[1].textContent.includes('render') && \
                 r.querySelector('[data-field=\"run\"]') && \
                 r.querySelector('[data-field=\"run\"]').dataset.traceId !== '{trace_id}'); \
             if (!row) return null; \
             const link = row.querySelector('[data-field=\"run\"]'); \
             link.click(); \
             return link.dataset.traceId"
        ),
    )
    .await?;
    let linked = linked.as_str().ok_or("no linked trace id")?.to_owned();
    check_waterfall(client, base, &linked).await?;

    // A run that was not kept: said so, not an error.
    let unknown = "4bf92f3577b34da6a3ce929d0e0e4736";
    js(
        client,
        &format!("location.hash = 'run={unknown}'; return true"),
    )
    .await?;
    let said = wait_js(
        client,
        "the waterfall to say the run was not kept",
        &format!(
            "const w = document.getElementById('waterfall'); \
             return !w.hidden && w.dataset.traceId === '{unknown}' && w.dataset.state === 'missing' && \
                    document.getElementById('waterfall-problem').textContent"
        ),
    )
    .await?;
    assert!(
        said.as_str().unwrap_or_default().contains("not kept"),
        "{said}"
    );
    assert_eq!(
        js(client, "return document.getElementById('banner').hidden").await?,
        true
    );
    // Closed, the URL forgets it; the Runs panel's filter back to every reason.
    client
        .find(Locator::Id("waterfall-close"))
        .await?
        .click()
        .await?;
    wait_js(
        client,
        "the waterfall to close",
        "return document.getElementById('waterfall').hidden && !location.hash.includes('run=')",
    )
    .await?;
    client
        .find(Locator::Id("runs-kept"))
        .await?
        .select_by_value("")
        .await?;
    Ok(())
}

/// Chromium and chromedriver are required, as Prometheus is for the exporter's tests: a test that
/// passed without a browser would say nothing.
fn check_browser() -> TestResult {
    for binary in [CHROMIUM, CHROMEDRIVER] {
        if !std::path::Path::new(binary).exists() {
            return Err(format!(
                "{binary} is missing: the page's test needs Chromium and chromedriver \
                 (Debian: chromium chromium-driver; `bash scripts/deps.sh` installs them)"
            )
            .into());
        }
    }
    Ok(())
}

// ---- The tests -----------------------------------------------------------------------------------

/// The page and its files come with their types, validators and cache headers, from `/admin` and
/// `/admin/assets/…`; the data does not come without the token.
#[tokio::test]
async fn page_and_assets_are_served_with_types_and_cache_headers() -> TestResult {
    let addr = start_server().await?;
    let http = reqwest::Client::new();

    let page = http.get(format!("http://{addr}/admin")).send().await?;
    assert_eq!(page.status(), 200);
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&page, "cache-control"), "no-cache");
    assert!(header(&page, "content-security-policy").contains("script-src 'self'"));
    let etag = header(&page, "etag");
    assert!(etag.starts_with('"'), "{etag}");
    assert!(page.text().await?.contains("?asset=app.js"));

    for (path, content_type) in [
        ("/admin?asset=app.js", "text/javascript; charset=utf-8"),
        ("/ops/?asset=app.css", "text/css; charset=utf-8"),
        ("/ops/?asset=uplot.js", "text/javascript; charset=utf-8"),
        ("/admin/assets/uplot.css", "text/css; charset=utf-8"),
        (
            "/admin/assets/uplot-LICENSE.txt",
            "text/plain; charset=utf-8",
        ),
    ] {
        let response = http.get(format!("http://{addr}{path}")).send().await?;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "content-type"), content_type, "{path}");
        assert_eq!(header(&response, "cache-control"), "no-cache", "{path}");
        assert_eq!(
            header(&response, "x-content-type-options"),
            "nosniff",
            "{path}"
        );
    }
    let licence = http
        .get(format!("http://{addr}/admin/assets/uplot-LICENSE.txt"))
        .send()
        .await?
        .text()
        .await?;
    assert!(licence.contains("MIT License"));

    let again = http
        .get(format!("http://{addr}/admin"))
        .header("if-none-match", &etag)
        .send()
        .await?;
    assert_eq!(again.status(), 304);

    let missing = http
        .get(format!("http://{addr}/admin?asset=nope.js"))
        .send()
        .await?;
    assert_eq!(missing.status(), 404);

    // The page's ES modules: the page names only the first by the query, and the others import
    // one another by their paths under the router's `/assets/`, `panels/` below it, however the
    // router is nested. Each with its type, validator and cache headers, as the other files.
    for path in [
        "/admin/assets/app.js",
        "/admin/assets/main.js",
        "/admin/assets/format.js",
        "/admin/assets/panels/sites.js",
        "/ops/assets/panels/models.js",
        "/open/assets/api.js",
        "/ops/?asset=panels/tiles.js",
    ] {
        let response = http.get(format!("http://{addr}{path}")).send().await?;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            header(&response, "content-type"),
            "text/javascript; charset=utf-8",
            "{path}"
        );
        assert_eq!(header(&response, "cache-control"), "no-cache", "{path}");
        let etag = header(&response, "etag");
        assert!(etag.starts_with('"'), "{path}: {etag}");
        let again = http
            .get(format!("http://{addr}{path}"))
            .header("if-none-match", &etag)
            .send()
            .await?;
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(header(&again, "etag"), etag, "{path}");
    }
    for path in ["/admin/assets/panels/nope.js", "/ops/?asset=panels/nope.js"] {
        let missing = http.get(format!("http://{addr}{path}")).send().await?;
        assert_eq!(missing.status(), 404, "{path}");
        let body: Value = missing.json().await?;
        assert_eq!(body["error"], "not_found", "{path}: {body}");
    }

    let refused = http
        .get(format!("http://{addr}/admin/api/sites"))
        .send()
        .await?;
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await?;
    assert_eq!(body["error"], "unauthorized");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_live_data_in_headless_chromium() -> TestResult {
    check_browser()?;
    // Objectives for its card: the logo handler fails now and then (more than 0.1 %).
    // Tracing on, head sampling off: the runs kept are the failed and slow ones, few enough that
    // the buffer of recent runs still holds those the page links to.
    monitor_core::Config::new()
        .traces(true)
        .trace_sampler(monitor_core::trace::Sampler::ParentBasedAlwaysOff)
        .objectives([
            monitor_core::objectives::Objective::success_rate("logo-api", 0.999)
                .route("POST /api/logos"),
            monitor_core::objectives::Objective::latency(
                "logo-latency",
                Duration::from_millis(250),
                0.99,
            )
            .route("POST /api/logos"),
        ])
        .apply()?;
    monitor_core::pricing::set_price(
        "gpt-4o-mini",
        Price::per_million(0.15, 0.60)
            .with_cached_input(0.075)
            .with_reasoning(0.60),
    )?;
    monitor_core::pricing::set_price(
        "claude-haiku",
        Price::per_million(0.80, 4.00)
            .with_cached_input(0.08)
            .with_cache_write(1.00),
    )?;
    let collector = monitor_core::history::start_collector(Duration::from_millis(200));
    let load = Load::start();
    // A pushing exporter, as remote write registers one: its endpoint carries a password.
    let export = monitor_core::exports::ExportEntry::register(
        "remote_write",
        "https://user:hunter2@mimir.example/api/v1/push",
    );
    export.update(|h| {
        h.made = 4;
        h.sent = 3;
        h.failed_attempts = 2;
        h.queued = 1;
        h.last_error = Some("HTTP 503".to_owned());
    });
    let addr = start_server().await?;
    let base = format!("http://{addr}");

    let driver = start_driver().await?;
    let client = connect(&driver).await?;
    let outcome = drive(&client, &base).await;
    let _ = client.close().await;
    drop(driver);
    drop(load);
    drop(export);
    collector.stop();
    outcome
}

async fn drive(client: &Client, base: &str) -> TestResult {
    // 1. No token yet: the page asks for it (and is not blank).
    client.goto(&format!("{base}/admin")).await?;
    watch_errors(client).await?;
    wait_js(
        client,
        "the token form",
        "return !document.getElementById('auth').hidden && document.getElementById('dashboard').hidden",
    )
    .await?;
    assert_eq!(
        js(
            client,
            "return document.getElementById('status').dataset.state"
        )
        .await?,
        "unauthorized"
    );

    // 2. A wrong token: a clear error, and the form again.
    client
        .find(Locator::Id("token-input"))
        .await?
        .send_keys("wrong-token-456")
        .await?;
    client
        .find(Locator::Id("token-submit"))
        .await?
        .click()
        .await?;
    let error = wait_js(
        client,
        "the wrong token's error message",
        "const e = document.getElementById('auth-error'); \
         return !e.hidden && !document.getElementById('auth').hidden && e.textContent",
    )
    .await?;
    assert!(
        error.as_str().unwrap_or_default().contains("not accepted"),
        "{error}"
    );
    assert_eq!(
        js(
            client,
            "return sessionStorage.getItem('monitor-dashboard-token')"
        )
        .await?,
        Value::Null,
        "a refused token is not kept"
    );
    let target = target_dir();
    std::fs::create_dir_all(&target)?;
    std::fs::write(
        target.join("dashboard-token-refused.png"),
        client.screenshot().await?,
    )?;

    // 3. The right token: the dashboard with charts and live data.
    client
        .find(Locator::Id("token-input"))
        .await?
        .send_keys(TOKEN)
        .await?;
    client
        .find(Locator::Id("token-submit"))
        .await?
        .click()
        .await?;
    wait_js(
        client,
        "the dashboard",
        "return !document.getElementById('dashboard').hidden && document.getElementById('auth').hidden",
    )
    .await?;
    check_modules(client, "/admin").await?;
    let canvases = wait_js(
        client,
        "a uPlot canvas in every chart",
        "const n = document.querySelectorAll('.chart .uplot canvas').length; \
         return n >= document.querySelectorAll('.chart').length && n",
    )
    .await?;
    assert!(canvases.as_u64().unwrap_or_default() >= 7, "{canvases}");

    // The calls column of create_logo's row, as a number (0 while absent).
    let calls = "const cell = document.querySelector('#sites-table tr[data-name=\"create_logo\"] [data-field=\"calls\"]'); \
                 const calls = cell ? Number(cell.textContent.replace(/,/g, '')) : 0;";
    let first = wait_js(
        client,
        "create_logo's call count",
        &format!("{calls} return calls"),
    )
    .await?;
    let first = first.as_f64().unwrap_or_default();
    let grown = wait_js(
        client,
        "create_logo's call count to grow",
        &format!("{calls} return calls > {first} && calls"),
    )
    .await?;
    // The page's count is what the site recorded (it lags by at most one refresh).
    let recorded = monitor_core::sites()
        .find(|s| s.name() == "create_logo")
        .map(|s| s.stats().calls())
        .unwrap_or_default();
    let shown = grown.as_f64().unwrap_or_default();
    assert!(
        shown > first && shown <= recorded as f64,
        "shown {shown}, first {first}, recorded {recorded}"
    );

    // The charts have data: the rate chart's "no calls" note is gone.
    wait_js(
        client,
        "the calls chart to have data",
        "return document.querySelector('#chart-rate .empty').hidden",
    )
    .await?;
    wait_js(
        client,
        "the live stream",
        "return document.getElementById('status').dataset.state === 'live'",
    )
    .await?;

    // Every site is listed, called or not; a hostile name is text, not markup.
    wait_js(
        client,
        "the uncalled health handler",
        "const r = document.querySelector('#sites-table tr[data-name=\"health\"]'); \
         return r && r.dataset.called === 'false'",
    )
    .await?;
    let hostile = js(
        client,
        &format!(
            "const rows = [...document.querySelectorAll('#sites-table tr')]; \
             const row = rows.find(r => r.dataset.name === {name}); \
             return row ? row.cells[1].textContent : null",
            name = serde_json::to_string(HOSTILE_NAME)?
        ),
    )
    .await?;
    assert!(
        hostile.as_str().unwrap_or_default().contains(HOSTILE_NAME),
        "{hostile}"
    );
    assert_eq!(
        js(client, "return document.querySelectorAll('main img').length + (document.body.dataset.pwned ? 1000 : 0)").await?,
        0
    );

    // Error patterns, pipelines, models, caches and memory are filled in.
    wait_js(
        client,
        "the render errors' pattern",
        "return [...document.querySelectorAll('#errors-table tbody tr')].some(r => r.textContent.includes('renderer timed out'))",
    )
    .await?;
    wait_js(
        client,
        "a failed render among the recent failures",
        "return [...document.querySelectorAll('#events-table tbody tr[data-reason=\"failed\"]')].some(r => \
                r.cells[1].textContent.includes('render') && r.textContent.includes('renderer timed out'))",
    )
    .await?;
    wait_js(
        client,
        "the logo pipeline with its stages",
        "const p = document.querySelector('#pipelines [data-pipeline=\"logo\"]'); \
         return p && p.querySelectorAll('tr[data-stage]').length === 3",
    )
    .await?;
    wait_js(
        client,
        "both models",
        "return document.querySelector('#models-table tr[data-model=\"gpt-4o-mini\"]') && \
                document.querySelector('#models-table tr[data-model=\"claude-haiku\"]')",
    )
    .await?;
    check_models(client, base).await?;
    wait_js(
        client,
        "the cache's hit ratio",
        "const c = document.querySelector('#caches-list [data-cache=\"logo-cache\"]'); return c && c.textContent.includes('75')",
    )
    .await?;
    wait_js(
        client,
        "the exporter's health, its endpoint without the password",
        "const e = document.querySelector('#exports-list [data-exporter=\"remote_write\"]'); \
         return e && e.textContent.includes('https://mimir.example/api/v1/push') && \
                e.textContent.includes('3 sent') && e.textContent.includes('HTTP 503') && \
                !document.body.textContent.includes('hunter2')",
    )
    .await?;
    wait_js(
        client,
        "the objectives with their state and burn rates",
        "const r = document.querySelector('#objectives-table tr[data-objective=\"logo-api\"]'); \
         const l = document.querySelector('#objectives-table tr[data-objective=\"logo-latency\"]'); \
         return r && l && r.cells[1].textContent === '99.9 % succeed' && \
                l.cells[1].textContent === '99 % within 250 ms' && \
                /×$/.test(r.cells[5].textContent) && r.cells[11].textContent === 'create_logo' && \
                ['ok', 'ticket', 'page', 'exhausted'].includes(r.dataset.state)",
    )
    .await?;
    wait_js(
        client,
        "resident memory and the heap",
        "return /[KMG]iB/.test(document.querySelector('#tile-memory .tile-value').textContent) && \
                document.querySelector('#chart-memory .u-legend').textContent.includes('heap')",
    )
    .await?;

    // Let the live charts run for a few seconds, then take the screenshot.
    let renders = js(client, "return Number(document.body.dataset.renders)").await?;
    let renders = renders.as_u64().unwrap_or_default();
    wait_js(
        client,
        "another refresh",
        &format!("return Number(document.body.dataset.renders) > {renders}"),
    )
    .await?;
    let png = client.screenshot().await?;
    let shot = target.join("dashboard-screenshot.png");
    std::fs::write(&shot, png)?;
    eprintln!("screenshot: {}", shot.display());
    // And the whole page, for a look at every card.
    client.set_window_size(1400, 4800).await?;
    wait_js(
        client,
        "the page to fit the tall window",
        "return document.documentElement.scrollHeight <= window.innerHeight",
    )
    .await?;
    let png = client.screenshot().await?;
    std::fs::write(target.join("dashboard-full-page.png"), png)?;
    client.set_window_size(1400, 900).await?;

    check_runs(client, base).await?;

    // 4. Filters: only stages, then one pipeline; the URL keeps them.
    client
        .find(Locator::Id("filter-kind"))
        .await?
        .select_by_value("stage")
        .await?;
    wait_js(
        client,
        "only stages listed",
        "const rows = [...document.querySelectorAll('#sites-table tbody tr')]; \
         return rows.length > 0 && rows.every(r => r.dataset.kind === 'stage') && \
                document.querySelector('[data-note=\"rate\"]').textContent.startsWith('stages') && \
                location.hash.includes('kind=stage')",
    )
    .await?;
    client
        .find(Locator::Id("filter-pipeline"))
        .await?
        .select_by_value("report")
        .await?;
    wait_js(
        client,
        "only the report pipeline",
        "const rows = [...document.querySelectorAll('#sites-table tbody tr')]; \
         return rows.length === 1 && rows[0].dataset.name === 'collect' && \
                document.querySelectorAll('#pipelines [data-pipeline]').length === 1 && \
                ![...document.querySelectorAll('#events-table tbody tr')].some(r => r.textContent.includes('renderer')) && \
                ![...document.querySelectorAll('#runs-table tbody tr')].some(r => r.textContent.includes('create_logo')) && \
                !document.querySelector('#sites-table tr[data-name=\"create_logo\"]')",
    )
    .await?;
    client
        .find(Locator::Id("filter-pipeline"))
        .await?
        .select_by_value("")
        .await?;
    client
        .find(Locator::Id("filter-kind"))
        .await?
        .select_by_value("")
        .await?;
    wait_js(
        client,
        "all sites again",
        "return !!document.querySelector('#sites-table tr[data-name=\"create_logo\"]')",
    )
    .await?;

    // 5. The range selector.
    client
        .find(Locator::Css("#range [data-range=\"15m\"]"))
        .await?
        .click()
        .await?;
    wait_js(
        client,
        "the 15 minute range",
        "return document.querySelector('#range [data-range=\"15m\"]').getAttribute('aria-pressed') === 'true' && \
                document.getElementById('updated-note').textContent.includes('15 min') && \
                document.querySelector('#chart-rate .empty').hidden",
    )
    .await?;
    client
        .find(Locator::Css("#range [data-range=\"live\"]"))
        .await?
        .click()
        .await?;

    let errors = page_errors(client).await?;
    assert!(errors.is_empty(), "errors in the page: {errors:?}");

    // 6. Nested with a trailing slash (`nest_service` answers `/ops/`): the base is `/ops`; the
    //    token from this tab's session is sent along.
    client.goto(&format!("{base}/ops/")).await?;
    watch_errors(client).await?;
    wait_js(
        client,
        "the dashboard at /ops/",
        "return !document.getElementById('dashboard').hidden && \
                !!document.querySelector('#sites-table tr[data-name=\"create_logo\"]') && \
                performance.getEntriesByType('resource').some(e => new URL(e.name).pathname === '/ops/api/sites')",
    )
    .await?;
    check_modules(client, "/ops").await?;

    // 7. Signing out forgets the token and asks again.
    client.find(Locator::Id("sign-out")).await?.click().await?;
    wait_js(
        client,
        "the token form after signing out",
        "return !document.getElementById('auth').hidden && sessionStorage.getItem('monitor-dashboard-token') === null",
    )
    .await?;

    // 8. A server without a token: the page works without asking.
    client.goto(&format!("{base}/open")).await?;
    watch_errors(client).await?;
    wait_js(
        client,
        "the open dashboard without a token form",
        "return !document.getElementById('dashboard').hidden && document.getElementById('auth').hidden && \
                document.getElementById('sign-out').hidden && \
                !!document.querySelector('#sites-table tr[data-name=\"create_logo\"]')",
    )
    .await?;
    check_modules(client, "/open").await?;
    let errors = page_errors(client).await?;
    assert!(errors.is_empty(), "errors in the page: {errors:?}");
    Ok(())
}
