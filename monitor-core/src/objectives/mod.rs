//! Objectives and budgets: success rate, latency, cost and tokens, per call, per run or per
//! period, judged live from the history with the SRE workbook's burn rates.
//!
//! Reach for it to say what "good" is for your service — declare objectives in
//! [`Config::objectives`](crate::Config::objectives) or `MONITOR_OBJECTIVES_FILE`, name them in
//! the attributes (`objective = "…"`) — and to read how each stands ([`status`]); the
//! `monitor-export` crate writes the matching Prometheus alerting rules.
//!
//! ```
//! use monitor_core::objectives::Objective;
//! use monitor_core::site::SiteKind;
//!
//! let api = Objective::success_rate("api-success", 0.995).kind(SiteKind::Handler);
//! let config = monitor_core::Config::new().objectives([api]);
//! # let _ = config;
//! ```

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
