//! A row of `rules::SITE_COUNTERS` reaches both exporters: `traces_kept` is a Prometheus counter
//! and an OTLP sum, for the sites that kept any. (A test of its own: the exporters' modules read
//! `rules`, so a test inside `rules` that reads them would have `rules` import them back.)

use monitor_core::site::SiteKind;
use monitor_core::snapshot::SiteSnapshot;
use monitor_core::{Figures, Site, Snapshot};
use std::time::SystemTime;

/// A site whose calls were kept as traces, and one whose calls were not.
fn snapshot() -> Snapshot {
    let kept = Site::builder(SiteKind::Handler, "kept").build();
    let plain = Site::builder(SiteKind::Stage, "plain").build();
    let mut f = Figures::default();
    f.durations.record(std::time::Duration::from_millis(3));
    f.traces_kept = 3;
    let mut snapshot = Snapshot::new(SystemTime::now());
    snapshot.sites = vec![
        SiteSnapshot::new(kept, f),
        SiteSnapshot::new(plain, Figures::default()),
    ];
    snapshot
}

#[test]
fn traces_kept_is_a_prometheus_counter_of_the_sites_that_kept_any() {
    let text = monitor_export::Exposition::new().render(&snapshot());
    assert!(
        text.contains("# TYPE monitor_traces_kept_total counter\n"),
        "{text}"
    );
    assert!(
        text.contains("monitor_traces_kept_total{site=\"kept\",kind=\"handler\",module=\"\"} 3\n"),
        "{text}"
    );
    assert!(
        !text.contains("monitor_traces_kept_total{site=\"plain\""),
        "{text}"
    );
}

#[cfg(feature = "otlp")]
#[test]
fn traces_kept_is_a_sum_of_the_sites_that_kept_any() {
    use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};

    let request = monitor_export::otlp::request(&snapshot(), &[]);
    let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
    let kept = metrics
        .iter()
        .find(|m| m.name == "monitor.traces.kept")
        .expect("monitor.traces.kept is exported");
    assert_eq!(kept.unit, "{call}");
    let Some(metric::Data::Sum(sum)) = &kept.data else {
        panic!("a sum: {kept:?}");
    };
    assert!(sum.is_monotonic);
    assert_eq!(sum.data_points.len(), 1, "only the site that kept any");
    assert_eq!(
        sum.data_points[0].value,
        Some(number_data_point::Value::AsDouble(3.0))
    );
}
