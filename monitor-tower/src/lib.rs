//! A tower layer that gives each `#[monitored_handler]` what its return value cannot tell: the
//! final HTTP status and the bytes each body carried.
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use monitor_core::monitored_handler;
//! use monitor_tower::{MonitorBody, MonitorLayer};
//! use std::convert::Infallible;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! #[monitored_handler(route = "GET /hello")]
//! async fn hello() -> &'static str {
//!     "hello"
//! }
//!
//! // The service's own routing; the layer hands it each request's body in a `MonitorBody`.
//! async fn handle(request: Request<MonitorBody<String>>) -> Result<Response<String>, Infallible> {
//!     Ok(match request.uri().path() {
//!         "/hello" => Response::new(hello().await.to_owned()),
//!         _ => {
//!             let mut response = Response::new(String::new());
//!             *response.status_mut() = StatusCode::NOT_FOUND;
//!             response
//!         }
//!     })
//! }
//!
//! let service = ServiceBuilder::new()
//!     // Names the route of a request no instrumented handler serves.
//!     .layer(MonitorLayer::new().route_from(|request| match request.uri.path() {
//!         "/hello" => Some("/hello"),
//!         _ => None,
//!     }))
//!     .service_fn(handle);
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let response = service
//!     .oneshot(Request::get("/hello").body(String::new()).unwrap())
//!     .await
//!     .unwrap();
//! assert_eq!(response.status(), StatusCode::OK);
//! # });
//! ```
//!
//! The layer opens a [`monitor_core::request::RequestScope`] around each request's polls. A
//! `#[monitored_handler]` that finishes inside it leaves its call there, and the layer records it
//! once the response is known, with:
//! - the final status: an `Err` that became a 4xx is the client's error, not a failure;
//! - the response's bytes: a body of known size as its size, at the response's head (none for a
//!   HEAD); a body that streams as it flows, when it ends or is dropped, so that what counts is
//!   what the server sent;
//! - the request's bytes as the service read them. A declared `Content-Length` is a claim, never
//!   counted.
//!
//! A handler's duration stays the handler's own time (its future, from first poll to its value);
//! the body's streaming afterwards is not in it, so a slow client does not look like a slow
//! handler. The record lands an instant after the client has read the response, when the server
//! sees the body end: a test that reads the figures right after a response polls for them.
//! Without the layer, handlers record as before; the check costs a bit of the mode byte every
//! call reads anyway.
//!
//! A request no instrumented handler served is recorded on its route's site
//! ([`MonitorLayer::route_from`]), timed from the request to its response, or on
//! [`monitor_core::site::OTHER_ROUTES`] when it has none.
//!
//! # The series budget
//!
//! Requests make route sites only for routes the router matched, with a method of HTTP's standard
//! set (the nine of RFC 9110 and PATCH), and only `max_route_sites` of them (default 128, at most
//! 4,096: `Config::max_route_sites`, `MONITOR_MAX_ROUTE_SITES`,
//! [`set_max_route_sites`](monitor_core::site::set_max_route_sites)). Everything else — a path no
//! route matched, a made-up method, a route beyond the budget — shares one site,
//! `other requests`. A route label is cut at 256 bytes, a model name at 128. So no request,
//! authenticated or not, adds series beyond `budget + 1` route sites, each with its fixed set of
//! series; `monitor-dashboard/tests/series_budget.rs` floods a real server with 300 made-up
//! methods and paths twice, with and without the token, and finds not one series more.
//!
//! # What it costs
//!
//! One `GET` through an axum router in process, with `#[monitored_handler]` and the axum layer,
//! costs 0.32 × the extra of tower-http's `TraceLayer` (0.19 × a `metrics` middleware), and
//! makes no allocation of its own; the repository's `docs/performance.md` ("Per HTTP request")
//! has the measurements and `cargo bench -p monitor-benches --bench http_layer` makes them.
//!
//! With runs traced (`monitor_core::Config::traces`), each request is a run, and a request that
//! came with a W3C `traceparent` header continues the caller's trace: the run's root span is the
//! caller's span's child, follows its sampled flag, and keeps its `tracestate`. A malformed
//! header, or more than one, starts a trace of its own; it never fails the request. Inside the
//! handler, [`monitor_core::trace::current_traceparent`] is the header for the calls it makes.
//!
//! The layer depends on `tower-layer`, `tower-service`, `http` and `http-body` (and monitor-core):
//! a service that uses it compiles no hyper and no axum. It serves any tower service of `http`
//! requests, whoever serves it: hyper alone (through hyper-util's `TowerToHyperService`), or any
//! server of tower services.
//!
//! # With axum
//!
//! With the `axum` feature, `monitor_tower::axum::MonitorLayer` is the layer for
//! `axum::Router::layer`: it names a request's route from the `MatchedPath` axum's router puts in
//! the request, and keeps axum's body type as it is, which the generic layer cannot (the module's
//! docs say what that saves).
//!
//! ```
//! # #[cfg(feature = "axum")] {
//! use axum::{Router, routing::get};
//!
//! let app: Router = Router::new()
//!     .route("/hello", get(|| async { "hello" }))
//!     .layer(monitor_tower::axum::MonitorLayer::new());
//! # }
//! ```
//!
//! # Features
//!
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

#[cfg(feature = "axum")]
pub mod axum;
mod body;
mod layer;
mod record;

pub use body::MonitorBody;
pub use layer::{MonitorLayer, MonitorService, ResponseFuture};
