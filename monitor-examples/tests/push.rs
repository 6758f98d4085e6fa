//! The demo's pushes. With `--remote-write URL` the binary, run with its built-in load and
//! `--no-serve`, pushes to a real Prometheus receiver (Debian's 2.42,
//! `--web.enable-remote-write-receiver`), whose PromQL then reads exactly the load the demo served;
//! with `--otlp URL`, to a receiver of the test's own that decodes the official OTLP types (metrics
//! at `/v1/metrics`, and the kept runs' traces at `/v1/traces`).

mod support;

use monitor_harness::{PROMETHEUS, Prometheus, Receiver, single_value};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use std::process::Command;
use std::time::Duration;
use support::{demo, run_to_end};

/// Runs the demo with its built-in load and `--no-serve`, and `args`; its output, once it
/// succeeded.
fn run_demo(args: &[&str], env: &[(&str, &str)]) -> String {
    run_to_end(
        demo("push-test-token-0123")
            .arg("--no-serve")
            .args(args)
            .envs(env.iter().copied()),
    )
}

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
    let stdout = tokio::task::spawn_blocking(move || {
        run_demo(&["--requests", "30", "--remote-write", &url], &[])
    })
    .await
    .unwrap();
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

fn text(kv: &KeyValue) -> &str {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s,
        _ => "",
    }
}

/// `create_logo`'s calls, all outcomes, in one OTLP payload.
fn create_logo_calls(request: &ExportMetricsServiceRequest) -> f64 {
    let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
    let Some(calls) = metrics.iter().find(|m| m.name == "monitor.calls") else {
        return 0.0;
    };
    let Some(metric::Data::Sum(sum)) = &calls.data else {
        return 0.0;
    };
    sum.data_points
        .iter()
        .filter(|p| {
            p.attributes
                .iter()
                .any(|a| a.key == "site" && text(a) == "create_logo")
        })
        .map(|p| match p.value {
            Some(number_data_point::Value::AsDouble(v)) => v,
            _ => 0.0,
        })
        .sum()
}

#[test]
fn the_demo_pushes_otlp_as_logo_service() {
    let receiver = Receiver::start("/v1/metrics", Vec::new()).unwrap();
    let base = receiver.url.trim_end_matches("/v1/metrics").to_owned();
    let stdout = run_demo(
        &["--requests", "20", "--otlp", &base],
        &[("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")],
    );
    assert!(stdout.contains("otlp: "), "{stdout}");
    // The payloads it sent, the last (pushed as it stopped) with the whole load; and, to the
    // same base, the traces of the runs it kept.
    let mut last = None;
    let mut traces = 0;
    while let Ok(received) = receiver.next(Duration::from_millis(500)) {
        if received.head.starts_with("post /v1/traces ") {
            traces += 1;
        } else {
            assert!(
                received.head.starts_with("post /v1/metrics "),
                "{}",
                received.head
            );
            last = Some(received);
        }
    }
    assert!(traces > 0, "{stdout}");
    assert!(stdout.contains("otlp: traces to "), "{stdout}");
    let last = last.expect("at least the last push");
    let request: ExportMetricsServiceRequest =
        prost::Message::decode(last.body.as_slice()).expect("an ExportMetricsServiceRequest");
    let resource = request.resource_metrics[0].resource.as_ref().unwrap();
    let attr = |key: &str| {
        resource
            .attributes
            .iter()
            .find(|a| a.key == key)
            .map(|a| text(a).to_owned())
    };
    assert_eq!(attr("service.name").as_deref(), Some("logo-service"));
    assert_eq!(attr("deployment.environment").as_deref(), Some("test"));
    assert!(attr("service.instance.id").is_some_and(|id| id.starts_with("127.0.0.1:")));
    assert_eq!(create_logo_calls(&request), 20.0, "{stdout}");
}

/// A bad `OTEL_*` value stops the demo with a message naming the variable.
#[test]
fn a_bad_otel_variable_is_named() {
    use std::os::unix::ffi::OsStrExt;
    for (key, value) in [
        ("OTEL_EXPORTER_OTLP_TIMEOUT", std::ffi::OsStr::new("soon")),
        ("OTEL_TRACES_EXPORTER", std::ffi::OsStr::new("jaeger")),
        (
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            std::ffi::OsStr::new("no-equals"),
        ),
        (
            "OTEL_SERVICE_NAME",
            std::ffi::OsStr::from_bytes(b"logo-\xff"),
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_logo-service"))
            .args(["--requests", "0", "--addr", "127.0.0.1:0", "--no-serve"])
            .args(["--otlp", "http://127.0.0.1:1"])
            .env("MONITOR_DASHBOARD_TOKEN", "push-test-token-0123")
            .env(key, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains(key), "{stderr}");
    }
}
