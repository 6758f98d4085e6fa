//! `/`: the dashboard page, its script, styles and chart library, all from the binary.

use crate::AppState;
use axum::Router;
use axum::response::Html;
use axum::routing::get;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/",
        get(|| async { Html("<!doctype html><title>monitor</title>") }),
    )
}
