//! Prometheus rules for the objectives in force: a recording rule per objective and burn window,
//! and the SRE workbook's multi-window, multi-burn-rate alerts over them, all over the series
//! `/metrics` exports (and remote write pushes).
//!
//! Each objective gets `monitor:objective_burn_rate:<window>` for the windows of
//! [`BURN_WINDOWS`], labelled `objective`, and two alerts:
//!
//! | alert | `severity` | fires when | `for` |
//! |---|---|---|---|
//! | `MonitorObjectivePage` | `page` | burn > 14.4 over 1 h and 5 m, or > 6 over 6 h and 30 m | 2 m |
//! | `MonitorObjectiveTicket` | `ticket` | burn > 3 over 1 d and 2 h, or > 1 over 3 d and 6 h | 15 m |
//!
//! A success objective's burn rate is the share of finished calls that failed
//! (`monitor_calls_total{outcome=~"error|panic"}` over `monitor_call_duration_seconds_count`)
//! divided by the share allowed; a latency objective's, the share not within its threshold
//! (`monitor_calls_within_total`, counted exactly as each call is recorded — any threshold works,
//! not only a bucket's bound); a budget's, what was spent (`monitor_site_cost_usd_total`, or
//! `monitor_cost_usd_total` of a model; tokens likewise) over what the window's share of the
//! budget allows.
//!
//! [`RuleOptions::time_scale`] shortens every window and `for` by a factor, so that a test sees
//! in seconds what production sees in hours.
//!
//! The demo prints its rules with `logo-service --print-rules` (and `--rules-time-scale 60`). The
//! tests use the real tools: `promtool check rules` finds the rules clean; `promtool test rules`
//! runs them over synthetic series in which each alert must fire, and must not (the repository's
//! `tests/tests/objective_rules.rs`); the real Prometheus loads the demo's rules, scrapes the demo
//! while `--fail-rate 0.5` fails half its logo requests, and shows the page pending, then firing
//! (`monitor-examples/tests/objective_alerts.rs`; windows 60× shorter).
//!
//! # Examples
//!
//! ```
//! use monitor_core::objectives::Objective;
//! use monitor_core::site::SiteKind;
//! use monitor_export::objective_rules::{RuleOptions, rules};
//!
//! let api = Objective::success_rate("api", 0.995).kind(SiteKind::Handler);
//! let yaml = rules(&[api], &RuleOptions::default());
//! assert!(yaml.contains("record: monitor:objective_burn_rate:1h"));
//! assert!(yaml.contains("alert: MonitorObjectivePage"));
//! ```

use crate::prometheus::{
    CALL_DURATION, CALLS, CALLS_WITHIN, MODEL_COST, MODEL_LABEL, MODEL_TOKENS, OUTCOME_LABEL,
    SITE_COST, SITE_TOKENS, THRESHOLD_LABEL, TOKEN_TYPE_LABEL,
};
use crate::rules::threshold_label;
use monitor_core::figures::Outcomes;
use monitor_core::objectives::{BURN_WINDOWS, Goal, Objective, PAGE, Per, TICKET};
use std::fmt::Write;
use std::time::Duration;

/// The outcomes of [`CALLS`] a success objective counts as failures: an `Err` or a 5xx, and a
/// panic. A 4xx is the caller's error, and a cancelled call did not finish.
pub const FAILED: [&str; 2] = [Outcomes::NAMES[1], Outcomes::NAMES[3]];

/// How rules are made.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RuleOptions {
    /// Every window and `for` divided by this (default 1): 60 turns the 1-hour window into a
    /// minute. For tests and demonstrations.
    pub time_scale: f64,
    /// Label matchers every series of the rules must also carry: `job="logo-service"`.
    pub matchers: Vec<(String, String)>,
    /// Regular-expression matchers every series must also match: `job=~"$job"` (a Grafana
    /// dashboard's variables).
    pub regex_matchers: Vec<(String, String)>,
    /// Whether the Prometheus that evaluates the rules stores `monitor_call_duration_seconds` as
    /// a native histogram (`--enable-feature=native-histograms`), without its classic
    /// `_count` series: finished calls are then `histogram_count(…)` of it.
    pub native_histograms: bool,
}

impl Default for RuleOptions {
    fn default() -> Self {
        RuleOptions {
            time_scale: 1.0,
            matchers: Vec::new(),
            regex_matchers: Vec::new(),
            native_histograms: false,
        }
    }
}

impl RuleOptions {
    /// Windows and `for` divided by `factor` (1 or more).
    pub fn time_scale(mut self, factor: f64) -> RuleOptions {
        self.time_scale = if factor.is_finite() && factor >= 1.0 {
            factor
        } else {
            1.0
        };
        self
    }

    /// Series must also carry `label="value"`.
    pub fn matcher(mut self, label: impl Into<String>, value: impl Into<String>) -> RuleOptions {
        self.matchers.push((label.into(), value.into()));
        self
    }

    /// Series must also match `label=~"pattern"`.
    pub fn regex_matcher(
        mut self,
        label: impl Into<String>,
        pattern: impl Into<String>,
    ) -> RuleOptions {
        self.regex_matchers.push((label.into(), pattern.into()));
        self
    }

    /// Finished calls read from native histograms (see [`RuleOptions::native_histograms`]).
    pub fn native_histograms(mut self, native: bool) -> RuleOptions {
        self.native_histograms = native;
        self
    }
}

/// The rules of `objectives`, as a Prometheus rule file (YAML). Sites that name an objective in
/// their attribute are found among [`monitor_core::sites`].
pub fn rules(objectives: &[Objective], options: &RuleOptions) -> String {
    let mut out = String::from(
        "# Made by monitor_export::objective_rules from the objectives the service declares.\n\
         groups:\n  - name: monitor-objectives\n    rules:\n",
    );
    for objective in objectives {
        for window in BURN_WINDOWS {
            let _ = write!(
                out,
                "      - record: monitor:objective_burn_rate:{}\n        expr: |\n          {}\n        \
                 labels:\n          objective: {}\n",
                nominal(window),
                burn_rate_over(objective, options, &range(window, options)),
                quoted(&objective.name)
            );
        }
    }
    out.push_str("  - name: monitor-objectives-alerts\n    rules:\n");
    for objective in objectives {
        for (alert, severity, conditions, hold) in [
            (
                "MonitorObjectivePage",
                "page",
                &PAGE,
                Duration::from_secs(120),
            ),
            (
                "MonitorObjectiveTicket",
                "ticket",
                &TICKET,
                Duration::from_secs(900),
            ),
        ] {
            let expr: Vec<String> = conditions
                .iter()
                .map(|(long, short, factor)| {
                    let rate = |w: Duration| {
                        format!(
                            "monitor:objective_burn_rate:{}{{objective={}}} > {factor}",
                            nominal(w),
                            quoted(&objective.name)
                        )
                    };
                    format!("({} and {})", rate(*long), rate(*short))
                })
                .collect();
            let _ = write!(
                out,
                "      - alert: {alert}\n        expr: |\n          {}\n        for: {}\n        \
                 labels:\n          severity: {severity}\n          objective: {}\n        \
                 annotations:\n          summary: {}\n",
                expr.join(" or "),
                range(hold, options),
                quoted(&objective.name),
                quoted(&format!(
                    "objective {} burns its {} budget too fast",
                    objective.name,
                    nominal(objective.window)
                )),
            );
        }
    }
    out
}

/// The burn rate of `objective` over `window` (scaled by [`RuleOptions::time_scale`]), as a
/// PromQL expression: what `monitor:objective_burn_rate:<window>` records, for a query of its own
/// (a dashboard's panel) that needs no rule file. Over the objective's own window, 1 minus it is
/// the share of the budget left.
///
/// # Examples
///
/// ```
/// use monitor_core::objectives::Objective;
/// use monitor_export::objective_rules::{RuleOptions, burn_rate};
/// use std::time::Duration;
///
/// let api = Objective::success_rate("api", 0.995).route("GET /api");
/// let expr = burn_rate(&api, Duration::from_secs(3_600), &RuleOptions::default());
/// assert_eq!(
///     expr,
///     r#"(sum(rate(monitor_calls_total{route="GET /api",outcome=~"error|panic"}[1h])) / sum(rate(monitor_call_duration_seconds_count{route="GET /api"}[1h]))) / 0.005"#
/// );
/// ```
pub fn burn_rate(objective: &Objective, window: Duration, options: &RuleOptions) -> String {
    burn_rate_over(objective, options, &range(window, options))
}

/// The burn rate of `objective` over `range` (a PromQL range), as a PromQL expression.
fn burn_rate_over(objective: &Objective, options: &RuleOptions, range: &str) -> String {
    let rate = |metric: &str, extra: &str| {
        sum_of(objective, options, |m| {
            format!("rate({metric}{{{m}{extra}}}[{range}])")
        })
    };
    let finished = if options.native_histograms {
        sum_of(objective, options, |m| {
            format!("histogram_count(rate({CALL_DURATION}{{{m}}}[{range}]))")
        })
    } else {
        rate(&format!("{CALL_DURATION}_count"), "")
    };
    match objective.goal {
        Goal::SuccessRate { target } => format!(
            "({} / {finished}) / {}",
            rate(
                CALLS,
                &format!(r#",{OUTCOME_LABEL}=~"{}""#, FAILED.join("|"))
            ),
            allowed(target)
        ),
        Goal::Latency { threshold, target } => {
            let nanos = u64::try_from(threshold.as_nanos()).unwrap_or(u64::MAX);
            format!(
                "(1 - {} / {finished}) / {}",
                rate(
                    CALLS_WITHIN,
                    &format!(",{THRESHOLD_LABEL}={}", quoted(&threshold_label(nanos)))
                ),
                allowed(target)
            )
        }
        Goal::Cost { max_usd, per } => {
            let spent = spend(objective, options, range, "cost");
            budget(objective, options, range, &spent, max_usd, per)
        }
        Goal::Tokens { max, per } => {
            let spent = spend(objective, options, range, "tokens");
            budget(objective, options, range, &spent, max as f64, per)
        }
    }
}

/// `1 - target`, written exactly as far as a float prints.
fn allowed(target: f64) -> String {
    let allowed = 1.0 - target;
    // 1 - 0.995 is 0.0050000000000000044 in binary: round to what the target was written as.
    format!("{}", (allowed * 1e12).round() / 1e12)
}

/// What the covered sites spent per second over `range` (a rate): USD or tokens.
fn spend(objective: &Objective, options: &RuleOptions, range: &str, what: &str) -> String {
    let tokens = format!(r#",{TOKEN_TYPE_LABEL}=~"input|output""#);
    match (&objective.selector.model, what) {
        // A model's calls wherever they are made: the model's own series.
        (Some(model), "cost") => format!(
            "sum(rate({MODEL_COST}{{{MODEL_LABEL}={}{}}}[{range}]))",
            quoted(model),
            extra_matchers(options)
        ),
        (Some(model), _) => format!(
            "sum(rate({MODEL_TOKENS}{{{MODEL_LABEL}={}{tokens}{}}}[{range}]))",
            quoted(model),
            extra_matchers(options)
        ),
        (None, "cost") => sum_of(objective, options, |m| {
            format!("rate({SITE_COST}{{{m}}}[{range}])")
        }),
        (None, _) => sum_of(objective, options, |m| {
            format!("rate({SITE_TOKENS}{{{m}{tokens}}}[{range}])")
        }),
    }
}

/// A budget's burn rate: what `spent` (a rate) uses of what `max` per `per` allows.
fn budget(
    objective: &Objective,
    options: &RuleOptions,
    range: &str,
    spent: &str,
    max: f64,
    per: Per,
) -> String {
    match per {
        Per::Period(period) => {
            // Allowed per second, scaled like the windows: a day's budget spent in a scaled day.
            let per_second = max / (period.as_secs_f64() / options.time_scale);
            format!("{spent} / {per_second}")
        }
        Per::Call => format!(
            "({spent} / {}) / {max}",
            sum_of(objective, options, |m| {
                format!("rate({CALLS}{{{m}}}[{range}])")
            })
        ),
        Per::Run => {
            let runs = sum_of(objective, options, |m| {
                format!(r#"rate({CALLS}{{{m},kind="stage"}}[{range}])"#)
            });
            // Runs are the calls of the most-called stage: `sum by (stage)` then `max`.
            let runs = runs.replacen("sum(", "max(sum by (stage) (", 1) + ")";
            format!("({spent} / {runs}) / {max}")
        }
    }
}

/// `sum(f(m))` over the covered sites: `m` the label matchers of the selector, and those of the
/// sites that name the objective, joined with `or` (which keeps one of two identical series).
fn sum_of(objective: &Objective, options: &RuleOptions, f: impl Fn(&str) -> String) -> String {
    let extra = extra_matchers(options);
    let mut parts = Vec::new();
    let s = &objective.selector;
    let mut selector: Vec<String> = Vec::new();
    if let Some(kind) = s.kind {
        selector.push(format!("kind={}", quoted(kind.as_str())));
    }
    for (label, value) in [
        ("site", &s.site),
        ("route", &s.route),
        ("pipeline", &s.pipeline),
        ("stage", &s.stage),
    ] {
        if let Some(value) = value {
            selector.push(format!("{label}={}", quoted(value)));
        }
    }
    if s.model.is_some() {
        // Site series carry no model: the sites of the model, by name.
        let names: Vec<String> = monitor_core::sites()
            .filter(|site| s.matches(site))
            .map(|site| escape_regex(site.qualified_name()))
            .collect();
        selector.push(format!("site=~{}", quoted(&alternatives(&names))));
    }
    if !selector.is_empty() {
        parts.push(f(&(selector.join(",") + &extra)));
    }
    let named: Vec<String> = monitor_core::sites()
        .filter(|site| site.objective_names().contains(&objective.name.as_str()))
        .map(|site| escape_regex(site.qualified_name()))
        .collect();
    if !named.is_empty() {
        parts.push(f(&format!(
            "site=~{}{extra}",
            quoted(&alternatives(&names_deduped(named)))
        )));
    }
    if parts.is_empty() {
        // Covers nothing yet: a series no site has, so the rule is valid and silent.
        parts.push(f(&format!(
            r#"site="",objective_covers_no_site="{}"{extra}"#,
            objective.name
        )));
    }
    format!("sum({})", parts.join(" or "))
}

fn names_deduped(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names.dedup();
    names
}

/// `(a|b)`, or a pattern no name matches when there are none.
fn alternatives(names: &[String]) -> String {
    if names.is_empty() {
        "^$".to_owned()
    } else {
        names.join("|")
    }
}

fn extra_matchers(options: &RuleOptions) -> String {
    let equal = options
        .matchers
        .iter()
        .map(|(label, value)| format!(",{label}={}", quoted(value)));
    let regex = options
        .regex_matchers
        .iter()
        .map(|(label, pattern)| format!(",{label}=~{}", quoted(pattern)));
    equal.chain(regex).collect()
}

/// A regular expression that matches `name` only.
fn escape_regex(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A PromQL (and YAML) double-quoted string.
pub(crate) fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A window as the rules name it, whatever the scale: `5m`, `1h`, `3d`.
pub(crate) fn nominal(d: Duration) -> String {
    let secs = d.as_secs();
    if secs.is_multiple_of(86_400) {
        format!("{}d", secs / 86_400)
    } else if secs.is_multiple_of(3_600) {
        format!("{}h", secs / 3_600)
    } else if secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// A window as PromQL reads it, scaled: whole seconds, or milliseconds below.
fn range(d: Duration, options: &RuleOptions) -> String {
    let ms = (d.as_secs_f64() * 1e3 / options.time_scale)
        .round()
        .max(1.0) as u64;
    if ms.is_multiple_of(1000) {
        nominal(Duration::from_millis(ms))
    } else {
        format!("{ms}ms")
    }
}
