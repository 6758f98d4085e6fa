//! OTLP/HTTP traces push, received on 127.0.0.1 by a receiver of the test's own and decoded with
//! the official message types (`opentelemetry-proto`): the tree of a kept run, the HTTP, GenAI
//! and OpenInference attributes, tokens and cost on the metered calls only, the caller's trace
//! continued; gzip, a 415 answered by plain bodies, a 5xx retried, a batch refused for good and
//! an endpoint away at shutdown counted as dropped; the bookkeeping in /metrics and OTLP metrics.
//!
//! Its own binary: tracing, its sampler and the export queue are process-wide. Head sampling is
//! off (parent-based), so only failed runs and sampled `traceparent`s are kept; the tests take a
//! lock, so that one exporter at a time drains the queue.

use monitor_core::request::RequestScope;
use monitor_core::trace::{self, Sampler, TraceParent};
use monitor_core::{Config, Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use monitor_export::otlp_traces::OtlpTraces;
use monitor_harness::{Received, Receiver};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind, status::StatusCode};
use std::io::Read;
use std::sync::{Mutex, MutexGuard, Once};
use std::time::Duration;

fn setup() -> MutexGuard<'static, ()> {
    static ONCE: Once = Once::new();
    static LOCK: Mutex<()> = Mutex::new(());
    ONCE.call_once(|| {
        Config::new()
            .traces(true)
            .trace_sampler(Sampler::ParentBasedAlwaysOff)
            .apply()
            .unwrap();
        // $3, $15 a million input / output tokens, $0.30 cached, $3.75 written to the cache.
        let price = monitor_core::pricing::Price::per_million(3.0, 15.0)
            .with_cached_input(0.3)
            .with_cache_write(3.75);
        monitor_core::pricing::set_price("otlp-trace-model", price).unwrap();
    });
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[tracks_tokens(model = "otlp-trace-model", provider = "anthropic")]
fn trace_llm(fail: bool) -> Result<Tokens, String> {
    if fail {
        Err("overloaded: token sk-live-1234567890abcdef".into())
    } else {
        Ok(Tokens::new(1_200, 300)
            .cached(800)
            .cache_write(100)
            .reasoning(50))
    }
}

#[pipeline_stage(pipeline = "otlp-trace", stage = "concepts")]
fn trace_concepts() -> Result<(), String> {
    // A retried call: the failed attempt and the retry are siblings under the stage.
    if trace_llm(true).is_err() {
        trace_llm(false)?;
    }
    Ok(())
}

#[monitored_handler(route = "POST /otlp-trace/logos")]
fn trace_handler() -> Result<(), String> {
    trace_concepts()
}

#[monitored_handler(route = "GET /otlp-trace/fail")]
fn failing_handler() -> Result<(), String> {
    Err("out of ink".into())
}

/// One request through `trace_handler`, continuing `parent`, answered with `status`.
fn request(parent: Option<TraceParent>, status: u16) {
    let mut scope = RequestScope::continuing(parent);
    scope.in_scope(trace_handler).unwrap();
    scope.complete(status, Some(42), Some(7), "POST /otlp-trace/logos");
}

fn decode(received: &Received) -> ExportTraceServiceRequest {
    assert_eq!(
        received.header("content-type"),
        Some("application/x-protobuf")
    );
    let body = if received.header("content-encoding") == Some("gzip") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(received.body.as_slice())
            .read_to_end(&mut out)
            .expect("gzip");
        out
    } else {
        received.body.clone()
    };
    prost::Message::decode(body.as_slice()).expect("an ExportTraceServiceRequest")
}

fn spans(request: &ExportTraceServiceRequest) -> Vec<Span> {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| s.spans.clone())
        .collect()
}

fn value<'a>(span: &'a Span, key: &str) -> Option<&'a any_value::Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn text<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    match value(span, key)? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn int(span: &Span, key: &str) -> Option<i64> {
    match value(span, key)? {
        any_value::Value::IntValue(n) => Some(*n),
        _ => None,
    }
}

fn float(span: &Span, key: &str) -> Option<f64> {
    match value(span, key)? {
        any_value::Value::DoubleValue(x) => Some(*x),
        _ => None,
    }
}

fn resource<'a>(request: &'a ExportTraceServiceRequest, key: &str) -> Option<&'a str> {
    let attributes: &[KeyValue] = &request.resource_spans[0].resource.as_ref()?.attributes;
    match attributes
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()?
    {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

/// The next request the receiver takes, within 10 s.
fn next(receiver: &Receiver) -> Received {
    receiver
        .next(Duration::from_secs(10))
        .expect("a request within 10 s")
}

#[test]
fn a_kept_run_is_a_trace_with_the_conventions_backends_read() {
    let _lock = setup();
    let receiver = Receiver::start("/v1/traces", Vec::new()).unwrap();
    let base = receiver.url.trim_end_matches("/v1/traces");
    let pusher = OtlpTraces::from_vars([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", base),
        ("OTEL_SERVICE_NAME", "otlp-trace-test"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "openinference.project.name=logos",
        ),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ])
    .unwrap()
    .start()
    .unwrap();

    let header = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let parent = TraceParent::parse(header)
        .unwrap()
        .with_tracestate(Some("vendor=abc"));
    request(Some(parent.clone()), 201);
    let received = next(&receiver);
    assert_eq!(received.header("content-encoding"), Some("gzip"));
    let request = decode(&received);
    assert_eq!(resource(&request, "service.name"), Some("otlp-trace-test"));
    assert_eq!(
        resource(&request, "openinference.project.name"),
        Some("logos")
    );
    let scope = request.resource_spans[0].scope_spans[0]
        .scope
        .as_ref()
        .unwrap();
    assert_eq!(scope.name, "monitor");
    let spans = spans(&request);
    assert_eq!(spans.len(), 4, "{spans:#?}");

    // The caller's trace, continued: its span is the root's parent, its tracestate on each span.
    for s in &spans {
        assert_eq!(s.trace_id, parent.trace_id.to_bytes().to_vec());
        assert_eq!(s.trace_state, "vendor=abc");
    }
    let root = &spans[0];
    assert_eq!(root.parent_span_id, parent.span_id.to_bytes().to_vec());
    assert_eq!(root.flags & 0x300, 0x300, "the root's parent is remote");
    assert_eq!(root.name, "POST /otlp-trace/logos");
    assert_eq!(root.kind, SpanKind::Server as i32);
    assert_eq!(text(root, "http.request.method"), Some("POST"));
    assert_eq!(text(root, "http.route"), Some("/otlp-trace/logos"));
    assert_eq!(int(root, "http.response.status_code"), Some(201));
    assert_eq!(int(root, "http.request.body.size"), Some(42));
    assert_eq!(int(root, "http.response.body.size"), Some(7));
    assert_eq!(text(root, "monitor.kept"), Some("sampled"));
    assert_eq!(text(root, "openinference.span.kind"), Some("CHAIN"));
    assert_eq!(text(root, "error.type"), None);
    assert_eq!(root.status.as_ref().unwrap().code, StatusCode::Unset as i32);

    let stage = &spans[1];
    assert_eq!(stage.parent_span_id, root.span_id);
    assert_eq!(stage.flags & 0x300, 0x100, "a local parent");
    assert_eq!(stage.name, "otlp-trace concepts");
    assert_eq!(stage.kind, SpanKind::Internal as i32);
    assert_eq!(text(stage, "monitor.pipeline"), Some("otlp-trace"));
    assert_eq!(text(stage, "monitor.stage"), Some("concepts"));
    assert_eq!(text(stage, "openinference.span.kind"), Some("CHAIN"));
    assert_eq!(text(stage, "monitor.kept"), None, "only the root says");

    let (failed, retry) = (&spans[2], &spans[3]);
    for llm in [failed, retry] {
        assert_eq!(llm.parent_span_id, stage.span_id);
        assert_eq!(llm.name, "chat otlp-trace-model");
        assert_eq!(llm.kind, SpanKind::Client as i32);
        assert_eq!(text(llm, "gen_ai.operation.name"), Some("chat"));
        assert_eq!(text(llm, "gen_ai.provider.name"), Some("anthropic"));
        assert_eq!(text(llm, "gen_ai.request.model"), Some("otlp-trace-model"));
        assert_eq!(text(llm, "openinference.span.kind"), Some("LLM"));
        assert_eq!(text(llm, "llm.model_name"), Some("otlp-trace-model"));
        assert_eq!(text(llm, "llm.provider"), Some("anthropic"));
        // Each child inside its parent, in time.
        assert!(llm.start_time_unix_nano >= stage.start_time_unix_nano);
        assert!(llm.end_time_unix_nano <= stage.end_time_unix_nano);
    }
    assert!(stage.start_time_unix_nano >= root.start_time_unix_nano);
    assert!(stage.end_time_unix_nano <= root.end_time_unix_nano);
    assert!(failed.end_time_unix_nano <= retry.start_time_unix_nano);

    // The failed attempt: ERROR, its type, its message redacted.
    let status = failed.status.as_ref().unwrap();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert!(status.message.starts_with("overloaded"), "{status:?}");
    assert!(
        !status.message.contains("sk-live-1234567890abcdef"),
        "{status:?}"
    );
    assert_eq!(text(failed, "error.type"), Some("alloc::string::String"));
    assert_eq!(int(failed, "gen_ai.usage.input_tokens"), None);

    // The retry's tokens and cost, in both conventions.
    for (key, n) in [
        ("gen_ai.usage.input_tokens", 1_200),
        ("gen_ai.usage.output_tokens", 300),
        ("gen_ai.usage.cache_read.input_tokens", 800),
        ("gen_ai.usage.cache_creation.input_tokens", 100),
        ("gen_ai.usage.reasoning.output_tokens", 50),
        ("llm.token_count.prompt", 1_200),
        ("llm.token_count.completion", 300),
        ("llm.token_count.total", 1_500),
        ("llm.token_count.prompt_details.cache_read", 800),
        ("llm.token_count.prompt_details.cache_write", 100),
        ("llm.token_count.completion_details.reasoning", 50),
    ] {
        assert_eq!(int(retry, key), Some(n), "{key}");
    }
    // 300 fresh input × $3, 800 cached × $0.30, 100 written × $3.75; 250 output and 50
    // reasoning × $15 (a million).
    let prompt = (300.0 * 3.0 + 800.0 * 0.3 + 100.0 * 3.75) / 1e6;
    let completion = 300.0 * 15.0 / 1e6;
    let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-12);
    assert!(close(float(retry, "llm.cost.prompt"), prompt));
    assert!(close(float(retry, "llm.cost.completion"), completion));
    assert!(close(float(retry, "llm.cost.total"), prompt + completion));
    assert!(close(
        float(retry, "llm.cost.prompt_details.cache_read"),
        800.0 * 0.3 / 1e6
    ));

    // Counted once: the handler and the stage carry the totals under their own names only.
    for s in [root, stage] {
        for a in &s.attributes {
            assert!(
                !a.key.starts_with("gen_ai.") && !a.key.starts_with("llm."),
                "{} on {}",
                a.key,
                s.name
            );
        }
        assert_eq!(int(s, "monitor.tokens.input"), Some(1_200));
        assert_eq!(int(s, "monitor.tokens.output"), Some(300));
        assert_eq!(int(s, "monitor.tokens.cache_read"), Some(800));
        assert!(close(float(s, "monitor.cost_usd"), prompt + completion));
    }
    let health = pusher.stop();
    assert_eq!((health.sent, health.rejected), (1, 0), "{health:?}");
}

#[test]
fn a_failed_request_is_error_and_a_client_error_is_not() {
    let _lock = setup();
    let receiver = Receiver::start("/v1/traces", Vec::new()).unwrap();
    let pusher = OtlpTraces::new(receiver.url.clone())
        .gzip(false)
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    // Unsampled by the caller; failed: kept by the tail rule.
    let unsampled =
        TraceParent::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00").unwrap();
    request(Some(unsampled), 503);
    let _ = failing_handler();
    // Sampled by the caller, answered 404: the caller's error, not the server's.
    let sampled =
        TraceParent::parse("00-1af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
    request(Some(sampled), 404);
    // Shutdown sends what is queued, though the next push was an hour away. The pusher's first
    // drain, as it starts, may take the first run alone (seen in CI under load): one request or
    // two, every run once.
    let health = pusher.stop();
    let mut spans = Vec::new();
    let mut requests = 0;
    while requests < 3
        && spans
            .iter()
            .filter(|s| text(s, "monitor.kept").is_some())
            .count()
            < 3
    {
        let received = next(&receiver);
        assert_eq!(received.header("content-encoding"), None);
        spans.extend(self::spans(&decode(&received)));
        requests += 1;
    }
    assert_eq!(health.sent, requests, "{health:?}");
    let roots: Vec<&Span> = spans
        .iter()
        .filter(|s| text(s, "monitor.kept").is_some())
        .collect();
    assert_eq!(roots.len(), 3, "{spans:#?}");
    let served = roots[0];
    assert_eq!(text(served, "monitor.kept"), Some("failed"));
    assert_eq!(int(served, "http.response.status_code"), Some(503));
    assert_eq!(text(served, "error.type"), Some("503"));
    let status = served.status.as_ref().unwrap();
    assert_eq!(
        (status.code, status.message.as_str()),
        (StatusCode::Error as i32, "HTTP 503")
    );
    let direct = roots[1];
    assert_eq!(direct.name, "GET /otlp-trace/fail");
    assert!(direct.parent_span_id.is_empty());
    assert_eq!(text(direct, "error.type"), Some("alloc::string::String"));
    assert_eq!(direct.status.as_ref().unwrap().message, "out of ink");
    let not_found = roots[2];
    assert_eq!(int(not_found, "http.response.status_code"), Some(404));
    assert_eq!(text(not_found, "error.type"), None);
    assert_eq!(
        not_found.status.as_ref().unwrap().code,
        StatusCode::Unset as i32
    );
}

#[test]
fn a_refused_gzip_is_sent_plain_a_5xx_retried_and_what_is_refused_for_good_counted() {
    let _lock = setup();
    let receiver = Receiver::start(
        "/v1/traces",
        vec![
            "HTTP/1.1 415 Unsupported Media Type\r\n".to_owned(),
            "HTTP/1.1 503 Service Unavailable\r\n".to_owned(),
            "HTTP/1.1 204 No Content\r\n".to_owned(),
            // Two: the last two runs may go in one batch or two.
            "HTTP/1.1 400 Bad Request\r\n".to_owned(),
            "HTTP/1.1 400 Bad Request\r\n".to_owned(),
        ],
    )
    .unwrap();
    let pusher = OtlpTraces::new(receiver.url.clone())
        .interval(Duration::from_millis(50))
        .backoff(Duration::from_millis(100), Duration::from_millis(100))
        .start()
        .unwrap();
    let dropped = trace::stats().export_dropped;
    let _ = failing_handler();
    let gzipped = next(&receiver);
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    let plain = next(&receiver);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(decode(&gzipped), decode(&plain));
    // The 503: the same run again, after the backoff, still plain.
    let retried = next(&receiver);
    assert!(retried.at.duration_since(plain.at) >= Duration::from_millis(90));
    assert_eq!(retried.header("content-encoding"), None);
    assert_eq!(decode(&retried), decode(&plain));
    assert_eq!(trace::stats().export_dropped, dropped);

    // Refused for good (400): dropped, and counted.
    let _ = failing_handler();
    let _ = failing_handler();
    // One batch or two, as the pusher's drain falls between the runs.
    let mut refused = spans(&decode(&next(&receiver))).len();
    let mut refused_batches = 1;
    if refused < 2 {
        refused += spans(&decode(&next(&receiver))).len();
        refused_batches += 1;
    }
    assert_eq!(refused, 2);
    let health = pusher.stop();
    assert_eq!(
        (health.sent, health.rejected, health.failed_attempts),
        (1, refused_batches, 1),
        "{health:?}"
    );
    assert_eq!(trace::stats().export_dropped, dropped + 2);
}

#[test]
fn runs_an_endpoint_away_never_took_are_counted_at_shutdown_and_exported_as_metrics() {
    let _lock = setup();
    // A port nothing listens on.
    let port = monitor_harness::free_port().unwrap();
    let pusher = OtlpTraces::new(format!("http://127.0.0.1:{port}/v1/traces"))
        .interval(Duration::from_secs(3600))
        .timeout(Duration::from_millis(500))
        .start()
        .unwrap();
    let before = trace::stats();
    for _ in 0..3 {
        let _ = failing_handler();
    }
    let health = pusher.stop();
    assert_eq!((health.sent, health.dropped), (0, 1), "{health:?}");
    let after = trace::stats();
    assert_eq!(after.export_dropped, before.export_dropped + 3);
    assert_eq!(after.kept[0], before.kept[0] + 3, "kept as failed");

    // Never silent: both exporters say so.
    let snapshot = monitor_core::snapshot();
    let text = monitor_export::render(&snapshot);
    assert!(
        text.contains(&format!(
            "monitor_trace_export_dropped_total {}\n",
            after.export_dropped
        )),
        "{text}"
    );
    assert!(text.contains(&format!(
        "monitor_trace_runs_kept_total{{reason=\"failed\"}} {}\n",
        after.kept[0]
    )));
    assert!(text.contains("monitor_trace_spans_dropped_total{reason=\"detached\"} "));
    let otlp = monitor_export::otlp::request(&snapshot, &[]);
    let metrics = &otlp.resource_metrics[0].scope_metrics[0].metrics;
    let dropped = metrics
        .iter()
        .find(|m| m.name == "monitor.trace.export.dropped")
        .expect("monitor.trace.export.dropped");
    let Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Sum(sum)) = &dropped.data
    else {
        panic!("a sum: {dropped:?}");
    };
    assert_eq!(
        sum.data_points[0].value,
        Some(
            opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsDouble(
                after.export_dropped as f64
            )
        )
    );
}
