//! The exporter's seam: a snapshot built by hand, with no instrumented call at all, renders to
//! exactly the text worked out here.

use monitor_core::caches::CacheStats;
use monitor_core::pricing::Price;
use monitor_core::site::SiteKind;
use monitor_core::snapshot::{ErrorPattern, ErrorSummary, ModelStats, SiteSnapshot};
use monitor_core::{Figures, Site, Snapshot};
use monitor_export::Exposition;
use monitor_export::exemplars::{Exemplar, Exemplars};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

fn snapshot() -> Snapshot {
    let handler = Site::builder(SiteKind::Handler, "create_logo")
        .module_path("app::api")
        .route("POST /api/logos")
        .build();
    let stage = Site::builder(SiteKind::Stage, "render")
        .module_path("app::pipeline")
        .pipeline("logo")
        .stage("render")
        .build();
    let tokens = Site::builder(SiteKind::Tokens, "complete")
        .module_path("app::llm")
        .model("gpt-4o")
        .provider("openai")
        .build();

    // Three calls of the handler: 2 ms and 40 ms that went well, 3 s that failed with a 503.
    let mut h = Figures::default();
    for ms in [2, 40, 3_000] {
        h.durations.record(Duration::from_millis(ms));
    }
    h.errors = 1;
    h.error_durations.record(Duration::from_millis(3_000));
    h.statuses = [0, 2, 0, 0, 1];
    h.request_bytes = 300;
    h.response_bytes = 4_096;
    h.token_calls = 2;
    h.tokens.input = 1_000;
    h.tokens.output = 200;
    h.cost_picousd = 4_500_000_000; // $0.0045

    // The stage: one call that panicked after 7 ms, one cancelled; tokens of an unpriced model.
    let mut s = Figures::default();
    s.durations.record(Duration::from_millis(7));
    s.errors = 1;
    s.panics = 1;
    s.error_durations.record(Duration::from_millis(7));
    s.cancelled = 1;
    s.token_calls = 1;
    s.tokens.input = 10;
    s.tokens.output = 5;
    s.unpriced_calls = 1;

    // Two streamed calls of 500 ms and 700 ms. Call A: 600 input (300 cached, 100 written to the
    // cache), 150 output (50 reasoning); call B: 400 input (100 cached), 50 output.
    let mut t = Figures::default();
    t.durations.record(Duration::from_millis(500));
    t.durations.record(Duration::from_millis(700));
    // The 700 ms one failed (rate limited) after its tokens were counted.
    t.errors = 1;
    t.error_durations.record(Duration::from_millis(700));
    t.token_calls = 2;
    t.tokens.input = 1_000;
    t.tokens.output = 200;
    t.tokens.cached_input = 400;
    t.tokens.cache_write = 100;
    t.tokens.reasoning = 50;
    // Per call: input 600 and 400 are both in (256, 1024], bucket 5; output 150 in (64, 256],
    // bucket 4, and 50 in (16, 64], bucket 3.
    t.tokens_per_call[0][5] = 2;
    t.tokens_per_call[1][4] = 1;
    t.tokens_per_call[1][3] = 1;
    // At 2.50 / 10.00 / 1.25 per million (cache writes at the input rate, reasoning at the output
    // rate): 500 fresh input $0.00125, 400 cached $0.0005, 100 written $0.00025, 150 visible
    // output $0.0015, 50 reasoning $0.0005: $0.004 in all.
    t.cost_by_kind = [
        1_250_000_000,
        500_000_000,
        250_000_000,
        1_500_000_000,
        500_000_000,
    ];
    t.cost_picousd = 4_000_000_000;
    // 30 chunks; first chunks after 120 ms and 300 ms; 15 ms and 30 ms per chunk after.
    t.chunks = 30;
    t.first_chunk.record(Duration::from_millis(120));
    t.first_chunk.record(Duration::from_millis(300));
    t.per_output_chunk.record(Duration::from_millis(15));
    t.per_output_chunk.record(Duration::from_millis(30));

    let price = Price::per_million(2.5, 10.0).with_cached_input(1.25);
    let mut snap = Snapshot::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    snap.sites = vec![
        SiteSnapshot::new(handler, h),
        SiteSnapshot::new(stage, s),
        SiteSnapshot::new(tokens, t.clone()).with_responses(vec![("gpt-4o", "gpt-4o-2024-08-06")]),
    ];
    snap.models = vec![ModelStats::new("gpt-4o", Some(price), t)];
    snap.caches = vec![CacheStats::new("logos".into(), 3, 1)];
    snap.traces.kept = [3, 1, 2, 0, 5];
    snap.traces.unsampled = 40;
    snap.traces.spans_dropped = 6;
    snap.traces.export_dropped = 2;
    snap.errors = Arc::new(ErrorSummary::new(
        vec![
            ErrorPattern::new(
                handler,
                "app::Error",
                "upstream <n> unavailable",
                1,
                snap.at,
            ),
            ErrorPattern::new(tokens, "app::llm::RateLimited", "rate limited", 1, snap.at),
        ],
        0,
    ));
    snap
}

const EXPECTED: &str = include_str!("hand_built.prom");

#[test]
fn a_hand_built_snapshot_renders_to_the_expected_text() {
    let text = Exposition::new().render(&snapshot());
    if text != EXPECTED {
        let path = std::env::temp_dir().join("hand_built.actual.prom");
        let _ = std::fs::write(&path, &text);
        panic!(
            "the rendering differs from tests/hand_built.prom; it is in {}",
            path.display()
        );
    }
}

#[test]
fn a_second_rendering_of_a_lower_reading_does_not_fall() {
    let mut exposition = Exposition::new();
    let first = exposition.render(&snapshot());
    // The same sites read with the failed call seen among the errors but not yet among the
    // finished calls: `ok` computes one lower.
    let mut lower = snapshot();
    let h = Arc::make_mut(&mut lower.sites[0].figures);
    h.errors = 2;
    let second = exposition.render(&lower);
    let ok = |text: &str| {
        text.lines()
            .find(|l| {
                l.starts_with("monitor_calls_total{site=\"create_logo\"")
                    && l.contains("outcome=\"ok\"")
            })
            .map(str::to_owned)
    };
    assert_eq!(ok(&first), ok(&second));
    assert!(second.contains("route=\"POST /api/logos\",outcome=\"error\"} 2\n"));
}

/// The series a pushing exporter sends are the lines of the text, one for one: the same names,
/// labels in the same order, and values.
#[test]
fn the_series_are_the_lines_of_the_text() {
    let text = Exposition::new().render(&snapshot());
    let series = Exposition::new().series(&snapshot());
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert_eq!(lines.len(), series.len());
    for (line, s) in lines.iter().zip(&series) {
        let labels: Vec<String> = s
            .labels
            .iter()
            .map(|(n, v)| format!("{n}=\"{v}\""))
            .collect();
        let head = if labels.is_empty() {
            s.name.clone()
        } else {
            format!("{}{{{}}}", s.name, labels.join(","))
        };
        let (line_head, value) = line.rsplit_once(' ').unwrap();
        assert_eq!(line_head, head);
        assert_eq!(value.parse::<f64>().unwrap(), s.value, "{line}");
        assert!(
            text.contains(&format!(
                "# TYPE {} {}\n",
                s.name
                    .trim_end_matches("_bucket")
                    .trim_end_matches("_sum")
                    .trim_end_matches("_count"),
                s.kind
            )),
            "{line}"
        );
    }
}

/// The pushing exporters' health is exported too, their endpoints without credentials.
#[test]
fn export_health_is_exported_without_secrets() {
    let mut snapshot = Snapshot::new(SystemTime::UNIX_EPOCH);
    let mut health = monitor_core::exports::ExportHealth::default();
    health.exporter = "remote_write";
    health.endpoint = "https://user:secret@mimir.example/api/v1/push?token=t".to_owned();
    health.made = 10;
    health.sent = 6;
    health.dropped = 3;
    health.queued = 1;
    health.failed_attempts = 4;
    health.last_success_ms = Some(1_700_000_000_500);
    snapshot.exports.push(health);
    let text = Exposition::new().render(&snapshot);
    let labels = r#"exporter="remote_write",endpoint="https://mimir.example/api/v1/push""#;
    for line in [
        format!("monitor_export_payloads_total{{{labels},result=\"sent\"}} 6"),
        format!("monitor_export_payloads_total{{{labels},result=\"rejected\"}} 0"),
        format!("monitor_export_payloads_total{{{labels},result=\"dropped\"}} 3"),
        format!("monitor_export_failed_attempts_total{{{labels}}} 4"),
        format!("monitor_export_queued_payloads{{{labels}}} 1"),
        format!("monitor_export_last_success_timestamp_seconds{{{labels}}} 1700000000.5"),
    ] {
        assert!(
            text.contains(&format!("{line}\n")),
            "{line} not in:\n{text}"
        );
    }
    assert!(
        !text.contains("secret") && !text.contains("token=t"),
        "{text}"
    );
}

/// The protobuf exposition is the text's families, one for one, each duration histogram with
/// native buckets holding every call beside its classic buckets.
#[cfg(feature = "protobuf")]
#[test]
fn the_protobuf_exposition_has_the_texts_families_and_native_buckets() {
    use monitor_export::protobuf::MetricFamily;
    let text = Exposition::new().render(&snapshot());
    let bytes = Exposition::new().render_protobuf(&snapshot());
    let mut families = Vec::new();
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        let family: MetricFamily =
            prost::Message::decode_length_delimited(&mut rest).expect("a MetricFamily");
        families.push(family);
    }
    let names: Vec<&str> = families.iter().filter_map(|f| f.name.as_deref()).collect();
    let text_names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert_eq!(names, text_names);
    let durations = families
        .iter()
        .find(|f| f.name.as_deref() == Some("monitor_call_duration_seconds"))
        .unwrap();
    assert_eq!(durations.r#type, Some(4));
    let handler = durations
        .metric
        .iter()
        .find(|m| {
            m.label
                .iter()
                .any(|l| l.value.as_deref() == Some("create_logo"))
        })
        .unwrap();
    let h = handler.histogram.as_ref().unwrap();
    assert_eq!(h.sample_count, Some(3));
    assert_eq!(h.schema, Some(monitor_export::exponential::SCALE));
    // Deltas add up to the last bucket's count; the counts of all buckets add up to every call.
    let mut count = 0i64;
    let mut total = 0i64;
    for d in &h.positive_delta {
        count += d;
        total += count;
    }
    assert_eq!(total as u64 + h.zero_count.unwrap_or(0), 3);
    assert!(h.bucket.len() >= 10 && h.bucket.iter().all(|b| b.upper_bound.unwrap().is_finite()));
    assert!(
        !handler
            .label
            .iter()
            .any(|l| l.name.as_deref() == Some("le"))
    );
}

/// The handler's 40 ms call and the stage's 61 s one, as kept runs would name them.
fn exemplars(snap: &Snapshot) -> (Exemplars, Exemplar, Exemplar) {
    let ended = SystemTime::UNIX_EPOCH + Duration::new(1_800_000_000, 123_456_789);
    let handler = Exemplar {
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap(),
        span_id: "00f067aa0ba902b7".parse().unwrap(),
        duration: Duration::from_micros(40_123),
        ended,
        status: Some(200),
        failed: false,
    };
    let stage = Exemplar {
        trace_id: "0af7651916cd43dd8448eb211c80319c".parse().unwrap(),
        span_id: "b7ad6b7169203331".parse().unwrap(),
        duration: Duration::from_secs(61),
        ended,
        status: None,
        failed: true,
    };
    let all = Exemplars::default()
        .with(snap.sites[0].site, handler)
        .with(snap.sites[1].site, stage);
    (all, handler, stage)
}

/// A sample line without its exemplar, its `le` read as a number: what must be the same in both
/// texts.
fn sample(line: &str) -> (String, f64) {
    let line = line.split(" # {").next().unwrap();
    let (head, value) = line.rsplit_once(' ').unwrap();
    let head = match head
        .split_once(",le=\"")
        .or_else(|| head.split_once("{le=\""))
    {
        Some((before, le)) => {
            let (le, after) = le.split_once('"').unwrap();
            let le: f64 = le.parse().unwrap();
            format!("{before} le={le:?}{after}")
        }
        None => head.to_owned(),
    };
    (head, value.parse().unwrap())
}

/// OpenMetrics: the 0.0.4 text's samples, one for one, with the format's own rules (counters'
/// families without `_total`, canonical `le`, `# EOF`), and an exemplar on the bucket each call
/// falls in, and on no other line.
#[test]
fn the_openmetrics_text_is_the_texts_samples_with_an_exemplar_on_the_bucket_of_its_call() {
    let snap = snapshot();
    let (exemplars, _, _) = exemplars(&snap);
    let text = Exposition::new().render(&snap);
    let om = Exposition::new().render_openmetrics(&snap, &exemplars);
    assert!(om.ends_with("\n# EOF\n"), "{om}");
    assert_eq!(om.matches("# EOF").count(), 1);

    let handler =
        "site=\"create_logo\",kind=\"handler\",module=\"app::api\",route=\"POST /api/logos\"";
    let stage = "site=\"render\",kind=\"stage\",module=\"app::pipeline\",pipeline=\"logo\",stage=\"render\"";
    let with_exemplar: Vec<&str> = om.lines().filter(|l| l.contains(" # {")).collect();
    assert_eq!(
        with_exemplar,
        [
            format!(
                "monitor_call_duration_seconds_bucket{{{handler},le=\"0.05\"}} 2 \
                 # {{trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\"}} \
                 0.040123 1800000000.123"
            ),
            format!(
                "monitor_call_duration_seconds_bucket{{{stage},le=\"+Inf\"}} 1 \
                 # {{trace_id=\"0af7651916cd43dd8448eb211c80319c\",span_id=\"b7ad6b7169203331\"}} \
                 61 1800000000.123"
            ),
        ],
        "{om}"
    );
    // The exemplar's labels, names and values: 63 characters, within OpenMetrics's 128.
    let labels = "trace_id".len() + 32 + "span_id".len() + 16;
    assert!(labels <= 128);

    let samples = |t: &str| -> Vec<(String, f64)> {
        t.lines()
            .filter(|l| !l.starts_with('#'))
            .map(sample)
            .collect()
    };
    assert_eq!(samples(&text), samples(&om));
    // Canonical numbers: whole ones with `.0`, large ones with an exponent.
    for le in [
        "le=\"1.0\"",
        "le=\"60.0\"",
        "le=\"0.00025\"",
        "le=\"1.048576e+06\"",
    ] {
        assert!(om.contains(le), "{le}");
    }
    assert!(!om.contains("le=\"1\"") && !om.contains("le=\"1048576\""));

    // Each family's metadata: TYPE then HELP, a counter's family named without `_total`.
    let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    let om_types: Vec<&str> = om.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    assert_eq!(types.len(), om_types.len());
    for (t, o) in types.iter().zip(&om_types) {
        match t.strip_suffix(" counter") {
            Some(name) => {
                let family = name
                    .strip_suffix("_total")
                    .expect("a counter ends in _total");
                assert_eq!(*o, format!("{family} counter"));
            }
            None => assert_eq!(t, o),
        }
    }
    let lines: Vec<&str> = om.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap();
            assert!(
                lines[i + 1].starts_with(&format!("# HELP {name} ")),
                "{line}"
            );
        }
    }
}

/// The 0.0.4 text has no exemplars, whatever the exemplars: the same bytes as before.
#[test]
fn the_text_is_unchanged_by_exemplars() {
    let snap = snapshot();
    let (exemplars, _, _) = exemplars(&snap);
    let with = Exposition::new().series_with(&snap, &exemplars);
    let text = Exposition::new().render(&snap);
    assert_eq!(text, EXPECTED);
    // Series carry them, on the two buckets.
    let carrying: Vec<(&str, &str)> = with
        .iter()
        .filter(|s| s.exemplar.is_some())
        .map(|s| {
            let le = s.labels.iter().find(|(n, _)| n == "le").unwrap();
            (s.labels[0].1.as_str(), le.1.as_str())
        })
        .collect();
    assert_eq!(carrying, [("create_logo", "0.05"), ("render", "+Inf")]);
}

/// The protobuf exposition carries the same exemplars on its classic buckets (from which
/// Prometheus reads them for native histograms too), a `+Inf` bucket listed only to carry one.
#[cfg(feature = "protobuf")]
#[test]
fn the_protobuf_exposition_carries_the_exemplars_on_their_buckets() {
    use monitor_export::protobuf::MetricFamily;
    let snap = snapshot();
    let (exemplars, handler, stage) = exemplars(&snap);
    let bytes = Exposition::new().render_protobuf_with(&snap, &exemplars);
    let mut rest = bytes.as_slice();
    let mut carrying = Vec::new();
    while !rest.is_empty() {
        let family: MetricFamily =
            prost::Message::decode_length_delimited(&mut rest).expect("a MetricFamily");
        for m in &family.metric {
            for b in m.histogram.iter().flat_map(|h| &h.bucket) {
                if let Some(e) = &b.exemplar {
                    let site = m.label[0].value.clone().unwrap();
                    carrying.push((
                        family.name.clone().unwrap(),
                        site,
                        b.upper_bound.unwrap(),
                        e.clone(),
                    ));
                }
            }
        }
    }
    assert_eq!(carrying.len(), 2, "{carrying:#?}");
    for ((family, site, bound, e), (expected_site, expected_bound, x)) in carrying.iter().zip([
        ("create_logo", 0.05, handler),
        ("render", f64::INFINITY, stage),
    ]) {
        assert_eq!(family, "monitor_call_duration_seconds");
        assert_eq!((site.as_str(), *bound), (expected_site, expected_bound));
        let labels: Vec<(&str, &str)> = e
            .label
            .iter()
            .map(|l| (l.name.as_deref().unwrap(), l.value.as_deref().unwrap()))
            .collect();
        assert_eq!(
            labels,
            [
                ("trace_id", x.trace_id.to_string().as_str()),
                ("span_id", x.span_id.to_string().as_str())
            ]
        );
        assert_eq!(e.value, Some(x.duration.as_secs_f64()));
        let ts = e.timestamp.as_ref().unwrap();
        assert_eq!((ts.seconds, ts.nanos), (1_800_000_000, 123_456_789));
    }
}
