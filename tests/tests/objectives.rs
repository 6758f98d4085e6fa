//! Objectives and budgets: declared, checked, counted and judged from the history.
//!
//! The history is driven with a clock of the test's own (`tick_at`), so that windows hold what
//! the test put there: good calls three hours ago, a burst of failures a minute ago. The
//! objectives in force are process-wide, so one test declares them all and judges them; the
//! others only check declarations that fail, which change nothing.

use monitor_core::history::tick_at;
use monitor_core::objectives::{Goal, Objective, ObjectiveError, ObjectiveState, Per, status_at};
use monitor_core::pricing::{Price, set_price};
use monitor_core::{Config, ConfigError, Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use std::time::{Duration, SystemTime};

#[monitored_handler]
fn slo_handler(fail: bool) -> Result<(), String> {
    if fail { Err("down".into()) } else { Ok(()) }
}

/// Covered by naming the objective, not by a selector.
#[monitored_handler(objective = ["slo-api", "slo-latency"])]
fn slo_attributed() {}

#[monitored_handler]
fn slo_slow(sleep_ms: u64) -> u32 {
    std::thread::sleep(Duration::from_millis(sleep_ms));
    1
}

#[tracks_tokens(model = "slo-model")]
fn slo_llm(output: u64) -> Tokens {
    Tokens::new(1_000, output)
}

#[pipeline_stage(pipeline = "slo-pipe", stage = "draft")]
fn slo_draft() -> u64 {
    slo_llm(500).output
}

#[pipeline_stage(pipeline = "slo-pipe", stage = "polish")]
fn slo_polish() -> u64 {
    slo_llm(100).output
}

const DAY: Duration = Duration::from_secs(86_400);

fn status(name: &str, now: SystemTime) -> monitor_core::objectives::ObjectiveStatus {
    status_at(now)
        .into_iter()
        .find(|s| s.objective.name == name)
        .unwrap_or_else(|| panic!("no objective {name}"))
}

fn rate(s: &monitor_core::objectives::ObjectiveStatus, window: Duration) -> f64 {
    s.burn_rates
        .iter()
        .find(|b| b.window == window)
        .and_then(|b| b.rate)
        .unwrap_or_else(|| panic!("no rate over {window:?}: {:?}", s.burn_rates))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn objectives_are_judged_from_the_history_with_their_burn_rates() {
    set_price("slo-model", Price::per_million(1.0, 10.0)).unwrap();
    Config::new()
        .objectives([
            Objective::success_rate("slo-api", 0.995).site("slo_handler"),
            Objective::latency("slo-latency", Duration::from_millis(50), 0.9).site("slo_slow"),
            Objective::cost("slo-run-cost", 0.004, Per::Run).pipeline("slo-pipe"),
            Objective::tokens("slo-daily-tokens", 100_000, Per::Period(DAY)).model("slo-model"),
        ])
        .apply()
        .expect("the objectives are valid");

    // Never called: it only has to be covered.
    let _covered: fn() = slo_attributed;
    let now = SystemTime::now();
    let hours_ago = now - Duration::from_secs(3 * 3600);
    tick_at(hours_ago);
    // Three hours ago: 10,000 good calls.
    for _ in 0..10_000 {
        slo_handler(false).unwrap();
    }
    tick_at(hours_ago + Duration::from_secs(1));
    tick_at(now - Duration::from_secs(61));
    // A minute ago: 100 calls, half of them failing; 20 calls, 2 of them slower than 50 ms; ten
    // runs of the pipeline, four of them polished too.
    for i in 0..100 {
        let _ = slo_handler(i % 2 == 0);
    }
    for i in 0..20 {
        slo_slow(if i < 2 { 60 } else { 0 });
    }
    for i in 0..10 {
        slo_draft();
        if i < 4 {
            slo_polish();
        }
    }
    tick_at(now - Duration::from_secs(60));

    // Success: the last hour fails at 50 %, a hundred times the 0.5 % allowed; the last six hours
    // at 50 in 10,100.
    let api = status("slo-api", now);
    let names: Vec<&str> = api.sites.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["slo_handler", "slo_attributed"]);
    assert_eq!((api.events, api.spent), (10_100, 50.0));
    assert!(close(api.indicator.unwrap(), 1.0 - 50.0 / 10_100.0));
    for window in [300, 1_800, 3_600, 7_200] {
        assert!(
            close(rate(&api, Duration::from_secs(window)), 100.0),
            "{window}"
        );
    }
    let long = 50.0 / 10_100.0 / 0.005;
    for window in [21_600, 86_400, 259_200] {
        assert!(
            close(rate(&api, Duration::from_secs(window)), long),
            "{window}"
        );
    }
    assert!(close(api.budget_remaining.unwrap(), 1.0 - long));
    assert_eq!(api.state, ObjectiveState::Page);
    let insight = api.insight.expect("a page says why");
    assert!(
        insight.starts_with(
            "objective `slo-api` burns its 30-day budget 100× too fast (over the last 1 hour): \
             at this rate it is gone in "
        ),
        "{insight}"
    );

    // Latency: exactly the two calls slower than 50 ms, whatever bucket 50 ms falls in.
    let latency = status("slo-latency", now);
    assert_eq!((latency.events, latency.spent), (20, 2.0));
    assert!(close(latency.indicator.unwrap(), 0.9));
    assert!(close(rate(&latency, Duration::from_secs(300)), 1.0));
    assert_eq!(latency.state, ObjectiveState::Exhausted);

    // Cost per run: 10 runs (the draft stage's calls), each draft 1,000 in and 500 out, each
    // polish 1,000 in and 100 out.
    let cost = status("slo-run-cost", now);
    let spent = 10.0 * (1_000.0 * 1e-6 + 500.0 * 10e-6) + 4.0 * (1_000.0 * 1e-6 + 100.0 * 10e-6);
    assert_eq!(cost.events, 10);
    assert!(close(cost.spent, spent), "{} {spent}", cost.spent);
    assert!(close(cost.indicator.unwrap(), spent / 10.0));
    assert!(close(
        rate(&cost, Duration::from_secs(300)),
        spent / 10.0 / 0.004
    ));
    assert_eq!(cost.sites.len(), 2);

    // Tokens per day of one model: what each window spent against its share of the day, and
    // the latest day's spend.
    let tokens = status("slo-daily-tokens", now);
    let spent = 14.0 * 1_000.0 + 10.0 * 500.0 + 4.0 * 100.0;
    assert!(close(tokens.spent, spent), "{}", tokens.spent);
    assert!(close(tokens.indicator.unwrap(), spent));
    for b in &tokens.burn_rates {
        let allowed = 100_000.0 * b.window.as_secs_f64() / DAY.as_secs_f64();
        assert!(close(b.rate.unwrap(), spent / allowed), "{b:?}");
    }
    let month = 30.0 * 100_000.0;
    assert!(close(tokens.budget_remaining.unwrap(), 1.0 - spent / month));
    assert!(matches!(
        tokens.objective.goal,
        Goal::Tokens { max: 100_000, .. }
    ));
}

fn refused(objective: Objective) -> ObjectiveError {
    match Config::new().objectives([objective]).apply() {
        Err(ConfigError::Objective(error)) => error,
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn bad_objectives_are_typed_errors_naming_the_objective_and_the_field() {
    let cases = [
        (
            Objective::success_rate("too-high", 1.0),
            "objective `too-high`: target 1 is not valid: expected a share between 0 and 1, both \
             excluded",
        ),
        (
            Objective::latency("zero", Duration::ZERO, 0.99),
            "objective `zero`: threshold 0ns is not valid: expected a duration above 0",
        ),
        (
            Objective::success_rate("short", 0.99).window(DAY),
            "objective `short`: window 86400s is not valid: expected 3 days or more: the longest \
             burn window",
        ),
        (
            Objective::cost("free", 0.0, Per::Call),
            "objective `free`: max_usd 0 is not valid: expected an amount above 0",
        ),
        (
            Objective::cost("runs", 1.0, Per::Run),
            "objective `runs`: per run is not valid: expected a pipeline to count runs of \
             (`.pipeline(…)`)",
        ),
        (
            Objective::success_rate("bad name", 0.9),
            "objective `bad name`: name bad name is not valid: expected 1 to 64 letters, digits, \
             '-', '_' or '.'",
        ),
    ];
    for (objective, message) in cases {
        assert_eq!(refused(objective).to_string(), message);
    }
    let twice = Config::new()
        .objectives([
            Objective::success_rate("twice", 0.9),
            Objective::success_rate("twice", 0.99),
        ])
        .apply()
        .unwrap_err();
    assert_eq!(
        twice.to_string(),
        "objectives: objective `twice` is declared twice"
    );
    // A site counts against at most four thresholds.
    let many = (1..=5)
        .map(|ms| {
            Objective::latency(format!("many-{ms}"), Duration::from_millis(ms), 0.9)
                .site("slo_handler")
        })
        .chain([
            Objective::success_rate("slo-api", 0.9),
            Objective::success_rate("slo-latency", 0.9),
        ]);
    let error = Config::new().objectives(many).apply().unwrap_err();
    assert!(
        matches!(&error, ConfigError::Objective(ObjectiveError::TooManyThresholds { objective, .. }) if objective == "many-5"),
        "{error}"
    );
}

#[test]
fn objectives_come_from_a_json_file_too() {
    let dir = monitor_harness::TempDir::new("objectives-file").unwrap();
    let path = dir.path().join("objectives.json");
    std::fs::write(
        &path,
        r#"{ "objectives": [
            { "name": "f-api", "success_rate": 0.995, "kind": "handler" },
            { "name": "f-latency", "latency": { "threshold_ms": 400, "target": 0.99 },
              "route": "POST /api/logos", "window_days": 28 },
            { "name": "f-cost", "cost_usd": { "max": 0.02, "per": "run" }, "pipeline": "logo" },
            { "name": "f-spend", "cost_usd": { "max": 50, "per_days": 1 }, "model": "m" }
        ] }"#,
    )
    .unwrap();
    let config = Config::from_vars([("MONITOR_OBJECTIVES_FILE", path.as_os_str())]).unwrap();
    let expected = [
        Objective::success_rate("f-api", 0.995).kind(monitor_core::site::SiteKind::Handler),
        Objective::latency("f-latency", Duration::from_millis(400), 0.99)
            .route("POST /api/logos")
            .window(28 * DAY),
        Objective::cost("f-cost", 0.02, Per::Run).pipeline("logo"),
        Objective::cost("f-spend", 50.0, Per::Period(DAY)).model("m"),
    ];
    assert_eq!(config.objectives, expected);

    std::fs::write(
        &path,
        r#"{ "objectives": [ { "name": "x", "succes_rate": 0.9 } ] }"#,
    )
    .unwrap();
    let error = Config::from_vars([("MONITOR_OBJECTIVES_FILE", path.as_os_str())]).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "MONITOR_OBJECTIVES_FILE: objectives file {}: unknown field `succes_rate`",
            path.display()
        )),
        "{message}"
    );
    std::fs::write(&path, r#"{ "objectives": [ { "name": "x" } ] }"#).unwrap();
    let error = Config::from_vars([("MONITOR_OBJECTIVES_FILE", path.as_os_str())]).unwrap_err();
    assert!(
        error.to_string().ends_with(
            "objective `x` needs exactly one of success_rate, latency, cost_usd, tokens"
        ),
        "{error}"
    );
}
