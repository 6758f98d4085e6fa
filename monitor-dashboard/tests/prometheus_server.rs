//! `/metrics` read by Prometheus's own tools: `promtool check metrics`, and a real Prometheus
//! server scraping the router on loopback and answering queries on what it scraped.
//!
//! Needs `/usr/bin/promtool` and `/usr/bin/prometheus` (Debian's `prometheus` package), which is
//! why these tests are a target of their own: the others run without them.

use monitor_core::{Tokens, monitored_handler, tracks_tokens};
use monitor_dashboard::DashboardConfig;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PROMTOOL: &str = "/usr/bin/promtool";
const PROMETHEUS: &str = "/usr/bin/prometheus";

/// The first sample is queryable about 5 s after Prometheus is ready; a busy machine takes longer.
const DEADLINE: Duration = Duration::from_secs(30);

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

/// A Prometheus server of the test's own, stopped and its data removed however the test ends.
struct Prometheus {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Prometheus {
    fn start(target: std::net::SocketAddr) -> Result<Prometheus, Box<dyn std::error::Error>> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "monitor-prometheus-test-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)?;
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: monitor\n    metrics_path: /metrics\n    \
                 static_configs:\n      - targets: ['{target}']\n"
            ),
        )?;
        let port = free_port()?;
        let log = std::fs::File::create(dir.join("prometheus.log"))?;
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(
                    format!("cannot run {PROMETHEUS} (Debian package `prometheus`): {e}").into(),
                );
            }
        };
        Ok(Prometheus { child, dir, port })
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    async fn wait_ready(&mut self, client: &reqwest::Client) -> TestResult {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("prometheus exited with {status}:\n{}", self.log()).into());
            }
            if let Ok(response) = client.get(self.url("/-/ready")).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if start.elapsed() > DEADLINE {
                return Err(
                    format!("prometheus not ready in {DEADLINE:?}:\n{}", self.log()).into(),
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The result vector of an instant query.
    async fn query(&self, client: &reqwest::Client, promql: &str) -> Result<Vec<Value>, String> {
        let body: Value = client
            .get(self.url("/api/v1/query"))
            .query(&[("query", promql)])
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if body["status"] != "success" {
            return Err(body.to_string());
        }
        Ok(body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// Polls `promql` until its result passes `check`, or fails with the last result and the log.
    async fn poll(
        &self,
        client: &reqwest::Client,
        promql: &str,
        check: impl Fn(&[Value]) -> bool,
    ) -> Result<Vec<Value>, Box<dyn std::error::Error>> {
        let start = Instant::now();
        loop {
            let result = self.query(client, promql).await;
            if let Ok(result) = &result
                && check(result)
            {
                return Ok(result.clone());
            }
            if start.elapsed() > DEADLINE {
                return Err(format!(
                    "{promql}: last answer {result:?} after {DEADLINE:?}\n--- prometheus log ---\n{}",
                    self.log()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The value of a one-element result vector.
fn single_value(result: &[Value]) -> Option<f64> {
    match result {
        [only] => only["value"][1].as_str()?.parse().ok(),
        _ => None,
    }
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

    let mut prometheus = Prometheus::start(target)?;
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
