//! `/metrics` read by Prometheus's own tools: `promtool check metrics`, and a real Prometheus
//! server scraping the router on loopback and answering queries on what it scraped.
//!
//! Needs `/usr/bin/promtool` and `/usr/bin/prometheus` (Debian's `prometheus` package), which is
//! why these tests are a target of their own: the others run without them.

use monitor_core::{Tokens, monitored_handler, tracks_tokens};
use monitor_dashboard::DashboardConfig;
use monitor_harness::{PROMTOOL, Prometheus, single_value};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

type TestResult = Result<(), monitor_harness::Error>;

const ODD_NAME: &str = "prom \"odd\" \\ name\nline two\t\u{e9}";
const ODD_ROUTE: &str = "POST /prom/\"q\"\\x";
const PROBE_CALLS: u64 = 37;

#[monitored_handler(route = "GET /prom/probe")]
fn prom_probe() -> &'static str {
    std::thread::sleep(Duration::from_millis(3));
    "probe"
}

#[monitored_handler(
    name = "prom \"odd\" \\ name\nline two\t\u{e9}",
    route = "POST /prom/\"q\"\\x"
)]
fn prom_odd(fail: bool) -> Result<String, String> {
    if fail {
        Err("prom failure".to_owned())
    } else {
        Ok("fine".to_owned())
    }
}

#[tracks_tokens(model = "prom-model \"x\"")]
fn prom_llm() -> Result<Tokens, String> {
    Ok(Tokens::new(11, 7))
}

// The sites below are the promtool test's own: the server test counts calls of the others exactly.

#[monitored_handler(name = "tool \"odd\" \\ name\nline two", route = "PUT /tool/\"q\"\\x")]
fn tool_odd(fail: bool) -> Result<String, String> {
    if fail {
        Err("tool failure".to_owned())
    } else {
        Ok("fine".to_owned())
    }
}

#[tracks_tokens(model = "tool-model \"x\"")]
fn tool_llm() -> Result<Tokens, String> {
    Ok(Tokens::new(3, 2).cached(1))
}

/// A streamed call with every kind of token, and one whose stream fails: the GenAI histograms.
#[tracks_tokens(model = "tool-stream", provider = "anthropic", operation = "chat")]
fn tool_stream(fail: bool) -> impl futures_util::Stream<Item = Result<Tokens, String>> {
    let last = if fail {
        Err("overloaded".to_owned())
    } else {
        Ok(Tokens::new(0, 40).reasoning(10))
    };
    futures_util::stream::iter([Ok(Tokens::new(900, 1).cached(500).cache_write(300)), last])
}

#[monitored_handler]
fn tool_status(code: u16) -> http::StatusCode {
    http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::OK)
}

#[test]
fn promtool_accepts_the_exposition() -> TestResult {
    for fail in [false, true, false] {
        let _ = tool_odd(fail);
    }
    tool_llm()?;
    for fail in [false, true] {
        // The stream is ready at once: no runtime needed.
        let items = futures_util::FutureExt::now_or_never(futures_util::StreamExt::count(
            tool_stream(fail),
        ))
        .expect("a stream of ready items");
        assert_eq!(items, 2);
    }
    tool_status(404);
    tool_status(200);
    monitor_core::cache("tool \"cache\"\n").hit();
    let text = monitor_dashboard::render();
    for family in [
        "gen_ai_client_operation_duration_seconds",
        "gen_ai_client_token_usage",
        "gen_ai_client_operation_time_to_first_chunk_seconds",
        "gen_ai_client_operation_time_per_output_chunk_seconds",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} histogram\n")),
            "{family} missing"
        );
    }
    assert!(text.contains("gen_ai_provider_name=\"anthropic\",gen_ai_request_model=\"tool-stream\",gen_ai_response_model=\"tool-stream\",error_type=\"alloc::string::String\",le=\"+Inf\"} 1\n"), "{text}");
    assert!(text.contains("monitor_model_tokens_total{gen_ai_request_model=\"tool-stream\",gen_ai_token_type=\"cache_write\"} 600\n"));
    assert!(text.contains("monitor_calls_total{site=\"tool \\\"odd\\\" \\\\ name\\nline two"));

    let mut promtool = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {PROMTOOL} (Debian package `prometheus`): {e}"))?;
    promtool
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(text.as_bytes())?;
    let output = promtool.wait_with_output()?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && said.trim().is_empty(),
        "promtool check metrics: {} {said}\n--- input ---\n{text}",
        output.status
    );
    Ok(())
}

/// A PromQL string literal.
fn promql_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_exact_counts() -> TestResult {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let target = listener.local_addr()?;
    tokio::spawn(async move {
        axum::serve(listener, monitor_dashboard::router(DashboardConfig::new())).await
    });

    let mut prometheus = Prometheus::start(target, "/metrics")?;
    let client = reqwest::Client::new();
    prometheus.wait_ready(&client).await?;

    for _ in 0..PROBE_CALLS {
        prom_probe();
    }
    for fail in [false, true, true] {
        let _ = prom_odd(fail);
    }
    for _ in 0..5 {
        prom_llm()?;
    }

    let exact = |n: f64| move |result: &[Value]| single_value(result) == Some(n);
    let probe = "{route=\"GET /prom/probe\"}";
    prometheus
        .poll(
            &client,
            "monitor_calls_total{route=\"GET /prom/probe\",outcome=\"ok\"}",
            exact(PROBE_CALLS as f64),
        )
        .await?;
    prometheus
        .poll(
            &client,
            &format!("monitor_call_duration_seconds_count{probe}"),
            exact(PROBE_CALLS as f64),
        )
        .await?;
    // Every call slept 3 ms, so the median is above the 2.5 ms bound whatever the machine's load.
    let median = prometheus
        .poll(
            &client,
            &format!("histogram_quantile(0.5, monitor_call_duration_seconds_bucket{probe})"),
            |result| single_value(result).is_some_and(|q| q.is_finite()),
        )
        .await?;
    let median = single_value(&median).unwrap_or(f64::NAN);
    assert!((0.0025..=60.0).contains(&median), "median {median}");

    // The odd name survives Prometheus's own parser, byte for byte.
    let odd = prometheus
        .poll(
            &client,
            &format!(
                "monitor_calls_total{{route={},outcome=\"error\"}}",
                promql_string(ODD_ROUTE)
            ),
            exact(2.0),
        )
        .await?;
    assert_eq!(odd[0]["metric"]["site"], ODD_NAME);

    let model = promql_string("prom-model \"x\"");
    prometheus
        .poll(
            &client,
            &format!(
                "gen_ai_client_token_usage_sum{{gen_ai_request_model={model},gen_ai_token_type=\"output\"}}"
            ),
            exact(35.0),
        )
        .await?;
    prometheus
        .poll(
            &client,
            &format!(
                "gen_ai_client_token_usage_count{{gen_ai_request_model={model},gen_ai_token_type=\"input\"}}"
            ),
            exact(5.0),
        )
        .await?;
    prometheus
        .poll(&client, "up{job=\"monitor\"}", exact(1.0))
        .await?;
    // Prometheus keeps no complaint about the scrape: no sample rejected as out of order or
    // duplicate.
    let log = prometheus.log();
    for complaint in ["duplicate", "out of order", "invalid"] {
        assert!(!log.contains(complaint), "prometheus log:\n{log}");
    }
    Ok(())
}
