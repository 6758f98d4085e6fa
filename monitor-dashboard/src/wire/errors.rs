//! `/api/errors`: the error patterns, most frequent first.

use super::common::{Moment, Site};
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct ErrorSummary {
    patterns: Vec<ErrorPattern>,
    dropped: u64,
}

impl From<&monitor_core::snapshot::ErrorSummary> for ErrorSummary {
    fn from(e: &monitor_core::snapshot::ErrorSummary) -> ErrorSummary {
        ErrorSummary {
            patterns: e.patterns.iter().map(Into::into).collect(),
            dropped: e.dropped,
        }
    }
}

#[derive(Serialize)]
struct ErrorPattern {
    site: Site,
    error_type: &'static str,
    pattern: String,
    count: u64,
    first_seen: Moment,
    last_seen: Moment,
    example: String,
}

impl From<&monitor_core::snapshot::ErrorPattern> for ErrorPattern {
    fn from(p: &monitor_core::snapshot::ErrorPattern) -> ErrorPattern {
        ErrorPattern {
            site: p.site.into(),
            error_type: p.error_type,
            pattern: p.pattern.clone(),
            count: p.count,
            first_seen: p.first_seen.into(),
            last_seen: p.last_seen.into(),
            example: p.example.clone(),
        }
    }
}
