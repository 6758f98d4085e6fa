//! Two methods of the same name on two types, in one module, are two series: the `site` label
//! carries the qualified name (`Type::method`), as every exporter's labels do (`rules`).

use monitor_core::site::SiteKind;
use monitor_core::snapshot::SiteSnapshot;
use monitor_core::{Figures, Site, Snapshot};
use monitor_export::Exposition;
use monitor_export::rules::{OutcomePeaks, group_sites, site_labels};
use std::time::{Duration, SystemTime};

fn snapshot() -> Snapshot {
    let site = |type_name| {
        Site::builder(SiteKind::Handler, "render")
            .module_path("app::render")
            .type_name(type_name)
            .build()
    };
    let (logo, badge) = (site("LogoPipeline"), site("BadgePipeline"));
    let calls = |n| {
        let mut f = Figures::default();
        for _ in 0..n {
            f.durations.record(Duration::from_millis(3));
        }
        f
    };
    let mut snap = Snapshot::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    snap.sites = vec![
        SiteSnapshot::new(logo, calls(2)),
        SiteSnapshot::new(badge, calls(5)),
    ];
    snap
}

#[test]
fn the_site_label_is_the_qualified_name() {
    let snap = snapshot();
    let labels = site_labels(snap.sites[0].site);
    assert_eq!(labels[0], ("site", "LogoPipeline::render"));
    assert!(labels.iter().all(|(name, _)| *name != "type"));

    let groups = group_sites(&snap, &mut OutcomePeaks::new());
    assert_eq!(groups.len(), 2, "two types' `render` are two series");
    let calls: Vec<_> = groups
        .iter()
        .map(|g| (g.labels[0].1, g.figures.calls()))
        .collect();
    assert!(calls.contains(&("LogoPipeline::render", 2)), "{calls:?}");
    assert!(calls.contains(&("BadgePipeline::render", 5)), "{calls:?}");
}

#[test]
fn prometheus_shows_both_series() {
    let text = Exposition::new().render(&snapshot());
    for site in ["LogoPipeline::render", "BadgePipeline::render"] {
        assert!(
            text.contains(&format!("site=\"{site}\"")),
            "{site} in\n{text}"
        );
    }
}
