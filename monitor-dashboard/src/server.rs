//! Serving a router with bounded resources: a server no client can make hold a connection, a
//! request or a body for ever, nor open connections until the process runs out of descriptors.
//!
//! Built on hyper's HTTP/1 connection settings (the header-read timeout, which is also how long
//! a kept-alive connection may sit idle) and tower-http's request timeout and body limit, with a
//! semaphore bounding the connections served at once. [`serve`](crate::serve) uses it; a service
//! serves its own router with [`serve_with_limits`].

use crate::api::error;
use axum::Router;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// What a server holds to. The defaults suit an API behind no proxy; each is set in code or from
/// the environment ([`ServerLimits::from_vars`]).
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
    /// Connections served at once; further ones wait in the kernel's queue until one closes
    /// (`MONITOR_SERVER_MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// Largest request body, checked against `Content-Length` before any of it is read, and
    /// while reading one that declares none: a 413 (`MONITOR_SERVER_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
}

impl Default for ServerLimits {
    fn default() -> ServerLimits {
        ServerLimits {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// The environment variables [`ServerLimits::from_vars`] reads.
pub const SERVER_VARS: [&str; 4] = [
    "MONITOR_SERVER_HEADER_TIMEOUT_MS",
    "MONITOR_SERVER_REQUEST_TIMEOUT_MS",
    "MONITOR_SERVER_MAX_CONNECTIONS",
    "MONITOR_SERVER_MAX_BODY_BYTES",
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
                _ => limits.max_body_bytes(size),
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
    // `with_state(())` turns every handler into its route once, as `axum::serve` does through
    // `into_make_service`; served as it is, a `Router` makes each handler's route anew per request.
    let app: Router = limits.apply(router).with_state(());
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let header_timeout = limits.header_read_timeout;
    loop {
        // A permit first: at the cap, new connections wait in the kernel's queue.
        let Ok(permit) = Arc::clone(&connections).acquire_owned().await else {
            return Ok(());
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of descriptors (or memory): wait for some to close rather than spin.
                eprintln!("monitor: accepting a connection failed ({e}); retrying in 100 ms");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            // The client went away or timed out: nothing to report beyond the connection.
            let _ = http
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
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
