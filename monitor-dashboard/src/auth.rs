//! The token check in front of the API and the stream.

use crate::AppState;
use crate::problem::ApiError;
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
    let header = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    match header.map(credentials) {
        Some(Credentials::Bearer(given)) if token_matches(given, expected) => {
            next.run(request).await
        }
        Some(Credentials::Bearer(_)) => {
            ApiError::unauthorized("the token is not the dashboard's token").into_response()
        }
        Some(Credentials::Other(scheme)) => ApiError::unauthorized(&format!(
            "the dashboard takes its token as `Authorization: Bearer <token>`, not a `{scheme}` credential"
        ))
        .into_response(),
        None => {
            ApiError::unauthorized("send the dashboard's token as `Authorization: Bearer <token>`")
                .into_response()
        }
    }
}

/// What an `Authorization` header carries.
#[derive(Debug, PartialEq, Eq)]
enum Credentials<'a> {
    /// A bearer token (the scheme compared without regard to case, RFC 9110 §11.1).
    Bearer(&'a str),
    /// Another scheme, or none: named in the answer, the credential itself never.
    Other(&'a str),
}

fn credentials(header: &str) -> Credentials<'_> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        Credentials::Bearer(rest.trim())
    } else {
        // Only a token-like scheme name is echoed; anything else is not a scheme.
        let named = scheme.len() <= 20
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        Credentials::Other(if named { scheme } else { "non-Bearer" })
    }
}

/// Compares in constant time, so that the time taken does not tell how much of a guess matched.
/// (A wrong length is told apart quicker; the length of a token is no secret worth the cost.)
fn token_matches(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::{Credentials, credentials, token_matches};

    #[test]
    fn the_scheme_is_case_insensitive_and_other_schemes_are_named() {
        assert_eq!(credentials("Bearer abc"), Credentials::Bearer("abc"));
        assert_eq!(credentials("bearer abc"), Credentials::Bearer("abc"));
        assert_eq!(credentials("BEARER  abc "), Credentials::Bearer("abc"));
        assert_eq!(
            credentials("Basic dXNlcjpwYXNz"),
            Credentials::Other("Basic")
        );
        assert_eq!(credentials("abc"), Credentials::Other("abc"));
        assert_eq!(credentials("{\"x\"} y"), Credentials::Other("non-Bearer"));
    }

    #[test]
    fn matches_only_the_same_token() {
        assert!(token_matches("abcdefgh", "abcdefgh"));
        assert!(!token_matches("abcdefgX", "abcdefgh"));
        assert!(!token_matches("abcdefg", "abcdefgh"));
        assert!(!token_matches("", "abcdefgh"));
    }
}
