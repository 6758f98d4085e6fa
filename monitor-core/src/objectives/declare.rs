//! What an objective is, how one is written, and the checks it must pass before it is in force.

use crate::record::select::Selector;
use crate::record::site::SiteKind;
use std::fmt;
use std::time::Duration;

/// The window an objective is judged over unless it says otherwise: 30 days.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(30 * 86_400);

/// The longest window burn rates are read over (3 days): an objective's window is at least this.
pub const LONGEST_BURN_WINDOW: Duration = Duration::from_secs(3 * 86_400);

/// A service level objective, or a budget for what metered work costs: what counts as good, over
/// which sites, judged over which window.
///
/// Sites come by a [`Selector`] (kind, site, route, pipeline, stage, model) or by naming the
/// objective in their attribute (`objective = "name"`); a site may serve several objectives.
///
/// # Examples
///
/// ```
/// use monitor_core::objectives::{Objective, Per};
/// use monitor_core::site::SiteKind;
/// use std::time::Duration;
///
/// let objectives = [
///     // 99.5 % of the API's calls succeed, over 30 days.
///     Objective::success_rate("logo-api", 0.995).kind(SiteKind::Handler),
///     // 99 % of logo requests finish within 400 ms, counted exactly as each call is recorded.
///     Objective::latency("logo-latency", Duration::from_millis(400), 0.99)
///         .route("POST /api/logos"),
///     // At most $0.02 of LLM calls per run of the `logo` pipeline.
///     Objective::cost("logo-cost", 0.02, Per::Run).pipeline("logo"),
///     // At most $50 a day on one model.
///     Objective::cost("sonnet-spend", 50.0, Per::Period(Duration::from_secs(86_400)))
///         .model("claude-sonnet-4-5"),
/// ];
/// monitor_core::Config::new().objectives(objectives).apply()?;
/// assert_eq!(monitor_core::objectives::status().len(), 4);
/// # Ok::<(), monitor_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Objective {
    /// Its name: what `objective = "…"` names, and the `objective` label of its rules.
    pub name: String,
    /// What counts as good.
    pub goal: Goal,
    /// The sites it covers beyond those that name it in their attribute.
    pub selector: Selector,
    /// The window its budget is judged over.
    pub window: Duration,
}

/// What an objective counts as good.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// A share of the calls that finished (`target`, e.g. 0.995) succeeds: no `Err`, no 5xx, no
    /// panic. A 4xx is the caller's error, not the service's: it counts as a success.
    SuccessRate {
        /// The share, in (0, 1).
        target: f64,
    },
    /// A share of the calls that finished (`target`, e.g. 0.99) finishes within `threshold`,
    /// whatever their outcome. Counted exactly as each call is recorded, not read off buckets:
    /// any threshold works.
    Latency {
        /// The longest a good call takes.
        threshold: Duration,
        /// The share, in (0, 1).
        target: f64,
    },
    /// At most `max_usd` of priced metered calls per `per`. Calls whose model has no price are
    /// not counted: their cost is unknown.
    Cost {
        /// The budget, in USD.
        max_usd: f64,
        /// What the budget is per.
        per: Per,
    },
    /// At most `max` tokens (input and output) per `per`.
    Tokens {
        /// The budget, in tokens.
        max: u64,
        /// What the budget is per.
        per: Per,
    },
}

/// What a budget is per.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Per {
    /// Per call of the sites covered.
    Call,
    /// Per run of the pipeline the objective selects: runs are the calls of its most-called
    /// stage, which every run passes through.
    Run,
    /// Per stretch of time (`Duration::from_secs(86_400)`: per day).
    Period(Duration),
}

impl Objective {
    fn new(name: impl Into<String>, goal: Goal) -> Objective {
        Objective {
            name: name.into(),
            goal,
            selector: Selector::default(),
            window: DEFAULT_WINDOW,
        }
    }

    /// A share of calls that succeed.
    pub fn success_rate(name: impl Into<String>, target: f64) -> Objective {
        Objective::new(name, Goal::SuccessRate { target })
    }

    /// A share of calls that finish within `threshold`.
    pub fn latency(name: impl Into<String>, threshold: Duration, target: f64) -> Objective {
        Objective::new(name, Goal::Latency { threshold, target })
    }

    /// At most `max_usd` per `per`.
    pub fn cost(name: impl Into<String>, max_usd: f64, per: Per) -> Objective {
        Objective::new(name, Goal::Cost { max_usd, per })
    }

    /// At most `max` tokens per `per`.
    pub fn tokens(name: impl Into<String>, max: u64, per: Per) -> Objective {
        Objective::new(name, Goal::Tokens { max, per })
    }

    /// Judged over `window` (default 30 days; at least 3).
    pub fn window(mut self, window: Duration) -> Objective {
        self.window = window;
        self
    }

    /// Covers the sites of `kind`.
    pub fn kind(mut self, kind: SiteKind) -> Objective {
        self.selector = self.selector.kind(kind);
        self
    }

    /// Covers the site called `name`.
    pub fn site(mut self, name: impl Into<String>) -> Objective {
        self.selector = self.selector.site(name);
        self
    }

    /// Covers the handlers of `route`.
    pub fn route(mut self, route: impl Into<String>) -> Objective {
        self.selector = self.selector.route(route);
        self
    }

    /// Covers the stages of `pipeline`.
    pub fn pipeline(mut self, pipeline: impl Into<String>) -> Objective {
        self.selector = self.selector.pipeline(pipeline);
        self
    }

    /// Covers the stages called `stage`.
    pub fn stage(mut self, stage: impl Into<String>) -> Objective {
        self.selector = self.selector.stage(stage);
        self
    }

    /// Covers the calls of `model`.
    pub fn model(mut self, model: impl Into<String>) -> Objective {
        self.selector = self.selector.model(model);
        self
    }

    /// The share of good events this objective aims at, for a success or latency objective.
    pub fn target(&self) -> Option<f64> {
        match self.goal {
            Goal::SuccessRate { target } | Goal::Latency { target, .. } => Some(target),
            Goal::Cost { .. } | Goal::Tokens { .. } => None,
        }
    }

    /// Checks the fields that can be wrong.
    pub(crate) fn check(&self) -> Result<(), ObjectiveError> {
        let invalid = |field, value: String, expected| ObjectiveError::Invalid {
            objective: self.name.clone(),
            field,
            value,
            expected,
        };
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !name_ok {
            return Err(invalid(
                "name",
                self.name.clone(),
                "1 to 64 letters, digits, '-', '_' or '.'",
            ));
        }
        let share = |target: f64| target > 0.0 && target < 1.0;
        match self.goal {
            Goal::SuccessRate { target } | Goal::Latency { target, .. } if !share(target) => {
                return Err(invalid(
                    "target",
                    target.to_string(),
                    "a share between 0 and 1, both excluded",
                ));
            }
            Goal::Latency { threshold, .. } if threshold.is_zero() => {
                return Err(invalid(
                    "threshold",
                    format!("{threshold:?}"),
                    "a duration above 0",
                ));
            }
            Goal::Cost { max_usd, .. } if !(max_usd.is_finite() && max_usd > 0.0) => {
                return Err(invalid("max_usd", max_usd.to_string(), "an amount above 0"));
            }
            Goal::Tokens { max: 0, .. } => {
                return Err(invalid("max", "0".into(), "a number of tokens above 0"));
            }
            _ => {}
        }
        if let Goal::Cost { per, .. } | Goal::Tokens { per, .. } = self.goal {
            match per {
                Per::Period(period) if period.is_zero() => {
                    return Err(invalid("per", format!("{period:?}"), "a period above 0"));
                }
                Per::Run if self.selector.pipeline.is_none() => {
                    return Err(invalid(
                        "per",
                        "run".into(),
                        "a pipeline to count runs of (`.pipeline(…)`)",
                    ));
                }
                _ => {}
            }
        }
        if self.window < LONGEST_BURN_WINDOW {
            return Err(invalid(
                "window",
                format!("{:?}", self.window),
                "3 days or more: the longest burn window",
            ));
        }
        Ok(())
    }
}

/// An objective that cannot be put in force, naming it and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectiveError {
    /// A field of the wrong value.
    Invalid {
        /// The objective.
        objective: String,
        /// The field: `name`, `target`, `threshold`, `max_usd`, `max`, `per` or `window`.
        field: &'static str,
        /// The value given.
        value: String,
        /// What the field accepts.
        expected: &'static str,
    },
    /// Two objectives of one name.
    Duplicate {
        /// The name.
        objective: String,
    },
    /// A site's attribute names an objective that is not declared.
    Unknown {
        /// The site, as `module::name@file:line`.
        site: String,
        /// The name its attribute gives.
        objective: String,
    },
    /// A site that already counts its calls against as many latency thresholds as it can
    /// ([`MAX_LATENCY_THRESHOLDS`](crate::record::MAX_LATENCY_THRESHOLDS)).
    TooManyThresholds {
        /// The site.
        site: String,
        /// The latency objective that could not be counted there.
        objective: String,
    },
}

impl fmt::Display for ObjectiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectiveError::Invalid {
                objective,
                field,
                value,
                expected,
            } => write!(
                f,
                "objective `{objective}`: {field} {value} is not valid: expected {expected}"
            ),
            ObjectiveError::Duplicate { objective } => {
                write!(f, "objective `{objective}` is declared twice")
            }
            ObjectiveError::Unknown { site, objective } => write!(
                f,
                "site {site} names objective `{objective}`, which is not declared"
            ),
            ObjectiveError::TooManyThresholds { site, objective } => write!(
                f,
                "site {site} cannot count calls for latency objective `{objective}`: it counts \
                 against {} thresholds already",
                crate::record::MAX_LATENCY_THRESHOLDS
            ),
        }
    }
}

impl std::error::Error for ObjectiveError {}
