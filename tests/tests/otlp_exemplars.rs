//! OTLP metrics carry exemplars: the duration points of a site name the newest call of it in a
//! kept run — its trace and span ids, duration and end — on the point of the way it ended;
//! pushed to a receiver on 127.0.0.1 and decoded with the official types. With delta temporality,
//! a payload's exemplar is a call of its own interval.
//!
//! Its own binary: tracing and its sampler are process-wide. Head sampling is off
//! (`parentbased_always_off`): the only runs kept are the failed ones.

use monitor_core::trace::{self, KeepReason, KeptRun, Sampler, SpanId, TraceId};
use monitor_core::{Config, monitored_handler, pipeline_stage};
use monitor_export::otlp::{Otlp, Temporality};
use monitor_harness::{Received, Receiver};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{Exemplar, Metric, exemplar, metric};
use std::sync::{Arc, Once};
use std::time::{Duration, UNIX_EPOCH};

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        Config::new()
            .traces(true)
            .trace_sampler(Sampler::ParentBasedAlwaysOff)
            .apply()
            .unwrap();
    });
}

#[monitored_handler(route = "GET /otlpx/items/{id}")]
fn otlpx_handler(fail: bool) -> Result<(), String> {
    std::thread::sleep(Duration::from_millis(2));
    if fail { Err("no".to_owned()) } else { Ok(()) }
}

#[pipeline_stage(pipeline = "otlpx", stage = "render")]
fn otlpx_stage() -> Result<(), String> {
    Err("out of ink".to_owned())
}

#[monitored_handler(route = "GET /otlpx/delta")]
fn otlpx_delta() -> Result<(), String> {
    Err("again".to_owned())
}

fn decode(received: &Received) -> ExportMetricsServiceRequest {
    prost::Message::decode(received.body.as_slice()).expect("an ExportMetricsServiceRequest")
}

fn attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        }
    })
}

fn metric<'a>(request: &'a ExportMetricsServiceRequest, name: &str) -> &'a Metric {
    request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

/// The attributes and exemplars of each point of an exponential histogram.
fn points(metric: &Metric) -> Vec<(&[KeyValue], &[Exemplar])> {
    match &metric.data {
        Some(metric::Data::ExponentialHistogram(h)) => h
            .data_points
            .iter()
            .map(|p| (p.attributes.as_slice(), p.exemplars.as_slice()))
            .collect(),
        Some(metric::Data::Histogram(h)) => h
            .data_points
            .iter()
            .map(|p| (p.attributes.as_slice(), p.exemplars.as_slice()))
            .collect(),
        _ => panic!("{} is no histogram", metric.name),
    }
}

/// The run an exemplar names, checked against it: kept, failed, rooted at `root`, the root's
/// span, duration and end.
fn run_of(e: &Exemplar, root: &str) -> Arc<KeptRun> {
    let trace_id = TraceId::from_bytes(e.trace_id.as_slice().try_into().expect("16 bytes"))
        .expect("a trace id");
    let run = trace::find_run(trace_id).expect("the exemplar's trace is a kept run");
    assert_eq!(run.kept, KeepReason::Failed);
    let span = run.root();
    assert_eq!(span.site.name(), root);
    let span_id = SpanId::from_bytes(e.span_id.as_slice().try_into().expect("8 bytes"));
    assert_eq!(span_id, Some(span.id));
    assert_eq!(
        e.value,
        Some(exemplar::Value::AsDouble(span.duration.as_secs_f64()))
    );
    let ended = run.start + span.offset + span.duration;
    let ended = ended.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    assert_eq!(e.time_unix_nano, ended);
    assert!(e.filtered_attributes.is_empty());
    run
}

#[test]
fn duration_points_carry_the_newest_kept_call_of_their_site() {
    setup();
    for fail in [true, false, true, false] {
        let _ = otlpx_handler(fail);
    }
    let _ = otlpx_stage();
    // The newest failed call of the handler, which the exemplar must name.
    let newest = trace::recent_runs()
        .into_iter()
        .find(|r| r.root().site.name() == "otlpx_handler")
        .expect("a kept run of the handler");

    for explicit in [false, true] {
        let receiver = Receiver::start("/v1/metrics", Vec::new()).unwrap();
        let pusher = Otlp::new(receiver.url.clone())
            .explicit_buckets(explicit)
            .start()
            .unwrap();
        let request = decode(&receiver.next(Duration::from_secs(10)).unwrap());
        pusher.stop();

        let http = metric(&request, "http.server.request.duration");
        let ours: Vec<_> = points(http)
            .into_iter()
            .filter(|(a, _)| attr(a, "http.route") == Some("/otlpx/items/{id}"))
            .collect();
        // Two points: the calls that returned, and those that failed; only the failed one has
        // a kept call.
        assert_eq!(ours.len(), 2, "{ours:?}");
        for (attributes, exemplars) in ours {
            match attr(attributes, "error.type") {
                Some(_) => {
                    assert_eq!(exemplars.len(), 1, "explicit: {explicit}");
                    let run = run_of(&exemplars[0], "otlpx_handler");
                    assert_eq!(run.trace_id, newest.trace_id);
                }
                None => assert!(exemplars.is_empty(), "{exemplars:?}"),
            }
        }

        let stages = metric(&request, "monitor.call.duration");
        let stage: Vec<_> = points(stages)
            .into_iter()
            .filter(|(a, _)| attr(a, "site") == Some("otlpx_stage"))
            .collect();
        assert_eq!(stage.len(), 1);
        assert_eq!(stage[0].1.len(), 1);
        run_of(&stage[0].1[0], "otlpx_stage");
    }
}

#[test]
fn a_delta_payload_carries_only_a_call_of_its_interval() {
    setup();
    let _ = otlpx_delta();
    let receiver = Receiver::start("/v1/metrics", Vec::new()).unwrap();
    let pusher = Otlp::new(receiver.url.clone())
        .temporality(Temporality::Delta)
        .interval(Duration::from_millis(300))
        .start()
        .unwrap();
    let delta_exemplars = |request: &ExportMetricsServiceRequest| -> Vec<Exemplar> {
        points(metric(request, "http.server.request.duration"))
            .into_iter()
            .filter(|(a, _)| attr(a, "http.route") == Some("/otlpx/delta"))
            .flat_map(|(_, e)| e.to_vec())
            .collect()
    };
    let first = decode(&receiver.next(Duration::from_secs(10)).unwrap());
    let first = delta_exemplars(&first);
    assert_eq!(first.len(), 1);
    run_of(&first[0], "otlpx_delta");

    // The next payload has no new call: no exemplar, though the call is still the newest.
    let second = decode(&receiver.next(Duration::from_secs(10)).unwrap());
    assert!(delta_exemplars(&second).is_empty());

    // A new failed call: the payloads after it name it, once.
    let _ = otlpx_delta();
    let mut seen = Vec::new();
    for _ in 0..20 {
        let next = decode(&receiver.next(Duration::from_secs(10)).unwrap());
        seen.extend(delta_exemplars(&next));
        if !seen.is_empty() {
            break;
        }
    }
    pusher.stop();
    assert_eq!(seen.len(), 1);
    let run = run_of(&seen[0], "otlpx_delta");
    assert_ne!(run.trace_id.to_bytes().to_vec(), first[0].trace_id);
}
