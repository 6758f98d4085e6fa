//! The demo's runs in a real trace backend: Arize Phoenix (scripts/deps.sh installs it), started
//! on a free loopback port with a database of its own. The demo binary serves with `--otlp` at
//! Phoenix and head sampling at 0 (`--trace-sample 0`), so that only the tail rules keep runs (and
//! the caller's decision, for a request with a sampled `traceparent`); the test sends logo
//! requests one at a time, a quarter of them failing by the demo's fault injection, reads what the
//! monitor counted for each from its `/metrics` before and after, stops the demo (its shutdown
//! sends what is queued), and reads back from Phoenix's REST API what it stored:
//!
//! - every run the demo kept, and every failed request among them, as a trace of its own;
//! - a tree: one root per trace, every other span's parent in the same trace, each child inside
//!   its parent in time; the pipeline's stages under the handler, the LLM calls under `concepts`;
//! - the attributes Phoenix reads: OpenInference's span kinds, model, provider, token counts and
//!   costs; the GenAI and HTTP conventions;
//! - per trace, the tokens and cost over its LLM spans equal to what the monitor's metrics
//!   counted for that request, and to the root's `monitor.*` totals; no handler or stage span
//!   carries a token or cost attribute a backend would add up again;
//! - the `traceparent`'s trace continued, its span the root's parent.
//!
//! Phoenix keeps OpenInference's span kinds, not OpenTelemetry's (it reports every span as
//! INTERNAL), and not `tracestate`: `tests/tests/otlp_traces.rs` checks those on the wire.

mod support;

use monitor_harness::{Phoenix, in_ci, phoenix_command};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::{Serving, demo};

const TOKEN: &str = "phoenix-test-token-0123";
const PROJECT: &str = "logo-phoenix-test";
/// Logo requests sent: with `--fail-rate 0.25`, the 4th, 8th and 12th fail.
const REQUESTS: usize = 12;
/// Requests whose prompt is the first one's: served from the `logos` cache, cheap and quick, so
/// that no tail rule keeps them.
const CACHED: [usize; 3] = [5, 9, TRACEPARENT_AT];
/// The request sent with a sampled `traceparent`, a cached one: kept by the caller's decision
/// alone.
const TRACEPARENT_AT: usize = 10;
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// One request the test sent: when, how it ended, and what the monitor counted meanwhile.
#[derive(Debug)]
struct Sent {
    from_ns: u128,
    to_ns: u128,
    status: u16,
    /// The growth of every series of /metrics over the request.
    counted: HashMap<String, f64>,
}

fn prompt(i: usize) -> String {
    let n = if CACHED.contains(&i) { 0 } else { i };
    format!("a lighthouse for the bakery of harbour {n}, bold and warm")
}

/// Why the monitor kept the request's run, from what its counters gained meanwhile: `None` for
/// a run dropped.
fn kept_as(request: &Sent) -> Option<&str> {
    let kept: Vec<&str> = request
        .counted
        .iter()
        .filter(|(_, n)| **n > 0.0)
        .filter_map(|(k, _)| k.strip_prefix("monitor_trace_runs_kept_total{reason=\""))
        .filter_map(|k| k.strip_suffix("\"}"))
        .collect();
    assert!(kept.len() <= 1, "{kept:?}");
    kept.first().copied()
}

/// Every sample of the demo's /metrics, by its name and labels as written.
async fn samples(client: &reqwest::Client, base: &str) -> HashMap<String, f64> {
    let text = client
        .get(format!("{base}{}/metrics", logo_service::ADMIN))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn unix_ns(at: SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH).unwrap().as_nanos()
}

/// A span's attribute, as JSON (a string, a number or a boolean).
fn attr<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    let kv = span["attributes"]
        .as_array()?
        .iter()
        .find(|kv| kv["key"] == key)?;
    ["string_value", "int_value", "double_value", "bool_value"]
        .iter()
        .map(|t| &kv["value"][t])
        .find(|v| !v.is_null())
}

fn text<'a>(span: &'a Value, key: &str) -> Option<&'a str> {
    attr(span, key)?.as_str()
}

fn number(span: &Value, key: &str) -> Option<f64> {
    attr(span, key)?.as_f64()
}

fn time(span: &Value, key: &str) -> u128 {
    span[key].as_u64().map(u128::from).unwrap_or_default()
}

fn id(span: &Value, key: &str) -> String {
    span[key].as_str().unwrap_or_default().to_owned()
}

/// The spans Phoenix has stored, once it holds `traces` traces and stopped taking more: two reads
/// 1 s apart with the same spans. At most 90 s.
async fn stored(phoenix: &Phoenix, client: &reqwest::Client, traces: usize) -> Vec<Value> {
    let start = Instant::now();
    let mut last = 0;
    loop {
        let spans = phoenix.spans(client, PROJECT).await.unwrap();
        let mut ids: Vec<String> = spans.iter().map(|s| id(s, "trace_id")).collect();
        ids.sort();
        ids.dedup();
        if ids.len() >= traces && spans.len() == last {
            return spans;
        }
        last = spans.len();
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "Phoenix holds {} traces ({} spans) of the {traces} kept after 90 s\n{}",
            ids.len(),
            spans.len(),
            phoenix.log()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demos_runs_are_traces_in_phoenix_with_the_monitors_own_figures() {
    if !phoenix_command().exists() {
        assert!(
            !in_ci(),
            "CI needs Arize Phoenix at {} (scripts/deps.sh)",
            phoenix_command().display()
        );
        eprintln!("skipped: no {}", phoenix_command().display());
        return;
    }
    let client = reqwest::Client::new();
    let mut phoenix = Phoenix::start().unwrap();
    phoenix.wait_ready(&client).await.unwrap();

    let serving = Serving::start(
        demo(TOKEN)
            .args([
                "--requests",
                "0",
                "--fail-rate",
                "0.25",
                "--trace-sample",
                "0",
            ])
            .args(["--otlp", &phoenix.url("")])
            .env(
                "OTEL_RESOURCE_ATTRIBUTES",
                format!("openinference.project.name={PROJECT}"),
            )
            // Phoenix takes traces only.
            .env("OTEL_METRICS_EXPORTER", "none"),
    );
    let base = serving.base.clone();
    let mut sent = Vec::new();
    for i in 0..REQUESTS {
        let before = samples(&client, &base).await;
        let from_ns = unix_ns(SystemTime::now());
        let mut request = client.post(format!("{base}/api/logos")).json(&json!({
            "prompt": prompt(i),
        }));
        if i == TRACEPARENT_AT {
            request = request
                .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
                .header("tracestate", "test=phoenix");
        }
        let status = request.send().await.unwrap().status().as_u16();
        let to_ns = unix_ns(SystemTime::now());
        let after = samples(&client, &base).await;
        let counted = after
            .iter()
            .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
            .collect();
        sent.push(Sent {
            from_ns,
            to_ns,
            status,
            counted,
        });
    }
    let statuses: Vec<u16> = sent.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 500).count(),
        3,
        "the injected failures: {statuses:?}"
    );
    let end = samples(&client, &base).await;
    let kept: f64 = end
        .iter()
        .filter(|(k, _)| k.starts_with("monitor_trace_runs_kept_total{"))
        .map(|(_, v)| v)
        .sum();
    // SIGTERM: the demo stops serving, and its guard's shutdown sends the runs still queued.
    assert!(serving.terminate().success());

    let spans = stored(&phoenix, &client, kept as usize).await;
    let after_stop = spans.len();
    let mut traces: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for s in &spans {
        traces.entry(id(s, "trace_id")).or_default().push(s);
    }
    assert_eq!(traces.len(), kept as usize, "every kept run, once");
    assert_eq!(end.get("monitor_trace_export_dropped_total"), Some(&0.0));

    let mut matched = vec![None; REQUESTS];
    for (trace_id, spans) in &traces {
        let ids: Vec<String> = spans.iter().map(|s| id(s, "span_id")).collect();
        // One root: the span whose parent is not in the trace (none, or the caller's).
        let roots: Vec<&Value> = spans
            .iter()
            .copied()
            .filter(|s| !ids.contains(&id(s, "parent_span_id")))
            .collect();
        assert_eq!(roots.len(), 1, "{trace_id}: {spans:#?}");
        let root = roots[0];
        for s in spans {
            if std::ptr::eq(*s, root) {
                continue;
            }
            let parent = spans
                .iter()
                .find(|p| id(p, "span_id") == id(s, "parent_span_id"))
                .unwrap();
            assert!(
                time(parent, "start_time_unix_nano") <= time(s, "start_time_unix_nano")
                    && time(s, "end_time_unix_nano") <= time(parent, "end_time_unix_nano"),
                "{} outside {}",
                s["name"],
                parent["name"]
            );
        }
        // The request it is: the one under way when its root started (they were sent one at a
        // time; Phoenix keeps microseconds).
        let start = time(root, "start_time_unix_nano");
        let at = sent
            .iter()
            .position(|r| r.from_ns <= start + 2_000 && start <= r.to_ns + 2_000)
            .unwrap_or_else(|| panic!("{trace_id}: no request under way at {start}"));
        assert!(
            matched[at].replace(trace_id.clone()).is_none(),
            "two traces for request {at}"
        );
        check_run(&sent[at], root, spans);
        assert_eq!(
            text(root, "monitor.kept"),
            kept_as(&sent[at]),
            "request {at}"
        );
        if at == TRACEPARENT_AT {
            assert_eq!(trace_id, CALLER_TRACE);
            assert_eq!(id(root, "parent_span_id"), CALLER_SPAN);
        } else {
            assert_eq!(root["parent_span_id"], Value::Null, "{root:#?}");
        }
    }
    // A trace for every run the monitor kept, none for the others; every failed request
    // among the first, though head sampling drew none; the caller's sampled one; and runs that
    // sampling at 0 did drop.
    for (at, request) in sent.iter().enumerate() {
        assert_eq!(
            matched[at].is_some(),
            kept_as(request).is_some(),
            "request {at}"
        );
        if request.status >= 500 {
            assert_eq!(kept_as(request), Some("failed"), "request {at}");
        }
    }
    assert_eq!(kept_as(&sent[TRACEPARENT_AT]), Some("sampled"));
    let dropped: Vec<usize> = (0..REQUESTS)
        .filter(|at| kept_as(&sent[*at]).is_none())
        .collect();
    assert!(!dropped.is_empty(), "every run kept: {statuses:?}");
    for at in dropped {
        let unsampled = sent[at].counted.get("monitor_trace_runs_unsampled_total");
        assert_eq!(unsampled, Some(&1.0), "request {at}");
    }
    let reasons: Vec<String> = end
        .iter()
        .filter(|(k, v)| k.starts_with("monitor_trace_runs_kept_total{") && **v > 0.0)
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    eprintln!(
        "phoenix: {} spans in {} traces for {REQUESTS} requests ({statuses:?}); {reasons:?}",
        spans.len(),
        traces.len()
    );
    // Nothing came after the shutdown's last push.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        phoenix.spans(&client, PROJECT).await.unwrap().len(),
        after_stop
    );
}

/// A kept run: its root as the HTTP conventions say, its pipeline's shape, its LLM spans with
/// the tokens and cost the monitor counted for the request, and no figure counted twice.
fn check_run(request: &Sent, root: &Value, spans: &[&Value]) {
    assert_eq!(root["name"], "POST /api/logos");
    assert_eq!(text(root, "openinference.span.kind"), Some("CHAIN"));
    assert_eq!(text(root, "http.request.method"), Some("POST"));
    assert_eq!(text(root, "http.route"), Some("/api/logos"));
    assert_eq!(
        number(root, "http.response.status_code"),
        Some(f64::from(request.status))
    );
    if request.status >= 500 {
        assert_eq!(root["status"]["code"], 2, "ERROR: {root:#?}");
        assert_eq!(
            text(root, "error.type"),
            Some(request.status.to_string().as_str())
        );
        assert!(
            root["status"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("injected")),
            "{root:#?}"
        );
    } else {
        assert_eq!(root["status"]["code"], 0, "{root:#?}");
        assert_eq!(text(root, "error.type"), None);
    }

    let named = |name: &str| -> Vec<&Value> {
        spans
            .iter()
            .copied()
            .filter(|s| s["name"] == name)
            .collect()
    };
    // A cached logo: the cache's stage alone; else the whole pipeline.
    let stages: &[&str] = if named("logo concepts").is_empty() {
        &["cache"]
    } else {
        &["cache", "analyse", "concepts", "render", "optimise"]
    };
    if request.status == 201 {
        assert_eq!(spans.len() == 2, stages.len() == 1, "{spans:#?}");
        for stage in stages {
            let stage_spans = named(&format!("logo {stage}"));
            assert_eq!(stage_spans.len(), 1, "{stage}");
            let s = stage_spans[0];
            assert_eq!(id(s, "parent_span_id"), id(root, "span_id"), "{stage}");
            assert_eq!(text(s, "openinference.span.kind"), Some("CHAIN"));
            assert_eq!(text(s, "monitor.pipeline"), Some("logo"));
            assert_eq!(text(s, "monitor.stage"), Some(*stage));
        }
    }
    let llm: Vec<&Value> = spans
        .iter()
        .copied()
        .filter(|s| text(s, "openinference.span.kind") == Some("LLM"))
        .collect();
    if stages.len() > 1 {
        // Three drafts and a judgement answered, besides the attempts retried.
        let answered = llm.iter().filter(|s| s["status"]["code"] == 0).count();
        assert_eq!(answered, 4, "{llm:#?}");
        let concepts = named("logo concepts")[0];
        for s in &llm {
            assert_eq!(id(s, "parent_span_id"), id(concepts, "span_id"));
        }
    }

    // Per model and kind of token, what the LLM spans say equals what the monitor counted for
    // the request; the cost too.
    let mut tokens: HashMap<String, f64> = HashMap::new();
    let mut cost = 0.0;
    for s in &llm {
        let model = text(s, "gen_ai.request.model").unwrap();
        assert_eq!(s["name"], format!("chat {model}"));
        assert_eq!(text(s, "llm.model_name"), Some(model));
        assert_eq!(text(s, "gen_ai.operation.name"), Some("chat"));
        let provider = text(s, "gen_ai.provider.name").unwrap();
        assert!(["anthropic", "openai"].contains(&provider), "{provider}");
        assert_eq!(text(s, "llm.provider"), Some(provider));
        if s["status"]["code"] == 2 {
            assert!(text(s, "error.type").is_some(), "{s:#?}");
        }
        let Some(input) = number(s, "gen_ai.usage.input_tokens") else {
            // Refused before the stream opened: no usage at all.
            assert_eq!(number(s, "llm.token_count.prompt"), None);
            continue;
        };
        let output = number(s, "gen_ai.usage.output_tokens").unwrap();
        assert_eq!(number(s, "llm.token_count.prompt"), Some(input));
        assert_eq!(number(s, "llm.token_count.completion"), Some(output));
        assert_eq!(number(s, "llm.token_count.total"), Some(input + output));
        for (kind, key, oi) in [
            ("input", "gen_ai.usage.input_tokens", None),
            ("output", "gen_ai.usage.output_tokens", None),
            (
                "cached_input",
                "gen_ai.usage.cache_read.input_tokens",
                Some("llm.token_count.prompt_details.cache_read"),
            ),
            (
                "cache_write",
                "gen_ai.usage.cache_creation.input_tokens",
                Some("llm.token_count.prompt_details.cache_write"),
            ),
            (
                "reasoning",
                "gen_ai.usage.reasoning.output_tokens",
                Some("llm.token_count.completion_details.reasoning"),
            ),
        ] {
            let n = number(s, key).unwrap_or_else(|| panic!("{key}: {s:#?}"));
            if let Some(oi) = oi {
                assert_eq!(number(s, oi), Some(n), "{oi}");
            }
            *tokens
                .entry(format!(
                    "monitor_model_tokens_total{{gen_ai_request_model=\"{model}\",gen_ai_token_type=\"{kind}\"}}"
                ))
                .or_default() += n;
        }
        let total = number(s, "llm.cost.total").unwrap();
        let parts =
            number(s, "llm.cost.prompt").unwrap() + number(s, "llm.cost.completion").unwrap();
        assert!((total - parts).abs() < 1e-12, "{total} {parts}");
        cost += total;
    }
    for (series, n) in &tokens {
        assert_eq!(
            request.counted.get(series).copied().unwrap_or(0.0),
            *n,
            "{series}"
        );
    }
    let counted_tokens: f64 = request
        .counted
        .iter()
        .filter(|(k, _)| k.starts_with("monitor_model_tokens_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(counted_tokens, tokens.values().sum::<f64>());
    let counted_cost: f64 = request
        .counted
        .iter()
        .filter(|(k, _)| k.starts_with("monitor_cost_usd_total{"))
        .map(|(_, v)| v)
        .sum();
    assert!((counted_cost - cost).abs() < 1e-9, "{counted_cost} {cost}");

    // The handler's and stages' totals, under names no backend adds up; no usage of their own.
    if !llm.is_empty() {
        let input: f64 = tokens
            .iter()
            .filter(|(k, _)| k.ends_with("\"input\"}"))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(number(root, "monitor.tokens.input"), Some(input));
        assert!((number(root, "monitor.cost_usd").unwrap() - cost).abs() < 1e-9);
    }
    for s in spans {
        if text(s, "openinference.span.kind") == Some("LLM") {
            continue;
        }
        for kv in s["attributes"].as_array().unwrap() {
            let key = kv["key"].as_str().unwrap();
            assert!(
                !key.starts_with("gen_ai.usage.")
                    && !key.starts_with("llm.token_count.")
                    && !key.starts_with("llm.cost."),
                "{key} on {}",
                s["name"]
            );
        }
    }
}
