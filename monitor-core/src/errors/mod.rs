//! Errors: redaction of messages, their patterns, and panics as errors.
//!
//! Knows nothing of sites beyond a key the record path gives it; `crate::snapshot` turns the
//! table into [`ErrorPattern`](crate::ErrorPattern)s.

pub(crate) mod panics;
pub(crate) mod patterns;
pub(crate) mod redact;

pub use panics::record_panics;
pub use patterns::{MAX_EXAMPLE_CHARS, MAX_PATTERNS};
pub use redact::{REDACTED, RedactionError, add_redaction, normalize, redact};
