//! From a metric to its trace: the real Prometheus (Debian's 2.42) scrapes `/metrics` of a
//! server whose instrumented handler made failed runs, stores the exemplars of its duration
//! histogram (`--enable-feature=exemplar-storage`), and `query_exemplars` answers with trace ids
//! the process kept. Once as OpenMetrics text (what Prometheus asks for by default), once as the
//! protobuf exposition (with native histograms on). A scraper that asks for neither gets the
//! 0.0.4 text, without exemplars.
//!
//! Its own binary: tracing and its sampler are process-wide. Head sampling is off
//! (`parentbased_always_off`), so the only runs kept are the failed ones: every exemplar must be
//! one of them.

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use monitor_core::trace::{self, KeepReason, Sampler, TraceId};
use monitor_core::{Config, monitored_handler};
use monitor_dashboard::{DashboardConfig, MonitorLayer};
use monitor_harness::{PROMETHEUS, Prometheus, single_value};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Once;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type TestResult = Result<(), monitor_harness::Error>;

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        Config::new()
            .traces(true)
            .trace_sampler(Sampler::ParentBasedAlwaysOff)
            .apply()
            .unwrap();
    });
}

#[derive(Debug)]
struct Unavailable;

impl IntoResponse for Unavailable {
    fn into_response(self) -> Response {
        (StatusCode::SERVICE_UNAVAILABLE, "try later").into_response()
    }
}

/// Fails after a few milliseconds: a run the tail rules keep.
#[monitored_handler(route = "GET /ex/text/render")]
async fn ex_text_render() -> Result<&'static str, Unavailable> {
    tokio::time::sleep(Duration::from_millis(3)).await;
    Err(Unavailable)
}

/// Succeeds: a run nothing keeps.
#[monitored_handler(route = "GET /ex/text/ok")]
async fn ex_text_ok() -> &'static str {
    "fine"
}

#[monitored_handler(route = "GET /ex/proto/render")]
async fn ex_proto_render() -> Result<&'static str, Unavailable> {
    tokio::time::sleep(Duration::from_millis(3)).await;
    Err(Unavailable)
}

/// The dashboard's router (with `/metrics`) and the handlers under the HTTP layer, on loopback.
async fn serve() -> Result<SocketAddr, monitor_harness::Error> {
    let app = Router::new()
        .route("/ex/text/render", get(ex_text_render))
        .route("/ex/text/ok", get(ex_text_ok))
        .route("/ex/proto/render", get(ex_proto_render))
        .layer(MonitorLayer::new())
        .merge(monitor_dashboard::router(DashboardConfig::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let target = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(target)
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Polls `query_exemplars` for `promql` until it names an exemplar, or fails after 30 s with the
/// last answer and the log: the exemplars, each with its series' labels.
async fn stored_exemplars(
    prometheus: &Prometheus,
    client: &reqwest::Client,
    promql: &str,
) -> Result<Vec<(Value, Value)>, monitor_harness::Error> {
    let start = Instant::now();
    let from = now_secs() - 600.0;
    loop {
        let answer = prometheus
            .exemplars(client, promql, from, now_secs() + 600.0)
            .await;
        if let Ok(series) = &answer {
            let found: Vec<(Value, Value)> = series
                .iter()
                .flat_map(|s| {
                    let labels = s["seriesLabels"].clone();
                    s["exemplars"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .map(move |e| (labels.clone(), e))
                })
                .collect();
            if !found.is_empty() {
                return Ok(found);
            }
        }
        if start.elapsed() > Duration::from_secs(30) {
            return Err(format!(
                "no exemplar of {promql} in 30 s: {answer:?}\n{}",
                prometheus.log()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Every stored exemplar names a run the process kept, failed, rooted at `handler`: its trace, the
/// root span, and the root's duration, on the bucket that duration falls in.
fn check_exemplars(found: &[(Value, Value)], handler: &str) {
    for (series, exemplar) in found {
        assert_eq!(series["site"], handler, "{series}");
        let labels = &exemplar["labels"];
        let trace_id: TraceId = labels["trace_id"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("no trace id in {exemplar}"));
        let run = trace::find_run(trace_id)
            .unwrap_or_else(|| panic!("the exemplar's trace {trace_id} is no kept run"));
        assert_eq!(run.kept, KeepReason::Failed);
        let root = run.root();
        assert_eq!(root.site.name(), handler);
        assert_eq!(labels["span_id"], root.id.to_string());
        let value: f64 = exemplar["value"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN);
        assert_eq!(value, root.duration.as_secs_f64(), "{exemplar}");
        assert!(value >= 0.003, "the handler slept 3 ms: {value}");
        // A classic bucket's `le` holds it (a native histogram's series has none).
        if let Some(le) = series["le"].as_str() {
            let le: f64 = le.parse().unwrap_or(f64::NAN);
            assert!(value <= le, "{value} on the bucket le={le}");
        }
        // Its timestamp is when the call ended: after the run started, and not in the future.
        let at = exemplar["timestamp"].as_f64().unwrap_or(0.0);
        let started = run
            .start
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        assert!(
            at >= started - 0.001 && at <= now_secs() + 1.0,
            "{exemplar}"
        );
    }
}

fn prometheus_missing() -> bool {
    if std::path::Path::new(PROMETHEUS).exists() {
        return false;
    }
    assert!(!monitor_harness::in_ci(), "CI needs Debian's prometheus");
    eprintln!("skipped: no {PROMETHEUS}");
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_stores_exemplars_of_kept_runs_from_the_openmetrics_text() -> TestResult {
    if prometheus_missing() {
        return Ok(());
    }
    setup();
    let target = serve().await?;
    let client = reqwest::Client::new();
    for _ in 0..5 {
        let failed = client
            .get(format!("http://{target}/ex/text/render"))
            .send()
            .await?;
        assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
        let ok = client
            .get(format!("http://{target}/ex/text/ok"))
            .send()
            .await?;
        assert_eq!(ok.status(), StatusCode::OK);
    }

    // What Prometheus asks for: OpenMetrics, with the exemplar on the handler's bucket.
    let answer = client
        .get(format!("http://{target}/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        )
        .send()
        .await?;
    assert_eq!(
        answer.headers()["content-type"],
        monitor_export::prometheus::OPENMETRICS_CONTENT_TYPE
    );
    let om = answer.text().await?;
    assert!(om.ends_with("# EOF\n"));
    let carrying: Vec<&str> = om
        .lines()
        .filter(|l| l.contains("site=\"ex_text_render\"") && l.contains(" # {trace_id=\""))
        .collect();
    assert_eq!(carrying.len(), 1, "{om}");
    assert!(carrying[0].starts_with("monitor_call_duration_seconds_bucket{"));
    // The succeeded calls were kept by nothing: their site has no exemplar.
    assert!(
        !om.lines()
            .any(|l| l.contains("site=\"ex_text_ok\"") && l.contains(" # {"))
    );

    // Any other scraper: the 0.0.4 text, no exemplar anywhere.
    let answer = client
        .get(format!("http://{target}/metrics"))
        .send()
        .await?;
    assert_eq!(
        answer.headers()["content-type"],
        monitor_export::CONTENT_TYPE
    );
    let text = answer.text().await?;
    assert!(!text.contains(" # {") && !text.contains("# EOF"));
    assert!(text.contains("site=\"ex_text_render\""));

    let mut prometheus =
        Prometheus::start_with(target, "/metrics", &["--enable-feature=exemplar-storage"])?;
    prometheus.wait_ready(&client).await?;
    // Prometheus read the OpenMetrics text right: the counts are exact.
    prometheus
        .poll(
            &client,
            "monitor_calls_total{site=\"ex_text_render\",outcome=\"error\"}",
            |r| single_value(r) == Some(5.0),
        )
        .await?;
    let found = stored_exemplars(
        &prometheus,
        &client,
        "monitor_call_duration_seconds_bucket{site=\"ex_text_render\"}",
    )
    .await?;
    check_exemplars(&found, "ex_text_render");
    let none = prometheus
        .exemplars(
            &client,
            "monitor_call_duration_seconds_bucket{site=\"ex_text_ok\"}",
            now_secs() - 600.0,
            now_secs() + 600.0,
        )
        .await?;
    assert!(
        none.iter()
            .all(|s| s["exemplars"].as_array().is_none_or(Vec::is_empty)),
        "{none:?}"
    );
    // No complaint about the scrape: no exemplar or sample dropped as invalid or out of order.
    let log = prometheus.log();
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("level=warn") || l.contains("level=error"))
        .filter(|l| {
            let l = l.to_lowercase();
            ["exemplar", "out of order", "invalid", "duplicate", "scrape"]
                .iter()
                .any(|c| l.contains(c))
        })
        .collect();
    assert!(complaints.is_empty(), "prometheus log:\n{log}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_stores_exemplars_from_the_protobuf_exposition() -> TestResult {
    if prometheus_missing() {
        return Ok(());
    }
    setup();
    let target = serve().await?;
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let failed = client
            .get(format!("http://{target}/ex/proto/render"))
            .send()
            .await?;
        assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    let mut prometheus = Prometheus::start_with(
        target,
        "/metrics",
        &["--enable-feature=native-histograms,exemplar-storage"],
    )?;
    prometheus.wait_ready(&client).await?;
    let found = stored_exemplars(
        &prometheus,
        &client,
        "monitor_call_duration_seconds{site=\"ex_proto_render\"}",
    )
    .await?;
    check_exemplars(&found, "ex_proto_render");
    Ok(())
}
