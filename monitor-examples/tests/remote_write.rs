//! The demo's `--remote-write URL`: the binary, run with its built-in load and `--no-serve`,
//! pushes to a real Prometheus receiver (Debian's 2.42, `--web.enable-remote-write-receiver`),
//! whose PromQL then reads exactly the load the demo served.

use monitor_harness::{PROMETHEUS, Prometheus, single_value};
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_pushes_what_it_served() {
    if !std::path::Path::new(PROMETHEUS).exists() {
        assert!(!monitor_harness::in_ci(), "CI needs Debian's prometheus");
        eprintln!("skipped: no {PROMETHEUS}");
        return;
    }
    let client = reqwest::Client::new();
    let mut prometheus = Prometheus::receiver(None).unwrap();
    prometheus.wait_ready(&client).await.unwrap();
    let url = prometheus.url("/api/v1/write");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_logo-service"))
            .args([
                "--requests",
                "30",
                "--concurrency",
                "4",
                "--addr",
                "127.0.0.1:0",
            ])
            .args(["--no-serve", "--remote-write", &url])
            .env("MONITOR_DASHBOARD_TOKEN", "remote-write-test-token")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("remote write: "), "{stdout}");
    // Every logo request the load sent is a call of `create_logo`, whatever its outcome; the last
    // push, made as the demo stopped, carries them all.
    let calls = r#"sum(monitor_calls_total{site="create_logo",job="logo-service"})"#;
    prometheus
        .poll(&client, calls, |r| single_value(r) == Some(30.0))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{stdout}"));
    let sent = prometheus
        .query(
            &client,
            r#"max(monitor_export_payloads_total{exporter="remote_write",result="sent",job="logo-service"})"#,
        )
        .await
        .unwrap();
    assert!(single_value(&sent).is_some(), "{sent:?}");
}
