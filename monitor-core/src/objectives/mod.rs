//! Objectives and budgets: success rate, latency, cost and tokens, per call, per run or per
//! period, judged live from the history with the SRE workbook's burn rates.
//!
//! Reach for it to say what "good" is for your service — declare objectives in
//! [`Config::objectives`](crate::Config::objectives) or `MONITOR_OBJECTIVES_FILE`, name them in
//! the attributes (`objective = "…"`) — and to read how each stands ([`status`]); the
//! `monitor-export` crate writes the matching Prometheus alerting rules.
//!
//! An objective says what counts as good over which sites, judged over a window (30 days unless
//! it says otherwise, at least 3): a success rate, a latency, or a budget for what metered work
//! costs. A site may serve several.
//!
//! ```standalone_crate
//! # // A crate of its own: merged with the other doctests into one binary, this handler would
//! # // name an objective their `init` does not declare.
//! use monitor_core::objectives::{Objective, Per};
//! use monitor_core::site::SiteKind;
//! use monitor_core::{Config, monitored_handler};
//! use std::time::Duration;
//!
//! Config::new()
//!     .objectives([
//!         // 99.5 % of the API's calls succeed (no Err, no 5xx, no panic; a 4xx is the caller's).
//!         Objective::success_rate("logo-api", 0.995),
//!         // 99 % of logo requests finish within 500 ms — any threshold, counted exactly.
//!         Objective::latency("logo-latency", Duration::from_millis(500), 0.99)
//!             .route("POST /api/logos"),
//!         // At most $0.005 of LLM calls per run of the `logo` pipeline.
//!         Objective::cost("logo-cost", 0.005, Per::Run).pipeline("logo"),
//!         // At most $50 a day on one model.
//!         Objective::cost("sonnet-spend", 50.0, Per::Period(Duration::from_secs(86_400)))
//!             .model("claude-sonnet-4-5"),
//!         // Every handler, by kind.
//!         Objective::success_rate("handlers", 0.99).kind(SiteKind::Handler),
//!     ])
//!     .apply()?;
//!
//! // objective = "…" names one; objective = ["a", "b"] several.
//! #[monitored_handler(route = "POST /api/logos", objective = "logo-api")]
//! async fn create_logo(prompt: String) -> Result<String, std::io::Error> {
//!     Ok(prompt)
//! }
//! # Ok::<(), monitor_core::ConfigError>(())
//! ```
//!
//! # Which sites an objective covers
//!
//! A site is covered when its attribute names the objective (`objective = "…"`, also on an `impl`
//! block), or when the objective's selector picks it. A selector can use `kind`, `site`, `route`,
//! `pipeline`, `stage` and `model`, and every field it gives must match.
//!
//! # From configuration
//!
//! `MONITOR_OBJECTIVES_FILE` names a JSON file of objectives:
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
//! `per_hours`. A file that cannot be read is an [`ObjectivesFileError`].
//!
//! # Bad input
//!
//! Bad input is an error at [`Config::apply`](crate::Config::apply) (and so at
//! [`init`](crate::init)), naming the objective and the field ([`ObjectiveError`]). These are
//! refused: a target outside (0, 1); a threshold of 0, or a budget of 0; a budget per run without
//! a pipeline; a window shorter than 3 days; two objectives of one name; a site that would count
//! against more than [`MAX_LATENCY_THRESHOLDS`](crate::site::MAX_LATENCY_THRESHOLDS) (4) latency
//! thresholds. A site whose attribute names an objective no one declared is a
//! `ConfigError::Objective(ObjectiveError::Unknown { site, objective })`. A malformed attribute
//! (`objective = api`, a name with spaces) is a compile error spanned on it.
//!
//! # What the record path pays
//!
//! A latency objective needs the calls slower than its threshold, counted as each call is
//! recorded, not read off histogram buckets. A threshold between two bucket bounds is exactly as
//! good as one on a bound, unlike autometrics' thresholds, which must equal a bucket. The call's
//! duration was already compared with the site's outlier threshold; it is now compared with the
//! lower of that and the site's latency thresholds, so the record path makes the same single
//! compare as before. Only a call above it takes the cold path that counts it. A site without an
//! objective pays nothing more.
//!
//! # Live in the process
//!
//! [`status`] gives, for each objective ([`ObjectiveStatus`]):
//!
//! - the sites it covers;
//! - over its window: the indicator (share of good calls, or what was spent per call, per run or
//!   in the latest period), the calls judged, and what they spent;
//! - the share of the window's budget left;
//! - the burn rate over 5 m, 30 m, 1 h, 2 h, 6 h, 1 d and 3 d ([`BURN_WINDOWS`]), read from the
//!   history (with how much of each window the history covers);
//! - its state ([`ObjectiveState`]): `no_data`, `ok`, `ticket`, `page` or `exhausted`, from the
//!   SRE workbook's conditions ([`PAGE`], [`TICKET`]);
//! - an insight in words, such as "objective `logo-api` burns its 30-day budget 100× too fast
//!   (over the last 1 hour): at this rate it is gone in 7 hours".
//!
//! The dashboard's `/api/objectives` serves the same; its Objectives card shows it, and the
//! [insights](crate::insights) include it. A window longer than the history (24 h unless
//! `Config::retention` says more, with a history file to keep it) is judged on what the history
//! holds.
//!
//! # Rules for Prometheus
//!
//! `monitor_export::objective_rules::rules(&objectives, &options)` writes a rule file: a
//! recording rule `monitor:objective_burn_rate:<window>` per objective and window, and the
//! alerts `MonitorObjectivePage` (burn > 14.4 over 1 h and 5 m, or > 6 over 6 h and 30 m;
//! `for: 2m`) and `MonitorObjectiveTicket` (> 3 over 1 d and 2 h, or > 1 over 3 d and 6 h;
//! `for: 15m`). Latency objectives are backed by
//! `monitor_calls_within_total{threshold_seconds="0.5"}`, the exact good-call counter exported
//! beside the histogram.
//!
//! One thing differs between the process and Prometheus: a budget per period is judged, in both,
//! against the window's share of the budget. So when the history is younger than a window,
//! Prometheus's `rate` (and monitor's figure) hold only the part there is.

// Objectives: service level objectives and budgets declared in code or configuration, judged
// live from the history.
//
// An objective is declared ([`declare`]) with [`Config::objectives`](crate::Config::objectives)
// or `MONITOR_OBJECTIVES_FILE` ([`file`]), checked, and put in force: a latency objective has
// the sites it covers count their slower calls from then on (the record path compares a call's
// duration with one threshold, as it did for outliers alone). [`objectives`] then reads each
// objective's window and burn windows from the history ([`status`]).
pub(crate) mod declare;
pub(crate) mod file;
pub(crate) mod status;

pub use declare::{DEFAULT_WINDOW, Goal, LONGEST_BURN_WINDOW, Objective, ObjectiveError, Per};
pub use file::ObjectivesFileError;
pub use status::{
    BURN_WINDOWS, BurnRate, ObjectiveState, ObjectiveStatus, PAGE, TICKET, status, status_at,
};

use crate::record::registry;
use crate::record::select;
use parking_lot::RwLock;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The objectives in force.
// Configuration in force, like the price table: set by `Config::apply`, read by the record path's
// latency rules and by every reader of objectives.
static DECLARED: RwLock<Option<Arc<Vec<Objective>>>> = RwLock::new(None);

/// The objectives in force, as declared.
pub fn declared() -> Arc<Vec<Objective>> {
    DECLARED.read().clone().unwrap_or_default()
}

/// Whether `objective` covers `site`.
pub(crate) fn covers(objective: &Objective, site: &crate::Site) -> bool {
    select::covers(&objective.selector, &objective.name, site)
}

/// Checks `objectives` against each other and against the sites; changes nothing on an error.
pub(crate) fn check(objectives: &[Objective]) -> Result<(), ObjectiveError> {
    let mut names = BTreeSet::new();
    for objective in objectives {
        objective.check()?;
        if !names.insert(objective.name.as_str()) {
            return Err(ObjectiveError::Duplicate {
                objective: objective.name.clone(),
            });
        }
    }
    let all = registry::all();
    for site in all.iter() {
        if let Some(unknown) = site
            .objective_names()
            .iter()
            .find(|name| !names.contains(**name))
        {
            return Err(ObjectiveError::Unknown {
                site: site.id(),
                objective: (*unknown).to_owned(),
            });
        }
        // The thresholds the site counts against now, and those these objectives add.
        let mut thresholds: BTreeMap<u64, &str> = site
            .latency_thresholds()
            .into_iter()
            .map(|nanos| (nanos, ""))
            .collect();
        for objective in objectives.iter().filter(|o| covers(o, site)) {
            if let Goal::Latency { threshold, .. } = objective.goal {
                let nanos = u64::try_from(threshold.as_nanos()).unwrap_or(u64::MAX);
                thresholds.entry(nanos).or_insert(&objective.name);
                if thresholds.len() > crate::record::MAX_LATENCY_THRESHOLDS {
                    return Err(ObjectiveError::TooManyThresholds {
                        site: site.id(),
                        objective: objective.name.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Puts `objectives` in force, in place of those before (checked by [`check`] first). A latency
/// threshold, once counted at a site, stays counted: the counts are the site's figures.
pub(crate) fn install(objectives: Vec<Objective>) {
    let all = registry::all();
    for objective in &objectives {
        if let Goal::Latency { threshold, .. } = objective.goal {
            // Sites made from now on (route sites) count from their first call; those there are
            // now, from this one.
            select::add_latency_rule(&objective.selector, &objective.name, threshold);
            let units = crate::record::clock::units_of(threshold);
            for site in all.iter().filter(|site| covers(objective, site)) {
                site.watch_latency(threshold, units);
            }
        }
    }
    let mut any = false;
    for site in all.iter() {
        let b = budgets(&objectives, site);
        any |= b != crate::record::site::Budgets::NONE;
        site.set_budgets(b);
    }
    crate::record::run::set_budgets_in_force(any);
    *DECLARED.write() = Some(Arc::new(objectives));
}

/// The lowest token and cost budgets, per call and per run, of the objectives covering `site`:
/// what the tail rules keep a run as over budget by.
fn budgets(objectives: &[Objective], site: &crate::Site) -> crate::record::site::Budgets {
    let mut b = crate::record::site::Budgets::NONE;
    for objective in objectives.iter().filter(|o| covers(o, site)) {
        let (tokens, picousd, per) = match objective.goal {
            Goal::Tokens { max, per } => (max, u64::MAX, per),
            Goal::Cost { max_usd, per } => (u64::MAX, (max_usd * 1e12) as u64, per),
            _ => continue,
        };
        match per {
            Per::Call => {
                b.call_tokens = b.call_tokens.min(tokens);
                b.call_picousd = b.call_picousd.min(picousd);
            }
            Per::Run => {
                b.run_tokens = b.run_tokens.min(tokens);
                b.run_picousd = b.run_picousd.min(picousd);
            }
            Per::Period(_) => {}
        }
    }
    b
}
