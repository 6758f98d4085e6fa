//! `/metrics`: the Prometheus text exposition format 0.0.4.

use crate::AppState;
use axum::Router;
use axum::routing::get;

/// The content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every metric, in the Prometheus text format 0.0.4.
pub fn render() -> String {
    String::new()
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/metrics",
        get(|| async { ([(http::header::CONTENT_TYPE, CONTENT_TYPE)], render()) }),
    )
}
