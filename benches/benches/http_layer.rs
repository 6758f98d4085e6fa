//! One HTTP request through an axum `Router`, in process: bare, under a layer that does nothing
//! (what axum charges any layer), under `MonitorLayer` with a `#[monitored_handler]` (monitor-tower's
//! axum layer, as `monitor_dashboard` re-exports it), with the attribute alone, under tower-http's
//! `TraceLayer`, under the hand-written `metrics` middleware of axum's own Prometheus example, and
//! under monitor-tower's generic layer, whose bodies axum boxes — in one group, so that the ratios
//! come from one run.
//!
//! `cargo bench -p monitor-benches --bench http_layer`
//!
//! Every variant builds the same `GET /x` request, calls the router as a ready tower service, awaits
//! the response and reads its body to the end (`MonitorLayer` records when the body ends), on a
//! current-thread tokio runtime: one `block_on` per batch of requests, so the runtime's own entry
//! is not in the per-request figure.
//!
//! Process-wide state: the tracing subscriber and the `metrics` recorder are global, installed once
//! at the start. Neither touches the other variants: monitor does not use `tracing` or `metrics`,
//! axum is built without its `tracing` feature (as monitor-dashboard builds it), and tokio emits
//! tracing events only under `tokio_unstable`; so no callsite is hit outside the variant that uses
//! it. monitor's own switch is global too: recording is on (the default) throughout, and the
//! attribute-alone variant runs before the first `MonitorLayer` request, because from that request
//! on every handler looks for a layer's request when it finishes, as it does in a service that
//! uses the layer.

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use axum::routing::get;
use criterion::{Bencher, Criterion, criterion_group, criterion_main};
use monitor_core::monitored_handler;
use std::hint::black_box;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tower::{Service, ServiceExt};
use tower_http::trace::TraceLayer;

async fn plain() -> &'static str {
    "hello, world"
}

#[monitored_handler(route = "GET /x")]
async fn monitored() -> &'static str {
    "hello, world"
}

/// The same, under the generic layer: a site of its own, so that `check_monitor_records` counts
/// the axum layer's requests alone.
#[monitored_handler(route = "GET /x")]
async fn monitored_generic() -> &'static str {
    "hello, world"
}

/// The middleware of axum's `prometheus-metrics` example, as users copy it: the matched path, the
/// method and the status as labels, a counter and a latency histogram per request.
async fn track_metrics(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let path = match request.extensions().get::<MatchedPath>() {
        Some(matched) => matched.as_str().to_owned(),
        None => request.uri().path().to_owned(),
    };
    let method = request.method().clone();
    let response = next.run(request).await;
    let latency = start.elapsed().as_secs_f64();
    let status = response.status().as_u16().to_string();
    let labels = [
        ("method", method.to_string()),
        ("path", path),
        ("status", status),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_requests_duration_seconds", &labels).record(latency);
    response
}

/// One request: build it, call the ready router, read the whole body.
async fn request(router: &mut Router) -> usize {
    let request = Request::get("/x")
        .body(Body::empty())
        .expect("a valid request");
    let ready = ServiceExt::<Request>::ready(router)
        .await
        .expect("a router is always ready");
    let response = ready.call(request).await.expect("infallible");
    assert!(response.status().is_success());
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a complete body");
    body.len()
}

/// Times `iters` requests through `router` inside one `block_on`. The router is finalized with
/// `with_state(())` first, as `axum::serve` (through `into_make_service`) and
/// `monitor_dashboard::serve_with_limits` do: unfinalized, axum builds each handler's route anew per
/// request, and each layer's service with it — a cost no served router pays.
fn per_request(b: &mut Bencher<'_>, rt: &Runtime, router: &Router) {
    let router: Router = router.clone().with_state(());
    b.iter_custom(|iters| {
        let mut router = router.clone();
        rt.block_on(async {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(request(&mut router).await);
            }
            start.elapsed()
        })
    })
}

fn http_layer(c: &mut Criterion) {
    monitor_benches::install_noop_subscriber();
    let prometheus = monitor_benches::install_prometheus_recorder();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");

    let bare = Router::new().route("/x", get(plain));
    let identity = Router::new()
        .route("/x", get(plain))
        .layer(tower::util::MapRequestLayer::new(|r: Request| r));
    let attribute = Router::new().route("/x", get(monitored));
    let monitor = Router::new()
        .route("/x", get(monitored))
        .layer(monitor_dashboard::MonitorLayer::new());
    let trace = Router::new()
        .route("/x", get(plain))
        .layer(TraceLayer::new_for_http());
    let metrics = Router::new()
        .route("/x", get(plain))
        .layer(from_fn(track_metrics));
    let generic = Router::new()
        .route("/x", get(monitored_generic))
        .layer(monitor_tower::MonitorLayer::new());

    let mut g = c.benchmark_group("http request");
    // The shared VM's speed drifts by up to a third within seconds, the same for any code; a longer
    // window per variant averages over more of that drift than the suite's usual 3 s.
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("bare router", |b| per_request(b, &rt, &bare));
    // The floor of any layer: axum boxes a layered route's service and its future.
    g.bench_function("a layer that does nothing", |b| {
        per_request(b, &rt, &identity)
    });
    // Before the first MonitorLayer request: see the module docs.
    g.bench_function("#[monitored_handler] alone, no layer", |b| {
        per_request(b, &rt, &attribute)
    });
    g.bench_function("#[monitored_handler] + MonitorLayer", |b| {
        per_request(b, &rt, &monitor)
    });
    g.bench_function("tower-http TraceLayer, registry + no-op layer", |b| {
        per_request(b, &rt, &trace)
    });
    g.bench_function("metrics middleware + Prometheus recorder", |b| {
        per_request(b, &rt, &metrics)
    });
    // What the axum layer saves: axum boxes the generic layer's bodies, in and out.
    g.bench_function("#[monitored_handler] + generic MonitorLayer", |b| {
        per_request(b, &rt, &generic)
    });
    g.finish();
    black_box(prometheus.render());
    check_monitor_records(&rt, &monitor);
}

/// The layer variant measured what it claims: one more request through it is recorded on the
/// handler's site, with its status and the body bytes that flowed.
fn check_monitor_records(rt: &Runtime, router: &Router) {
    if !cfg!(feature = "enabled") {
        return;
    }
    let stats = || {
        monitor_core::sites()
            .find(|s| s.name() == "monitored")
            .expect("the handler's site")
            .stats()
    };
    let before = stats();
    let bytes = rt.block_on(request(&mut router.clone()));
    let after = stats();
    assert_eq!(after.calls(), before.calls() + 1);
    assert_eq!(
        after.status_classes().success,
        before.status_classes().success + 1
    );
    assert_eq!(after.response_bytes, before.response_bytes + bytes as u64);
}

criterion_group! {
    name = benches;
    config = monitor_benches::criterion();
    targets = http_layer
}
criterion_main!(benches);
