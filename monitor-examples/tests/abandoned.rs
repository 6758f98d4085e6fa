//! Requests whose client went away before the answer, on a real server on 127.0.0.1 with
//! `MonitorLayer`: clients that send a request and close the connection while the handler waits,
//! beside clients that are answered (with a 200 or a 500). OTLP's `http.server.request.duration`,
//! decoded with the official types from what the pusher sent, and Prometheus's `/metrics` must
//! count the same requests for the route — every one sent — and the abandoned ones must carry an
//! `error.type`.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use monitor_dashboard::{DashboardConfig, MonitorLayer};
use monitor_export::otlp::Otlp;
use monitor_harness::Receiver;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

const TOKEN: &str = "abandoned-test-token-0123";
const ROUTE: &str = "/api/abandonable";
const ANSWERED: u64 = 30;
const FAILED: u64 = 8;
const ABANDONED: u64 = 2;

/// Requests the handler has begun to serve.
static STARTED: AtomicU64 = AtomicU64::new(0);

/// Waits when asked to — long enough that only a client going away ends it — else answers at
/// once, with a 500 when asked to fail.
#[monitor_core::monitored_handler(route = "POST /api/abandonable")]
async fn abandonable(body: String) -> Result<&'static str, StatusCode> {
    STARTED.fetch_add(1, Ordering::SeqCst);
    match body.as_str() {
        "wait" => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok("waited")
        }
        "fail" => Err(StatusCode::INTERNAL_SERVER_ERROR),
        _ => Ok("done"),
    }
}

fn text(kv: &KeyValue) -> Option<&str> {
    match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes.iter().find(|kv| kv.key == key).and_then(text)
}

/// The points of `http.server.request.duration` for the route: `(status, error.type, count)`.
fn otlp_points(request: &ExportMetricsServiceRequest) -> Vec<(Option<i64>, Option<String>, u64)> {
    let metric = request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == "http.server.request.duration")
        .expect("http.server.request.duration");
    let Some(metric::Data::ExponentialHistogram(h)) = &metric.data else {
        panic!("not an exponential histogram: {metric:?}");
    };
    h.data_points
        .iter()
        .filter(|p| {
            attr(&p.attributes, "http.route") == Some(ROUTE)
                && attr(&p.attributes, "http.request.method") == Some("POST")
        })
        .map(|p| {
            let status = p
                .attributes
                .iter()
                .find(|kv| kv.key == "http.response.status_code")
                .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    any_value::Value::IntValue(n) => Some(*n),
                    _ => None,
                });
            let error = attr(&p.attributes, "error.type").map(str::to_owned);
            let buckets: u64 = p
                .positive
                .as_ref()
                .map_or(0, |b| b.bucket_counts.iter().sum());
            assert_eq!(
                p.count,
                p.zero_count + buckets,
                "a point's count is its buckets'"
            );
            (status, error, p.count)
        })
        .collect()
}

/// `monitor_calls_total` of the route's site, by outcome, from the `/metrics` text.
fn prometheus_calls(metrics: &str) -> Vec<(String, u64)> {
    metrics
        .lines()
        .filter(|l| l.starts_with("monitor_calls_total{"))
        .filter(|l| l.contains("route=\"POST /api/abandonable\""))
        .map(|l| {
            let outcome = l
                .split_once("outcome=\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(o, _)| o.to_owned())
                .unwrap_or_default();
            let value = l.rsplit_once(' ').and_then(|(_, v)| v.parse().ok());
            (outcome, value.unwrap_or_else(|| panic!("a count: {l}")))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_requests_are_in_otlp_as_in_prometheus() {
    let dashboard = DashboardConfig::new().token(TOKEN).unwrap();
    let app = Router::new()
        .route(ROUTE, post(abandonable))
        .layer(MonitorLayer::new())
        .nest_service("/admin", monitor_dashboard::router(dashboard));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = monitor_dashboard::ServerLimits::default();
    tokio::spawn(async move { monitor_dashboard::serve_with_limits(listener, app, &limits).await });
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();

    // The clients that go away: a request sent, the handler seen at work on it, the connection
    // closed before any answer.
    for n in 1..=ABANDONED {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(
                format!(
                    "POST {ROUTE} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: text/plain\r\n\
                     content-length: 4\r\n\r\nwait"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        let started = Instant::now();
        while STARTED.load(Ordering::SeqCst) < n {
            assert!(started.elapsed() < Duration::from_secs(10), "never served");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(stream);
    }
    // The clients that stay: answered, 8 of them with a 500.
    for n in 0..ANSWERED + FAILED {
        let body = if n < FAILED { "fail" } else { "go" };
        let response = client
            .post(format!("{base}{ROUTE}"))
            .body(body)
            .send()
            .await
            .unwrap();
        let expected = if body == "fail" { 500 } else { 200 };
        assert_eq!(response.status().as_u16(), expected);
    }
    let sent = ANSWERED + FAILED + ABANDONED;

    // The server sees each close and drops its request: wait until both are recorded.
    let site = || {
        monitor_core::sites()
            .find(|s| s.name() == "abandonable")
            .expect("the site")
            .stats()
    };
    let started = Instant::now();
    while site().cancelled < ABANDONED {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the abandoned requests were not dropped: {:?}",
            site()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // What the OTLP pusher sent.
    let receiver = Receiver::start("/v1/metrics", Vec::new()).unwrap();
    let pusher = Otlp::new(receiver.url.clone())
        .resource("service.name", "abandoned-test")
        .start()
        .unwrap();
    let received = tokio::task::spawn_blocking(move || receiver.next(Duration::from_secs(10)))
        .await
        .unwrap()
        .expect("a payload");
    tokio::task::spawn_blocking(move || pusher.stop())
        .await
        .unwrap();
    let request: ExportMetricsServiceRequest =
        prost::Message::decode(received.body.as_slice()).expect("an ExportMetricsServiceRequest");
    let mut points = otlp_points(&request);
    points.sort();
    assert_eq!(
        points,
        vec![
            (None, Some("cancelled".to_owned()), ABANDONED),
            (Some(200), None, ANSWERED),
            (Some(500), Some("500".to_owned()), FAILED),
        ],
        "the route's points of http.server.request.duration"
    );
    let otlp_count: u64 = points.iter().map(|(_, _, n)| n).sum();

    // What Prometheus scrapes.
    let metrics = client
        .get(format!("{base}/admin/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let calls = prometheus_calls(&metrics);
    let prometheus_count: u64 = calls.iter().map(|(_, n)| n).sum();
    assert!(
        calls.contains(&("cancelled".to_owned(), ABANDONED)),
        "{calls:?}"
    );

    assert_eq!(
        otlp_count, prometheus_count,
        "OTLP and Prometheus count alike"
    );
    assert_eq!(otlp_count, sent, "every request sent is counted");
}
