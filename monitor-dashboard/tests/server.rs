//! `serve_with_limits` on 127.0.0.1 against the clients of the hardening issue: a body that stops
//! short, a body declared too large, idle connections by the dozen — each answered or closed in
//! bounded time, and the server serving throughout. Errors come back in one JSON shape.

use axum::Router;
use axum::routing::{get, post};
use monitor_dashboard::{ServerLimits, serve_with_limits};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start(limits: ServerLimits) -> SocketAddr {
    let app = Router::new()
        .route("/echo", post(|body: String| async move { body }))
        .route("/hello", get(|| async { "hello" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { serve_with_limits(listener, app, &limits).await });
    addr
}

/// Writes `request` and reads what the server answers until it closes or `within` passes.
async fn exchange(addr: SocketAddr, request: &[u8], within: Duration) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        match tokio::time::timeout(deadline - Instant::now(), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buffer[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                    break;
                }
            }
            Ok(Err(_)) => break,
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn json_body(answer: &str) -> Value {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {answer}"))
}

#[tokio::test]
async fn a_body_that_stops_short_is_answered_with_a_408() {
    let addr = start(ServerLimits::default().request_timeout(Duration::from_millis(500))).await;
    let started = Instant::now();
    // 100 bytes declared, 18 sent, the connection kept open.
    let answer = exchange(
        addr,
        b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nonly eighteen byte",
        Duration::from_secs(10),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let body = json_body(&answer);
    assert_eq!(
        (body["error"].as_str(), body["status"].as_u64()),
        (Some("request_timeout"), Some(408))
    );
}

#[tokio::test]
async fn a_body_declared_too_large_is_refused_before_it_is_read() {
    let addr = start(ServerLimits::default().max_body_bytes(16 * 1024)).await;
    // 10 MB declared, none sent: the answer must not wait for it.
    let answer = exchange(
        addr,
        b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ncontent-length: 10000000\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let body = json_body(&answer);
    assert_eq!(body["status"], 413);
    assert_eq!(body["error"], "payload_too_large");
}

#[tokio::test]
async fn idle_connections_cannot_crowd_out_a_real_request() {
    let limits = ServerLimits::default()
        .max_connections(8)
        .header_read_timeout(Duration::from_millis(300));
    let addr = start(limits).await;
    // Five times the cap, each connected and silent.
    let mut idle = Vec::new();
    for _ in 0..40 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let started = Instant::now();
    let answer = exchange(
        addr,
        b"GET /hello HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        Duration::from_secs(10),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(answer.ends_with("hello"), "{answer:?}");
    // The silent ones were closed after the header timeout, a batch of 8 at a time.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    drop(idle);
}

#[tokio::test]
async fn a_routers_own_errors_come_back_as_json() {
    let addr = start(ServerLimits::default()).await;
    let client = reqwest::Client::new();
    let missing = client
        .get(format!("http://{addr}/nowhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(
        (body["error"].as_str(), body["status"].as_u64()),
        (Some("not_found"), Some(404))
    );
    let wrong = client
        .delete(format!("http://{addr}/hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 405);
    assert_eq!(wrong.headers()["allow"], "GET,HEAD");
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed");
    // An extractor's rejection (a body that is not UTF-8 for a `String`) keeps its message.
    let rejected = client
        .post(format!("http://{addr}/echo"))
        .body(vec![0xff, 0xfe])
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 400);
    let body: Value = rejected.json().await.unwrap();
    assert_eq!(body["status"], 400);
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[test]
fn limits_come_from_the_environment_and_bad_ones_are_named() {
    let limits = ServerLimits::from_vars([
        ("MONITOR_SERVER_HEADER_TIMEOUT_MS", "2500"),
        ("MONITOR_SERVER_MAX_BODY_BYTES", "4096"),
        ("MONITOR_SERVER_WRITE_TIMEOUT_MS", "1500"),
        ("UNRELATED", "x"),
    ])
    .unwrap();
    assert_eq!(limits.header_read_timeout, Duration::from_millis(2500));
    assert_eq!(limits.write_timeout, Duration::from_millis(1500));
    assert_eq!(limits.max_body_bytes, 4096);
    assert_eq!(
        limits.max_connections,
        ServerLimits::default().max_connections
    );
    for (key, value) in [
        ("MONITOR_SERVER_MAX_CONNECTIONS", "0"),
        ("MONITOR_SERVER_REQUEST_TIMEOUT_MS", "soon"),
        ("MONITOR_SERVER_WRITE_TIMEOUT_MS", "-5"),
    ] {
        let err = ServerLimits::from_vars([(key, value)]).unwrap_err();
        let said = err.to_string();
        assert!(said.contains(key) && said.contains(value), "{said}");
    }
}

/// At the cap, a connection that never sent a byte makes way for a new one: a flood of silent
/// connections cannot keep a real client waiting for the header timeout, and connections that
/// spoke keep their places.
#[tokio::test]
async fn silent_connections_make_way_for_new_ones_at_the_cap() {
    let limits = ServerLimits::default()
        .max_connections(8)
        .header_read_timeout(Duration::from_secs(60));
    let addr = start(limits).await;
    // Four clients that spoke, kept alive.
    let mut talking = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        assert!(get_hello(&mut stream).await.ends_with("hello"));
        talking.push(stream);
    }
    // Ten times the cap, connected and silent.
    let mut silent = Vec::new();
    for _ in 0..80 {
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    let started = Instant::now();
    let answer = exchange(
        addr,
        b"GET /hello HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        Duration::from_secs(20),
    )
    .await;
    assert!(answer.ends_with("hello"), "{answer:?}");
    // Long before the silent ones' header timeout could have made room.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    // The clients that spoke are still served on their connections.
    for stream in &mut talking {
        assert!(get_hello(stream).await.ends_with("hello"));
    }
    // Silent connections were closed to make way: reading them ends.
    let mut closed = 0;
    for stream in &mut silent {
        let mut byte = [0u8; 1];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(50), stream.read(&mut byte)).await
        {
            closed += 1;
        }
    }
    assert!(closed >= 4, "{closed} silent connections closed");
}

/// Sends `GET /hello` on a kept-alive connection and reads its answer.
async fn get_hello(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    while !answer.ends_with(b"hello") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("an answer in time")
            .unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// Sets its flag when dropped: the server let go of the response.
struct Released(Arc<AtomicBool>);

impl Drop for Released {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A client that stops reading an endless response (a stream it no longer reads) loses its
/// connection once a write has been blocked for the write timeout, and the response is released.
#[tokio::test]
async fn a_client_that_stops_reading_is_let_go_after_the_write_timeout() {
    let released = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&released);
    let app = Router::new().route(
        "/endless",
        get(move || {
            let guard = Released(Arc::clone(&flag));
            let chunks = futures_util::stream::repeat_with(move || {
                let _ = &guard;
                Ok::<_, std::convert::Infallible>(bytes::Bytes::from(vec![b'x'; 64 * 1024]))
            });
            async move { axum::body::Body::from_stream(chunks) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ServerLimits::default().write_timeout(Duration::from_millis(500));
    tokio::spawn(async move { serve_with_limits(listener, app, &limits).await });

    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /endless HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    // Never read: the socket's buffers fill, and the server's writes block.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !released.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the response to a client that stopped reading was never released"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(stream);
}
