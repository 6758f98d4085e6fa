//! `/api/stream`: one Server-Sent Event per collector tick.

use crate::AppState;
use axum::Router;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
