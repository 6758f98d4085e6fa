//! The JSON the dashboard serves is a contract: every route's answer (and the stream's `tick`
//! message) for a fixed set of calls, compared with the files in `tests/wire/`. A change to a
//! field's name, its type or its place is a diff in those files, seen in review.
//!
//! `UPDATE_WIRE=1 cargo test -p monitor-dashboard --test wire` rewrites them.
//!
//! What a clock or the machine decides (durations, times, memory) is replaced by a placeholder
//! naming its JSON type, so a number that became a string still shows; everything else is the
//! value served.

use axum::Router;
use monitor_core::Tokens;
use monitor_core::objectives::{Objective, Per};
use monitor_core::pricing::Price;
use monitor_dashboard::DashboardConfig;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// The sites first, so that their lines (which the answers carry) do not move when the test does.

#[monitor_core::monitored_handler(route = "POST /wire/orders")]
fn wire_order(fail: bool) -> Result<&'static str, String> {
    if fail {
        Err("payment declined for order 4711".to_owned())
    } else {
        Ok("{\"order\":1}")
    }
}

#[monitor_core::monitored_handler(route = "GET /wire/status")]
fn wire_status(code: u16) -> Result<&'static str, http::StatusCode> {
    match code {
        200 => Ok("ok"),
        _ => Err(http::StatusCode::from_u16(code).unwrap()),
    }
}

#[monitor_core::pipeline_stage(pipeline = "wire_pipe", stage = "draft", cache = "wire-drafts")]
fn wire_draft(n: u64) -> Option<u64> {
    let _ = wire_complete(n);
    n.is_multiple_of(4).then_some(n)
}

#[monitor_core::tracks_tokens(model = "wire-priced", provider = "wire-ai")]
fn wire_complete(n: u64) -> Tokens {
    Tokens::new(100 + n, 20)
}

#[monitor_core::tracks_tokens(model = "wire-unpriced")]
fn wire_free() -> Tokens {
    Tokens::new(7, 3)
}

/// A run for `/api/runs`: a handler, a stage under it, a metered call that fails and its retry,
/// an unpriced one, and the handler failing.
#[monitor_core::monitored_handler(route = "POST /wire/runs")]
fn wire_run() -> Result<&'static str, String> {
    wire_run_stage()?;
    Err("render failed for job 4711".to_owned())
}

#[monitor_core::pipeline_stage(pipeline = "wire_runs", stage = "write")]
fn wire_run_stage() -> Result<(), String> {
    let _ = wire_run_llm(true);
    wire_run_llm(false)?;
    wire_free();
    Ok(())
}

#[monitor_core::tracks_tokens(model = "wire-priced", provider = "wire-ai")]
fn wire_run_llm(fail: bool) -> Result<Tokens, String> {
    if fail {
        Err("rate limited for api_key=sk-live-0123456789abcdef0123".to_owned())
    } else {
        Ok(Tokens::new(1_000, 200).cached(400))
    }
}

const TOKEN: &str = "wire-test-token-0123";

/// Ticks in 2031, ten seconds apart: far from the real clock, so that no real tick lands among
/// them and the history's answers are the same at every run.
const T0: u64 = 1_950_000_000;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Keys whose values the clock, the machine or the process decide.
const VARIES: &[&str] = &[
    // Durations of real calls.
    "p50",
    "p90",
    "p99",
    "max",
    "mean",
    "total_duration",
    "total_p50",
    "total_p90",
    "remaining_p50",
    "remaining_p90",
    "share",
    "duration_secs",
    "sum_secs",
    "mean_secs",
    "p50_secs",
    "p90_secs",
    "p99_secs",
    "max_secs",
    "min_secs",
    "buckets",
    "sum_ns",
    "max_ns",
    // Times of the real clock.
    "at",
    "secs_since_epoch",
    "nanos_since_epoch",
    "covered",
    "last_success_ms",
    // Memory.
    "rss_bytes",
    "virtual_bytes",
    "heap_bytes",
    "heap_peak_bytes",
    "allocations",
    "allocations_per_sec",
    "slope_bytes_per_sec",
    "recent_slope_bytes_per_sec",
    "fit",
    "samples",
    "span_secs",
    // The address the test listens on.
    "endpoint",
    // Ids tracing draws at random, and a run's times.
    "trace_id",
    "span_id",
    "parent_id",
    "start_ms",
    "duration_ms",
    "offset_ms",
    "first_chunk_ms",
];

/// `value` with what [`VARIES`] names replaced by `"<number>"`, `"<array>"`, …
fn steady(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if VARIES.contains(&k.as_str()) {
                        placeholder(v)
                    } else {
                        steady(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(steady).collect()),
        other => other.clone(),
    }
}

fn placeholder(value: &Value) -> Value {
    match value {
        Value::Null => Value::Null,
        Value::Bool(_) => "<bool>".into(),
        Value::Number(_) => "<number>".into(),
        Value::String(_) => "<string>".into(),
        // The items vary in number; the first stands for their shape.
        Value::Array(items) => Value::Array(items.iter().take(1).map(placeholder).collect()),
        // An object keeps its keys: only the leaves vary.
        Value::Object(_) => steady_all(value),
    }
}

fn steady_all(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), steady_all(v)))
                .collect(),
        ),
        other => placeholder(other),
    }
}

/// Compares `value` with `tests/wire/<name>.json`, or writes it there under `UPDATE_WIRE=1`.
/// Returns a line for the failure report when they differ.
fn check(name: &str, value: &Value) -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/wire")
        .join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(&steady(value)).unwrap() + "\n";
    if std::env::var_os("UPDATE_WIRE").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return None;
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_default();
    (golden != text).then(|| {
        format!(
            "{} differs from what is served now:\n{text}",
            path.display()
        )
    })
}

async fn start() -> SocketAddr {
    let config = DashboardConfig::new().token(TOKEN).unwrap();
    // No collector runs: only this test's ticks, at the times it chooses.
    let app = Router::new().nest_service("/admin", monitor_dashboard::router(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn get(addr: SocketAddr, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("http://{addr}/admin{path}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{path} answered {status} with non-JSON {body:?}: {e}"))
}

/// Listens on `/api/stream`; the task ends with the first `count` `tick` messages.
async fn listen(addr: SocketAddr, count: usize) -> tokio::task::JoinHandle<Vec<Value>> {
    let mut response = reqwest::Client::new()
        .get(format!("http://{addr}/admin/api/stream"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buffer = String::new();
        let mut ticks = Vec::new();
        while ticks.len() < count && Instant::now() < deadline {
            let chunk = tokio::time::timeout(Duration::from_secs(5), response.chunk()).await;
            let Ok(Ok(Some(chunk))) = chunk else { continue };
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let message: String = buffer.drain(..end + 2).collect();
                if message.lines().any(|l| l == "event: tick") {
                    let data: String = message
                        .lines()
                        .filter_map(|l| l.strip_prefix("data: "))
                        .collect();
                    ticks.push(serde_json::from_str(&data).unwrap());
                }
            }
        }
        ticks
    })
}

/// The calls every phase makes: six of each, a third of the orders failing, a 404 and a 503
/// among the statuses, a third of the drafts found in their cache.
fn calls() {
    for i in 0..6 {
        let _ = wire_order(i % 3 == 0);
        let _ = wire_status([200, 200, 404, 503][i % 4]);
        let _ = wire_draft(i as u64);
    }
    wire_free();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_serves_the_json_in_tests_wire() {
    let mut config = monitor_core::Config::new();
    config.objectives = vec![
        Objective::success_rate("wire-orders", 0.99).route("POST /wire/orders"),
        Objective::latency("wire-fast", Duration::from_millis(250), 0.95)
            .kind(monitor_core::site::SiteKind::Handler),
        Objective::cost("wire-spend", 0.5, Per::Run).pipeline("wire_pipe"),
        Objective::tokens(
            "wire-daily",
            1_000_000,
            Per::Period(Duration::from_secs(86_400)),
        )
        .model("wire-priced"),
    ];
    // Runs are kept only by the tail rules, so that which are kept is the same at every run.
    let config = config
        .traces(true)
        .trace_sampler(monitor_core::trace::Sampler::ParentBasedAlwaysOff);
    config.apply().unwrap();
    let price = Price::per_million(2.5, 10.0)
        .with_cached_input(1.25)
        .with_cache_write(3.125)
        .with_tier(200_000, Price::per_million(5.0, 15.0));
    monitor_core::pricing::set_price("wire-priced", price).unwrap();
    let addr = start().await;
    let export =
        monitor_core::exports::ExportEntry::register("remote_write", format!("http://{addr}/w"));
    export.update(|h| {
        h.made = 3;
        h.sent = 2;
        h.failed_attempts = 1;
        h.queued = 1;
        h.last_success_ms = Some(T0 * 1000);
        h.last_error = Some("503 Service Unavailable".to_owned());
    });
    let stream = listen(addr, 4).await;
    let mut differ = Vec::new();

    // Now, for the objectives: their windows end at the real clock.
    let now = SystemTime::now();
    monitor_core::history::tick_at(now - Duration::from_secs(10));
    calls();
    monitor_core::history::tick_at(now);
    differ.extend(check("objectives", &get(addr, "/api/objectives").await));
    // The objective that ran out of budget makes a warning.
    differ.extend(check("insights", &get(addr, "/api/insights").await));

    // Then in 2031, for the history's answers.
    monitor_core::history::tick_at(at(T0));
    calls();
    monitor_core::history::tick_at(at(T0 + 10));
    let ticks = stream.await.unwrap();
    assert_eq!(ticks.len(), 4, "{ticks:?}");
    differ.extend(check("tick", &ticks[3]));
    let routes = [
        ("sites", "/api/sites".to_owned()),
        (
            "query",
            format!(
                "/api/query?from={T0}&to={}&group_by=kind,site,route&resolution=10s",
                T0 + 20
            ),
        ),
        (
            "query_models",
            format!(
                "/api/query?from={T0}&to={}&kind=tokens&group_by=model",
                T0 + 20
            ),
        ),
        ("errors", "/api/errors".to_owned()),
        ("memory", "/api/memory".to_owned()),
        ("estimates", "/api/estimates".to_owned()),
        (
            "estimates_finished",
            "/api/estimates?pipeline=wire_pipe&finished=draft".to_owned(),
        ),
        ("models", "/api/models".to_owned()),
        ("events", "/api/events".to_owned()),
        ("exports", "/api/exports".to_owned()),
        ("error_bad_parameter", "/api/sites?kind=gadget".to_owned()),
        ("error_not_found", "/api/nothing".to_owned()),
    ];
    for (name, path) in routes {
        differ.extend(check(name, &get(addr, &path).await));
    }

    // Last, so that the answers above do not count these calls: two failed runs, listed, and one
    // span by span.
    for _ in 0..2 {
        wire_run().unwrap_err();
    }
    let runs = get(addr, "/api/runs?site=wire_run").await;
    differ.extend(check("runs", &runs));
    let id = runs["runs"][0]["trace_id"].as_str().unwrap_or_default();
    differ.extend(check("run", &get(addr, &format!("/api/runs/{id}")).await));
    drop(export);
    assert!(
        differ.is_empty(),
        "the JSON served changed (UPDATE_WIRE=1 rewrites tests/wire/ if that is meant):\n{}",
        differ.join("\n")
    );
}
