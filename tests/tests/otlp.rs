//! OTLP/HTTP metrics push, received on 127.0.0.1 by a receiver of the test's own and decoded with
//! the official message types (`opentelemetry-proto`): exact values, the resource's attributes
//! from the standard variables, the conventions' names, cumulative and delta temporality, gzip;
//! and a receiver that is away: drops counted, nothing else lost.

use monitor_core::{Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use monitor_export::otlp::{Otlp, Temporality};
use monitor_harness::{Received, Receiver};
use monitor_tests::support::health_until;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, Metric, metric};
use std::io::Read;
use std::time::Duration;

#[monitored_handler(route = "GET /otlp/items/{id}")]
fn otlp_handler(fail: bool) -> Result<(), String> {
    if fail { Err("no".to_owned()) } else { Ok(()) }
}

#[monitored_handler(route = "POST /otlp/answers")]
fn otlp_answer(code: u16) -> http::StatusCode {
    http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
}

#[pipeline_stage(pipeline = "otlp_pipe", stage = "otlp_stage")]
fn otlp_stage() -> u32 {
    1
}

#[tracks_tokens(model = "otlp-model", provider = "openai")]
fn otlp_llm() -> Result<Tokens, String> {
    Ok(Tokens::new(120, 30))
}

fn decode(received: &Received) -> ExportMetricsServiceRequest {
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
    prost::Message::decode(body.as_slice()).expect("an ExportMetricsServiceRequest")
}

fn text(kv: &KeyValue) -> &str {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s,
        _ => "",
    }
}

fn attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes.iter().find(|kv| kv.key == key).map(text)
}

fn int_attr(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match attributes
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()?
        .value
    {
        Some(any_value::Value::IntValue(n)) => Some(n),
        _ => None,
    }
}

fn metric<'a>(request: &'a ExportMetricsServiceRequest, name: &str) -> &'a Metric {
    request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

/// The value of `monitor.calls` for `site` and `outcome`, and the temporality.
fn calls(request: &ExportMetricsServiceRequest, site: &str, outcome: &str) -> (f64, i32) {
    let Some(metric::Data::Sum(sum)) = &metric(request, "monitor.calls").data else {
        panic!("monitor.calls is not a sum")
    };
    assert!(sum.is_monotonic);
    let point = sum
        .data_points
        .iter()
        .find(|p| {
            attr(&p.attributes, "site") == Some(site)
                && attr(&p.attributes, "outcome") == Some(outcome)
        })
        .unwrap_or_else(|| panic!("no point for {site} {outcome}"));
    let value = match point.value {
        Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsDouble(v)) => v,
        _ => panic!("not a double"),
    };
    (value, sum.aggregation_temporality)
}

#[test]
fn the_pushed_metrics_decode_to_exactly_what_was_recorded() {
    for i in 0..25 {
        let _ = otlp_handler(i % 5 == 0);
    }
    for code in [200, 200, 200, 200, 200, 200, 404, 404, 404, 503, 503] {
        otlp_answer(code);
    }
    for _ in 0..7 {
        otlp_stage();
    }
    for _ in 0..3 {
        otlp_llm().unwrap();
    }
    let receiver = Receiver::start("/v1/metrics", Vec::new()).unwrap();
    let base = receiver.url.trim_end_matches("/v1/metrics").to_owned();
    let pusher = Otlp::from_vars([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", base.as_str()),
        ("OTEL_SERVICE_NAME", "otlp-test"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.instance.id=api-1,deployment.environment=test%20env",
        ),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cr3t"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "60000"),
    ])
    .unwrap()
    .start()
    .unwrap();
    let received = receiver.next(Duration::from_secs(10)).unwrap();
    assert!(
        received.head.starts_with("post /v1/metrics "),
        "{}",
        received.head
    );
    assert_eq!(received.header("x-api-key"), Some("s3cr3t"));
    let request = decode(&received);

    let resource = request.resource_metrics[0].resource.as_ref().unwrap();
    assert_eq!(
        attr(&resource.attributes, "service.name"),
        Some("otlp-test")
    );
    assert_eq!(
        attr(&resource.attributes, "service.instance.id"),
        Some("api-1")
    );
    assert_eq!(
        attr(&resource.attributes, "deployment.environment"),
        Some("test env")
    );
    let scope = request.resource_metrics[0].scope_metrics[0]
        .scope
        .as_ref()
        .unwrap();
    assert_eq!(scope.name, "monitor");

    let (ok, temporality) = calls(&request, "otlp_handler", "ok");
    assert_eq!(ok, 20.0);
    assert_eq!(calls(&request, "otlp_handler", "error").0, 5.0);
    assert_eq!(temporality, AggregationTemporality::Cumulative as i32);
    assert_eq!(calls(&request, "otlp_stage", "ok").0, 7.0);

    // The handler's durations under the HTTP conventions' name and attributes.
    let Some(metric::Data::ExponentialHistogram(http)) =
        &metric(&request, "http.server.request.duration").data
    else {
        panic!("not an exponential histogram")
    };
    // A handler without statuses: its successes, and its failures with their error type.
    let points: Vec<_> = http
        .data_points
        .iter()
        .filter(|p| attr(&p.attributes, "http.route") == Some("/otlp/items/{id}"))
        .collect();
    assert_eq!(points.len(), 2, "{points:?}");
    let point = points
        .iter()
        .find(|p| attr(&p.attributes, "error.type").is_none())
        .expect("the handler's successes");
    let failed = points
        .iter()
        .find(|p| attr(&p.attributes, "error.type") == Some("alloc::string::String"))
        .unwrap_or_else(|| panic!("the failures, with their error type: {points:?}"));
    assert_eq!(failed.count, 5);
    assert!(
        points
            .iter()
            .all(|p| int_attr(&p.attributes, "http.response.status_code").is_none())
    );
    assert_eq!(attr(&point.attributes, "http.request.method"), Some("GET"));
    assert_eq!(
        (point.count, point.scale),
        (20, monitor_export::exponential::SCALE)
    );
    let positive = point.positive.as_ref().unwrap();
    assert_eq!(
        positive.bucket_counts.iter().sum::<u64>() + point.zero_count,
        20
    );
    // A handler that answers with statuses: a point per status, a 5xx with `error.type`.
    let mut answers: Vec<(i64, u64, Option<&str>)> = http
        .data_points
        .iter()
        .filter(|p| attr(&p.attributes, "http.route") == Some("/otlp/answers"))
        .map(|p| {
            assert_eq!(attr(&p.attributes, "http.request.method"), Some("POST"));
            (
                int_attr(&p.attributes, "http.response.status_code").expect("a status"),
                p.count,
                attr(&p.attributes, "error.type"),
            )
        })
        .collect();
    answers.sort();
    assert_eq!(
        answers,
        [(200, 6, None), (404, 3, None), (503, 2, Some("503"))]
    );
    // The buckets hold the handler's durations: microseconds, not seconds.
    let base = 2f64.powf(2f64.powi(-point.scale));
    assert!(
        base.powi(positive.offset) < 0.01,
        "offset {}",
        positive.offset
    );
    assert_eq!(metric(&request, "http.server.request.duration").unit, "s");

    // The stage under monitor's own name.
    let Some(metric::Data::ExponentialHistogram(stages)) =
        &metric(&request, "monitor.call.duration").data
    else {
        panic!("not an exponential histogram")
    };
    let stage = stages
        .data_points
        .iter()
        .find(|p| attr(&p.attributes, "stage") == Some("otlp_stage"))
        .expect("the stage's point");
    assert_eq!(
        (stage.count, attr(&stage.attributes, "pipeline")),
        (7, Some("otlp_pipe"))
    );

    // The LLM calls under the GenAI conventions.
    let Some(metric::Data::Histogram(usage)) = &metric(&request, "gen_ai.client.token.usage").data
    else {
        panic!("not a histogram")
    };
    let input = usage
        .data_points
        .iter()
        .find(|p| {
            attr(&p.attributes, "gen_ai.request.model") == Some("otlp-model")
                && attr(&p.attributes, "gen_ai.token.type") == Some("input")
        })
        .expect("the input tokens' point");
    assert_eq!((input.count, input.sum), (3, Some(360.0)));
    assert_eq!(
        attr(&input.attributes, "gen_ai.provider.name"),
        Some("openai")
    );
    let Some(metric::Data::ExponentialHistogram(operation)) =
        &metric(&request, "gen_ai.client.operation.duration").data
    else {
        panic!("not an exponential histogram")
    };
    assert!(operation.data_points.iter().any(|p| {
        attr(&p.attributes, "gen_ai.request.model") == Some("otlp-model") && p.count == 3
    }));
    pusher.stop();
}

/// For a receiver without exponential histograms: explicit buckets, Prometheus's bounds.
#[test]
fn durations_can_be_explicit_bucket_histograms() {
    #[monitored_handler(route = "GET /otlp/explicit")]
    fn otlp_explicit() -> &'static str {
        "ok"
    }
    for _ in 0..9 {
        otlp_explicit();
    }
    let receiver = Receiver::start("/v1/metrics", Vec::new()).unwrap();
    let pusher = Otlp::new(receiver.url.clone())
        .explicit_buckets(true)
        .start()
        .unwrap();
    let request = decode(&receiver.next(Duration::from_secs(10)).unwrap());
    let Some(metric::Data::Histogram(http)) =
        &metric(&request, "http.server.request.duration").data
    else {
        panic!("not an explicit-bucket histogram")
    };
    let point = http
        .data_points
        .iter()
        .find(|p| attr(&p.attributes, "http.route") == Some("/otlp/explicit"))
        .expect("the handler's point");
    assert_eq!(point.count, 9);
    assert_eq!(point.bucket_counts.iter().sum::<u64>(), 9);
    assert_eq!(point.bucket_counts.len(), point.explicit_bounds.len() + 1);
    assert_eq!(point.explicit_bounds[0], 0.0001);
    pusher.stop();
}

#[test]
fn delta_temporality_reports_what_changed_and_gzip_compresses() {
    #[monitored_handler(route = "POST /otlp/delta")]
    fn otlp_delta() -> &'static str {
        "ok"
    }
    for _ in 0..10 {
        otlp_delta();
    }
    let receiver = Receiver::start("/v1/metrics", Vec::new()).unwrap();
    let pusher = Otlp::new(receiver.url.clone())
        .temporality(Temporality::Delta)
        .gzip(true)
        .interval(Duration::from_millis(300))
        .start()
        .unwrap();
    let first = receiver.next(Duration::from_secs(10)).unwrap();
    assert_eq!(first.header("content-encoding"), Some("gzip"));
    let first = decode(&first);
    let (n, temporality) = calls(&first, "otlp_delta", "ok");
    assert_eq!(
        (n, temporality),
        (10.0, AggregationTemporality::Delta as i32)
    );
    for _ in 0..4 {
        otlp_delta();
    }
    // The next payloads add up to the 4 calls made since: each says only what changed.
    let mut seen = 0.0;
    for _ in 0..20 {
        let next = decode(&receiver.next(Duration::from_secs(10)).unwrap());
        seen += calls(&next, "otlp_delta", "ok").0;
        if seen >= 4.0 {
            break;
        }
    }
    assert_eq!(seen, 4.0);
    pusher.stop();
}

#[test]
fn a_receiver_away_then_back_loses_nothing_beyond_the_queue() {
    #[monitored_handler(route = "GET /otlp/away")]
    fn otlp_away() -> &'static str {
        "ok"
    }
    for _ in 0..12 {
        otlp_away();
    }
    // 503s while it is away, then it takes everything: the queue's 3 payloads, then the rest.
    let away = vec!["HTTP/1.1 503 Service Unavailable\r\n".to_owned(); 6];
    let receiver = Receiver::start("/v1/metrics", away).unwrap();
    let pusher = Otlp::new(receiver.url.clone())
        .interval(Duration::from_millis(100))
        .max_queue(3)
        .backoff(Duration::from_millis(150), Duration::from_millis(150))
        .start()
        .unwrap();
    for _ in 0..6 {
        receiver.next(Duration::from_secs(10)).unwrap();
    }
    // Back: the next request is the oldest payload still queued, and every one carries the total.
    let back = decode(&receiver.next(Duration::from_secs(10)).unwrap());
    assert_eq!(calls(&back, "otlp_away", "ok").0, 12.0);
    let h = health_until(|| pusher.health(), |h| h.sent >= 3);
    assert_eq!((h.failed_attempts, h.rejected), (6, 0), "{h:?}");
    assert!(
        h.dropped >= 1,
        "the queue of 3 overflowed while away: {h:?}"
    );
    // Every payload made is sent, dropped or still queued.
    let h = pusher.stop();
    assert_eq!(
        h.made,
        h.sent + h.dropped + h.rejected + h.queued as u64,
        "{h:?}"
    );
}

#[test]
fn bad_variables_are_named() {
    for (key, value) in [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector:4318"),
        // An unencoded `/` in a password: the URL would be read as host `alice`, port `pw1`.
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "http://alice:pw1/pw2@collector:4318/v1/metrics",
        ),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "-1"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "0"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "no-equals-sign"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "lowmemory",
        ),
    ] {
        let err = Otlp::from_vars([(key, value)]).unwrap_err();
        assert_eq!((err.key, err.value.as_str()), (key, value));
        assert!(err.to_string().contains(key), "{err}");
    }
    // The metrics endpoint is used as it is, and wins over the base.
    let otlp = Otlp::from_vars([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "https://ingest.example/otlp/metrics",
        ),
    ])
    .unwrap();
    assert_eq!(otlp.endpoint(), "https://ingest.example/otlp/metrics");
    let base =
        Otlp::from_vars([("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]).unwrap();
    assert_eq!(base.endpoint(), "http://collector:4318/v1/metrics");
    // Set in code, an endpoint is checked when the exporter starts.
    let err = Otlp::new("collector:4318/v1/metrics").start().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        err.to_string()
            .starts_with("the otlp endpoint is not a URL"),
        "{err}"
    );
}

/// A 429's `Retry-After` is honoured by the OTLP exporter too, and a 400 is not retried.
#[test]
fn a_429s_retry_after_is_honoured_and_a_400_is_not_retried() {
    let receiver = Receiver::start(
        "/v1/metrics",
        vec![
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: 1\r\n".to_owned(),
            "HTTP/1.1 400 Bad Request\r\n".to_owned(),
        ],
    )
    .unwrap();
    let pusher = Otlp::new(receiver.url.clone())
        .interval(Duration::from_secs(60))
        .backoff(Duration::from_millis(10), Duration::from_millis(10))
        .start()
        .unwrap();
    let first = receiver.next(Duration::from_secs(10)).unwrap();
    let second = receiver.next(Duration::from_secs(10)).unwrap();
    // The same payload, after the second the server asked for, not the 10 ms backoff.
    assert_eq!(first.body, second.body);
    assert!(
        second.at - first.at >= Duration::from_secs(1),
        "{:?}",
        second.at - first.at
    );
    health_until(|| pusher.health(), |h| h.rejected == 1);
    let h = pusher.stop();
    assert_eq!((h.failed_attempts, h.rejected), (1, 1), "{h:?}");
    assert!(
        h.last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("HTTP 400")),
        "{h:?}"
    );
}
