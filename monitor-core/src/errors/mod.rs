//! Errors: how failed calls' messages are kept — redacted of secrets, grouped into patterns — and
//! panics recorded as errors.
//!
//! Reach for it to add a redaction of your own ([`add_redaction`]), to see what a message
//! becomes ([`redact`], [`normalize`]), or to record panics without [`init`](crate::init)
//! ([`record_panics`]). The patterns themselves are read with
//! [`snapshot::error_patterns`](crate::snapshot::error_patterns).
//!
//! ```
//! assert_eq!(monitor_core::errors::redact("token=abc123secret"), "token=<redacted>");
//! ```
//!
//! Every failed call's error (its `Display`, else `Debug`, else its type name) is grouped by
//! site, error type and a normalised message — numbers, UUIDs, hex and quoted values become
//! `<n>`, `<uuid>`, `<hex>`, `'<s>'` — with count, first and last seen and the latest example.
//! Messages are redacted before anything is stored: things shaped like API keys (`sk-…`, AWS,
//! GitHub, Slack, JWTs), bearer tokens, `password=`/`token=` values, passwords in URLs and e-mail
//! addresses; [`add_redaction`]`(regex)` (or `MONITOR_REDACT`, one pattern a line) adds patterns.
//! Argument values are never recorded. At most [`MAX_PATTERNS`] (1,024) patterns are kept;
//! errors beyond are counted in `dropped`.
//!
//! Panics are filed too (type `panic`, with their message) once [`record_panics`] — which
//! [`init`](crate::init) calls — has installed its hook; the hook already in place still runs.
//!
//! An error's type is its Rust type's name, unless the type implements [`ErrorType`]: then each
//! value names its kind (`rate_limited`, `http 401`), from a small fixed set, in patterns, events,
//! spans and series.

// Errors: redaction of messages, their patterns, and panics as errors.
//
// Knows nothing of sites beyond a key the record path gives it; `crate::snapshot` turns the
// table into [`ErrorPattern`](crate::snapshot::ErrorPattern)s.
pub(crate) mod panics;
pub(crate) mod patterns;
pub(crate) mod redact;

pub use panics::record_panics;

/// The kind of error a value is, when its type's name says too little: one error enum for every
/// way a call to a provider fails gives every failure the same type, where `rate_limited`,
/// `http 401` and `stream_cut` are what an operator needs told apart.
///
/// A failed call's error type is its error's type name (`my_app::LlmError`) unless the type
/// implements this trait: then it is what [`error_type`](ErrorType::error_type) says for that
/// value. It labels the call's error patterns, its events, the `error.type` of its spans and of
/// the GenAI series, so it must come from a small fixed set: no ids, no counts, no messages (the
/// message is kept beside it).
///
/// ```
/// use monitor_core::errors::ErrorType;
///
/// #[derive(Debug)]
/// enum LlmError {
///     RateLimited,
///     Http(u16),
/// }
///
/// impl std::fmt::Display for LlmError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         match self {
///             LlmError::RateLimited => f.write_str("rate limited"),
///             LlmError::Http(status) => write!(f, "http {status}"),
///         }
///     }
/// }
///
/// impl ErrorType for LlmError {
///     fn error_type(&self) -> &'static str {
///         match self {
///             LlmError::RateLimited => "rate_limited",
///             LlmError::Http(401) => "http 401",
///             LlmError::Http(_) => "http",
///         }
///     }
/// }
///
/// #[monitor_core::tracks_tokens(model = "gpt-4o")]
/// fn complete(n: u32) -> Result<monitor_core::Tokens, LlmError> {
///     if n == 0 { Err(LlmError::RateLimited) } else { Ok(monitor_core::Tokens::new(n.into(), 1)) }
/// }
///
/// let _ = complete(0);
/// let patterns = monitor_core::snapshot::error_patterns().patterns;
/// assert!(patterns.iter().any(|p| p.error_type == "rate_limited"));
/// ```
pub trait ErrorType {
    /// This error's kind.
    fn error_type(&self) -> &'static str;
}
pub use patterns::{MAX_EXAMPLE_CHARS, MAX_PATTERNS};
pub use redact::{REDACTED, RedactionError, add_redaction, normalize, redact};
