//! `/metrics`: the Prometheus exposition of the read model, written by `monitor-export`: the text
//! format, OpenMetrics text with exemplars, or the protobuf one with native histograms (and
//! exemplars), for a scraper that asks for it.

use crate::AppState;
use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Every metric, in the Prometheus text format 0.0.4: [`monitor_export::render`] of a fresh
/// [`monitor_core::snapshot()`].
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
    Router::new().route("/metrics", get(metrics))
}

/// The text format, unless the scraper asks for the protobuf one (a Prometheus with native
/// histograms on does: the same metrics, duration histograms with native buckets) or for
/// OpenMetrics (any other Prometheus does). Both of those carry exemplars: the trace of a kept
/// run's call on its site's duration histogram. Any other scraper gets the 0.0.4 text, unchanged.
async fn metrics(headers: http::HeaderMap) -> Response {
    let accepts = |check: fn(&str) -> bool| {
        headers
            .get_all(http::header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(check)
    };
    let protobuf = accepts(monitor_export::protobuf::accepts_protobuf);
    let openmetrics = accepts(monitor_export::prometheus::accepts_openmetrics);
    let snapshot = monitor_core::snapshot();
    if protobuf {
        (
            [(
                http::header::CONTENT_TYPE,
                monitor_export::protobuf::PROTOBUF_CONTENT_TYPE,
            )],
            monitor_export::protobuf::render_protobuf(&snapshot),
        )
            .into_response()
    } else if openmetrics {
        (
            [(
                http::header::CONTENT_TYPE,
                monitor_export::prometheus::OPENMETRICS_CONTENT_TYPE,
            )],
            monitor_export::prometheus::render_openmetrics(&snapshot),
        )
            .into_response()
    } else {
        (
            [(http::header::CONTENT_TYPE, monitor_export::CONTENT_TYPE)],
            monitor_export::render(&snapshot),
        )
            .into_response()
    }
}
