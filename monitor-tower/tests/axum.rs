//! `monitor_tower::axum::MonitorLayer` on a real axum service on 127.0.0.1: final statuses, body
//! sizes (as they flow, never as declared), requests no instrumented handler served, and exact
//! counts under concurrency.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use monitor_core::monitored_handler;
use monitor_tower::axum::MonitorLayer;
use std::net::SocketAddr;

mod support;

use support::{route_stats, stats};

#[derive(Debug)]
struct AppError(StatusCode, &'static str);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

#[monitored_handler(route = "POST /layer/echo")]
async fn layer_echo(Json(value): Json<serde_json::Value>) -> Json<serde_json::Value> {
    Json(value)
}

/// The macro sees an `Err` of a type it cannot read a status from; the layer sees the 404 it
/// became: a client error, not a failure.
#[monitored_handler(route = "GET /layer/missing")]
async fn layer_missing() -> Result<&'static str, AppError> {
    Err(AppError(StatusCode::NOT_FOUND, "no such logo"))
}

/// The same `Err` type becoming a 503: a failure.
#[monitored_handler(route = "GET /layer/broken")]
async fn layer_broken() -> Result<&'static str, AppError> {
    Err(AppError(StatusCode::SERVICE_UNAVAILABLE, "try later"))
}

/// A body of unknown length, streamed in 4 chunks of 1000 bytes: counted as it flows.
#[monitored_handler(route = "GET /layer/stream")]
async fn layer_stream() -> Response {
    let chunks = (0..4).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; 1000])));
    Body::from_stream(futures_util::stream::iter(chunks)).into_response()
}

/// A body of known size: counted as its size when the head is ready, none for a HEAD.
#[monitored_handler(route = "GET /layer/sized")]
async fn layer_sized() -> String {
    "x".repeat(1000)
}

/// A body of unknown length that takes its time: 40 chunks of 1000 bytes, 20 ms apart.
#[monitored_handler(route = "GET /layer/slow-stream")]
async fn layer_slow_stream() -> Response {
    let chunks = futures_util::stream::unfold(0, |n| async move {
        if n == 40 {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        Some((Ok::<_, std::io::Error>(vec![b'y'; 1000]), n + 1))
    });
    Body::from_stream(chunks).into_response()
}

#[monitored_handler(route = "GET /layer/concurrent")]
async fn layer_concurrent() -> &'static str {
    tokio::task::yield_now().await;
    "done"
}

#[monitored_handler(route = "GET /layer/sync")]
fn layer_sync() -> StatusCode {
    StatusCode::ACCEPTED
}

async fn start() -> SocketAddr {
    let app = Router::new()
        .route("/layer/echo", post(layer_echo))
        .route("/layer/missing", get(layer_missing))
        .route("/layer/broken", get(layer_broken))
        .route("/layer/stream", get(layer_stream))
        .route("/layer/sized", get(layer_sized))
        .route("/layer/slow-stream", get(layer_slow_stream))
        .route("/layer/concurrent", get(layer_concurrent))
        .route("/layer/sync", get(|| async { layer_sync() }))
        .route("/layer/plain/{id}", get(|| async { "not instrumented" }))
        .route("/layer/invented/{id}", get(|| async { "not instrumented" }))
        .route("/layer/claimed/{id}", get(|| async { "not instrumented" }))
        .layer(MonitorLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// The record lands when the response body has ended on the server, a moment after the client
/// has read it: wait for it, up to a deadline.
async fn eventually(mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !check() {
        assert!(std::time::Instant::now() < deadline, "not recorded in 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn request_and_response_sizes_land_on_the_handler() {
    let addr = start().await;
    let client = reqwest::Client::new();
    let body = r#"{"prompt":"a fox in a box","colours":3}"#;
    let response = client
        .post(format!("http://{addr}/layer/echo"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echoed = response.bytes().await.unwrap();
    eventually(|| stats("layer_echo").calls() == 1).await;
    let s = stats("layer_echo");
    assert_eq!(s.request_bytes, body.len() as u64);
    assert_eq!(s.response_bytes, echoed.len() as u64);
    assert_eq!(s.status_classes().success, 1);
    assert_eq!(s.errors, 0);
}

#[tokio::test]
async fn a_streamed_body_is_counted_as_it_flows() {
    let addr = start().await;
    let response = reqwest::get(format!("http://{addr}/layer/stream"))
        .await
        .unwrap();
    assert!(response.headers().get("content-length").is_none());
    assert_eq!(response.bytes().await.unwrap().len(), 4000);
    eventually(|| stats("layer_stream").calls() == 1).await;
    assert_eq!(stats("layer_stream").response_bytes, 4000);
}

#[tokio::test]
async fn a_body_of_known_size_counts_its_size_and_a_head_none() {
    let addr = start().await;
    let client = reqwest::Client::new();
    let get = client
        .get(format!("http://{addr}/layer/sized"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.bytes().await.unwrap().len(), 1000);
    let head = client
        .head(format!("http://{addr}/layer/sized"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], "1000");
    assert!(head.bytes().await.unwrap().is_empty());
    eventually(|| stats("layer_sized").calls() == 2).await;
    assert_eq!(stats("layer_sized").response_bytes, 1000);
}

#[tokio::test]
async fn a_streamed_body_the_client_drops_counts_what_was_sent() {
    let addr = start().await;
    let mut response = reqwest::get(format!("http://{addr}/layer/slow-stream"))
        .await
        .unwrap();
    let first = response.chunk().await.unwrap().expect("a first chunk");
    assert!(!first.is_empty());
    drop(response);
    eventually(|| stats("layer_slow_stream").calls() == 1).await;
    let sent = stats("layer_slow_stream").response_bytes;
    assert!(
        (1000..40_000).contains(&sent),
        "{sent} bytes counted for a body dropped after its first chunk"
    );
}

#[tokio::test]
async fn the_final_status_decides_the_outcome() {
    let addr = start().await;
    for _ in 0..3 {
        let r = reqwest::get(format!("http://{addr}/layer/missing"))
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        r.bytes().await.unwrap();
        let r = reqwest::get(format!("http://{addr}/layer/broken"))
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
        r.bytes().await.unwrap();
    }
    let r = reqwest::get(format!("http://{addr}/layer/sync"))
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    eventually(|| {
        stats("layer_missing").calls() == 3
            && stats("layer_broken").calls() == 3
            && stats("layer_sync").calls() == 1
    })
    .await;
    let missing = stats("layer_missing");
    assert_eq!((missing.errors, missing.client_errors), (0, 3));
    assert_eq!(missing.status_classes().client_error, 3);
    let broken = stats("layer_broken");
    assert_eq!(broken.errors, 3);
    assert_eq!(broken.status_classes().server_error, 3);
    let sync = stats("layer_sync");
    assert_eq!(sync.status_classes().success, 1);
    assert_eq!(sync.errors, 0);
}

#[tokio::test]
async fn requests_no_handler_served_are_recorded_per_route() {
    let addr = start().await;
    for id in 0..5 {
        let r = reqwest::get(format!("http://{addr}/layer/plain/{id}"))
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap(), "not instrumented");
    }
    // Paths no route matches share one site, whatever they are.
    for path in ["nope", "nope/deeper", "%22quoted%22"] {
        let r = reqwest::get(format!("http://{addr}/{path}")).await.unwrap();
        assert_eq!(r.status(), 404);
    }
    eventually(|| route_stats("GET /layer/plain/{id}").is_some_and(|s| s.calls() == 5)).await;
    let plain = route_stats("GET /layer/plain/{id}").unwrap();
    assert_eq!(plain.response_bytes, 5 * "not instrumented".len() as u64);
    let other = || route_stats(monitor_core::site::OTHER_ROUTES);
    eventually(|| other().is_some_and(|s| s.calls() >= 3)).await;
    assert!(other().unwrap().client_errors >= 3);
    assert!(!monitor_core::sites().any(|s| s.route().is_some_and(|r| r.contains("nope"))));
    // Listed with the sites, and told apart from instrumented functions.
    let site = monitor_core::sites()
        .find(|s| s.route() == Some("GET /layer/plain/{id}"))
        .unwrap();
    assert!(site.is_route());
    assert!(
        !monitor_core::sites()
            .find(|s| s.name() == "layer_echo")
            .unwrap()
            .is_route()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_are_counted_exactly() {
    const TASKS: usize = 8;
    const REQUESTS: usize = 25;
    let addr = start().await;
    let client = reqwest::Client::new();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..REQUESTS {
                    let r = client
                        .get(format!("http://{addr}/layer/concurrent"))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.text().await.unwrap(), "done");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let expected = (TASKS * REQUESTS) as u64;
    eventually(|| stats("layer_concurrent").calls() >= expected).await;
    let s = stats("layer_concurrent");
    assert_eq!(s.calls(), expected);
    assert_eq!(s.response_bytes, expected * 4);
    assert_eq!(s.status_classes().success, expected);
    // Nothing recorded twice on a route site.
    assert!(route_stats("GET /layer/concurrent").is_none());
}

/// Made-up methods are any client's invention: they share one site, and never make a site each.
#[tokio::test]
async fn made_up_methods_make_no_sites() {
    let addr = start().await;
    let client = reqwest::Client::new();
    for i in 0..300 {
        let method = http::Method::from_bytes(format!("XQWERTY{i}").as_bytes()).unwrap();
        let path = if i % 2 == 0 {
            "/layer/invented/1"
        } else {
            "/nowhere"
        };
        let r = client
            .request(method, format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap();
        r.bytes().await.unwrap();
    }
    eventually(|| route_stats(monitor_core::site::OTHER_ROUTES).is_some_and(|s| s.calls() >= 300))
        .await;
    assert!(
        !monitor_core::sites().any(|s| s.route().is_some_and(|r| r.contains("/layer/invented/")))
    );
    assert!(!monitor_core::sites().any(|s| s.route().is_some_and(|r| r.starts_with("XQWERTY"))));
}

/// A declared length is a claim: only the bytes that arrived are counted.
#[tokio::test]
async fn a_declared_length_is_never_counted_as_bytes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = start().await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"GET /layer/claimed/7 HTTP/1.1\r\nhost: x\r\ncontent-length: 99999999999\r\n\r\nabc",
        )
        .await
        .unwrap();
    let mut answer = vec![0; 1024];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
    drop(stream);
    eventually(|| route_stats("GET /layer/claimed/{id}").is_some_and(|s| s.calls() == 1)).await;
    let counted = route_stats("GET /layer/claimed/{id}")
        .unwrap()
        .request_bytes;
    assert!(
        counted <= 3,
        "{counted} bytes counted for a request that sent 3"
    );
}

#[monitored_handler(route = "GET /layer/foreign-body")]
async fn layer_foreign_body() -> &'static str {
    "foreign"
}

/// A service whose responses carry a body other than axum's: what `MonitorLayer` wraps when it is
/// composed outside axum's router (a `tower::ServiceBuilder`, say) around a layer that changes the
/// body.
#[derive(Clone)]
struct ForeignBody;

impl tower_service::Service<axum::http::Request<Body>> for ForeignBody {
    type Response = axum::http::Response<String>;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: axum::http::Request<Body>) -> Self::Future {
        Box::pin(async {
            let text = layer_foreign_body().await;
            Ok(axum::http::Response::new(text.to_owned()))
        })
    }
}

/// A response body that is not axum's is made into one, and its size still lands on the handler.
#[tokio::test]
async fn a_response_body_of_another_type_is_counted_too() {
    use tower_layer::Layer;
    use tower_service::Service;
    let mut service = MonitorLayer::new().layer(ForeignBody);
    let request = axum::http::Request::get("/layer/foreign-body")
        .body(Body::empty())
        .unwrap();
    let response = service.call(request).await.unwrap();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(&body[..], b"foreign");
    let stats = stats("layer_foreign_body");
    assert_eq!((stats.calls(), stats.status_classes().success), (1, 1));
    assert_eq!(stats.response_bytes, 7);
}
