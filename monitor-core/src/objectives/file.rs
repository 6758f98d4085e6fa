//! Objectives from a JSON file (`MONITOR_OBJECTIVES_FILE`), for a service that declares them in
//! its configuration rather than its code:
//!
//! ```json
//! { "objectives": [
//!   { "name": "logo-api", "success_rate": 0.995, "kind": "handler" },
//!   { "name": "logo-latency", "latency": { "threshold_ms": 400, "target": 0.99 },
//!     "route": "POST /api/logos", "window_days": 28 },
//!   { "name": "logo-cost", "cost_usd": { "max": 0.02, "per": "run" }, "pipeline": "logo" },
//!   { "name": "sonnet-spend", "cost_usd": { "max": 50, "per_days": 1 },
//!     "model": "claude-sonnet-4-5" },
//!   { "name": "logo-tokens", "tokens": { "max": 4000, "per": "run" }, "pipeline": "logo" }
//! ] }
//! ```
//!
//! Each entry has a name, exactly one goal (`success_rate`, `latency`, `cost_usd`, `tokens`), any
//! of the selector's fields (`kind`, `site`, `route`, `pipeline`, `stage`, `model`), and
//! optionally `window_days` (default 30). A budget is `per` `"call"` or `"run"`, or `per_days` or
//! `per_hours`.

use super::declare::{Goal, Objective, Per};
use crate::record::site::SiteKind;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A file of objectives that cannot be read, naming it.
#[derive(Debug)]
#[non_exhaustive]
pub struct ObjectivesFileError {
    /// The file.
    pub path: PathBuf,
    /// Why, in words: the system's error, or where the JSON is wrong.
    pub reason: String,
}

impl fmt::Display for ObjectivesFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "objectives file {}: {}",
            self.path.display(),
            self.reason
        )
    }
}

impl std::error::Error for ObjectivesFileError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    objectives: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    success_rate: Option<f64>,
    latency: Option<Latency>,
    cost_usd: Option<Budget<f64>>,
    tokens: Option<Budget<u64>>,
    kind: Option<String>,
    site: Option<String>,
    route: Option<String>,
    pipeline: Option<String>,
    stage: Option<String>,
    model: Option<String>,
    window_days: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Latency {
    threshold_ms: f64,
    target: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Budget<T> {
    max: T,
    per: Option<String>,
    per_days: Option<f64>,
    per_hours: Option<f64>,
}

fn seconds(value: f64, unit: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(value * unit).ok()
}

impl<T> Budget<T> {
    fn per(&self) -> Result<Per, String> {
        match (self.per.as_deref(), self.per_days, self.per_hours) {
            (Some("call"), None, None) => Ok(Per::Call),
            (Some("run"), None, None) => Ok(Per::Run),
            (None, Some(days), None) => seconds(days, 86_400.0)
                .map(Per::Period)
                .ok_or_else(|| format!("per_days {days} is not a number of days")),
            (None, None, Some(hours)) => seconds(hours, 3_600.0)
                .map(Per::Period)
                .ok_or_else(|| format!("per_hours {hours} is not a number of hours")),
            _ => Err("a budget needs one of per (\"call\" or \"run\"), per_days, per_hours".into()),
        }
    }
}

impl Entry {
    fn objective(self) -> Result<Objective, String> {
        let name = self.name;
        let per = |b: &dyn Fn() -> Result<Per, String>| {
            b().map_err(|e| format!("objective `{name}`: {e}"))
        };
        let goal = match (self.success_rate, self.latency, self.cost_usd, self.tokens) {
            (Some(target), None, None, None) => Goal::SuccessRate { target },
            (None, Some(l), None, None) => Goal::Latency {
                threshold: seconds(l.threshold_ms, 1e-3).ok_or_else(|| {
                    format!(
                        "objective `{name}`: threshold_ms {} is not valid",
                        l.threshold_ms
                    )
                })?,
                target: l.target,
            },
            (None, None, Some(b), None) => Goal::Cost {
                max_usd: b.max,
                per: per(&|| b.per())?,
            },
            (None, None, None, Some(b)) => Goal::Tokens {
                max: b.max,
                per: per(&|| b.per())?,
            },
            _ => {
                return Err(format!(
                    "objective `{name}` needs exactly one of success_rate, latency, cost_usd, \
                     tokens"
                ));
            }
        };
        let mut objective = match goal {
            Goal::SuccessRate { target } => Objective::success_rate(&name, target),
            Goal::Latency { threshold, target } => Objective::latency(&name, threshold, target),
            Goal::Cost { max_usd, per } => Objective::cost(&name, max_usd, per),
            Goal::Tokens { max, per } => Objective::tokens(&name, max, per),
        };
        if let Some(kind) = self.kind {
            let kind = SiteKind::parse(&kind).ok_or_else(|| {
                format!("objective `{name}`: kind {kind:?} is not handler, stage or tokens")
            })?;
            objective = objective.kind(kind);
        }
        for (set, value) in [
            (
                Objective::site as fn(Objective, String) -> Objective,
                self.site,
            ),
            (Objective::route, self.route),
            (Objective::pipeline, self.pipeline),
            (Objective::stage, self.stage),
            (Objective::model, self.model),
        ] {
            if let Some(value) = value {
                objective = set(objective, value);
            }
        }
        if let Some(days) = self.window_days {
            objective = objective.window(seconds(days, 86_400.0).ok_or_else(|| {
                format!("objective `{name}`: window_days {days} is not a number of days")
            })?);
        }
        Ok(objective)
    }
}

/// The objectives the file at `path` declares (not yet checked: [`Config::apply`] checks them).
///
/// [`Config::apply`]: crate::Config::apply
pub(crate) fn read(path: &Path) -> Result<Vec<Objective>, ObjectivesFileError> {
    let fail = |reason: String| ObjectivesFileError {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let file: File = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    file.objectives
        .into_iter()
        .map(|entry| entry.objective().map_err(fail))
        .collect()
}
