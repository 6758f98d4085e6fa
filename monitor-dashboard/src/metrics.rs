//! `/metrics`: the Prometheus text exposition of the read model, written by `monitor-export`.

use crate::AppState;
use axum::Router;
use axum::routing::get;

/// Every metric, in the Prometheus text format 0.0.4: [`monitor_export::render`] of a fresh
/// [`monitor_core::snapshot`].
///
/// # Examples
///
/// ```
/// let text = monitor_dashboard::render();
/// assert!(text.contains("# TYPE monitor_sites gauge\n"));
/// ```
pub fn render() -> String {
    monitor_export::render(&monitor_core::snapshot())
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/metrics",
        get(|| async {
            (
                [(http::header::CONTENT_TYPE, monitor_export::CONTENT_TYPE)],
                render(),
            )
        }),
    )
}
