//! Where each objective stands: its indicator and budget over its window, and how fast it burns
//! the budget over the windows of the SRE workbook's multi-window, multi-burn-rate alerts.
//!
//! A burn rate is how fast a window spends the budget, as a multiple of the pace that would spend
//! it exactly by the end of the objective's window: for a 99.5 % success objective, a window with
//! 5 % of its calls failing burns at 10. Budgets burn the same way: spending at twice the allowed
//! pace is a burn rate of 2.

use super::declare::{Goal, Objective, Per};
use crate::figures::Figures;
use crate::history::query::site_totals;
use crate::history::state::{oldest_ms, unix_ms};
use crate::record::registry;
use crate::record::site::Site;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// The windows burn rates are read over: 5 minutes, 30 minutes, 1, 2 and 6 hours, 1 and 3 days.
pub const BURN_WINDOWS: [Duration; 7] = [
    Duration::from_secs(300),
    Duration::from_secs(1_800),
    Duration::from_secs(3_600),
    Duration::from_secs(7_200),
    Duration::from_secs(21_600),
    Duration::from_secs(86_400),
    Duration::from_secs(259_200),
];

/// The page conditions (SRE workbook, table 5-8): a burn rate over a long window and over a short
/// one, both above the factor — `(long, short, factor)`.
pub const PAGE: [(Duration, Duration, f64); 2] = [
    (Duration::from_secs(3_600), Duration::from_secs(300), 14.4),
    (Duration::from_secs(21_600), Duration::from_secs(1_800), 6.0),
];

/// The ticket conditions, in the same form.
pub const TICKET: [(Duration, Duration, f64); 2] = [
    (Duration::from_secs(86_400), Duration::from_secs(7_200), 3.0),
    (
        Duration::from_secs(259_200),
        Duration::from_secs(21_600),
        1.0,
    ),
];

/// The burn rate over one window.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct BurnRate {
    /// The window.
    pub window: Duration,
    /// The burn rate; `None` without calls in the window.
    pub rate: Option<f64>,
    /// How much of the window the history covers: less than the window when the history is
    /// younger or keeps less (see `Config::retention`).
    pub covered: Duration,
}

/// How an objective stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ObjectiveState {
    /// No call in its window yet.
    NoData,
    /// Within its budget, and burning it slowly enough.
    Ok,
    /// A ticket condition holds: at this pace the budget runs out before the window ends.
    Ticket,
    /// A page condition holds: the budget burns many times too fast.
    Page,
    /// The budget of the window is spent.
    Exhausted,
}

/// One objective, as it stands.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ObjectiveStatus {
    /// The objective.
    pub objective: Objective,
    /// The sites it covers now.
    pub sites: Vec<&'static Site>,
    /// Over its window: the share of good calls (success and latency objectives), or what was
    /// spent per call or per run; for a budget per period, what the latest period spent.
    pub indicator: Option<f64>,
    /// Over its window: the calls it judged (the runs, for a budget per run).
    pub events: u64,
    /// Over its window: the bad calls (success and latency objectives), or what was spent (USD
    /// or tokens).
    pub spent: f64,
    /// The share of the window's budget left: 1 untouched, 0 spent, below 0 overspent.
    pub budget_remaining: Option<f64>,
    /// Burn rates over [`BURN_WINDOWS`].
    pub burn_rates: Vec<BurnRate>,
    /// How it stands.
    pub state: ObjectiveState,
    /// What it means, in words, when it is not fine.
    pub insight: Option<String>,
}

/// Every objective in force, as it stands now.
pub fn status() -> Vec<ObjectiveStatus> {
    status_at(SystemTime::now())
}

/// Every objective in force, as it stood at `now` (for a history driven by a clock of its own,
/// as tests drive it with [`tick_at`](crate::history::tick_at)).
pub fn status_at(now: SystemTime) -> Vec<ObjectiveStatus> {
    let now_ms = unix_ms(now);
    let oldest = oldest_ms().unwrap_or(now_ms);
    let all = registry::all();
    super::declared()
        .iter()
        .map(|objective| {
            let covered: Vec<bool> = all.iter().map(|s| super::covers(objective, s)).collect();
            let sites = all
                .iter()
                .zip(&covered)
                .filter(|(_, c)| **c)
                .map(|(s, _)| *s)
                .collect();
            let judge = |window: Duration| {
                let from = now_ms.saturating_sub(millis(window));
                let span = Duration::from_millis(now_ms - from.max(oldest).min(now_ms));
                let totals = site_totals(
                    from,
                    now_ms,
                    &|index| covered.get(index).copied().unwrap_or(false),
                    objective.selector.model.as_deref(),
                );
                (Window::of(objective, &all, &totals, window), span)
            };
            let (mut whole, _) = judge(objective.window);
            // A budget per period: what the latest period spent, as it stands.
            if let Goal::Cost {
                per: Per::Period(period),
                ..
            }
            | Goal::Tokens {
                per: Per::Period(period),
                ..
            } = objective.goal
            {
                whole.indicator = Some(judge(period.min(objective.window)).0.spent);
            }
            let burn_rates: Vec<BurnRate> = BURN_WINDOWS
                .iter()
                .map(|&window| {
                    let (w, covered) = judge(window);
                    BurnRate {
                        window,
                        rate: w.burn,
                        covered,
                    }
                })
                .collect();
            let budget_remaining = whole.burn.map(|b| 1.0 - b);
            let state = state_of(budget_remaining, &burn_rates);
            let insight = insight(objective, state, budget_remaining, &burn_rates);
            ObjectiveStatus {
                objective: objective.clone(),
                sites,
                indicator: whole.indicator,
                events: whole.events,
                spent: whole.spent,
                budget_remaining,
                burn_rates,
                state,
                insight,
            }
        })
        .collect()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// An objective over one window.
struct Window {
    indicator: Option<f64>,
    events: u64,
    spent: f64,
    /// The burn rate: the budget spent over the window as a multiple of its share of the budget.
    burn: Option<f64>,
}

impl Window {
    /// `totals` (by site index) judged by `objective`, over `window`. A budget per period is
    /// judged against the window's share of it, as Prometheus's `rate` over the window judges
    /// it, however much of the window the history holds: the burn rates here are those the
    /// rules alert on.
    fn of(
        objective: &Objective,
        all: &[&'static Site],
        totals: &BTreeMap<usize, Figures>,
        window: Duration,
    ) -> Window {
        let mut sum = Figures::default();
        for f in totals.values() {
            sum.add(f);
        }
        let ratio = |bad: u64, events: u64, target: f64| {
            let share = (events > 0).then(|| bad as f64 / events as f64);
            Window {
                indicator: share.map(|s| 1.0 - s),
                events,
                spent: bad as f64,
                burn: share.map(|s| s / (1.0 - target)),
            }
        };
        match objective.goal {
            Goal::SuccessRate { target } => ratio(sum.errors, sum.finished(), target),
            Goal::Latency { threshold, target } => {
                let events = sum.finished();
                let good = sum.finished_within(threshold).unwrap_or(events);
                ratio(events - good.min(events), events, target)
            }
            Goal::Cost { max_usd, per } => budget(
                sum.known_cost_usd(),
                max_usd,
                per,
                &sum,
                totals,
                all,
                window,
            ),
            Goal::Tokens { max, per } => budget(
                (sum.tokens.input + sum.tokens.output) as f64,
                max as f64,
                per,
                &sum,
                totals,
                all,
                window,
            ),
        }
    }
}

/// A budget of `max` per `per`, of which `spent` went over `window`.
fn budget(
    spent: f64,
    max: f64,
    per: Per,
    sum: &Figures,
    totals: &BTreeMap<usize, Figures>,
    all: &[&'static Site],
    window: Duration,
) -> Window {
    let (events, allowed) = match per {
        Per::Call => {
            let calls = sum.calls();
            (calls, max * calls as f64)
        }
        Per::Run => {
            // Every run passes through the pipeline's most-called stage.
            let runs = totals
                .iter()
                .filter(|(index, _)| all.get(**index).is_some_and(|s| s.stage().is_some()))
                .map(|(_, f)| f.calls())
                .max()
                .unwrap_or(0);
            (runs, max * runs as f64)
        }
        Per::Period(period) => (
            sum.calls(),
            max * window.as_secs_f64() / period.as_secs_f64(),
        ),
    };
    let per_event = match per {
        // Replaced by the latest period's spend (see `status_at`).
        Per::Period(_) => Some(spent),
        _ => (events > 0).then(|| spent / events as f64),
    };
    Window {
        indicator: per_event,
        events,
        spent,
        burn: (allowed > 0.0).then(|| spent / allowed),
    }
}

/// The state the budget and the burn rates put an objective in.
fn state_of(budget_remaining: Option<f64>, burn_rates: &[BurnRate]) -> ObjectiveState {
    let Some(remaining) = budget_remaining else {
        return ObjectiveState::NoData;
    };
    let rate = |window: Duration| {
        burn_rates
            .iter()
            .find(|b| b.window == window)
            .and_then(|b| b.rate)
            .unwrap_or(0.0)
    };
    let holds = |conditions: &[(Duration, Duration, f64)]| {
        conditions
            .iter()
            .any(|&(long, short, factor)| rate(long) > factor && rate(short) > factor)
    };
    if remaining <= 0.0 {
        ObjectiveState::Exhausted
    } else if holds(&PAGE) {
        ObjectiveState::Page
    } else if holds(&TICKET) {
        ObjectiveState::Ticket
    } else {
        ObjectiveState::Ok
    }
}

/// What the state means, in a sentence.
fn insight(
    objective: &Objective,
    state: ObjectiveState,
    budget_remaining: Option<f64>,
    burn_rates: &[BurnRate],
) -> Option<String> {
    let name = &objective.name;
    // "30-day", as an adjective.
    let window = words(objective.window).replacen(' ', "-", 1);
    let window = window.strip_suffix('s').unwrap_or(&window);
    match state {
        ObjectiveState::NoData | ObjectiveState::Ok => None,
        ObjectiveState::Exhausted => Some(format!(
            "objective `{name}` has spent its {window} budget ({:.0} % of it)",
            (1.0 - budget_remaining.unwrap_or(0.0)) * 100.0
        )),
        ObjectiveState::Page | ObjectiveState::Ticket => {
            let conditions: &[_] = if state == ObjectiveState::Page {
                &PAGE
            } else {
                &TICKET
            };
            // The long window of the condition that holds, with the highest rate.
            let (long, rate) = conditions
                .iter()
                .filter_map(|(long, _, _)| {
                    let b = burn_rates.iter().find(|b| b.window == *long)?;
                    Some((*long, b.rate?))
                })
                .fold(
                    (Duration::ZERO, 0.0),
                    |best, c| if c.1 > best.1 { c } else { best },
                );
            let left = budget_remaining.unwrap_or(0.0).max(0.0);
            let gone_in = Duration::from_secs_f64(
                (left * objective.window.as_secs_f64() / rate.max(1e-9)).min(1e12),
            );
            Some(format!(
                "objective `{name}` burns its {window} budget {rate:.0}× too fast (over the last \
                 {}): at this rate it is gone in {}",
                words(long),
                words(gone_in)
            ))
        }
    }
}

/// A duration in the largest whole unit that fits: "30-day", "2 days", "5 minutes".
fn words(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = if secs >= 86_400 {
        (secs / 86_400, "day")
    } else if secs >= 3_600 {
        (secs / 3_600, "hour")
    } else if secs >= 60 {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    match n {
        1 => format!("1 {unit}"),
        n => format!("{n} {unit}s"),
    }
}
