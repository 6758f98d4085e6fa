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

// Errors: redaction of messages, their patterns, and panics as errors.
//
// Knows nothing of sites beyond a key the record path gives it; `crate::snapshot` turns the
// table into [`ErrorPattern`](crate::snapshot::ErrorPattern)s.
pub(crate) mod panics;
pub(crate) mod patterns;
pub(crate) mod redact;

pub use panics::record_panics;
pub use patterns::{MAX_EXAMPLE_CHARS, MAX_PATTERNS};
pub use redact::{REDACTED, RedactionError, add_redaction, normalize, redact};
