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
