//! Failed calls' errors, grouped into patterns after redaction.

use http::StatusCode;
use monitor_core::snapshot::{ErrorPattern, error_patterns};
use monitor_core::{monitored_handler, pipeline_stage, tracks_tokens};
use monitor_tests::support::site;
use std::fmt;

fn patterns_of(name: &str) -> Vec<ErrorPattern> {
    let site = site(name);
    error_patterns()
        .patterns
        .into_iter()
        .filter(|p| std::ptr::eq(p.site, site))
        .collect()
}

#[derive(Debug)]
struct NotFound {
    user: u64,
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user {} not found", self.user)
    }
}

#[monitored_handler]
fn lookup(user: u64) -> Result<u64, NotFound> {
    if user.is_multiple_of(2) {
        Err(NotFound { user })
    } else {
        Ok(user)
    }
}

#[test]
fn errors_that_differ_only_in_values_form_one_pattern() {
    for user in 0..10 {
        let _ = lookup(user);
    }
    let patterns = patterns_of("lookup");
    assert_eq!(patterns.len(), 1, "{patterns:#?}");
    let p = &patterns[0];
    assert_eq!((p.count, p.pattern.as_str()), (5, "user <n> not found"));
    assert_eq!(p.example, "user 8 not found", "the latest message");
    assert!(
        p.error_type.ends_with("errors::NotFound"),
        "{}",
        p.error_type
    );
    assert!(p.first_seen <= p.last_seen);
}

#[pipeline_stage(pipeline = "errors")]
fn connect(attempt: u32) -> Result<(), String> {
    Err(format!(
        "connect to postgres://app:hunter2@db-{attempt}.internal failed; contact ops@example.com"
    ))
}

#[test]
fn secrets_never_reach_the_pattern_or_the_example() {
    let _ = connect(1);
    let _ = connect(2);
    let patterns = patterns_of("connect");
    assert_eq!(patterns.len(), 1, "{patterns:#?}");
    let p = &patterns[0];
    assert_eq!(p.count, 2);
    for text in [&p.pattern, &p.example] {
        assert!(
            !text.contains("hunter2") && !text.contains("ops@example.com"),
            "{text}"
        );
    }
    assert_eq!(
        p.example,
        "connect to postgres://app:<redacted>@db-2.internal failed; contact <email>"
    );
    assert_eq!(
        p.pattern,
        "connect to postgres://app:<redacted>@db-<n>.internal failed; contact <email>"
    );
    // Nowhere in what the patterns hold: every field, as Debug writes them all.
    let everything = format!("{:?}", error_patterns());
    assert!(!everything.contains("hunter2"));
}

#[derive(Debug)]
#[allow(dead_code)] // the field is read through `Debug`, which the lint does not see
enum OnlyDebug {
    Timeout { after_ms: u32 },
}

struct Opaque;

#[tracks_tokens(model = "errors-model")]
fn debug_only() -> Result<monitor_core::Tokens, OnlyDebug> {
    Err(OnlyDebug::Timeout { after_ms: 1500 })
}

#[monitored_handler]
fn opaque() -> Result<(), Opaque> {
    Err(Opaque)
}

#[test]
fn a_message_comes_from_display_else_debug_else_the_type_name() {
    let _ = debug_only();
    assert_eq!(
        patterns_of("debug_only")[0].example,
        "Timeout { after_ms: 1500 }"
    );
    assert_eq!(
        patterns_of("debug_only")[0].pattern,
        "Timeout { after_ms: <n> }"
    );
    let _ = opaque();
    let p = &patterns_of("opaque")[0];
    assert!(p.example.ends_with("errors::Opaque"), "{}", p.example);
}

#[monitored_handler]
fn client_mistake() -> Result<(), StatusCode> {
    Err(StatusCode::NOT_FOUND)
}

#[monitored_handler]
fn server_failure() -> Result<(), (StatusCode, String)> {
    Err((
        StatusCode::BAD_GATEWAY,
        "upstream 10.0.0.7 timed out".into(),
    ))
}

#[test]
fn only_failures_are_recorded_not_client_errors() {
    let _ = client_mistake();
    assert!(patterns_of("client_mistake").is_empty());
    let _ = server_failure();
    let p = &patterns_of("server_failure")[0];
    // A tuple has only `Debug`; the quoted message becomes one placeholder.
    assert_eq!(p.pattern, "(<n>, \"<s>\")");
}

#[monitored_handler]
fn panics_with(id: u32) -> u32 {
    assert!(id == 0, "order {id} has no lines");
    id
}

#[test]
fn panics_are_filed_with_their_message_once_the_hook_is_installed() {
    monitor_core::errors::record_panics();
    for id in [7, 8] {
        assert!(std::panic::catch_unwind(|| panics_with(id)).is_err());
    }
    let patterns = patterns_of("panics_with");
    assert_eq!(patterns.len(), 1, "{patterns:#?}");
    let p = &patterns[0];
    assert_eq!((p.error_type, p.count), ("panic", 2));
    assert_eq!(p.pattern, "order <n> has no lines");
    assert_eq!(p.example, "order 8 has no lines");
}

/// One error enum for every way a provider call fails, each variant a kind of its own.
#[derive(Debug)]
enum ProviderError {
    RateLimited { retry_after_ms: u64 },
    Http(u16),
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderError::RateLimited { retry_after_ms } => {
                write!(f, "rate limited, retry after {retry_after_ms} ms")
            }
            ProviderError::Http(status) => write!(f, "the provider answered {status}"),
        }
    }
}

impl monitor_core::errors::ErrorType for ProviderError {
    fn error_type(&self) -> &'static str {
        match self {
            ProviderError::RateLimited { .. } => "rate_limited",
            ProviderError::Http(401) => "http 401",
            ProviderError::Http(_) => "http",
        }
    }
}

#[tracks_tokens(model = "errors-kinds")]
fn provider_call(fail: Option<ProviderError>) -> Result<monitor_core::Tokens, ProviderError> {
    fail.map_or(Ok(monitor_core::Tokens::new(3, 1)), Err)
}

#[tracks_tokens(model = "errors-kinds-stream")]
fn provider_stream(
    fail: ProviderError,
) -> impl futures_util::Stream<Item = Result<monitor_core::Tokens, ProviderError>> {
    futures_util::stream::iter(vec![Ok(monitor_core::Tokens::new(2, 0)), Err(fail)])
}

#[test]
fn an_error_that_names_its_kind_is_filed_under_that_kind_not_its_type() {
    let _ = provider_call(Some(ProviderError::RateLimited {
        retry_after_ms: 250,
    }));
    let _ = provider_call(Some(ProviderError::Http(401)));
    let _ = provider_call(Some(ProviderError::Http(401)));
    let _ = provider_call(None);
    let mut kinds: Vec<(&str, u64, String)> = patterns_of("provider_call")
        .into_iter()
        .map(|p| (p.error_type, p.count, p.pattern))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("http 401", 2, "the provider answered <n>".to_owned()),
            (
                "rate_limited",
                1,
                "rate limited, retry after <n> ms".to_owned()
            )
        ]
    );
    let s = site("provider_call").stats();
    assert_eq!((s.calls(), s.errors), (4, 3));

    // A stream's failed item is the call's error, of its item's kind.
    let items =
        futures_util::StreamExt::collect::<Vec<_>>(provider_stream(ProviderError::Http(503)));
    assert_eq!(monitor_tests::support::block_on(items).len(), 2);
    let stream_kinds: Vec<&str> = patterns_of("provider_stream")
        .iter()
        .map(|p| p.error_type)
        .collect();
    assert_eq!(stream_kinds, ["http"]);
}
