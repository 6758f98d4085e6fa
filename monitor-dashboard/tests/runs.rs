//! `/api/runs` and `/api/runs/{trace_id}` over real HTTP on 127.0.0.1, with tracing on: real
//! instrumented calls make the runs, the routes list them newest first through every filter,
//! show one span by span (nested, with its error, tokens and cost), refuse bad input with the
//! API's JSON problem, and raw events name the run they were part of.
//!
//! Its own binary: tracing is process-wide. Head sampling is the default (every run drawn), so a
//! run that succeeds is kept as `sampled` and one that fails as `failed`; each test reads only
//! the runs of its own sites (or of its own calls, by trace id).

use axum::Router;
use monitor_core::{Config, Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use monitor_dashboard::DashboardConfig;
use reqwest::StatusCode;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Once;
use std::time::Duration;

const TOKEN: &str = "runs-test-token-0123";

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        Config::new().traces(true).apply().unwrap();
        monitor_core::pricing::set_price(
            "runs-model",
            monitor_core::pricing::Price::per_million(2.0, 8.0),
        )
        .unwrap();
    });
}

#[tracks_tokens(model = "runs-model", provider = "openai")]
fn runs_llm(fail: bool) -> Result<Tokens, String> {
    if fail {
        Err("rate limited for api_key=sk-live-0123456789abcdef0123".into())
    } else {
        Ok(Tokens::new(1_000, 100).cached(400))
    }
}

#[tracks_tokens(model = "runs-unpriced")]
fn runs_unpriced() -> Tokens {
    Tokens::new(7, 3)
}

#[pipeline_stage(pipeline = "runs-pipe", stage = "write")]
fn runs_stage(retry: bool) -> Result<(), String> {
    // A retried call: the failed attempt and the retry are siblings under the stage.
    if retry {
        let _ = runs_llm(true);
    }
    runs_llm(false).map(drop)
}

#[monitored_handler(route = "POST /runs-test")]
fn runs_handler(retry: bool, fail: bool, sleep_ms: u64) -> Result<&'static str, String> {
    runs_stage(retry)?;
    std::thread::sleep(Duration::from_millis(sleep_ms));
    if fail {
        return Err("render failed for job 4711".into());
    }
    Ok("done")
}

/// The same calls as `runs_handler`, for the test that reads one run alone.
#[monitored_handler(route = "POST /runs-detail")]
fn runs_detail_handler() -> Result<&'static str, String> {
    runs_stage(true)?;
    Err("render failed for job 4711".into())
}

#[monitored_handler(route = "POST /runs-unpriced")]
fn runs_unpriced_handler() -> &'static str {
    runs_llm(false).unwrap();
    runs_unpriced();
    "done"
}

#[monitored_handler(route = "GET /runs-events")]
fn runs_events_handler() -> Result<(), String> {
    Err("no such thing".into())
}

async fn start() -> SocketAddr {
    setup();
    let config = DashboardConfig::new().token(TOKEN).unwrap();
    let app = Router::new().nest_service("/admin", monitor_dashboard::router(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn get_json(addr: SocketAddr, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().get(format!("http://{addr}/admin{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    let json = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{path} answered {status} with non-JSON {body:?}: {e}"));
    (status, json)
}

async fn ok_json(addr: SocketAddr, path: &str) -> Value {
    let (status, body) = get_json(addr, path, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

fn runs(body: &Value) -> Vec<Value> {
    body["runs"].as_array().cloned().unwrap_or_default()
}

fn trace_ids(body: &Value) -> Vec<String> {
    runs(body)
        .iter()
        .map(|r| r["trace_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_routes_need_the_token() {
    let addr = start().await;
    let _ = runs_events_handler();
    let id = monitor_core::trace::recent_runs()[0].trace_id;
    for path in [
        "/api/runs".to_owned(),
        "/api/runs?kept=bogus".to_owned(),
        format!("/api/runs/{id}"),
        "/api/runs/not-an-id".to_owned(),
    ] {
        let (status, body) = get_json(addr, &path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert_eq!(body["error"], "unauthorized", "{path}");
        let (status, _) = get_json(addr, &path, Some("not-the-token-at-all")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let (status, body) = get_json(addr, &format!("/api/runs/{id}"), Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn runs_are_listed_newest_first_through_every_filter() {
    let addr = start().await;
    // Oldest first: a run that succeeds, one that fails, one that is slow and succeeds.
    runs_handler(false, false, 0).unwrap();
    runs_handler(true, true, 0).unwrap_err();
    runs_handler(false, false, 40).unwrap();

    let all = ok_json(addr, "/api/runs?site=runs_handler").await;
    assert_eq!(all["matched"], 3, "{all}");
    let listed = runs(&all);
    assert_eq!(listed.len(), 3);
    let kept: Vec<&str> = listed.iter().map(|r| r["kept"].as_str().unwrap()).collect();
    assert_eq!(kept, ["sampled", "failed", "sampled"], "{all}");
    let starts: Vec<f64> = listed
        .iter()
        .map(|r| r["start_ms"].as_f64().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "{starts:?}");
    for run in &listed {
        assert_eq!(run["site"], "runs_handler");
        assert_eq!(run["kind"], "handler");
        assert_eq!(run["route"], "POST /runs-test");
        assert_eq!(run["trace_id"].as_str().unwrap().len(), 32);
        assert!(run["duration_ms"].as_f64().unwrap() > 0.0);
    }
    let slow = &listed[0];
    assert!(slow["duration_ms"].as_f64().unwrap() >= 40.0, "{slow}");
    let failed = &listed[1];
    assert_eq!(failed["outcome"], "error");
    assert_eq!(failed["span_count"], 4, "{failed}");
    // The handler and the first LLM attempt failed; the stage's retry succeeded.
    assert_eq!(failed["errors"], 2, "{failed}");
    assert_eq!(failed["tokens"]["input"], 1_000);
    assert_eq!(failed["tokens"]["cached_input"], 400);
    assert_eq!(failed["tokens"]["output"], 100);
    let cost = failed["cost_usd"].as_f64().unwrap();
    assert!(
        (cost - (1_000.0 * 2.0 + 100.0 * 8.0) / 1e6).abs() < 1e-12,
        "{cost}"
    );
    assert_eq!(failed["known_cost_usd"], failed["cost_usd"]);
    assert_eq!(all["tracing"]["enabled"], true);
    assert!(all["tracing"]["kept"]["failed"].as_u64().unwrap() >= 1);
    assert!(all["tracing"]["kept"]["sampled"].as_u64().unwrap() >= 2);

    let only = |body: &Value| trace_ids(body);
    let ids = only(&all);
    let failed_only = ok_json(addr, "/api/runs?site=runs_handler&kept=failed").await;
    assert_eq!(only(&failed_only), [ids[1].clone()]);
    let by_outcome = ok_json(addr, "/api/runs?site=runs_handler&outcome=ok").await;
    assert_eq!(only(&by_outcome), [ids[0].clone(), ids[2].clone()]);
    let either = ok_json(addr, "/api/runs?site=runs_handler&outcome=error,cancelled").await;
    assert_eq!(only(&either), [ids[1].clone()]);
    let long = ok_json(addr, "/api/runs?site=runs_handler&min_ms=30").await;
    assert_eq!(only(&long), [ids[0].clone()]);
    let by_route = ok_json(addr, "/api/runs?route=POST%20/runs-test").await;
    assert_eq!(only(&by_route), ids);
    let by_pipeline = ok_json(addr, "/api/runs?site=runs_handler&pipeline=runs-pipe").await;
    assert_eq!(only(&by_pipeline), ids);
    runs_events_handler().unwrap_err();
    let no_stage = ok_json(
        addr,
        "/api/runs?site=runs_events_handler&pipeline=runs-pipe",
    )
    .await;
    assert_eq!(no_stage["matched"], 0, "{no_stage}");
    // A site inside the run finds it too: the LLM call runs under every handler call.
    let through = ok_json(addr, "/api/runs?site=runs_llm&kept=failed").await;
    assert!(only(&through).contains(&ids[1]), "{through}");
    let one = ok_json(addr, "/api/runs?site=runs_handler&limit=1").await;
    assert_eq!(only(&one), [ids[0].clone()]);
    assert_eq!(one["matched"], 3);
    // The largest limit is taken.
    ok_json(addr, "/api/runs?limit=500").await;
}

#[tokio::test]
async fn a_run_is_shown_span_by_span_nested_with_its_figures() {
    let addr = start().await;
    runs_detail_handler().unwrap_err();
    let id = monitor_core::trace::recent_runs()
        .into_iter()
        .find(|r| r.root().site.name() == "runs_detail_handler")
        .unwrap()
        .trace_id;
    let run = ok_json(addr, &format!("/api/runs/{id}")).await;
    assert_eq!(run["trace_id"], id.to_string());
    assert_eq!(run["kept"], "failed");
    assert_eq!(run["span_count"], 4);
    let spans = run["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 4, "{run}");
    let shape: Vec<(&str, u64, &str)> = spans
        .iter()
        .map(|s| {
            (
                s["site"].as_str().unwrap(),
                s["depth"].as_u64().unwrap(),
                s["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("runs_detail_handler", 0, "error"),
            ("runs_stage", 1, "ok"),
            ("runs_llm", 2, "error"),
            ("runs_llm", 2, "ok"),
        ],
        "{run}"
    );
    let (root, stage, attempt, retry) = (&spans[0], &spans[1], &spans[2], &spans[3]);
    assert_eq!(root["parent_id"], Value::Null);
    assert_eq!(stage["parent_id"], root["span_id"]);
    assert_eq!(attempt["parent_id"], stage["span_id"]);
    assert_eq!(retry["parent_id"], stage["span_id"]);
    assert_eq!(root["span_id"].as_str().unwrap().len(), 16);
    assert_eq!(root["route"], "POST /runs-detail");
    assert_eq!(stage["pipeline"], "runs-pipe");
    assert_eq!(stage["stage"], "write");
    assert_eq!(root["offset_ms"], 0.0);
    // Children start after their parent and end before it.
    let end = |s: &Value| s["offset_ms"].as_f64().unwrap() + s["duration_ms"].as_f64().unwrap();
    for (child, parent) in [(stage, root), (attempt, stage), (retry, stage)] {
        assert!(child["offset_ms"].as_f64() >= parent["offset_ms"].as_f64());
        assert!(
            end(child) <= end(parent) + 1e-6,
            "{child} ends after {parent}"
        );
    }
    assert!(retry["offset_ms"].as_f64() >= attempt["offset_ms"].as_f64());
    // Errors, redacted.
    assert_eq!(root["error_message"], "render failed for job 4711");
    assert_eq!(root["error_type"], "alloc::string::String");
    let message = attempt["error_message"].as_str().unwrap();
    assert!(
        message.starts_with("rate limited for api_key="),
        "{message}"
    );
    assert!(!message.contains("sk-live"), "{message}");
    // Tokens and cost on the metered call that succeeded, none on the others.
    assert_eq!(attempt["tokens"], Value::Null);
    assert_eq!(stage["tokens"], Value::Null);
    assert_eq!(retry["model"], "runs-model");
    assert_eq!(retry["tokens"]["input"], 1_000);
    assert_eq!(retry["tokens"]["cached_input"], 400);
    assert_eq!(retry["tokens"]["output"], 100);
    let by_kind = &retry["cost_by_kind"];
    let kinds: f64 = [
        "input",
        "cached_input",
        "cache_write",
        "output",
        "reasoning",
    ]
    .iter()
    .map(|k| by_kind[k].as_f64().unwrap())
    .sum();
    assert!(
        (kinds - retry["cost_usd"].as_f64().unwrap()).abs() < 1e-15,
        "{retry}"
    );
    assert!((by_kind["output"].as_f64().unwrap() - 100.0 * 8.0 / 1e6).abs() < 1e-15);
    assert_eq!(run["cost_usd"], retry["cost_usd"]);
}

#[tokio::test]
async fn an_unpriced_call_leaves_the_run_cost_unknown() {
    let addr = start().await;
    runs_unpriced_handler();
    let body = ok_json(addr, "/api/runs?site=runs_unpriced_handler").await;
    let run = &runs(&body)[0];
    assert_eq!(run["cost_usd"], Value::Null, "{run}");
    let known = run["known_cost_usd"].as_f64().unwrap();
    assert!(
        (known - (1_000.0 * 2.0 + 100.0 * 8.0) / 1e6).abs() < 1e-12,
        "{run}"
    );
    assert_eq!(run["tokens"]["input"], 1_007);
    let detail = ok_json(
        addr,
        &format!("/api/runs/{}", run["trace_id"].as_str().unwrap()),
    )
    .await;
    let unpriced = detail["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["site"] == "runs_unpriced")
        .unwrap();
    assert_eq!(unpriced["cost_usd"], Value::Null);
    assert_eq!(unpriced["cost_by_kind"], Value::Null);
    assert_eq!(unpriced["tokens"]["output"], 3);
}

#[tokio::test]
async fn a_failed_event_names_its_run() {
    let addr = start().await;
    runs_events_handler().unwrap_err();
    let events = ok_json(addr, "/api/events?site=runs_events_handler&reason=failed").await;
    let event = &events["events"][0];
    let id = event["trace_id"].as_str().expect("the event names its run");
    let run = ok_json(addr, &format!("/api/runs/{id}")).await;
    assert_eq!(run["site"], "runs_events_handler");
    assert_eq!(run["kept"], "failed");
    assert_eq!(run["spans"][0]["error_message"], "no such thing");
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_parameter_and_an_unknown_run_a_404() {
    let addr = start().await;
    let cases = [
        ("/api/runs?limit=501", "limit"),
        ("/api/runs?limit=0", "limit"),
        ("/api/runs?limit=lots", "limit"),
        ("/api/runs?kept=bogus", "kept"),
        ("/api/runs?kept=failed,bogus", "kept"),
        ("/api/runs?outcome=fine", "outcome"),
        ("/api/runs?min_ms=abc", "min_ms"),
        ("/api/runs?min_ms=-1", "min_ms"),
        ("/api/runs?min_ms=NaN", "min_ms"),
        ("/api/runs?min_ms=1e300", "min_ms"),
        ("/api/runs?site=no_such_site", "site"),
        ("/api/runs?route=GET%20/nowhere", "route"),
        ("/api/runs?pipeline=no-such-pipeline", "pipeline"),
        ("/api/runs?colour=red", "colour"),
        ("/api/runs?kept=failed&kept=slow", "kept"),
        ("/api/runs/not-an-id", "trace_id"),
        ("/api/runs/00000000000000000000000000000000", "trace_id"),
        ("/api/runs/4BF92F3577B34DA6A3CE929D0E0E4736", "trace_id"),
        ("/api/runs/4bf92f3577b34da6a3ce929d0e0e47361", "trace_id"),
        ("/api/runs/%FF%FE", "trace_id"),
        (
            "/api/runs/4bf92f3577b34da6a3ce929d0e0e4736?limit=1",
            "limit",
        ),
    ];
    for (path, parameter) in cases {
        let (status, body) = get_json(addr, path, Some(TOKEN)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"], "bad_parameter", "{path}");
        assert_eq!(body["parameter"], parameter, "{path}: {body}");
        assert!(!body["message"].as_str().unwrap().is_empty(), "{path}");
    }
    let (status, body) = get_json(
        addr,
        "/api/runs/4bf92f3577b34da6a3ce929d0e0e4736",
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"], "not_found");
    assert!(
        body["message"].as_str().unwrap().contains("not kept"),
        "{body}"
    );
    // A path below a run is no route, answered as every unknown path under /api.
    let (status, body) = get_json(
        addr,
        "/api/runs/4bf92f3577b34da6a3ce929d0e0e4736/spans",
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"], "not_found");
}
