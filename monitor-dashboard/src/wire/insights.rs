//! `/api/insights`.

use serde::Serialize;

/// The answer: what to look at, most pressing first.
#[derive(Serialize)]
pub(crate) struct Insights {
    pub(crate) insights: Vec<Insight>,
}

/// One insight.
#[derive(Serialize)]
pub(crate) struct Insight {
    severity: Severity,
    kind: &'static str,
    message: String,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Severity {
    Info,
    Warning,
}

impl From<monitor_core::insights::Insight> for Insight {
    fn from(insight: monitor_core::insights::Insight) -> Insight {
        use monitor_core::insights::Severity as Core;
        Insight {
            severity: match insight.severity {
                Core::Info => Severity::Info,
                Core::Warning => Severity::Warning,
            },
            kind: insight.kind,
            message: insight.message,
        }
    }
}
