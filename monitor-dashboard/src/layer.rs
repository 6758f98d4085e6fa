//! `MonitorLayer`: what a handler's return type cannot tell the macro.
//!
//! A `#[monitored_handler]` sees the value its function returns; axum turns that value into a
//! response afterwards (`IntoResponse`), and the bodies flow after that. The layer makes a
//! [`RequestScope`] per request, enters it around every poll of the request, and completes it
//! once the response is known: at its head for a body of known size (its size is what it sends;
//! none for a HEAD), else when the body that streams has ended (or was dropped), with the bytes
//! that flowed. The handler's call is then recorded once, with the final status and the bytes
//! each way (the request's as they were read). A request no instrumented handler served is
//! recorded on the site of its matched route.

use axum::body::Body;
use axum::extract::MatchedPath;
use bytes::Buf;
use http::{Request, Response};
use http_body::{Frame, SizeHint};
use monitor_core::request::RequestScope;
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use tower_layer::Layer;
use tower_service::Service;

/// Records each request's final status and body sizes on the `#[monitored_handler]` that served
/// it, and requests no instrumented handler served on their route.
///
/// Add it with [`axum::Router::layer`], after the routes it covers, so that the matched route is
/// known:
///
/// ```
/// use axum::{Router, routing::get};
/// use monitor_core::monitored_handler;
///
/// #[monitored_handler(route = "GET /hello")]
/// async fn hello() -> &'static str {
///     "hello"
/// }
///
/// let app: Router = Router::new()
///     .route("/hello", get(hello))
///     .layer(monitor_dashboard::MonitorLayer::new());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MonitorLayer {
    _private: (),
}

impl MonitorLayer {
    /// The layer.
    pub fn new() -> MonitorLayer {
        MonitorLayer::default()
    }
}

impl<S> Layer<S> for MonitorLayer {
    type Service = MonitorService<S>;

    fn layer(&self, inner: S) -> MonitorService<S> {
        MonitorService { inner }
    }
}

/// The service [`MonitorLayer`] wraps around a router's routes.
#[derive(Debug, Clone)]
pub struct MonitorService<S> {
    inner: S,
}

/// For axum's requests: what `Router::layer` and `axum::serve` pass. Taking the body as it is,
/// rather than any body made into axum's, leaves a request without one untouched: no moving it
/// apart and together again on its way through.
impl<S, ResBody> Service<Request<Body>> for MonitorService<S>
where
    S: Service<Request<Body>, Response = Response<ResBody>>,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // Kept as they are (the path clones cheaply) and formatted only for a request no
        // instrumented handler served: the only one that needs its route's name.
        let method = method_index(request.method());
        let path = request.extensions().get::<MatchedPath>().cloned();
        // A request without a body (most GETs) needs no counter and no second box around it.
        let (request, received) = if http_body::Body::is_end_stream(request.body()) {
            (request, None)
        } else {
            let counter = Arc::new(AtomicU64::new(0));
            let tally = Arc::clone(&counter);
            let request = request.map(|body| Body::new(Counting { inner: body, tally }));
            (request, Some(counter))
        };
        let scope = RequestScope::new();
        // Some services do their work in `call`: that belongs to the request too.
        let inner = scope.in_scope(|| self.inner.call(request));
        ResponseFuture {
            inner,
            request: Some(Pending {
                scope,
                path,
                method,
                received,
            }),
        }
    }
}

/// The response as axum's: as it is when it already is one (always, under `Router::layer`),
/// rather than taken apart and put together again around the same body.
fn axum_response<B>(response: Response<B>) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let mut slot = Some(response);
    if let Some(same) = (&mut slot as &mut dyn Any).downcast_mut::<Option<Response<Body>>>()
        && let Some(response) = same.take()
    {
        return response;
    }
    // Another body: the response is still in `slot`, which only the downcast above could take.
    slot.map(|response| response.map(Body::new))
        .unwrap_or_default()
}

/// What the request knows until its response has flowed.
struct Pending {
    scope: RequestScope,
    path: Option<MatchedPath>,
    /// The method's place in [`STANDARD_METHODS`], or [`OTHER_METHOD`].
    method: u8,
    /// Request body bytes read so far: what the request carried, as far as anyone knows. A
    /// declared `Content-Length` is a claim — one request declaring 99,999,999,999 bytes and
    /// sending 3 would add 1e11 — so it is never counted. None for a request without a body.
    received: Option<Arc<AtomicU64>>,
}

impl Pending {
    /// In place: a request's figures take no copy of it on their way to the record.
    fn complete(&mut self, status: u16, sent: Option<u64>) {
        let received = self
            .received
            .as_ref()
            .map_or(0, |r| r.load(Ordering::Relaxed));
        let (path, method) = (&self.path, self.method);
        self.scope
            .complete_with(status, Some(received), sent, || match (path, method) {
                // A method outside HTTP's standard set is any client's invention, and a path no
                // route matched is any client's too: under their own names, 300 made-up methods
                // made 300 sites. All of them share one.
                (Some(path), method) if method != OTHER_METHOD => {
                    let method = &STANDARD_METHODS[usize::from(method)];
                    format!("{method} {}", path.as_str())
                }
                _ => monitor_core::site::OTHER_ROUTES.to_owned(),
            });
    }
}

/// The methods of RFC 9110 and PATCH: the only ones a route site is named after.
const STANDARD_METHODS: [http::Method; 9] = [
    http::Method::GET,
    http::Method::HEAD,
    http::Method::POST,
    http::Method::PUT,
    http::Method::DELETE,
    http::Method::CONNECT,
    http::Method::OPTIONS,
    http::Method::TRACE,
    http::Method::PATCH,
];

/// HEAD's place in [`STANDARD_METHODS`].
const HEAD: u8 = 1;

/// Any method not in [`STANDARD_METHODS`].
const OTHER_METHOD: u8 = u8::MAX;

/// A byte standing for the method, so that the request carries no copy of it.
fn method_index(method: &http::Method) -> u8 {
    STANDARD_METHODS
        .iter()
        .position(|m| m == method)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(OTHER_METHOD)
}

/// The response's status and the bytes sent so far, waiting for its body to end.
struct Completion {
    request: Option<Pending>,
    status: u16,
    sent: u64,
}

impl Drop for Completion {
    /// The body ended, or was dropped part-way (the client went away): either way the request is
    /// over, and the bytes sent are the ones counted.
    fn drop(&mut self) {
        if let Some(request) = &mut self.request {
            request.complete(self.status, Some(self.sent));
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of a request under [`MonitorLayer`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        request: Option<Pending>,
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(match this.request.as_ref() {
            Some(request) => request.scope.in_scope(|| this.inner.poll(cx)),
            None => this.inner.poll(cx),
        });
        Poll::Ready(match result {
            Ok(response) => {
                let status = response.status().as_u16();
                match (response.body().size_hint().exact(), this.request.as_mut()) {
                    // A body of known size (most: a string, JSON, bytes) is its size, whether the
                    // client reads it all or not — as for a body that flows, what counts is what
                    // the server sent, not what arrived — and no bytes at all answer a HEAD.
                    // Recorded now, it needs no body of ours around it: wrapping a response's
                    // body means boxing it again (axum's `Body` is a box), a third of the layer's
                    // cost (`README.md`, "Per HTTP request").
                    (Some(size), Some(request)) => {
                        let sent = if request.method == HEAD { 0 } else { size };
                        request.complete(status, Some(sent));
                        *this.request = None;
                        Ok(axum_response(response))
                    }
                    // A body that streams (SSE, a proxied body) is counted as it flows, and the
                    // request completes when it ends or is dropped.
                    _ => {
                        let end = Completion {
                            request: this.request.take(),
                            status,
                            sent: 0,
                        };
                        Ok(response.map(|body| {
                            Body::new(Counting {
                                inner: body,
                                tally: Some(end),
                            })
                        }))
                    }
                }
            }
            Err(e) => {
                if let Some(request) = this.request.as_mut() {
                    request.complete(500, None);
                }
                *this.request = None;
                Err(e)
            }
        })
    }
}

/// Where a counting body puts what it saw: a request's shared counter, or a response's own count
/// and the completion it fires at the end.
trait Tally {
    fn add(&mut self, bytes: u64);
    /// The body ended, or failed.
    fn end(&mut self);
}

/// A request body's bytes, read by the request when it completes.
impl Tally for Arc<AtomicU64> {
    fn add(&mut self, bytes: u64) {
        self.fetch_add(bytes, Ordering::Relaxed);
    }

    fn end(&mut self) {}
}

/// A response body's bytes are its own (nothing else reads them before the end), and its end
/// completes the request.
impl Tally for Option<Completion> {
    fn add(&mut self, bytes: u64) {
        if let Some(end) = self {
            end.sent += bytes;
        }
    }

    fn end(&mut self) {
        // Now rather than when the body is dropped, which may be later.
        drop(self.take());
    }
}

pin_project_lite::pin_project! {
    /// A body that counts the data bytes of its frames as they pass, without buffering them, into
    /// its tally.
    struct Counting<B, T> {
        #[pin]
        inner: B,
        tally: T,
    }
}

impl<B, T> http_body::Body for Counting<B, T>
where
    B: http_body::Body<Data = bytes::Bytes>,
    T: Tally,
{
    type Data = bytes::Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        match &frame {
            Some(Ok(data)) => {
                if let Some(data) = data.data_ref() {
                    this.tally.add(data.remaining() as u64);
                }
            }
            None | Some(Err(_)) => this.tally.end(),
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
