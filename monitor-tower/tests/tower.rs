//! `MonitorLayer` on a plain tower service, no axum: a router of its own made with `service_fn`,
//! `http::Request<Full<Bytes>>` in and `http::Response` out. The final status, both body sizes (a
//! body of known size and one that streams), and the route the callback names for requests no
//! instrumented handler served; and the same layer served by hyper alone.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use monitor_core::monitored_handler;
use monitor_tower::{MonitorBody, MonitorLayer};
use std::convert::Infallible;
use tower::util::BoxCloneService;
use tower::{ServiceBuilder, ServiceExt};

mod support;

use support::{route_stats, stats};

/// Reads the request's body to the end, as a handler that parses it does.
#[monitored_handler(route = "POST /tower/echo")]
async fn tower_echo(body: MonitorBody<Full<Bytes>>) -> Result<Bytes, Infallible> {
    Ok(body.collect().await?.to_bytes())
}

/// The macro sees an `Ok`; the service makes a 404 of it, which the layer sees.
#[monitored_handler(route = "GET /tower/missing")]
async fn tower_missing() -> &'static str {
    "no such thing"
}

/// A body of unknown length: four chunks of 1000 bytes, made after the handler has returned.
#[monitored_handler(route = "GET /tower/stream")]
async fn tower_stream() -> usize {
    4
}

/// Every answer's body: of known size, or streamed.
type Body = UnsyncBoxBody<Bytes, Infallible>;

fn answer(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()).boxed_unsync());
    *response.status_mut() = status;
    response
}

/// The service's routing, as a service without axum writes it.
async fn route(request: Request<MonitorBody<Full<Bytes>>>) -> Result<Response<Body>, Infallible> {
    let path = request.uri().path().to_owned();
    Ok(match (request.method().clone(), path.as_str()) {
        (Method::POST, "/tower/echo") => {
            answer(StatusCode::OK, tower_echo(request.into_body()).await?)
        }
        (Method::GET, "/tower/missing") => answer(StatusCode::NOT_FOUND, tower_missing().await),
        (Method::GET, "/tower/stream") => {
            let chunks = (0..tower_stream().await)
                .map(|_| Ok(Frame::data(Bytes::from(vec![b'x'; 1000]))))
                .collect::<Vec<_>>();
            Response::new(StreamBody::new(futures_util::stream::iter(chunks)).boxed_unsync())
        }
        (Method::GET, p) if p.starts_with("/tower/plain/") => answer(StatusCode::OK, "plain"),
        _ => answer(StatusCode::NOT_FOUND, ""),
    })
}

/// The routes the service knows, as patterns: what the layer's callback names.
fn route_of(request: &http::request::Parts) -> Option<&'static str> {
    match request.uri.path() {
        "/tower/echo" => Some("/tower/echo"),
        "/tower/missing" => Some("/tower/missing"),
        "/tower/stream" => Some("/tower/stream"),
        p if p.starts_with("/tower/plain/") => Some("/tower/plain/{id}"),
        _ => None,
    }
}

fn service() -> BoxCloneService<Request<Full<Bytes>>, Response<MonitorBody<Body>>, Infallible> {
    BoxCloneService::new(
        ServiceBuilder::new()
            .layer(MonitorLayer::new().route_from(route_of))
            .service_fn(route),
    )
}

/// One request through the service, its response body read to the end.
async fn call(method: Method, path: &str, body: &'static str) -> (StatusCode, Bytes) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    let response = service().oneshot(request).await.unwrap();
    let status = response.status();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test]
async fn the_request_body_as_read_and_the_response_body_land_on_the_handler() {
    let body = r#"{"prompt":"a fox in a box"}"#;
    let (status, echoed) = call(Method::POST, "/tower/echo", body).await;
    assert_eq!((status, &echoed[..]), (StatusCode::OK, body.as_bytes()));
    let s = stats("tower_echo");
    assert_eq!(s.calls(), 1);
    assert_eq!(s.request_bytes, body.len() as u64);
    assert_eq!(s.response_bytes, body.len() as u64);
    assert_eq!(s.status_classes().success, 1);
}

#[tokio::test]
async fn the_final_status_decides_the_outcome() {
    for _ in 0..2 {
        let (status, _) = call(Method::GET, "/tower/missing", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let s = stats("tower_missing");
    assert_eq!((s.calls(), s.errors, s.client_errors), (2, 0, 2));
    assert_eq!(s.status_classes().client_error, 2);
    assert_eq!(s.response_bytes, 2 * "no such thing".len() as u64);
}

/// A body that streams is counted as it flows, and recorded when it ends.
#[tokio::test]
async fn a_streamed_body_is_counted_as_it_flows() {
    let request = Request::get("/tower/stream").body(Full::default()).unwrap();
    let response = service().oneshot(request).await.unwrap();
    assert_eq!(http_body::Body::size_hint(response.body()).exact(), None);
    assert_eq!(
        stats("tower_stream").calls(),
        0,
        "recorded before the body ended"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.len(), 4000);
    let s = stats("tower_stream");
    assert_eq!((s.calls(), s.response_bytes), (1, 4000));
}

/// What the callback names is the route site of a request no instrumented handler served; a
/// path it does not know, or a made-up method, goes to the one shared site.
#[tokio::test]
async fn the_callback_names_the_route_of_requests_no_handler_served() {
    for id in 0..3 {
        let (status, body) = call(Method::GET, &format!("/tower/plain/{id}"), "").await;
        assert_eq!((status, &body[..]), (StatusCode::OK, &b"plain"[..]));
    }
    let plain = route_stats("GET /tower/plain/{id}").expect("a site for the named route");
    assert_eq!((plain.calls(), plain.response_bytes), (3, 15));
    assert!(
        !monitor_core::sites().any(|s| s.route().is_some_and(|r| r.contains("/tower/plain/0")))
    );

    let before = route_stats(monitor_core::site::OTHER_ROUTES).map_or(0, |s| s.calls());
    let (status, _) = call(Method::GET, "/tower/nowhere", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let invented = Method::from_bytes(b"XTOWER").unwrap();
    call(invented, "/tower/plain/9", "").await;
    let other = route_stats(monitor_core::site::OTHER_ROUTES).expect("the shared site");
    assert!(other.calls() >= before + 2);
    assert!(!monitor_core::sites().any(|s| {
        s.route()
            .is_some_and(|r| r.contains("nowhere") || r.starts_with("XTOWER"))
    }));
}

/// Without a callback (and without axum's router) no request has a route: those no handler
/// served share one site.
#[tokio::test]
async fn without_a_callback_no_route_is_named() {
    let service = ServiceBuilder::new().layer(MonitorLayer::new()).service_fn(
        |_: Request<MonitorBody<String>>| async {
            Ok::<_, Infallible>(Response::new(String::from("unnamed")))
        },
    );
    let request = Request::get("/tower/unnamed").body(String::new()).unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "unnamed"
    );
    assert!(!monitor_core::sites().any(|s| s.route().is_some_and(|r| r.contains("unnamed"))));
}

/// Reads hyper's own request body, as a service served by hyper alone gets it.
#[monitored_handler(route = "POST /tower/hyper")]
async fn tower_hyper(body: MonitorBody<hyper::body::Incoming>) -> Result<Bytes, hyper::Error> {
    Ok(body.collect().await?.to_bytes())
}

/// Served by hyper with no axum, over a real connection: the request body arrives as hyper's
/// `Incoming`, in the chunks the client sent, and is counted as the handler reads it.
#[tokio::test]
async fn served_by_hyper_alone() {
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = ServiceBuilder::new()
        .layer(MonitorLayer::new().route_from(|_| Some("/tower/hyper")))
        .service_fn(
            |request: Request<MonitorBody<hyper::body::Incoming>>| async move {
                let echoed = tower_hyper(request.into_body()).await?;
                Ok::<_, hyper::Error>(Response::new(Full::new(echoed)))
            },
        );
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let connection = hyper::server::conn::http1::Builder::new().serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(service.clone()),
            );
            tokio::spawn(connection);
        }
    });
    let chunks = (0..5).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 1000]));
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/tower/hyper"))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap().len(), 5000);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while stats("tower_hyper").calls() == 0 {
        assert!(std::time::Instant::now() < deadline, "not recorded in 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let s = stats("tower_hyper");
    assert_eq!((s.calls(), s.status_classes().success), (1, 1));
    assert_eq!((s.request_bytes, s.response_bytes), (5000, 5000));
}
