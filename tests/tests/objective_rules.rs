//! The objectives' Prometheus rules, checked by the real `promtool` (Debian's `prometheus`
//! package): `promtool check rules` finds them valid, and `promtool test rules` runs them over
//! synthetic series in which each alert must fire — and must not.

use monitor_core::objectives::{Objective, Per};
use monitor_core::site::SiteKind;
use monitor_export::objective_rules::{RuleOptions, rules};
use monitor_harness::{PROMTOOL, TempDir};
use std::process::Command;
use std::time::Duration;

fn objectives() -> Vec<Objective> {
    vec![
        // 10 % of calls fail: a burn rate of 20, a page and a ticket.
        Objective::success_rate("burning", 0.995).site("a"),
        // 0.1 % fail: a burn rate of 0.2, nothing.
        Objective::success_rate("steady", 0.995)
            .site("b")
            .kind(SiteKind::Handler),
        // 2 % fail: a burn rate of 4, a ticket and no page.
        Objective::success_rate("slow-burn", 0.995).site("c"),
        // 20 % slower than 400 ms against 1 % allowed: a burn rate of 20.
        Objective::latency("latency", Duration::from_millis(400), 0.99).site("d"),
        // $1 a minute against $50 a day: a burn rate of 28.8.
        Objective::cost("spend", 50.0, Per::Period(Duration::from_secs(86_400))).model("m"),
        // $0.01 a run against $0.02: a burn rate of 0.5, nothing.
        Objective::cost("run-cost", 0.02, Per::Run).pipeline("p"),
    ]
}

/// Each series' labels and its values, one a minute for five hours.
const SERIES: &[(&str, &str)] = &[
    (
        r#"monitor_calls_total{site="a",kind="handler",outcome="error"}"#,
        "0+10x300",
    ),
    (
        r#"monitor_call_duration_seconds_count{site="a",kind="handler"}"#,
        "0+100x300",
    ),
    (
        r#"monitor_calls_total{site="b",kind="handler",outcome="error"}"#,
        "0+1x300",
    ),
    (
        r#"monitor_call_duration_seconds_count{site="b",kind="handler"}"#,
        "0+1000x300",
    ),
    (
        r#"monitor_calls_total{site="c",kind="handler",outcome="panic"}"#,
        "0+2x300",
    ),
    (
        r#"monitor_call_duration_seconds_count{site="c",kind="handler"}"#,
        "0+100x300",
    ),
    (
        r#"monitor_call_duration_seconds_count{site="d",kind="handler"}"#,
        "0+100x300",
    ),
    (
        r#"monitor_calls_within_total{site="d",kind="handler",threshold_seconds="0.4"}"#,
        "0+80x300",
    ),
    (
        r#"monitor_cost_usd_total{gen_ai_request_model="m"}"#,
        "0+1x300",
    ),
    (
        r#"monitor_site_cost_usd_total{site="draft",kind="stage",pipeline="p",stage="draft"}"#,
        "0+0.1x300",
    ),
    (
        r#"monitor_calls_total{site="draft",kind="stage",pipeline="p",stage="draft",outcome="ok"}"#,
        "0+10x300",
    ),
    (
        r#"monitor_calls_total{site="polish",kind="stage",pipeline="p",stage="polish",outcome="ok"}"#,
        "0+4x300",
    ),
];

fn expected(at: &str, alert: &str, severity: &str, names: &[&str]) -> String {
    let mut out =
        format!("        - eval_time: {at}\n          alertname: {alert}\n          exp_alerts:\n");
    for name in names {
        out.push_str(&format!(
            "            - exp_labels: {{severity: {severity}, objective: {name}}}\n              \
             exp_annotations: {{summary: \"objective {name} burns its 30d budget too fast\"}}\n"
        ));
    }
    if names.is_empty() {
        out = out.replace("exp_alerts:\n", "exp_alerts: []\n");
    }
    out
}

#[test]
fn the_rules_are_valid_and_each_alert_fires_when_it_must_and_only_then() {
    if !std::path::Path::new(PROMTOOL).exists() {
        assert!(!monitor_harness::in_ci(), "CI needs Debian's promtool");
        eprintln!("skipped: no {PROMTOOL}");
        return;
    }
    let dir = TempDir::new("objective-rules").unwrap();
    let yaml = rules(&objectives(), &RuleOptions::default());
    std::fs::write(dir.path().join("rules.yml"), &yaml).unwrap();
    let check = Command::new(PROMTOOL)
        .args(["check", "rules"])
        .arg(dir.path().join("rules.yml"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout).into_owned()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{said}\n{yaml}");
    assert!(said.contains("SUCCESS: 54 rules found"), "{said}");

    let mut test = String::from(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n",
    );
    for (series, values) in SERIES {
        test.push_str(&format!(
            "      - series: '{series}'\n        values: '{values}'\n"
        ));
    }
    test.push_str("    alert_rule_test:\n");
    // Before two scrapes there is no rate, and before `for` no alert.
    test.push_str(&expected("1m", "MonitorObjectivePage", "page", &[]));
    test.push_str(&expected("1m", "MonitorObjectiveTicket", "ticket", &[]));
    test.push_str(&expected(
        "80m",
        "MonitorObjectivePage",
        "page",
        &["burning", "latency", "spend"],
    ));
    // A budget per day spent at 28.8 times its pace: Prometheus's rate over a day holds only the
    // 80 minutes there are (28.8 × 80 / 1440 = 1.6, not above 3) — the ticket waits until the
    // day's window holds enough of the overspend (at 200 minutes, 4).
    test.push_str(&expected(
        "80m",
        "MonitorObjectiveTicket",
        "ticket",
        &["burning", "slow-burn", "latency"],
    ));
    test.push_str(&expected(
        "200m",
        "MonitorObjectiveTicket",
        "ticket",
        &["burning", "slow-burn", "latency", "spend"],
    ));
    // The burn rates themselves, as recorded.
    test.push_str(
        "    promql_expr_test:\n\
         \x20     - expr: round(monitor:objective_burn_rate:1h * 1000) / 1000\n\
         \x20       eval_time: 80m\n\
         \x20       exp_samples:\n",
    );
    for (objective, rate) in [
        ("burning", "20"),
        ("steady", "0.2"),
        ("slow-burn", "4"),
        ("latency", "20"),
        ("spend", "28.8"),
        ("run-cost", "0.5"),
    ] {
        test.push_str(&format!(
            "          - labels: '{{objective=\"{objective}\"}}'\n            value: {rate}\n"
        ));
    }
    std::fs::write(dir.path().join("test.yml"), &test).unwrap();
    let run = Command::new(PROMTOOL)
        .args(["test", "rules"])
        .arg(dir.path().join("test.yml"))
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&run.stdout).into_owned() + &String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "{said}\n--- test.yml\n{test}\n--- rules.yml\n{yaml}"
    );
    assert!(said.contains("SUCCESS"), "{said}");
}

#[test]
fn windows_shrink_with_the_time_scale_and_matchers_reach_every_series() {
    let yaml = rules(
        &objectives()[..1],
        &RuleOptions::default()
            .time_scale(60.0)
            .matcher("job", "logo-service"),
    );
    assert!(
        yaml.contains("[1m]"),
        "the 1-hour window as a minute:\n{yaml}"
    );
    assert!(yaml.contains("[5s]"), "the 5-minute window as 5 s:\n{yaml}");
    assert!(yaml.contains("for: 2s"), "{yaml}");
    assert_eq!(
        yaml.matches("monitor_calls_total{").count(),
        yaml.matches(r#"job="logo-service""#).count() / 2,
        "{yaml}"
    );
}
