//! Insights: what to look at, in words.

use serde::Serialize;

/// How much an insight matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Worth acting on.
    Warning,
}

/// One thing to look at.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Insight {
    /// How much it matters.
    pub severity: Severity,
    /// What it is about, for grouping: `slowest_stage`, `rising_errors`, `leak`, `cache`,
    /// `costliest_model`.
    pub kind: &'static str,
    /// What to look at, in one sentence.
    pub message: String,
}

/// What to look at now, most pressing first.
pub fn insights(_detector: &monitor_core::LeakDetector) -> Vec<Insight> {
    Vec::new()
}
