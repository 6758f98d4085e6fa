//! The layer for any tower service over `http` requests and responses.

use crate::body::{MonitorBody, Tally};
use crate::record::{self, Pending, Route};
use http::request::Parts;
use http::{Request, Response};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::task::{Context, Poll, ready};
use tower_layer::Layer;
use tower_service::Service;

/// What [`MonitorLayer::route_from`] is given.
type NameRoute = dyn Fn(&Parts) -> Option<&'static str> + Send + Sync;

/// Records each request's final status and body sizes on the `#[monitored_handler]` that served
/// it, and requests no instrumented handler served on their route.
///
/// The service under it receives `Request<MonitorBody<B>>` for each `Request<B>`, and the layer
/// answers `Response<MonitorBody<R>>` for the service's `Response<R>`: the same bodies, counted as
/// they flow. See the [crate docs](crate) for an example. Under axum's `Router::layer`, use
/// `monitor_tower::axum::MonitorLayer` instead (feature `axum`), which keeps axum's body type.
#[derive(Clone, Default)]
pub struct MonitorLayer {
    route: Option<Arc<NameRoute>>,
}

impl MonitorLayer {
    /// The layer. It names no route unless told how ([`route_from`](MonitorLayer::route_from)),
    /// or, with the `axum` feature, when axum's router has put the route it matched in the
    /// request (`axum::extract::MatchedPath`).
    pub fn new() -> MonitorLayer {
        MonitorLayer::default()
    }

    /// Names the route each request matched: the pattern (`/users/{id}`, never the path itself,
    /// whose every id would make a site), or `None` for a request no route serves. The layer puts
    /// the method before it (`GET /users/{id}`). It is asked once per request, before the service
    /// under the layer is called, and its answer is used only for a request no
    /// `#[monitored_handler]` served: such requests are recorded on their route's site, and those
    /// with no route (or a method outside HTTP's standard set) on one shared site,
    /// [`monitor_core::site::OTHER_ROUTES`].
    ///
    /// The name is `'static` because the request moves on to the service while the layer keeps
    /// it: a service's routes are a fixed set, so a static name costs nothing per request. It
    /// replaces the route axum matched.
    ///
    /// # Examples
    ///
    /// ```
    /// use monitor_tower::MonitorLayer;
    ///
    /// let layer = MonitorLayer::new().route_from(|request| {
    ///     let path = request.uri.path();
    ///     if path == "/hello" {
    ///         Some("/hello")
    ///     } else if path.starts_with("/users/") {
    ///         Some("/users/{id}")
    ///     } else {
    ///         None
    ///     }
    /// });
    /// ```
    pub fn route_from(
        mut self,
        route: impl Fn(&Parts) -> Option<&'static str> + Send + Sync + 'static,
    ) -> MonitorLayer {
        self.route = Some(Arc::new(route));
        self
    }
}

impl fmt::Debug for MonitorLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MonitorLayer")
            .field("route_from", &self.route.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

impl<S> Layer<S> for MonitorLayer {
    type Service = MonitorService<S>;

    fn layer(&self, inner: S) -> MonitorService<S> {
        MonitorService {
            inner,
            route: self.route.clone(),
        }
    }
}

/// The service [`MonitorLayer`] wraps around another.
#[derive(Clone)]
pub struct MonitorService<S> {
    inner: S,
    route: Option<Arc<NameRoute>>,
}

impl<S: fmt::Debug> fmt::Debug for MonitorService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MonitorService")
            .field("inner", &self.inner)
            .field("route_from", &self.route.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for MonitorService<S>
where
    S: Service<Request<MonitorBody<ReqBody>>, Response = Response<ResBody>>,
    ReqBody: http_body::Body,
    ResBody: http_body::Body,
{
    type Response = Response<MonitorBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // Apart anyway, to put the body in ours: the route is named from the parts at no cost.
        let (parts, body) = request.into_parts();
        let method = record::method_index(&parts.method);
        let route = match &self.route {
            Some(name) => name(&parts).map(Route::Named),
            None => Route::matched(&parts.extensions),
        };
        // A request without a body (most GETs) needs no counter.
        let (body, received) = if body.is_end_stream() {
            (MonitorBody::new(body, Tally::Off), None)
        } else {
            let counter = Arc::new(AtomicU64::new(0));
            let tally = Tally::Received(Arc::clone(&counter));
            (MonitorBody::new(body, tally), Some(counter))
        };
        let parent = record::remote_parent(&parts.headers);
        let request = Request::from_parts(parts, body);
        let (inner, pending) =
            Pending::start(method, route, received, parent, || self.inner.call(request));
        ResponseFuture {
            inner,
            request: Some(pending),
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

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: http_body::Body,
{
    type Output = Result<Response<MonitorBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(record::poll_in_scope(this.request, || this.inner.poll(cx)));
        Poll::Ready(match result {
            Ok(response) => {
                let tally = match record::respond(this.request, &response) {
                    Some(end) => Tally::Sent(end),
                    None => Tally::Off,
                };
                Ok(response.map(|body| MonitorBody::new(body, tally)))
            }
            Err(e) => {
                record::fail(this.request);
                Err(e)
            }
        })
    }
}
