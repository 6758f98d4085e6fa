//! Answers that are not a success: every route, and the router's fallbacks, answer them in the
//! one JSON shape [`wire::problem::Problem`](crate::wire::problem::Problem) spells.

use crate::wire::problem::Problem;
use axum::Json;
use axum::extract::OriginalUri;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

/// An answer that is not a success: a status and a JSON body `{"error": …, "status": …,
/// "message": …}`, with `"parameter"` when one parameter was at fault.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    error: &'static str,
    parameter: Option<String>,
    message: String,
}

impl ApiError {
    pub(crate) fn unauthorized(message: &str) -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            error: "unauthorized",
            parameter: None,
            message: message.to_owned(),
        }
    }

    /// A failure of the server's own, not the request's.
    pub(crate) fn internal(message: &str) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "internal",
            parameter: None,
            message: message.to_owned(),
        }
    }

    pub(crate) fn bad_parameter(parameter: &str, message: String) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error: "bad_parameter",
            parameter: Some(parameter.to_owned()),
            message,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            error: self.error,
            status: self.status.as_u16(),
            message: &self.message,
            parameter: self.parameter.as_deref(),
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer realm=\"monitor\""),
            );
        }
        response
    }
}

/// The one shape of every error the dashboard answers: `{"error", "status", "message"}`.
pub(crate) fn error(status: StatusCode, error: &str, message: String) -> Response {
    let body = Problem {
        error,
        status: status.as_u16(),
        message: &message,
        parameter: None,
    };
    (status, Json(body)).into_response()
}

/// No route: the path as the client sent it, prefix included (a nested router sees it without).
pub(crate) async fn not_found(OriginalUri(uri): OriginalUri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route {}", uri.path()),
    )
}

/// A route that does not take the request's method; axum adds the `Allow` header.
pub(crate) async fn method_not_allowed(
    method: http::Method,
    OriginalUri(uri): OriginalUri,
) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not take {method}", uri.path()),
    )
}
