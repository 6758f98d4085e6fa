//! The naming rules every exporter follows, so that Prometheus, OTLP and remote write say the same
//! thing about the same calls.
//!
//! - A site is identified by its labels ([`site_labels`]); sites that share them are one series,
//!   their figures added ([`group_sites`]): two series with the same labels would make a scrape
//!   fail.
//! - Calls are split by outcome into parts that add up to the calls ([`Outcomes`]): a panic is
//!   not also an `error` there, unlike in `Figures::errors`.
//! - A handler's requests, labelled by how each ended ([`request_durations`]), are the same
//!   calls as its outcomes: answered, failed without a status, and cancelled alike.
//! - An unknown cost is never exported as 0 ([`site_cost`], [`model_cost`]).
//! - Counters never fall between two exports ([`OutcomePeaks`]): the read model never reads a
//!   counter lower than before, but the outcome split is a difference of counters read one after
//!   the other, which can.
//! - A plain counter of a site is named once, for every exporter, in [`SITE_COUNTERS`]; a GenAI
//!   histogram, in [`crate::gen_ai::GEN_AI_HISTOGRAMS`].

use monitor_core::figures::{Histogram, Outcomes};
use monitor_core::snapshot::ModelStats;
use monitor_core::{Figures, Site, Snapshot};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The label names of a site, in the order exporters write them.
pub const SITE_LABELS: [&str; 6] = ["site", "kind", "module", "route", "pipeline", "stage"];

/// The labels that identify a site: `site` (its qualified name), `kind`, `module`, and `route`,
/// `pipeline`, `stage` where the attribute gave them.
///
/// `site` is [`Site::qualified_name`]: `LogoPipeline::render` for a method instrumented through
/// its impl block, the plain name otherwise. The type goes into `site` rather than a label of its
/// own because `site` is what a series is told apart by — what `sum by (site)` keeps apart and a
/// legend shows: with a separate `type` label, every query that aggregates by `site` would add
/// two types' `render` methods into one line, the very mix-up the type is there to prevent.
/// Splitting it back out is one `label_replace(…, "type", "$1", "site", "(.*)::.*")`.
pub fn site_labels(site: &Site) -> Vec<(&'static str, &'static str)> {
    let mut labels = vec![
        ("site", site.qualified_name()),
        ("kind", site.kind().as_str()),
        ("module", site.module_path()),
    ];
    for (name, value) in [
        ("route", site.route()),
        ("pipeline", site.pipeline()),
        ("stage", site.stage()),
    ] {
        if let Some(value) = value {
            labels.push((name, value));
        }
    }
    labels
}

/// A plain counter of a site's figures, as every exporter names it: a row of [`SITE_COUNTERS`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct SiteCounter {
    /// Reads the counter off a site's figures (or those of a group of sites, added).
    pub value: fn(&Figures) -> u64,
    /// The Prometheus counter's name, `_total` included.
    pub prometheus: &'static str,
    /// The OpenTelemetry sum's name, when OTLP exports it.
    pub otlp: Option<&'static str>,
    /// The unit, as OTLP writes it (UCUM: `By`, `{call}`).
    pub unit: &'static str,
    /// What it counts: the Prometheus help text and the OTLP description.
    pub help: &'static str,
    /// Whether every site has a series, 0 included, or only the sites it counted anything for
    /// (a counter most sites never move, which would otherwise be a zero series per site).
    pub every_site: bool,
}

impl SiteCounter {
    /// Whether a site (or a group of sites) with `figures` has a series, and its value.
    pub fn sample(&self, figures: &Figures) -> Option<u64> {
        let n = (self.value)(figures);
        (self.every_site || n > 0).then_some(n)
    }
}

/// The plain per-site counters, each with its name in every exporter: a new counter of
/// [`Figures`] is exported by a row here. Prometheus writes each as a counter family with the
/// site labels, where the request and response bytes always were; OTLP, those with an OTLP
/// name, as monotonic sums with the site's attributes.
pub const SITE_COUNTERS: &[SiteCounter] = &[
    SiteCounter {
        value: |f| f.request_bytes,
        prometheus: "monitor_request_bytes_total",
        otlp: None,
        unit: "By",
        help: "Request payload, from the arguments whose type tells a size.",
        every_site: true,
    },
    SiteCounter {
        value: |f| f.response_bytes,
        prometheus: "monitor_response_bytes_total",
        otlp: None,
        unit: "By",
        help: "Response payload, from the return values whose type tells a size.",
        every_site: true,
    },
    SiteCounter {
        value: |f| f.traces_kept,
        prometheus: "monitor_traces_kept_total",
        otlp: Some("monitor.traces.kept"),
        unit: "{call}",
        help: "Calls of the site that were part of a run kept as a trace.",
        every_site: false,
    },
];

/// One exported series of sites: their shared labels, their figures added, and the sites in it.
#[derive(Debug, Clone)]
pub struct SiteGroup {
    /// The labels, as [`site_labels`] gives them.
    pub labels: Vec<(&'static str, &'static str)>,
    /// The figures of all its sites (shared with the snapshot when it has one site).
    pub figures: Arc<Figures>,
    /// Each call in one outcome, never lower than in an earlier export.
    pub outcomes: Outcomes,
    /// For each latency threshold its sites count against, the calls that finished within it:
    /// `(threshold in nanoseconds, calls)`, never lower than in an earlier export. What a latency
    /// objective's rules divide by the finished calls.
    pub within: Vec<(u64, u64)>,
    /// The sites in the group.
    pub sites: Vec<&'static Site>,
}

/// The sites of a snapshot as exported series, ordered by labels. `peaks` keeps each series'
/// outcomes from falling between exports.
pub fn group_sites(snapshot: &Snapshot, peaks: &mut OutcomePeaks) -> Vec<SiteGroup> {
    let mut groups: BTreeMap<Vec<(&'static str, &'static str)>, SiteGroup> = BTreeMap::new();
    for s in &snapshot.sites {
        let labels = site_labels(s.site);
        match groups.get_mut(&labels) {
            Some(group) => {
                Arc::make_mut(&mut group.figures).add(&s.figures);
                group.sites.push(s.site);
            }
            None => {
                let group = SiteGroup {
                    labels: labels.clone(),
                    figures: Arc::clone(&s.figures),
                    outcomes: Outcomes::default(),
                    within: Vec::new(),
                    sites: vec![s.site],
                };
                groups.insert(labels, group);
            }
        }
    }
    groups
        .into_values()
        .map(|mut g| {
            g.outcomes = peaks.never_falling(&g.labels, g.figures.outcomes());
            let finished = g.figures.finished();
            g.within = g
                .figures
                .slow_calls
                .iter()
                .map(|&(threshold, slow)| {
                    let within = finished.saturating_sub(slow);
                    (
                        threshold,
                        peaks.within_never_falling(&g.labels, threshold, within),
                    )
                })
                .collect();
            g
        })
        .collect()
}

/// How a request ended, as a duration metric of requests labels it (OTLP's
/// `http.server.request.duration`: `http.response.status_code`, `error.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestEnd {
    /// Answered with this status.
    Status(u16),
    /// Returned without a status (or with one beyond the site's bound of statuses), and did not
    /// fail.
    Returned,
    /// Failed without a status: an `Err` that carried none, or a panic.
    Failed,
    /// Dropped before it finished: the client went away, or a timeout or shutdown gave up on it.
    /// Its duration is the time until then.
    Cancelled,
}

/// Every call of `figures` in exactly one part, by how it ended, with the durations of that
/// part; parts without calls are left out. Their counts add up to [`Figures::calls`], which is
/// what the outcome split (`monitor_calls_total`, `monitor.calls`) adds up to: an exporter that
/// reports requests as durations counts the same requests as one that counts outcomes.
///
/// # Examples
///
/// ```
/// use monitor_core::Figures;
/// use monitor_core::figures::Histogram;
/// use monitor_export::rules::{RequestEnd, request_durations};
/// use std::time::Duration;
///
/// let mut f = Figures::default();
/// let mut created = Histogram::default();
/// for ms in [3, 5] {
///     f.durations.record(Duration::from_millis(ms));
///     created.record(Duration::from_millis(ms));
/// }
/// f.status_durations = vec![(201, created)];
/// f.cancelled = 1;
/// f.cancelled_durations.record(Duration::from_millis(900));
///
/// let parts = request_durations(&f);
/// let ends: Vec<RequestEnd> = parts.iter().map(|(end, _)| *end).collect();
/// assert_eq!(ends, [RequestEnd::Status(201), RequestEnd::Cancelled]);
/// let counted: u64 = parts.iter().map(|(_, h)| h.count()).sum();
/// assert_eq!(counted, f.calls());
/// ```
pub fn request_durations(figures: &Figures) -> Vec<(RequestEnd, Histogram)> {
    let mut parts: Vec<(RequestEnd, Histogram)> = figures
        .status_durations
        .iter()
        .map(|(status, h)| (RequestEnd::Status(*status), h.clone()))
        .collect();
    let (returned, failed) = figures.durations_without_status();
    parts.push((RequestEnd::Returned, returned));
    parts.push((RequestEnd::Failed, failed));
    parts.push((RequestEnd::Cancelled, figures.cancelled_durations.clone()));
    parts.retain(|(_, h)| !h.is_empty());
    parts
}

/// The highest outcome counts exported so far, per series.
///
/// The read model reads each counter of a site one after the other while calls go on: a call can
/// be seen in `errors` and not yet among the finished calls. `ok` is a difference, so it may read
/// one lower than a previous export saw. Prometheus takes any fall of a counter for a restart of
/// the process and `rate()` jumps by the whole count; exporting the highest value seen instead is
/// never more than the in-flight call ahead, and catches up with the next one.
#[derive(Debug, Default)]
pub struct OutcomePeaks {
    peaks: HashMap<SeriesLabels, [u64; 5]>,
    /// The same for the calls within each latency threshold (nanoseconds), a difference too.
    within: HashMap<(SeriesLabels, u64), u64>,
}

/// A series' labels, as [`site_labels`] gives them.
type SeriesLabels = Vec<(&'static str, &'static str)>;

impl OutcomePeaks {
    /// No export seen yet.
    pub fn new() -> OutcomePeaks {
        OutcomePeaks::default()
    }

    /// `now`, raised where the series was exported higher before.
    pub fn never_falling(
        &mut self,
        labels: &[(&'static str, &'static str)],
        now: Outcomes,
    ) -> Outcomes {
        let peak = match self.peaks.get_mut(labels) {
            Some(peak) => peak,
            None => self.peaks.entry(labels.to_vec()).or_default(),
        };
        let mut counts = now.counts();
        for (n, p) in counts.iter_mut().zip(peak.iter_mut()) {
            *n = (*n).max(*p);
            *p = *n;
        }
        let mut out = now;
        [
            out.ok,
            out.error,
            out.client_error,
            out.panic,
            out.cancelled,
        ] = counts;
        out
    }
}

impl OutcomePeaks {
    /// `now` calls within `threshold` (nanoseconds), raised to what the series was exported at
    /// before.
    pub fn within_never_falling(
        &mut self,
        labels: &[(&'static str, &'static str)],
        threshold: u64,
        now: u64,
    ) -> u64 {
        let peak = self.within.entry((labels.to_vec(), threshold)).or_default();
        *peak = (*peak).max(now);
        *peak
    }
}

/// A latency threshold as a label value, in seconds: `0.4`, `0.25`, `1.5`.
pub fn threshold_label(nanos: u64) -> String {
    let seconds = nanos as f64 / 1e9;
    format!("{seconds}")
}

/// The cost of a site's metered calls to export: `None` while no call had a price — zero would
/// pass for a measurement.
pub fn site_cost(f: &Figures) -> Option<f64> {
    (f.token_calls > f.unpriced_calls).then(|| f.known_cost_usd())
}

/// The cost of a model's calls to export: none while none of its calls reported usage (their
/// cost is unknown, and zero would be a lie), nor when none of them was priced.
pub fn model_cost(m: &ModelStats) -> Option<f64> {
    (m.figures.token_calls > m.figures.unpriced_calls).then_some(m.figures.known_cost_usd())
}

/// Whether heap figures mean anything: only when `MonitoredAlloc` counts the heap. Without it
/// they read 0, which must not pass for a measurement.
pub fn heap_counted(snapshot: &Snapshot) -> bool {
    snapshot.memory.is_some_and(|m| m.heap_bytes.is_some())
}

/// Failed calls by error type, per series: types only, never messages (they can carry secrets).
pub fn error_types<'a>(
    snapshot: &'a Snapshot,
    groups: &[SiteGroup],
) -> BTreeMap<(usize, &'a str), u64> {
    let group_of: HashMap<*const Site, usize> = groups
        .iter()
        .enumerate()
        .flat_map(|(i, g)| g.sites.iter().map(move |s| (std::ptr::from_ref(*s), i)))
        .collect();
    let mut by_type = BTreeMap::new();
    for pattern in &snapshot.errors.patterns {
        if let Some(&group) = group_of.get(&std::ptr::from_ref(pattern.site)) {
            let n: &mut u64 = by_type.entry((group, pattern.error_type)).or_default();
            *n = n.saturating_add(pattern.count);
        }
    }
    by_type
}

/// An exporter's endpoint as a label value: without the user and password a URL may carry, nor
/// its query (where tokens go), so that no secret reaches a label.
///
/// # Examples
///
/// ```
/// use monitor_export::rules::endpoint_label;
///
/// assert_eq!(endpoint_label("https://user:secret@mimir.example/api/v1/push?token=x"), "https://mimir.example/api/v1/push");
/// assert_eq!(endpoint_label("http://127.0.0.1:9090/api/v1/write"), "http://127.0.0.1:9090/api/v1/write");
/// ```
pub fn endpoint_label(endpoint: &str) -> String {
    let without_query = endpoint.split(['?', '#']).next().unwrap_or("");
    let (scheme, rest) = match without_query.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, without_query),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    match scheme {
        Some(scheme) => format!("{scheme}://{host}{path}"),
        None => format!("{host}{path}"),
    }
}
