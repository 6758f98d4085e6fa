//! Every row of `gen_ai::GEN_AI_HISTOGRAMS` reaches both exporters: a Prometheus histogram family
//! (with native buckets where the row's points keep their durations) and an OTLP histogram, with
//! the same points. (A test of its own: `gen_ai` is read by the exporters' modules, so a test
//! inside it that reads them would have it import them back.)

use monitor_core::site::SiteKind;
use monitor_core::snapshot::{ErrorPattern, ErrorSummary, SiteSnapshot};
use monitor_core::{Figures, Site, Snapshot};
use monitor_export::gen_ai::{self, GEN_AI_HISTOGRAMS, GenAiHistogram, GenAiPoint};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Two streamed calls of one model, one of which failed.
fn snapshot() -> Snapshot {
    let site = Site::builder(SiteKind::Tokens, "stream")
        .module_path("app::llm")
        .model("gpt-4o")
        .provider("openai")
        .build();
    let mut f = Figures::default();
    for ms in [500, 700] {
        f.durations.record(Duration::from_millis(ms));
    }
    f.errors = 1;
    f.error_durations.record(Duration::from_millis(700));
    f.token_calls = 2;
    f.tokens.input = 1_000;
    f.tokens.output = 200;
    f.tokens_per_call[0][5] = 2;
    f.tokens_per_call[1][4] = 2;
    f.chunks = 30;
    f.first_chunk.record(Duration::from_millis(120));
    f.first_chunk.record(Duration::from_millis(300));
    f.per_output_chunk.record(Duration::from_millis(15));
    f.per_output_chunk.record(Duration::from_millis(30));
    let mut snapshot = Snapshot::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    snapshot.sites = vec![SiteSnapshot::new(site, f)];
    snapshot.errors = Arc::new(ErrorSummary::new(
        vec![ErrorPattern::new(
            site,
            "app::llm::RateLimited",
            "rate limited",
            1,
            snapshot.at,
        )],
        0,
    ));
    snapshot
}

/// Each row with the points the snapshot's one series makes of it; every row has some, or the
/// tests below would pass over it.
fn rows(snapshot: &Snapshot) -> Vec<(&'static GenAiHistogram, Vec<GenAiPoint>)> {
    let series = gen_ai::series(snapshot);
    assert_eq!(series.len(), 1);
    GEN_AI_HISTOGRAMS
        .iter()
        .map(|row| {
            let points = (row.points)(&series[0]);
            assert!(!points.is_empty(), "{} has no point", row.otlp);
            (row, points)
        })
        .collect()
}

#[test]
fn the_table_has_the_conventions_client_histograms() {
    let names: Vec<&str> = GEN_AI_HISTOGRAMS.iter().map(|row| row.otlp).collect();
    assert_eq!(
        names,
        [
            "gen_ai.client.operation.duration",
            "gen_ai.client.token.usage",
            "gen_ai.client.operation.time_to_first_chunk",
            "gen_ai.client.operation.time_per_output_chunk",
        ]
    );
}

#[test]
fn every_row_is_a_prometheus_histogram_with_its_points() {
    let snapshot = snapshot();
    let text = monitor_export::Exposition::new().render(&snapshot);
    let series = monitor_export::Exposition::new().series(&snapshot);
    let key = [
        ("gen_ai_operation_name", "chat"),
        ("gen_ai_provider_name", "openai"),
        ("gen_ai_request_model", "gpt-4o"),
        ("gen_ai_response_model", "gpt-4o"),
    ];
    for (row, points) in rows(&snapshot) {
        assert!(
            text.contains(&format!("# TYPE {} histogram\n", row.prometheus)),
            "{} in\n{text}",
            row.prometheus
        );
        for point in points {
            let labels: Vec<(String, String)> = key
                .into_iter()
                .chain(point.attribute)
                .map(|(name, value)| (name.replace('.', "_"), value.to_owned()))
                .collect();
            let written: Vec<String> = labels
                .iter()
                .map(|(name, value)| format!("{name}=\"{value}\""))
                .collect();
            let line = format!(
                "{}_count{{{}}} {}\n",
                row.prometheus,
                written.join(","),
                point.count()
            );
            assert!(text.contains(&line), "{line} in\n{text}");
            // The same `_count` as a series: native buckets where the point kept its durations.
            let count = series
                .iter()
                .find(|s| s.name == format!("{}_count", row.prometheus) && s.labels == labels)
                .expect("the point's _count series");
            assert_eq!(
                count.native.as_ref().map(|n| n.count),
                point.source.as_ref().map(|_| point.count()),
                "{}",
                row.prometheus
            );
        }
    }
    for attribute in [
        "error_type=\"app::llm::RateLimited\"",
        "gen_ai_token_type=\"input\"",
    ] {
        assert!(text.contains(attribute), "{attribute} in\n{text}");
    }
}

#[cfg(feature = "otlp")]
#[test]
fn every_row_is_an_otlp_histogram_with_its_points() {
    use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
    use opentelemetry_proto::tonic::metrics::v1::metric;

    fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
        let value = attributes.iter().find(|a| a.key == key)?.value.as_ref()?;
        match &value.value {
            Some(any_value::Value::StringValue(s)) => Some(s),
            _ => None,
        }
    }

    let snapshot = snapshot();
    let request = monitor_export::otlp::request(&snapshot, &[]);
    let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
    for (row, points) in rows(&snapshot) {
        let metric = metrics
            .iter()
            .find(|m| m.name == row.otlp)
            .unwrap_or_else(|| panic!("{} is exported", row.otlp));
        assert_eq!(metric.unit, row.unit);
        // Each point as (its attribute's value, its count), whatever kind of histogram it is in.
        let extra = |attributes: &[KeyValue]| {
            assert_eq!(
                attribute(attributes, "gen_ai.provider.name"),
                Some("openai")
            );
            assert_eq!(
                attribute(attributes, "gen_ai.request.model"),
                Some("gpt-4o")
            );
            row_attribute(&points).and_then(|name| attribute(attributes, name).map(str::to_owned))
        };
        let mut exported: Vec<(Option<String>, u64)> = match &metric.data {
            Some(metric::Data::ExponentialHistogram(h)) => {
                assert!(points.iter().all(|p| p.source.is_some()), "{}", row.otlp);
                h.data_points
                    .iter()
                    .map(|p| (extra(&p.attributes), p.count))
                    .collect()
            }
            Some(metric::Data::Histogram(h)) => {
                assert!(points.iter().all(|p| p.source.is_none()), "{}", row.otlp);
                h.data_points
                    .iter()
                    .map(|p| {
                        assert_eq!(p.explicit_bounds, row.bounds);
                        (extra(&p.attributes), p.count)
                    })
                    .collect()
            }
            other => panic!("{} is not a histogram: {other:?}", row.otlp),
        };
        let mut expected: Vec<(Option<String>, u64)> = points
            .iter()
            .map(|p| (p.attribute.map(|(_, v)| v.to_owned()), p.count()))
            .collect();
        exported.sort();
        expected.sort();
        assert_eq!(exported, expected, "{}", row.otlp);
    }
}

/// The name of the attribute a row's points add, if any do.
#[cfg(feature = "otlp")]
fn row_attribute(points: &[GenAiPoint]) -> Option<&'static str> {
    points
        .iter()
        .find_map(|p| p.attribute.map(|(name, _)| name))
}
