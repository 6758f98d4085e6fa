//! The token check in front of the API and the stream.

use crate::AppState;
use crate::api::ApiError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

/// Lets a request through when no token is configured or when it carries the token as
/// `Authorization: Bearer <token>`.
pub(crate) async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = state.config.token.as_deref() else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(given) if token_matches(given, expected) => next.run(request).await,
        Some(_) => ApiError::unauthorized("the token is not the dashboard's token").into_response(),
        None => {
            ApiError::unauthorized("send the dashboard's token as `Authorization: Bearer <token>`")
                .into_response()
        }
    }
}

/// Compares in constant time, so that the time taken does not tell how much of a guess matched.
/// (A wrong length is told apart quicker; the length of a token is no secret worth the cost.)
fn token_matches(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::token_matches;

    #[test]
    fn matches_only_the_same_token() {
        assert!(token_matches("abcdefgh", "abcdefgh"));
        assert!(!token_matches("abcdefgX", "abcdefgh"));
        assert!(!token_matches("abcdefg", "abcdefgh"));
        assert!(!token_matches("", "abcdefgh"));
    }
}
