//! `/api/objectives`: each objective as it stands.

use super::common::{kind, secs};
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct Objectives {
    pub(crate) objectives: Vec<ObjectiveStatus>,
}

#[derive(Serialize)]
pub(crate) struct ObjectiveStatus {
    objective: Objective,
    /// The sites it covers, by qualified name: the page names them, it need not describe them.
    sites: Vec<&'static str>,
    indicator: Option<f64>,
    events: u64,
    spent: f64,
    budget_remaining: Option<f64>,
    burn_rates: Vec<BurnRate>,
    state: &'static str,
    insight: Option<String>,
}

impl From<&monitor_core::objectives::ObjectiveStatus> for ObjectiveStatus {
    fn from(s: &monitor_core::objectives::ObjectiveStatus) -> ObjectiveStatus {
        ObjectiveStatus {
            objective: (&s.objective).into(),
            sites: s.sites.iter().map(|site| site.qualified_name()).collect(),
            indicator: s.indicator,
            events: s.events,
            spent: s.spent,
            budget_remaining: s.budget_remaining,
            burn_rates: s
                .burn_rates
                .iter()
                .map(|b| BurnRate {
                    window: secs(b.window),
                    rate: b.rate,
                    covered: secs(b.covered),
                })
                .collect(),
            state: state(s.state),
            insight: s.insight.clone(),
        }
    }
}

fn state(state: monitor_core::objectives::ObjectiveState) -> &'static str {
    use monitor_core::objectives::ObjectiveState as S;
    match state {
        S::NoData => "no_data",
        S::Ok => "ok",
        S::Ticket => "ticket",
        S::Page => "page",
        S::Exhausted => "exhausted",
        // Core may add states; until one is named here the page shows it as unknown.
        _ => "unknown",
    }
}

#[derive(Serialize)]
struct BurnRate {
    window: f64,
    rate: Option<f64>,
    covered: f64,
}

#[derive(Serialize)]
struct Objective {
    name: String,
    goal: Goal,
    selector: Selector,
    window: f64,
}

impl From<&monitor_core::objectives::Objective> for Objective {
    fn from(o: &monitor_core::objectives::Objective) -> Objective {
        let s = &o.selector;
        Objective {
            name: o.name.clone(),
            goal: o.goal.into(),
            selector: Selector {
                kind: s.kind.map(kind),
                site: s.site.clone(),
                route: s.route.clone(),
                pipeline: s.pipeline.clone(),
                stage: s.stage.clone(),
                model: s.model.clone(),
            },
            window: secs(o.window),
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Goal {
    SuccessRate { target: f64 },
    Latency { threshold: f64, target: f64 },
    Cost { max_usd: f64, per: Per },
    Tokens { max: u64, per: Per },
}

impl From<monitor_core::objectives::Goal> for Goal {
    fn from(goal: monitor_core::objectives::Goal) -> Goal {
        use monitor_core::objectives::Goal as G;
        match goal {
            G::SuccessRate { target } => Goal::SuccessRate { target },
            G::Latency { threshold, target } => Goal::Latency {
                threshold: secs(threshold),
                target,
            },
            G::Cost { max_usd, per } => Goal::Cost {
                max_usd,
                per: per.into(),
            },
            G::Tokens { max, per } => Goal::Tokens {
                max,
                per: per.into(),
            },
        }
    }
}

/// `"call"`, `"run"`, or `{"period": seconds}`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Per {
    Call,
    Run,
    Period(f64),
}

impl From<monitor_core::objectives::Per> for Per {
    fn from(per: monitor_core::objectives::Per) -> Per {
        match per {
            monitor_core::objectives::Per::Call => Per::Call,
            monitor_core::objectives::Per::Run => Per::Run,
            monitor_core::objectives::Per::Period(every) => Per::Period(secs(every)),
        }
    }
}

/// The sites an objective covers beyond those that name it; what it does not filter on is left
/// out.
#[derive(Serialize)]
struct Selector {
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    site: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    route: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pipeline: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<String>,
}
