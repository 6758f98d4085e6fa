//! The layer for axum's `Router::layer` (feature `axum`): the same records as
//! [`crate::MonitorLayer`], with axum's `Request<Body>` and `Response<Body>` kept as they are.
//!
//! Why a layer of its own: axum boxes any body that is not its own `Body`, on the way into a
//! layered route and on the way out of it. The generic layer's `MonitorBody` would be boxed twice
//! per request, even for a GET whose response needs no counting — two allocations, where this
//! layer makes none of its own (`tests/allocations.rs` counts them). Here a body is wrapped (and
//! boxed into axum's) only when something must be counted as it flows: a request that has a body,
//! a response that streams.
//!
//! ```
//! use axum::{Router, routing::get};
//! use monitor_core::monitored_handler;
//!
//! #[monitored_handler(route = "GET /hello")]
//! async fn hello() -> &'static str {
//!     "hello"
//! }
//!
//! let app: Router = Router::new()
//!     .route("/hello", get(hello))
//!     .layer(monitor_tower::axum::MonitorLayer::new());
//! ```

use crate::body::{MonitorBody, Tally};
use crate::record::{self, Pending, Route};
use ::axum::body::Body;
use http::{Request, Response};
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::task::{Context, Poll, ready};
use tower_layer::Layer;
use tower_service::Service;

/// Records each request's final status and body sizes on the `#[monitored_handler]` that served
/// it, and requests no instrumented handler served on the route axum matched.
///
/// Add it with `axum::Router::layer`, after the routes it covers, so that the matched route is
/// known (see the [module docs](self)).
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
    ResBody::Error: Into<::axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let method = record::method_index(request.method());
        let route = Route::matched(request.extensions());
        let parent = record::remote_parent(request.headers());
        // A request without a body (most GETs) needs no counter and no second box around it.
        let (request, received) = if http_body::Body::is_end_stream(request.body()) {
            (request, None)
        } else {
            let counter = Arc::new(AtomicU64::new(0));
            let tally = Tally::Received(Arc::clone(&counter));
            let request = request.map(|body| Body::new(MonitorBody::new(body, tally)));
            (request, Some(counter))
        };
        let (inner, pending) =
            Pending::start(method, route, received, parent, || self.inner.call(request));
        ResponseFuture {
            inner,
            request: Some(pending),
        }
    }
}

/// The response as axum's: as it is when it already is one (always, under `Router::layer`),
/// rather than taken apart and put together again around the same body.
fn axum_response<B>(response: Response<B>) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<::axum::BoxError>,
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
    ResBody::Error: Into<::axum::BoxError>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(record::poll_in_scope(this.request, || this.inner.poll(cx)));
        Poll::Ready(match result {
            Ok(response) => match record::respond(this.request, &response) {
                None => Ok(axum_response(response)),
                Some(end) => {
                    Ok(response.map(|body| Body::new(MonitorBody::new(body, Tally::Sent(end)))))
                }
            },
            Err(e) => {
                record::fail(this.request);
                Err(e)
            }
        })
    }
}
