//! The objectives' alerts in the real Prometheus (Debian's 2.42): the demo prints its rules
//! (`--print-rules`, windows shortened 60 times: an hour is a minute), Prometheus loads them and
//! scrapes the demo while it answers half its logo requests with a 500 (`--fail-rate 0.5`), and
//! the page alert of `logo-api` is seen pending, then firing, through Prometheus's API — while the
//! ticket's `for` (15 minutes, 15 s here) has not yet run out, and the cost objective, met, stays
//! silent.

mod support;

use monitor_harness::{PROMETHEUS, Prometheus};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{Serving, demo};

const TOKEN: &str = "alerts-test-token-0123";

fn state_of(alerts: &[Value], name: &str, objective: &str) -> Option<String> {
    alerts
        .iter()
        .find(|a| a["labels"]["alertname"] == name && a["labels"]["objective"] == objective)
        .and_then(|a| a["state"].as_str().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_page_through_the_real_prometheus_pending_then_firing() {
    if !std::path::Path::new(PROMETHEUS).exists() {
        assert!(!monitor_harness::in_ci(), "CI needs Debian's prometheus");
        eprintln!("skipped: no {PROMETHEUS}");
        return;
    }
    let rules = Command::new(env!("CARGO_BIN_EXE_logo-service"))
        .args(["--print-rules", "--rules-time-scale", "60"])
        .output()
        .unwrap();
    assert!(rules.status.success());
    let rules = String::from_utf8(rules.stdout).unwrap();
    assert!(rules.contains(r#"objective: "logo-api""#), "{rules}");

    let serving = Serving::start(demo(TOKEN).args(["--requests", "0", "--fail-rate", "0.5"]));
    let base = serving.base.clone();
    let addr = base.trim_start_matches("http://").parse().unwrap();
    let client = reqwest::Client::new();
    let mut prometheus = Prometheus::start_with_rules(addr, "/admin/metrics", &rules).unwrap();
    prometheus.wait_ready(&client).await.unwrap();

    // Logo requests, four at a time, until the page fires (bounded: 2,000 requests, 90 s).
    let started = Instant::now();
    let load = {
        let base = base.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut sent = 0;
            while sent < 2_000 && started.elapsed() < Duration::from_secs(90) {
                let batch = (0..4).map(|i| {
                    client
                        .post(format!("{base}/api/logos"))
                        .json(&serde_json::json!({ "prompt": format!("alert test {sent} {i}") }))
                        .send()
                });
                futures_util::future::join_all(batch).await;
                sent += 4;
            }
            sent
        })
    };
    let (mut pending_at, mut firing_at) = (None, None);
    let mut last = Vec::new();
    while firing_at.is_none() && started.elapsed() < Duration::from_secs(90) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Ok(alerts) = prometheus.alerts(&client).await else {
            continue;
        };
        match state_of(&alerts, "MonitorObjectivePage", "logo-api").as_deref() {
            Some("pending") if pending_at.is_none() => pending_at = Some(started.elapsed()),
            Some("firing") => firing_at = Some(started.elapsed()),
            _ => {}
        }
        last = alerts;
    }
    load.abort();
    let firing_at = firing_at.unwrap_or_else(|| {
        panic!(
            "no page fired in 90 s; alerts: {last:?}\n--- prometheus log ---\n{}",
            prometheus.log()
        )
    });
    let pending_at = pending_at.expect("the alert was seen pending before it fired");
    eprintln!(
        "failures from 0 s: MonitorObjectivePage{{objective=\"logo-api\"}} pending at {:.1} s, \
         firing at {:.1} s (windows and `for` 60× shorter: 1 h is 1 min, `for: 2m` is 2 s)",
        pending_at.as_secs_f64(),
        firing_at.as_secs_f64()
    );
    assert!(pending_at < firing_at);
    // The page's `for` is 2 s here: firing follows pending by about that.
    assert!(firing_at - pending_at >= Duration::from_secs(1));
    // The cost per logo is within its budget: its alerts stay silent.
    assert_eq!(
        state_of(&last, "MonitorObjectivePage", "logo-cost"),
        None,
        "{last:?}"
    );
    // Prometheus agrees with the demo: the burn rate over the short window is about 100 (half
    // the calls failing against 0.5 % allowed).
    let burn = prometheus
        .query(
            &client,
            r#"monitor:objective_burn_rate:5m{objective="logo-api"}"#,
        )
        .await
        .unwrap();
    let burn: f64 = burn[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!((50.0..=150.0).contains(&burn), "burn rate {burn}");
    drop(serving);
}
