//! Serving a router with bounded resources: a server no client can make hold a connection, a
//! request or a body for ever, nor open connections until the process runs out of descriptors.
//!
//! Built on hyper's HTTP/1 connection settings (the header-read timeout, which is also how long
//! a kept-alive connection may sit idle) and tower-http's request timeout and body limit, with a
//! semaphore bounding the connections served at once. [`serve`](crate::serve) uses it; a service
//! serves its own router with [`serve_with_limits`], or [`serve_with_limits_until`] to stop
//! gracefully.

use crate::problem::error;
use axum::Router;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// What a server holds to. The defaults suit an API behind no proxy; each is set in code or from
/// the environment ([`ServerLimits::from_vars`]).
///
/// [`serve`](crate::serve) holds to them; a service serves its own router the same way with
/// [`serve_with_limits`] (the demo does), or takes the layers alone with
/// [`apply`](ServerLimits::apply) for a server of its own.
///
/// | limit | default | environment | what it stops |
/// |---|---|---|---|
/// | `header_read_timeout` | 10 s | `MONITOR_SERVER_HEADER_TIMEOUT_MS` | a client slow to send its headers, and a kept-alive connection idle longer (hyper closes it) |
/// | `request_timeout` | 30 s | `MONITOR_SERVER_REQUEST_TIMEOUT_MS` | a request whose response has not started — a body that stops short gets a 408; a streamed response is timed to its start only |
/// | `max_connections` | 1,024 | `MONITOR_SERVER_MAX_CONNECTIONS` | connections served at once, so idle clients cannot exhaust descriptors. At the cap, a new connection takes the place of the oldest one that has not sent a byte yet (a client that spoke keeps its place); when all have spoken, new ones wait in the kernel's queue. In the tests, 80 silent connections against a cap of 8 and a 60 s header timeout: a new client answered at once, and the four that had spoken still served |
/// | `write_timeout` | 30 s | `MONITOR_SERVER_WRITE_TIMEOUT_MS` | a client that stops reading: once a write to it has been blocked this long (its socket's buffers full), its connection is closed and the response dropped — a stream it no longer reads gives back its place among the streams |
/// | `max_body_bytes` | 1 MiB (the demo: 16 KiB) | `MONITOR_SERVER_MAX_BODY_BYTES` | a body larger than this: a 413 from its `Content-Length` before any of it is read, or as soon as an undeclared one passes it |
///
/// Every error these or a router make without a JSON body — axum's extractor rejections, a bare
/// 404 or 405, the 408 and 413 — comes back as `{"error", "status", "message"}` through
/// [`json_errors`](crate::json_errors), keeping its status and headers. How the server holds up
/// under wrk, a Prometheus killed and restarted, clients that stop reading or hang up and 10,000
/// idle connections is measured in the repository's `docs/performance.md` ("The load and fault
/// suite").
///
/// ```no_run
/// # async fn run(app: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
/// use monitor_dashboard::ServerLimits;
///
/// let limits = ServerLimits::default().max_body_bytes(16 * 1024).with_env()?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// monitor_dashboard::serve_with_limits(listener, app, &limits).await?;
/// # Ok(()) }
/// ```
///
/// # Examples
///
/// ```
/// use monitor_dashboard::ServerLimits;
/// use std::time::Duration;
///
/// let limits = ServerLimits::default().max_connections(256).max_body_bytes(64 * 1024);
/// assert_eq!(limits.header_read_timeout, Duration::from_secs(10));
/// let from_env = ServerLimits::from_vars([("MONITOR_SERVER_MAX_CONNECTIONS", "2048")])?;
/// assert_eq!(from_env.max_connections, 2048);
/// # Ok::<(), monitor_dashboard::DashboardError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerLimits {
    /// How long a connection may take to send a request's headers, and so how long a kept-alive
    /// connection may sit idle before it is closed (`MONITOR_SERVER_HEADER_TIMEOUT_MS`).
    pub header_read_timeout: Duration,
    /// How long a request may take until its response starts — reading its body included, so a
    /// body that stops short is answered, with a 408 (`MONITOR_SERVER_REQUEST_TIMEOUT_MS`). A
    /// streamed response (the dashboard's `/api/stream`) is not cut: only its start is timed.
    pub request_timeout: Duration,
    /// Connections served at once (`MONITOR_SERVER_MAX_CONNECTIONS`). At the cap, a new
    /// connection takes the place of the oldest one that has not sent a byte yet; when every
    /// connection has spoken, new ones wait in the kernel's queue until one closes.
    pub max_connections: usize,
    /// Largest request body, checked against `Content-Length` before any of it is read, and
    /// while reading one that declares none: a 413 (`MONITOR_SERVER_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// How long a write to a client may stay blocked — a client that stopped reading, its socket's
    /// buffers full — before its connection is closed (`MONITOR_SERVER_WRITE_TIMEOUT_MS`). A
    /// stream (`/api/stream`) to a client that stopped reading otherwise holds its connection and
    /// its place among the streams for as long as TCP keeps the connection.
    pub write_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> ServerLimits {
        ServerLimits {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_body_bytes: 1024 * 1024,
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// The environment variables [`ServerLimits::from_vars`] reads.
pub const SERVER_VARS: [&str; 5] = [
    "MONITOR_SERVER_HEADER_TIMEOUT_MS",
    "MONITOR_SERVER_REQUEST_TIMEOUT_MS",
    "MONITOR_SERVER_MAX_CONNECTIONS",
    "MONITOR_SERVER_MAX_BODY_BYTES",
    "MONITOR_SERVER_WRITE_TIMEOUT_MS",
];

impl ServerLimits {
    /// The header-read (and idle) timeout.
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> ServerLimits {
        self.header_read_timeout = timeout;
        self
    }

    /// The request timeout.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> ServerLimits {
        self.request_timeout = timeout;
        self
    }

    /// Connections served at once, at least 1.
    #[must_use]
    pub fn max_connections(mut self, n: usize) -> ServerLimits {
        self.max_connections = n.max(1);
        self
    }

    /// Largest request body, in bytes.
    #[must_use]
    pub fn max_body_bytes(mut self, n: usize) -> ServerLimits {
        self.max_body_bytes = n;
        self
    }

    /// The write timeout.
    #[must_use]
    pub fn write_timeout(mut self, timeout: Duration) -> ServerLimits {
        self.write_timeout = timeout;
        self
    }

    /// The defaults, with the [`SERVER_VARS`] found in `vars` applied (each a whole number, 1
    /// or more); other keys are ignored. A bad value is an error naming the key and the value.
    pub fn from_vars<K: AsRef<str>, V: AsRef<str>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<ServerLimits, crate::DashboardError> {
        ServerLimits::default().with_vars(vars)
    }

    /// These limits, with the [`SERVER_VARS`] found in `vars` applied over them: a service's
    /// own defaults, which the environment may still change.
    pub fn with_vars<K: AsRef<str>, V: AsRef<str>>(
        self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<ServerLimits, crate::DashboardError> {
        let mut limits = self;
        for (key, value) in vars {
            let (key, value) = (key.as_ref(), value.as_ref());
            let Some(at) = SERVER_VARS.iter().position(|k| *k == key) else {
                continue;
            };
            let n = crate::positive_number(key, value)?;
            let size = usize::try_from(n).unwrap_or(usize::MAX);
            limits = match at {
                0 => limits.header_read_timeout(Duration::from_millis(n)),
                1 => limits.request_timeout(Duration::from_millis(n)),
                2 => limits.max_connections(size),
                3 => limits.max_body_bytes(size),
                _ => limits.write_timeout(Duration::from_millis(n)),
            };
        }
        Ok(limits)
    }

    /// The defaults with the process's environment applied.
    pub fn from_env() -> Result<ServerLimits, crate::DashboardError> {
        ServerLimits::default().with_env()
    }

    /// These limits with the process's environment applied over them.
    pub fn with_env(self) -> Result<ServerLimits, crate::DashboardError> {
        self.with_vars(std::env::vars_os().filter_map(|(k, v)| {
            Some((k.into_string().ok()?, v.into_string().unwrap_or_default()))
        }))
    }

    /// `router` with the request timeout, the body limit, JSON errors and the safe headers
    /// (`X-Content-Type-Options: nosniff`, and `Cache-Control: no-store` where a route set no
    /// policy) applied: what [`serve_with_limits`] serves, for a server of the user's own.
    pub fn apply(&self, router: Router) -> Router {
        router
            .layer(RequestBodyLimitLayer::new(self.max_body_bytes))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                self.request_timeout,
            ))
            .layer(axum::middleware::map_response(json_errors))
            .layer(axum::middleware::map_response(no_sniff_no_store))
    }
}

/// Serves `router` on `listener` within `limits` until an error of the listener itself: a
/// connection's failure (a client that went away, a timeout) ends that connection only, and
/// running out of descriptors makes the server wait, not stop.
pub async fn serve_with_limits(
    listener: TcpListener,
    router: Router,
    limits: &ServerLimits,
) -> std::io::Result<()> {
    serve_with_limits_until(listener, router, limits, std::future::pending()).await
}

/// As [`serve_with_limits`], until `shutdown` completes: then no connection is accepted any
/// more, the requests under way are answered, each connection closes once its response is sent
/// (an idle one at once), and this returns when every connection has closed. Requests then end
/// as answered rather than cancelled, and what runs after — the history file's close, a last
/// push — sees them all. Bound the wait with a timeout around it if a request may run long.
///
/// # Examples
///
/// ```no_run
/// # async fn run(router: axum::Router, monitor: monitor_core::Monitor) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let limits = monitor_dashboard::ServerLimits::default();
/// let ctrl_c = async {
///     let _ = tokio::signal::ctrl_c().await;
/// };
/// monitor_dashboard::serve_with_limits_until(listener, router, &limits, ctrl_c).await?;
/// // Every request answered: the guard's last tick, last push and file close see them all.
/// drop(monitor);
/// # Ok(())
/// # }
/// ```
pub async fn serve_with_limits_until(
    listener: TcpListener,
    router: Router,
    limits: &ServerLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut shutdown = std::pin::pin!(shutdown);
    // Each connection holds a place until it closes: all of them back means all closed.
    let places = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let (stopping, stop) = tokio::sync::watch::channel(false);
    // `with_state(())` turns every handler into its route once, as `axum::serve` does through
    // `into_make_service`; served as it is, a `Router` makes each handler's route anew per request.
    let app: Router = limits.apply(router).with_state(());
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let mut silent = Silent::default();
    let header_timeout = limits.header_read_timeout;
    let write_timeout = limits.write_timeout;
    loop {
        let accepted = async {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) if is_connection_error(&e) => return None,
                Err(e) => {
                    // Out of descriptors (or memory): wait for some to close rather than spin.
                    eprintln!("monitor: accepting a connection failed ({e}); retrying in 100 ms");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    return None;
                }
            };
            // At the cap, the connection that has waited longest without sending a byte makes
            // way for this one; when every connection has spoken, this one waits for a place,
            // and the next ones in the kernel's queue (one descriptor over the cap at most).
            let permit = match Arc::clone(&connections).try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    silent.evict_oldest();
                    Arc::clone(&connections).acquire_owned().await.ok()?
                }
            };
            Some((stream, permit))
        };
        let (stream, permit) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = accepted => match accepted {
                Some(accepted) => accepted,
                None => continue,
            },
        };
        let service = TowerToHyperService::new(app.clone());
        let spoke = Arc::new(AtomicBool::new(false));
        let stream = Spoke {
            inner: stream,
            spoke: Arc::clone(&spoke),
            write_timeout,
            stalled: None,
        };
        let mut stopped = stop.clone();
        let task = tokio::spawn(async move {
            let _permit = permit;
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            let connection = http
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            // The client went away or timed out: nothing to report beyond the connection.
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = stopped.wait_for(|stopping| *stopping) => {}
            }
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
        silent.push(spoke, task.abort_handle(), limits.max_connections);
    }
    drop(listener);
    let _ = stopping.send(true);
    // Every place back: every connection closed.
    let _ = connections.acquire_many(places).await;
    Ok(())
}

/// The connections that have not sent a byte yet, oldest first: at the cap, the first to go. A
/// client that opens connections and sends nothing (10,000 of them, in the hardening issue's test)
/// otherwise holds every place until its header timeout, and new clients wait behind it.
#[derive(Default)]
struct Silent {
    queue: VecDeque<(Arc<AtomicBool>, AbortHandle)>,
}

impl Silent {
    fn push(&mut self, spoke: Arc<AtomicBool>, task: AbortHandle, cap: usize) {
        // Entries of connections that spoke or ended are dropped when they pile up: the queue
        // stays within twice the cap, at a cost of one pass per `cap` connections.
        if self.queue.len() >= cap.saturating_mul(2).max(16) {
            self.queue
                .retain(|(spoke, task)| !spoke.load(Ordering::Relaxed) && !task.is_finished());
        }
        self.queue.push_back((spoke, task));
    }

    /// Closes the oldest connection still silent, if any.
    fn evict_oldest(&mut self) {
        while let Some((spoke, task)) = self.queue.pop_front() {
            if !spoke.load(Ordering::Relaxed) && !task.is_finished() {
                task.abort();
                return;
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// A connection that notes when its client first sent something, and gives up a write that
    /// has stayed blocked for the write timeout.
    struct Spoke {
        #[pin]
        inner: TcpStream,
        spoke: Arc<AtomicBool>,
        write_timeout: Duration,
        // Made when a write blocks, dropped when one goes through: an allocation only for a
        // client that stalls.
        stalled: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl AsyncRead for Spoke {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let read = this.inner.poll_read(cx, buf);
        if buf.filled().len() > before {
            this.spoke.store(true, Ordering::Relaxed);
        }
        read
    }
}

/// `written`, or, while it is pending, an error once the write has been blocked for `timeout`.
fn unless_stalled<T>(
    written: Poll<std::io::Result<T>>,
    stalled: &mut Option<Pin<Box<tokio::time::Sleep>>>,
    timeout: Duration,
    cx: &mut Context<'_>,
) -> Poll<std::io::Result<T>> {
    if written.is_ready() {
        *stalled = None;
        return written;
    }
    let timer = stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
    match timer.as_mut().poll(cx) {
        Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the client stopped reading",
        ))),
        Poll::Pending => Poll::Pending,
    }
}

impl AsyncWrite for Spoke {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.project();
        let written = this.inner.poll_write(cx, buf);
        unless_stalled(written, this.stalled, *this.write_timeout, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.project();
        let written = this.inner.poll_write_vectored(cx, bufs);
        unless_stalled(written, this.stalled, *this.write_timeout, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.project();
        let flushed = this.inner.poll_flush(cx);
        unless_stalled(flushed, this.stalled, *this.write_timeout, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// Turns an error answer whose body is not JSON — axum's extractor rejections, a body limit's
/// 413, a timeout's 408, a router's bare 404 or 405 — into the dashboard's shape,
/// `{"error", "status", "message"}`, keeping its status and headers. For a router of the user's
/// own: `router.layer(axum::middleware::map_response(monitor_dashboard::json_errors))`.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // The text the rejection gave, as the message: it says what was wrong (bounded: an error
    // body is short, and a long one is cut).
    let text = axum::body::to_bytes(body, 4096)
        .await
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    let code = status
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase()
        .replace([' ', '-'], "_");
    let mut answer = error(status, &code, text);
    parts.headers.remove(http::header::CONTENT_TYPE);
    parts.headers.remove(http::header::CONTENT_LENGTH);
    // Appended, so a header given more than once (`Set-Cookie`, `Vary`) keeps every value.
    for (name, value) in &parts.headers {
        answer.headers_mut().append(name, value.clone());
    }
    answer.into_response()
}

/// Every answer is what its `Content-Type` says (no sniffing a JSON error or an SVG into a page),
/// and none is kept by a cache unless its route said otherwise: APIs and `/metrics` are live.
pub(crate) async fn no_sniff_no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        http::HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(http::header::CACHE_CONTROL)
        .or_insert(http::HeaderValue::from_static("no-store"));
    response
}
