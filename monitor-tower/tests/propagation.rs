//! W3C trace context through both layers, on real servers on 127.0.0.1 (axum's, and hyper alone
//! serving the generic layer): an incoming `traceparent` is continued with its `tracestate`, its
//! sampled flag followed; a malformed one starts a trace of its own and the request is served as
//! any other; a handler's outgoing header names its own span, in the same trace.
//!
//! Its own binary: tracing and its sampler are process-wide. The sampler is
//! `parentbased_always_on`, so that each assertion says something: a run with no parent (a fresh
//! trace) is kept, a run continuing an unsampled parent is dropped unless a tail rule keeps it.
//! A layer that ignored the header would keep the unsampled runs; one that took a malformed header
//! (sent unsampled) would drop the fresh ones and name the header's trace.

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http_body_util::Full;
use monitor_core::trace::{self, KeepReason, KeptRun, Sampler, SpanId, TraceId, TraceParent};
use monitor_core::{Config, monitored_handler, pipeline_stage};
use monitor_tower::MonitorBody;
use std::net::SocketAddr;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        Config::new()
            .traces(true)
            .trace_sampler(Sampler::ParentBasedAlwaysOn)
            .apply()
            .unwrap();
    });
}

/// A call the handler makes to another service: the header it would send, naming this stage.
#[pipeline_stage(pipeline = "propagation", stage = "call_out")]
fn call_out() -> String {
    trace::current_traceparent().unwrap_or_default()
}

/// The body of an echo: the header the handler would send, then the one its stage would.
fn outgoing() -> String {
    let own = trace::current_traceparent().unwrap_or_default();
    format!("{own}\n{}", call_out())
}

#[derive(Debug)]
struct Broken;

impl IntoResponse for Broken {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, "broken").into_response()
    }
}

#[monitored_handler(route = "GET /echo")]
async fn axum_echo() -> String {
    outgoing()
}

#[monitored_handler(route = "GET /fail")]
async fn axum_fail() -> Result<String, Broken> {
    let _ = outgoing();
    Err(Broken)
}

#[monitored_handler(route = "GET /echo")]
async fn tower_echo() -> String {
    outgoing()
}

#[monitored_handler(route = "GET /fail")]
async fn tower_fail() -> Result<String, String> {
    let _ = outgoing();
    Err("broken".to_owned())
}

/// A server and the names of its two handlers.
struct Server {
    addr: SocketAddr,
    echo: &'static str,
    fail: &'static str,
}

/// Both layers, each on a server of its own, serving `/echo` and `/fail`.
async fn servers() -> [Server; 2] {
    setup();
    [axum_server().await, tower_server().await]
}

async fn axum_server() -> Server {
    let app = Router::new()
        .route("/echo", get(axum_echo))
        .route("/fail", get(axum_fail))
        .layer(monitor_tower::axum::MonitorLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        addr,
        echo: "axum_echo",
        fail: "axum_fail",
    }
}

/// The generic layer over a service of its own routing, served by hyper alone.
async fn tower_server() -> Server {
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    let service = tower::ServiceBuilder::new()
        .layer(monitor_tower::MonitorLayer::new())
        .service_fn(
            |request: http::Request<MonitorBody<hyper::body::Incoming>>| async move {
                let (status, body) = match request.uri().path() {
                    "/echo" => (StatusCode::OK, tower_echo().await),
                    "/fail" => match tower_fail().await {
                        Ok(body) => (StatusCode::OK, body),
                        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e),
                    },
                    _ => (StatusCode::NOT_FOUND, String::new()),
                };
                let mut response = http::Response::new(Full::new(Bytes::from(body)));
                *response.status_mut() = status;
                Ok::<_, std::convert::Infallible>(response)
            },
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let connection = hyper::server::conn::http1::Builder::new().serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(service.clone()),
            );
            tokio::spawn(connection);
        }
    });
    Server {
        addr,
        echo: "tower_echo",
        fail: "tower_fail",
    }
}

/// A request with `headers` (raw bytes: some tests send what is not text), its status and body.
async fn get_with(addr: SocketAddr, path: &str, headers: &[(&str, &[u8])]) -> (StatusCode, String) {
    let mut request = reqwest::Client::new().get(format!("http://{addr}{path}"));
    for (name, value) in headers {
        // `header` appends: a name given twice is sent twice.
        request = request.header(
            *name,
            reqwest::header::HeaderValue::from_bytes(value).unwrap(),
        );
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// The headers an echo's handler and its stage would send.
fn parse_echo(body: &str) -> (TraceParent, TraceParent) {
    let mut lines = body.lines().map(|l| {
        TraceParent::parse(l).unwrap_or_else(|| panic!("no traceparent in the echo: {body:?}"))
    });
    let handler = lines.next().unwrap();
    let stage = lines.next().unwrap();
    (handler, stage)
}

/// The kept run of `trace_id`, waited for (it is kept as the response's head is made, a moment
/// before the client reads it).
async fn kept(trace_id: TraceId) -> Arc<KeptRun> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(run) = trace::find_run(trace_id) {
            return run;
        }
        assert!(Instant::now() < deadline, "run {trace_id} not kept in 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn header(trace_id: TraceId, span_id: SpanId, flags: &str) -> String {
    format!("00-{trace_id}-{span_id}-{flags}")
}

#[tokio::test]
async fn a_sampled_traceparent_is_continued_with_its_tracestate() {
    for server in servers().await {
        let (trace_id, span_id) = (TraceId::random(), SpanId::random());
        let traceparent = header(trace_id, span_id, "01");
        let (status, body) = get_with(
            server.addr,
            "/echo",
            &[
                ("traceparent", traceparent.as_bytes()),
                // Two headers are one list.
                ("tracestate", b"vendor=abc,other=x"),
                ("tracestate", b"third=3"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (handler, stage) = parse_echo(&body);
        assert_eq!(handler.trace_id, trace_id);
        assert!(handler.sampled);

        let run = kept(trace_id).await;
        assert_eq!(run.kept, KeepReason::Sampled);
        assert!(run.head_sampled);
        assert_eq!(run.remote_parent, Some(span_id));
        assert_eq!(
            run.tracestate.as_deref(),
            Some("vendor=abc,other=x,third=3")
        );
        let root = run.root();
        assert_eq!(root.site.name(), server.echo);
        assert_eq!(root.parent, None);
        assert_eq!(root.status, Some(200));
        // The handler's outgoing header names its own span, the root, in the caller's trace; its
        // stage's names the stage, under the root.
        assert_eq!(handler.span_id, root.id);
        assert_eq!(stage.trace_id, trace_id);
        let stage_span = run.span(stage.span_id).expect("the stage's span");
        assert_eq!(stage_span.site.name(), "call_out");
        assert_eq!(stage_span.parent, Some(root.id));
    }
}

#[tokio::test]
async fn an_unsampled_traceparent_is_followed_unless_a_tail_rule_keeps_the_run() {
    for server in servers().await {
        let (trace_id, span_id) = (TraceId::random(), SpanId::random());
        let unsampled = header(trace_id, span_id, "00");
        let (status, body) = get_with(
            server.addr,
            "/echo",
            &[("traceparent", unsampled.as_bytes())],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (handler, _) = parse_echo(&body);
        assert_eq!(handler.trace_id, trace_id);
        assert!(!handler.sampled);
        // A later run of the same server, kept the same way, is there: the unsampled one, which
        // ended before it, would be too had it been kept.
        let (_, later) = get_with(server.addr, "/echo", &[]).await;
        kept(parse_echo(&later).0.trace_id).await;
        assert!(
            trace::find_run(trace_id).is_none(),
            "an unsampled parent's run was kept"
        );

        // A 500 is a failure: kept whatever the caller decided, in the caller's trace.
        let (trace_id, span_id) = (TraceId::random(), SpanId::random());
        let unsampled = header(trace_id, span_id, "00");
        let (status, _) = get_with(
            server.addr,
            "/fail",
            &[
                ("traceparent", unsampled.as_bytes()),
                ("tracestate", b"vendor=failed"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let run = kept(trace_id).await;
        assert_eq!(run.kept, KeepReason::Failed);
        assert!(!run.head_sampled);
        assert_eq!(run.remote_parent, Some(span_id));
        assert_eq!(run.tracestate.as_deref(), Some("vendor=failed"));
        assert_eq!(run.root().site.name(), server.fail);
        assert_eq!(run.root().status, Some(500));
    }
}

#[tokio::test]
async fn a_malformed_traceparent_starts_a_fresh_trace_and_the_request_is_served() {
    for server in servers().await {
        // Each names a trace of its own, unsampled: taken by mistake, its run would be dropped
        // and the echo would name that trace.
        let ids: Vec<(TraceId, SpanId)> = (0..12)
            .map(|_| (TraceId::random(), SpanId::random()))
            .collect();
        let valid = |i: usize| header(ids[i].0, ids[i].1, "00");
        let malformed: Vec<(&str, Vec<Vec<u8>>)> = vec![
            (
                "trace id one digit short",
                vec![format!("{}{}", &valid(0)[..34], &valid(0)[35..])],
            ),
            ("a field too many for version 00", vec![valid(1) + "-extra"]),
            ("uppercase", vec![valid(2).to_uppercase()]),
            (
                "zero trace id",
                vec![header_raw(
                    "00000000000000000000000000000000",
                    ids[3].1,
                    "00",
                )],
            ),
            (
                "zero span id",
                vec![format!("00-{}-0000000000000000-00", ids[4].0)],
            ),
            ("version ff", vec![format!("ff{}", &valid(5)[2..])]),
            ("garbage", vec!["garbage".to_owned()]),
            ("empty", vec![String::new()]),
            ("flags not hex", vec![format!("{}zz", &valid(8)[..53])]),
            // Two valid headers: which one the caller meant is anyone's guess.
            ("two traceparent headers", vec![valid(9), valid(10)]),
        ]
        .into_iter()
        .map(|(what, values)| (what, values.into_iter().map(String::into_bytes).collect()))
        .chain([
            // Bytes that are not ASCII, where the flags go and inside the trace id.
            (
                "non-ASCII flags",
                vec![[&valid(6).as_bytes()[..53], b"\xff\xfe"].concat()],
            ),
            (
                "non-ASCII trace id",
                vec![
                    [
                        &valid(7).as_bytes()[..10],
                        "é".as_bytes(),
                        &valid(7).as_bytes()[12..],
                    ]
                    .concat(),
                ],
            ),
        ])
        .collect();
        for (what, values) in &malformed {
            let mut headers: Vec<(&str, &[u8])> = values
                .iter()
                .map(|v| ("traceparent", v.as_slice()))
                .collect();
            headers.push(("tracestate", b"vendor=ignored"));
            let (status, body) = get_with(server.addr, "/echo", &headers).await;
            assert_eq!(status, StatusCode::OK, "{what}");
            let (handler, _) = parse_echo(&body);
            assert!(
                ids.iter().all(|(id, _)| *id != handler.trace_id),
                "{what}: the malformed header's trace was continued"
            );
            // A fresh trace, drawn by the sampler (always, without a parent): kept, with no
            // remote parent and no tracestate.
            assert!(handler.sampled, "{what}");
            let run = kept(handler.trace_id).await;
            assert_eq!(run.remote_parent, None, "{what}");
            assert_eq!(run.tracestate, None, "{what}");
            assert_eq!(run.kept, KeepReason::Sampled, "{what}");
            assert_eq!(run.root().site.name(), server.echo, "{what}");
            assert_eq!(handler.span_id, run.root().id, "{what}");
        }
        // And none of the headers' traces was kept under its own id.
        for (id, _) in &ids {
            assert!(trace::find_run(*id).is_none());
        }
    }
}

fn header_raw(trace_id: &str, span_id: SpanId, flags: &str) -> String {
    format!("00-{trace_id}-{span_id}-{flags}")
}
