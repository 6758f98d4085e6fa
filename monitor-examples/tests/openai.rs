//! The demo's judging model at a real OpenAI-compatible endpoint: `logo-service
//! --openai-base-url` pointed at the harness's OpenAI server on 127.0.0.1, under a short load.
//! The judge's tokens in the dashboard's API and on `/metrics` are what the server sent; a 429 is
//! retried after its `retry-after` and filed as `rate_limited`, a stream cut midway as
//! `stream_cut`, a 500 as `http 500`, a wrong key as `http 401` and not retried; the key is never in the demo's output
//! nor in anything its dashboard serves.

use monitor_harness::OpenAiServer;
use monitor_harness::openai::{Fault, Reply, Usage};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const TOKEN: &str = "openai-test-token-0123";
const KEY: &str = "sk-demo-wire-9f8e7d6c5b4a3f2e1d0c";

/// The load and the demo's start take a few seconds; a debug build beside two others, more.
const WITHIN: Duration = Duration::from_secs(120);

const USAGE: Usage = Usage {
    input: 900,
    cached: 300,
    output: 240,
    reasoning: 180,
};

/// The demo, its output line by line as it comes, and its standard error; killed when dropped.
struct Demo {
    child: Child,
    lines: Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
    seen: Vec<String>,
}

impl Demo {
    fn start(server: &OpenAiServer, requests: usize, key: &str, extra: &[&str]) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_logo-service"))
            .args(["--addr", "127.0.0.1:0", "--concurrency", "1"])
            .args(["--requests", &requests.to_string()])
            .args(["--openai-base-url", server.base_url()])
            .args(extra)
            .env("MONITOR_DASHBOARD_TOKEN", TOKEN)
            .env("OPENAI_API_KEY", key)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Demo {
            child,
            lines,
            stderr: Some(stderr),
            seen: Vec::new(),
        }
    }

    /// Reads the output until a line starts with `prefix`, at most [`WITHIN`]; that line.
    fn until(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + WITHIN;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Err(e) => panic!("no line {prefix:?} ({e}):\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Everything it printed, once it has exited (at most [`WITHIN`]): output and errors.
    fn finish(mut self) -> (std::process::ExitStatus, String, String) {
        let deadline = Instant::now() + WITHIN;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the demo did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        let stdout = self.seen.join("\n");
        let stderr = self
            .stderr
            .take()
            .map_or_else(String::new, |t| t.join().unwrap());
        (status, stdout, stderr)
    }

    /// Sends SIGTERM, as a service is stopped.
    fn terminate(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: `kill` has no memory-safety preconditions; the pid is our child's, not reaped.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET {base}/admin{path}` with the dashboard's token: the body, as text.
async fn get(base: &str, path: &str) -> String {
    let response = reqwest::Client::new()
        .get(format!("{base}/admin{path}"))
        .bearer_auth(TOKEN)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}: {response:?}");
    response.text().await.unwrap()
}

/// The value of the sample of `name` whose labels include every one of `labels`.
fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (labels_part, value) = line
            .strip_prefix(name)?
            .strip_prefix('{')?
            .split_once("} ")?;
        labels
            .iter()
            .all(|(k, v)| labels_part.contains(&format!("{k}=\"{v}\"")))
            .then(|| value.trim().parse().ok())?
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_judge_at_a_real_endpoint_is_recorded_as_the_server_answered() {
    let server = OpenAiServer::start().unwrap();
    server.require_key(KEY);
    server.set_default(
        Reply::new(USAGE)
            .pieces(4)
            .first_after(Duration::from_millis(15)),
    );
    let retry_after = Duration::from_millis(60);
    server.then(Reply::failing(Fault::RateLimited { retry_after }));
    server.then(Reply::new(USAGE).pieces(4).fault(Fault::CutAfter(2)));
    server.then(Reply::failing(Fault::ServerError));

    // Six prompts, all different and none from an impatient client: six pipelines, one at a
    // time, each judged once it has its drafts.
    let mut demo = Demo::start(&server, 6, KEY, &[]);
    let judge = demo.until("judge: ");
    assert_eq!(
        judge,
        format!(
            "judge: o4-mini at {} (key from OPENAI_API_KEY)",
            server.base_url()
        )
    );
    let base = demo
        .until("logo-service on ")
        .trim_start_matches("logo-service on ")
        .to_owned();
    demo.until("serving until Ctrl-C");

    // What reached the server: the key, a stream, the ask for the usage chunk, the model.
    let requests = server.requests();
    assert!(requests.len() >= 4, "{requests:#?}");
    for request in &requests {
        assert_eq!(request.path, "/v1/chat/completions");
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert!(request.streamed() && request.include_usage(), "{request:?}");
        assert_eq!(request.body["model"], "o4-mini");
    }
    // One pipeline at a time: the second request is the first's retry, after the wait the 429
    // asked for; the third, the retry of the stream cut midway; the fourth, of the 500.
    let waited = requests[1].at.duration_since(requests[0].at);
    assert!(waited >= retry_after, "{waited:?}");
    let answered = (requests.len() - 3) as u64;

    // The dashboard's model: every answered call's usage, as the server sent it.
    let models: Value = serde_json::from_str(&get(&base, "/api/models").await).unwrap();
    let judge = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "o4-mini")
        .unwrap_or_else(|| panic!("no o4-mini: {models:#}"));
    for (field, per_call) in [
        ("input_tokens", USAGE.input),
        ("cached_input_tokens", USAGE.cached),
        ("output_tokens", USAGE.output),
        ("reasoning_tokens", USAGE.reasoning),
    ] {
        assert_eq!(judge[field], answered * per_call, "{field}: {judge:#}");
    }
    // Its calls are the answered ones and the three that failed (each retried as a call of its
    // own); those that reported usage, the answered ones: the stream cut before its usage has
    // none known. Streamed, the answered ones and the cut one; the refused calls never opened a
    // stream.
    assert_eq!(
        (&judge["calls"], &judge["token_calls"], &judge["errors"]),
        (
            &Value::from(answered + 3),
            &Value::from(answered),
            &Value::from(3)
        ),
        "{judge:#}"
    );
    assert_eq!(judge["streamed_calls"], answered + 1, "{judge:#}");

    // /metrics: the same tokens, and the model that answered.
    let metrics = get(&base, "/metrics").await;
    for (kind, per_call) in [
        ("input", USAGE.input),
        ("cached_input", USAGE.cached),
        ("output", USAGE.output),
        ("reasoning", USAGE.reasoning),
    ] {
        let labels = [
            ("gen_ai_request_model", "o4-mini"),
            ("gen_ai_token_type", kind),
        ];
        assert_eq!(
            sample(&metrics, "monitor_model_tokens_total", &labels),
            Some((answered * per_call) as f64),
            "{kind}"
        );
    }
    assert!(
        metrics.contains(r#"gen_ai_response_model="o4-mini-2025-04-16""#),
        "no response model"
    );

    // The failures, each as what it was.
    let errors: Value = serde_json::from_str(&get(&base, "/api/errors").await).unwrap();
    let mut judged: Vec<(String, u64)> = errors["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["site"]["file"]
                .as_str()
                .unwrap()
                .ends_with("src/openai.rs")
        })
        .map(|p| {
            (
                p["error_type"].as_str().unwrap().to_owned(),
                p["count"].as_u64().unwrap(),
            )
        })
        .collect();
    judged.sort();
    assert_eq!(
        judged,
        [
            ("http 500".to_owned(), 1),
            ("rate_limited".to_owned(), 1),
            ("stream_cut".to_owned(), 1)
        ],
        "{errors:#}"
    );

    // The key is in nothing the dashboard serves.
    for path in [
        "/api/sites",
        "/api/models",
        "/api/errors",
        "/api/events",
        "/api/runs",
        "/api/insights",
        "/metrics",
    ] {
        assert!(!get(&base, path).await.contains(KEY), "{path}");
    }
    demo.terminate();
    let (status, stdout, stderr) = demo.finish();
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));
    // The report names the failures by their kind.
    assert!(stdout.contains("openai_chat rate_limited: "), "{stdout}");
}

#[test]
fn a_wrong_key_is_an_http_401_never_retried_and_never_shown() {
    let server = OpenAiServer::start().unwrap();
    server.require_key(KEY);
    let wrong = "sk-not-the-key-00112233445566778899";
    let demo = Demo::start(&server, 3, wrong, &["--no-serve"]);
    let (status, stdout, stderr) = demo.finish();
    assert!(status.success(), "{stdout}\n{stderr}");
    // Each pipeline that reached its judge asked once: a 401 is not tried again.
    let requests = server.requests();
    assert!(
        (1..=3).contains(&requests.len()),
        "{} requests",
        requests.len()
    );
    assert!(
        stdout.contains("openai_chat http 401: http <n>: invalid_request_error: Incorrect API key"),
        "{stdout}"
    );
    assert!(!stdout.contains(wrong) && !stderr.contains(wrong));
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));
}

#[test]
fn a_bad_endpoint_or_key_stops_the_demo_naming_it_and_not_the_key() {
    let run = |url: &str, key: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_logo-service"))
            .args(["--requests", "0", "--addr", "127.0.0.1:0", "--no-serve"])
            .args(["--openai-base-url", url])
            .env("MONITOR_DASHBOARD_TOKEN", TOKEN)
            .env("OPENAI_API_KEY", key)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let stderr = run("ftp://127.0.0.1/v1", KEY);
    assert!(stderr.contains("--openai-base-url"), "{stderr}");
    let stderr = run("http://user:hunter2@127.0.0.1:99999/v1", KEY);
    assert!(
        stderr.contains("--openai-base-url") && !stderr.contains("hunter2"),
        "{stderr}"
    );
    let broken = format!("{KEY}\nsecond line");
    let stderr = run("http://127.0.0.1:1/v1", &broken);
    assert!(stderr.contains("OPENAI_API_KEY"), "{stderr}");
    assert!(!stderr.contains(KEY), "{stderr}");
}
