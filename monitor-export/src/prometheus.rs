//! `/metrics`: the Prometheus text exposition format 0.0.4, and OpenMetrics 1.0 text with
//! exemplars for a scraper that asks for it.
//!
//! Every instrumented site, model and cache, and the process's memory:
//!
//! | name | type | labels |
//! |---|---|---|
//! | `monitor_sites` | gauge | `kind` |
//! | `monitor_calls_total` | counter | site labels, `outcome` |
//! | `monitor_call_duration_seconds` | histogram | site labels |
//! | `monitor_http_responses_total` | counter | site labels, `status_class` |
//! | `monitor_calls_within_total` | counter | site labels, `threshold_seconds`; sites a latency objective covers |
//! | `monitor_request_bytes_total`, `monitor_response_bytes_total`, and every counter of [`rules::SITE_COUNTERS`] | counter | site labels |
//! | `monitor_returned_errors_total` | counter | site labels, `error_type` |
//! | `monitor_returned_errors_ungrouped_total` | counter | |
//! | `monitor_site_tokens_total` | counter | site labels, `gen_ai_token_type` |
//! | `monitor_site_cost_usd_total`, `monitor_site_unpriced_calls_total` | counter | site labels |
//! | `monitor_model_tokens_total` | counter | `gen_ai_request_model`, `gen_ai_token_type` |
//! | `monitor_cost_usd_total`, `monitor_unpriced_calls_total` | counter | `gen_ai_request_model` |
//! | `monitor_token_cost_usd_total` | counter | `gen_ai_request_model`, `gen_ai_token_type` |
//! | `gen_ai_client_operation_duration_seconds` | histogram | GenAI labels, `error_type` on failures |
//! | `gen_ai_client_token_usage` | histogram | GenAI labels, `gen_ai_token_type` |
//! | `gen_ai_client_operation_time_to_first_chunk_seconds` | histogram | GenAI labels; streams |
//! | `gen_ai_client_operation_time_per_output_chunk_seconds` | histogram | GenAI labels; streams |
//! | `monitor_cache_lookups_total` | counter | `cache`, `result` |
//! | `monitor_trace_…_total`: the rows of [`crate::trace_stats::TRACE_COUNTERS`] | counter | `reason` where split |
//! | `process_resident_memory_bytes`, `process_virtual_memory_bytes` | gauge | |
//! | `monitor_heap_bytes`, `monitor_heap_peak_bytes` (gauges), `monitor_heap_allocations_total` | | only with `MonitoredAlloc` |
//! | `monitor_allocated_bytes_total` | counter | site labels; only with `MonitoredAlloc` |
//!
//! The site labels are `site` (the site's name), `kind`, `module`, and `route`, `pipeline`,
//! `stage` where the attribute gave them. Sites that share all of these are exported as one
//! series, their counts added: two series with the same labels would make a scrape fail.
//!
//! The GenAI labels are `gen_ai_operation_name`, `gen_ai_provider_name`, `gen_ai_request_model`
//! and `gen_ai_response_model` (see [`crate::gen_ai`]). The `gen_ai_client_*` histograms are the
//! rows of [`gen_ai::GEN_AI_HISTOGRAMS`], which OTLP writes too; their attributes are written
//! with underscores for dots (`error.type` is `error_type`), and a duration's native buckets
//! (the protobuf exposition's) come from the same row.
//!
//! No error message is exported, only error types: messages can carry secrets.
//!
//! `promtool check metrics` is silent on it, and the tests check what promtool does not (`+Inf`
//! equal to `_count`, rising buckets, escaping, counters that never fall between scrapes); a real
//! Prometheus scrapes it in the tests. [`Exposition::new`]`().render(&snapshot)` holds its own
//! memory of what it exported (counters never fall), for a second endpoint or a test;
//! [`Exposition::series`] gives the same samples as series (name, labels, value), which is what a
//! pushing exporter sends, so a push and a scrape read the same names.
//!
//! The writer reads a [`Snapshot`] and nothing else; what to say about the calls — labels,
//! outcomes, unknown costs, counters that never fall — comes from [`crate::rules`].
//!
//! # OpenMetrics
//!
//! [`render_openmetrics`] writes the same families and samples as OpenMetrics 1.0 text
//! ([`OPENMETRICS_CONTENT_TYPE`]), what Prometheus asks for first when it scrapes, with what the
//! format requires: a counter's family is named without `_total` in `# TYPE` and `# HELP` (its
//! samples keep it), `le` values are canonical numbers (`1.0` for `1`, `1e+06`), `"` is escaped in
//! help texts, and the text ends with `# EOF`. Each site's `monitor_call_duration_seconds` carries
//! an exemplar, on the bucket its value falls in, when a kept run has a call of the site
//! ([`crate::exemplars`]): `… 12 # {trace_id="…",span_id="…"} 0.0031 1712345678.123`.
//!
//! A Prometheus before 3.0 stores `le` as written, so the bounds that are whole numbers (`1`, `5`,
//! `10`, `30`, `60`) are other series (`le="1.0"`) when it scrapes OpenMetrics than when it
//! scraped the 0.0.4 text; Prometheus 3 writes both the same.

use crate::exemplars::{Exemplar, Exemplars};
use crate::gen_ai;
use crate::rules::{self, OutcomePeaks, SiteGroup};
use monitor_core::Snapshot;
use monitor_core::figures::Outcomes;
use monitor_core::site::SiteKind;
use monitor_core::snapshot::ModelStats;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The content type of [`render_openmetrics`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether an `Accept` header asks for OpenMetrics text (any version, with a quality above 0), as
/// Prometheus does when it scrapes.
///
/// # Examples
///
/// ```
/// use monitor_export::prometheus::accepts_openmetrics;
///
/// assert!(accepts_openmetrics("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
/// assert!(!accepts_openmetrics("text/plain;version=0.0.4"));
/// assert!(!accepts_openmetrics("application/openmetrics-text; q=0"));
/// ```
pub fn accepts_openmetrics(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let mut params = part.split(';').map(str::trim);
        let media = params.next().unwrap_or("");
        media.eq_ignore_ascii_case("application/openmetrics-text")
            && !params.any(|p| {
                p.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("q") && v.trim().parse::<f64>() == Ok(0.0)
                })
            })
    })
}

/// Upper bounds of `monitor_call_duration_seconds`: as written in `le`, and in nanoseconds. From
/// in-process steps (100 µs) to slow LLM calls (a minute).
pub(crate) const BOUNDS: [(&str, u64); 18] = [
    ("0.0001", 100_000),
    ("0.00025", 250_000),
    ("0.0005", 500_000),
    ("0.001", 1_000_000),
    ("0.0025", 2_500_000),
    ("0.005", 5_000_000),
    ("0.01", 10_000_000),
    ("0.025", 25_000_000),
    ("0.05", 50_000_000),
    ("0.1", 100_000_000),
    ("0.25", 250_000_000),
    ("0.5", 500_000_000),
    ("1", 1_000_000_000),
    ("2.5", 2_500_000_000),
    ("5", 5_000_000_000),
    ("10", 10_000_000_000),
    ("30", 30_000_000_000),
    ("60", 60_000_000_000),
];
/// Buckets exported per histogram: the bounds and `+Inf`.
pub(crate) const LE: usize = BOUNDS.len() + 1;

// The names of the families and labels other code reads back (the objectives' rules, the Grafana
// dashboards): each is written here once, and read from here.

/// `monitor_sites`: instrumented functions linked in, by `kind` (a gauge every exposition has).
pub const SITES: &str = "monitor_sites";
/// `monitor_calls_total`: calls by [`OUTCOME_LABEL`], with the site labels.
pub const CALLS: &str = "monitor_calls_total";
/// `monitor_call_duration_seconds`: the histogram of a site's finished calls.
pub const CALL_DURATION: &str = "monitor_call_duration_seconds";
/// `monitor_calls_within_total`: calls within a latency objective's threshold
/// ([`THRESHOLD_LABEL`]).
pub const CALLS_WITHIN: &str = "monitor_calls_within_total";
/// `monitor_http_responses_total`: calls by [`STATUS_CLASS_LABEL`].
pub const HTTP_RESPONSES: &str = "monitor_http_responses_total";
/// `monitor_site_tokens_total`: a site's tokens by [`TOKEN_TYPE_LABEL`].
pub const SITE_TOKENS: &str = "monitor_site_tokens_total";
/// `monitor_site_cost_usd_total`: the known cost of a site's metered calls.
pub const SITE_COST: &str = "monitor_site_cost_usd_total";
/// `monitor_site_unpriced_calls_total`: a site's metered calls without a price.
pub const SITE_UNPRICED_CALLS: &str = "monitor_site_unpriced_calls_total";
/// `monitor_allocated_bytes_total`: heap bytes a site's own code allocated.
pub const ALLOCATED_BYTES: &str = "monitor_allocated_bytes_total";
/// `monitor_model_tokens_total`: a model's tokens by [`TOKEN_TYPE_LABEL`].
pub const MODEL_TOKENS: &str = "monitor_model_tokens_total";
/// `monitor_cost_usd_total`: the known cost of a model's calls, by [`MODEL_LABEL`].
pub const MODEL_COST: &str = "monitor_cost_usd_total";
/// `monitor_token_cost_usd_total`: [`MODEL_COST`] by [`TOKEN_TYPE_LABEL`].
pub const TOKEN_COST: &str = "monitor_token_cost_usd_total";
/// `monitor_unpriced_calls_total`: a model's calls without a price.
pub const UNPRICED_CALLS: &str = "monitor_unpriced_calls_total";
/// `monitor_cache_lookups_total`: lookups by [`CACHE_LABEL`] and [`CACHE_RESULT_LABEL`].
pub const CACHE_LOOKUPS: &str = "monitor_cache_lookups_total";
/// `process_resident_memory_bytes`: the resident size.
pub const RESIDENT_MEMORY: &str = "process_resident_memory_bytes";
/// `monitor_heap_bytes`: heap in use, with `MonitoredAlloc` only.
pub const HEAP_BYTES: &str = "monitor_heap_bytes";

/// The outcome of a call in [`CALLS`]: one of `Outcomes::NAMES`.
pub const OUTCOME_LABEL: &str = "outcome";
/// A latency threshold in [`CALLS_WITHIN`], in seconds (`rules::threshold_label`).
pub const THRESHOLD_LABEL: &str = "threshold_seconds";
/// `1xx` to `5xx` in [`HTTP_RESPONSES`].
pub const STATUS_CLASS_LABEL: &str = "status_class";
/// The token type of the token and cost counters (`input`, `output`, `cached_input`,
/// `cache_write`, `reasoning`).
pub const TOKEN_TYPE_LABEL: &str = "gen_ai_token_type";
/// The model of the per-model counters ([`MODEL_TOKENS`], [`MODEL_COST`]…).
pub const MODEL_LABEL: &str = "gen_ai_request_model";
/// The cache of [`CACHE_LOOKUPS`].
pub const CACHE_LABEL: &str = "cache";
/// `hit` ([`CACHE_HIT`]) or `miss`, in [`CACHE_LOOKUPS`].
pub const CACHE_RESULT_LABEL: &str = "result";
/// A hit, in [`CACHE_RESULT_LABEL`].
pub const CACHE_HIT: &str = "hit";

const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Renders snapshots in the Prometheus text format, keeping what it exported before so that no
/// counter falls between two renderings (see [`OutcomePeaks`]). [`render`] uses one for the
/// process; a test or a second endpoint can hold its own.
///
/// # Examples
///
/// ```
/// use monitor_core::{Figures, Site, Snapshot};
/// use monitor_core::site::SiteKind;
/// use monitor_core::snapshot::SiteSnapshot;
/// use std::time::{Duration, SystemTime};
///
/// let site = Site::builder(SiteKind::Handler, "hello").route("GET /hello").build();
/// let mut figures = Figures::default();
/// figures.durations.record(Duration::from_millis(3));
/// let mut snapshot = Snapshot::new(SystemTime::UNIX_EPOCH);
/// snapshot.sites.push(SiteSnapshot::new(site, figures));
///
/// let text = monitor_export::Exposition::new().render(&snapshot);
/// assert!(text.contains("monitor_calls_total{site=\"hello\",kind=\"handler\",module=\"\",route=\"GET /hello\",outcome=\"ok\"} 1\n"));
/// ```
#[derive(Debug, Default)]
pub struct Exposition {
    peaks: OutcomePeaks,
}

impl Exposition {
    /// A renderer that has exported nothing yet.
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Every metric of `snapshot`, in the Prometheus text format 0.0.4.
    pub fn render(&mut self, snapshot: &Snapshot) -> String {
        // About 28 lines of about 110 bytes a site: one allocation, not a doubling and a copy of
        // tens of megabytes at the end.
        let mut out = Output::text(16 * 1024 + snapshot.sites.len() * 3 * 1024, false);
        self.write(&mut out, snapshot, &Exemplars::default());
        out.text
    }

    /// Every metric of `snapshot`, in OpenMetrics 1.0 text ([`OPENMETRICS_CONTENT_TYPE`]), each
    /// site's duration histogram with the exemplar of the site's in `exemplars` (see the
    /// [module docs](self)).
    ///
    /// # Examples
    ///
    /// ```
    /// use monitor_export::exemplars::Exemplars;
    ///
    /// let text = monitor_export::Exposition::new()
    ///     .render_openmetrics(&monitor_core::snapshot(), &Exemplars::default());
    /// assert!(text.contains("# TYPE monitor_sites gauge\n"));
    /// assert!(text.ends_with("# EOF\n"));
    /// ```
    pub fn render_openmetrics(&mut self, snapshot: &Snapshot, exemplars: &Exemplars) -> String {
        let mut out = Output::text(16 * 1024 + snapshot.sites.len() * 3 * 1024, true);
        self.write(&mut out, snapshot, exemplars);
        out.text.push_str("# EOF\n");
        out.text
    }

    /// Every sample [`render`](Exposition::render) would write, as series: the name, the labels
    /// and the value of each line. For a pushing exporter (remote write), which sends the same
    /// series a scrape would read.
    ///
    /// # Examples
    ///
    /// ```
    /// let series = monitor_export::Exposition::new().series(&monitor_core::snapshot());
    /// let sites = series.iter().find(|s| s.name == "monitor_sites").unwrap();
    /// assert_eq!(sites.labels[0].0, "kind");
    /// ```
    pub fn series(&mut self, snapshot: &Snapshot) -> Vec<Series> {
        self.series_with(snapshot, &Exemplars::default())
    }

    /// As [`series`](Exposition::series), each site's duration bucket that a call in
    /// `exemplars` falls in carrying it ([`Series::exemplar`]).
    pub fn series_with(&mut self, snapshot: &Snapshot, exemplars: &Exemplars) -> Vec<Series> {
        let mut out = Output::series();
        self.write(&mut out, snapshot, exemplars);
        out.series
    }

    fn write(&mut self, out: &mut Output, snapshot: &Snapshot, exemplars: &Exemplars) {
        let groups = rules::group_sites(snapshot, &mut self.peaks);
        render_sites(out, snapshot, &groups, exemplars);
        render_models(out, &snapshot.models);
        render_gen_ai(out, snapshot);
        render_caches(out, snapshot);
        if let Some(sample) = &snapshot.memory {
            render_memory(out, sample);
        }
        render_exports(out, &snapshot.exports);
        render_trace_stats(out, &snapshot.traces);
    }
}

/// One series of the exposition: a metric name (with its `_bucket`, `_sum` or `_count` suffix),
/// its labels in the order written, and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The metric's name.
    pub name: String,
    /// The labels, as written.
    pub labels: Vec<(String, String)>,
    /// The value (a count, an amount of dollars, seconds or bytes).
    pub value: f64,
    /// The family's type: `counter`, `gauge` or `histogram`.
    pub kind: &'static str,
    /// The family's help text.
    pub help: &'static str,
    /// On a histogram's `_count` series, the same calls on the exponential schema (a native
    /// histogram's buckets).
    pub native: Option<crate::exponential::Exponential>,
    /// On a histogram's `_bucket` series, a call it counts and its trace
    /// ([`Exposition::series_with`]).
    pub exemplar: Option<Exemplar>,
}

/// Where the families go: the text (0.0.4 or OpenMetrics), or series.
struct Output {
    structured: bool,
    openmetrics: bool,
    text: String,
    series: Vec<Series>,
}

impl Output {
    fn text(capacity: usize, openmetrics: bool) -> Output {
        Output {
            structured: false,
            openmetrics,
            text: String::with_capacity(capacity),
            series: Vec::new(),
        }
    }

    fn series() -> Output {
        Output {
            structured: true,
            openmetrics: false,
            text: String::new(),
            series: Vec::new(),
        }
    }

    /// A family for this output.
    fn family(&self, name: &'static str, kind: &'static str, help: &'static str) -> Family {
        Family {
            name,
            kind,
            help,
            openmetrics: self.openmetrics,
            samples: String::new(),
            series: self.structured.then(Vec::new),
        }
    }

    /// A bucket's bound as `le` says it: as written for the 0.0.4 text and series (`text`),
    /// a canonical number for OpenMetrics.
    fn le(&self, text: &'static str, bound: f64) -> Cow<'static, str> {
        if self.openmetrics {
            Cow::Owned(canonical(bound))
        } else {
            Cow::Borrowed(text)
        }
    }
}

/// `value` as OpenMetrics's canonical numbers write it (Go's shortest `%g`, `.0` added to a
/// whole number): `1.0`, `0.00025`, `100000.0`, `1e+06`, `1.048576e+06`, `1e-05`.
pub(crate) fn canonical(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if value == 0.0 {
        return "0.0".to_owned();
    }
    // Rust's `{:e}` is the shortest digits that read back the same, as Go's: `1.048576e6`.
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..6).contains(&exponent) {
        // `Display` never uses an exponent, and gives the same shortest digits.
        let mut plain = value.to_string();
        if !plain.contains('.') {
            plain.push_str(".0");
        }
        plain
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    }
}

/// The bucket of [`BOUNDS`] (or `+Inf`, [`LE`] - 1) that a duration falls in: the first bound at
/// or above it.
fn bucket_of(duration: Duration) -> usize {
    BOUNDS
        .iter()
        .position(|&(_, nanos)| duration <= Duration::from_nanos(nanos))
        .unwrap_or(BOUNDS.len())
}

/// The labels of a series, rendered for the text once, and kept as pairs for series.
#[derive(Default)]
struct Labels<'a> {
    text: String,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Labels<'a> {
    fn push(&mut self, name: &'a str, value: &'a str) {
        push_label(&mut self.text, name, value);
        self.pairs.push((name, value));
    }
}

const NO_LABELS: Labels<'static> = Labels {
    text: String::new(),
    pairs: Vec::new(),
};

/// Every metric of `snapshot`, in the Prometheus text format 0.0.4, through the process's
/// [`Exposition`].
///
/// # Examples
///
/// ```
/// let text = monitor_export::render(&monitor_core::snapshot());
/// assert!(text.contains("# TYPE monitor_sites gauge\n"));
/// ```
pub fn render(snapshot: &Snapshot) -> String {
    with_process_exposition(|e| e.render(snapshot))
}

/// Every metric of `snapshot`, in OpenMetrics 1.0 text, through the process's [`Exposition`],
/// with the exemplars of the process's kept runs ([`Exemplars::recent`]).
///
/// # Examples
///
/// ```
/// let text = monitor_export::prometheus::render_openmetrics(&monitor_core::snapshot());
/// assert!(text.contains("# TYPE monitor_sites gauge\n"));
/// assert!(text.ends_with("# EOF\n"));
/// ```
pub fn render_openmetrics(snapshot: &Snapshot) -> String {
    let exemplars = Exemplars::recent();
    with_process_exposition(|e| e.render_openmetrics(snapshot, &exemplars))
}

/// Runs `f` on the process's [`Exposition`]: one memory of what was exported, whatever the format
/// a scrape asks for.
pub(crate) fn with_process_exposition<R>(f: impl FnOnce(&mut Exposition) -> R) -> R {
    static PROCESS: Mutex<Option<Exposition>> = Mutex::new(None);
    let mut exposition = PROCESS.lock().unwrap_or_else(PoisonError::into_inner);
    f(exposition.get_or_insert_with(Exposition::new))
}

/// The site's histogram folded onto [`BOUNDS`], cumulative.
///
/// A bucket of the site's histogram is counted under the first bound at or above its upper end, so
/// no call is ever counted under a bound it may exceed. A call just below a bound may be counted
/// under the next one instead: the site's buckets are at most 1/32 of their value wide, so only
/// calls within about 3 % below a bound can be.
pub(crate) fn cumulative_buckets(durations: &monitor_core::figures::Histogram) -> [u64; LE] {
    let mut buckets = [0u64; LE];
    for (upper, n) in durations.buckets() {
        let index = BOUNDS
            .iter()
            .position(|&(_, nanos)| upper <= Duration::from_nanos(nanos))
            .unwrap_or(BOUNDS.len());
        buckets[index] = buckets[index].saturating_add(n);
    }
    let mut seen = 0u64;
    for bucket in &mut buckets {
        seen = seen.saturating_add(*bucket);
        *bucket = seen;
    }
    buckets
}

fn render_sites(
    out: &mut Output,
    snapshot: &Snapshot,
    groups: &[SiteGroup],
    exemplars: &Exemplars,
) {
    let heap_counted = rules::heap_counted(snapshot);
    let mut kinds = [
        (SiteKind::Handler, 0u64),
        (SiteKind::Stage, 0),
        (SiteKind::Tokens, 0),
    ];
    for s in &snapshot.sites {
        if let Some((_, n)) = kinds.iter_mut().find(|(kind, _)| *kind == s.site.kind()) {
            *n += 1;
        }
    }
    let mut sites = out.family(
        SITES,
        "gauge",
        "Instrumented functions linked into the process, called or not.",
    );
    for (kind, n) in kinds {
        sites.sample("", &NO_LABELS, &[("kind", kind.as_str())], n);
    }
    sites.write(out);

    let mut calls = out.family(
        CALLS,
        "counter",
        "Calls of an instrumented function by outcome: ok, error (an Err or a 5xx status), \
         client_error (a 4xx status), panic, cancelled (a future dropped before it finished).",
    );
    let mut durations = out.family(
        CALL_DURATION,
        "histogram",
        "Duration of the calls that finished (returned or panicked); cancelled calls are left out.",
    );
    let mut within = out.family(
        CALLS_WITHIN,
        "counter",
        "Calls that finished within a latency objective's threshold, counted exactly as each call \
         is recorded: divided by monitor_call_duration_seconds_count, the share of good calls.",
    );
    let mut statuses = out.family(
        HTTP_RESPONSES,
        "counter",
        "Calls whose return value carried an HTTP status, by status class.",
    );
    let mut counters: Vec<Family> = rules::SITE_COUNTERS
        .iter()
        .map(|c| out.family(c.prometheus, "counter", c.help))
        .collect();
    let mut tokens = out.family(
        SITE_TOKENS,
        "counter",
        "Tokens used by the metered calls of a site, by type: input (cached_input and \
         cache_write included), output (reasoning included), and those three parts; a stage or \
         handler is credited with the calls made inside it, so a sum over sites counts them more \
         than once.",
    );
    let mut cost = out.family(
        SITE_COST,
        "counter",
        "Cost in US dollars of the site's metered calls whose model had a price; calls without \
         one are in monitor_site_unpriced_calls_total, not here.",
    );
    let mut unpriced = out.family(
        SITE_UNPRICED_CALLS,
        "counter",
        "Metered calls of the site whose model had no price: their cost is unknown.",
    );
    let mut allocated = out.family(
        ALLOCATED_BYTES,
        "counter",
        "Heap bytes allocated by the site's own code: inside its calls and not inside an \
         instrumented call they made (with MonitoredAlloc as the global allocator).",
    );
    // A line is about 130 bytes: each family's lines in one allocation, not grown by doubling.
    for (family, lines) in [
        (&mut calls, Outcomes::NAMES.len()),
        (&mut durations, LE + 2),
    ]
    .into_iter()
    .chain(counters.iter_mut().map(|family| (family, 1)))
    {
        family.samples.reserve(groups.len() * lines * 130);
    }
    let le: Vec<Cow<'static, str>> = BOUNDS
        .iter()
        .map(|&(text, nanos)| out.le(text, nanos as f64 / 1e9))
        .collect();
    let mut rendered: Vec<Labels<'_>> = Vec::with_capacity(groups.len());
    for g in groups {
        let mut labels = Labels::default();
        for (name, value) in &g.labels {
            labels.push(name, value);
        }
        let c = &g.figures;
        if heap_counted {
            allocated.sample("", &labels, &[], c.allocated_bytes);
        }
        for (outcome, n) in Outcomes::NAMES.iter().zip(g.outcomes.counts()) {
            calls.sample("", &labels, &[(OUTCOME_LABEL, outcome)], n);
        }
        let buckets = cumulative_buckets(&c.durations);
        let exemplar = exemplars.newest_of(&g.sites);
        let exemplar_at = exemplar.map(|e| bucket_of(e.duration));
        for (i, (le, n)) in le.iter().zip(buckets).enumerate() {
            durations.sample("_bucket", &labels, &[("le", le)], n);
            if exemplar_at == Some(i) {
                durations.exemplar(exemplar);
            }
        }
        let finished = buckets[LE - 1];
        durations.sample("_bucket", &labels, &[("le", "+Inf")], finished);
        if exemplar_at == Some(LE - 1) {
            durations.exemplar(exemplar);
        }
        durations.sample("_sum", &labels, &[], Float(c.durations.sum().as_secs_f64()));
        durations.sample("_count", &labels, &[], finished);
        durations
            .native(|| crate::exponential::from_histogram(&c.durations, crate::exponential::SCALE));
        for &(threshold, n) in &g.within {
            let threshold = rules::threshold_label(threshold);
            within.sample("", &labels, &[(THRESHOLD_LABEL, &threshold)], n);
        }
        // Only for sites that return statuses: five zero series per other site say nothing.
        if c.statuses.iter().any(|&n| n > 0) {
            for (class, n) in STATUS_CLASSES.iter().zip(c.statuses) {
                statuses.sample("", &labels, &[(STATUS_CLASS_LABEL, class)], n);
            }
        }
        for (family, counter) in counters.iter_mut().zip(rules::SITE_COUNTERS) {
            if let Some(n) = counter.sample(c) {
                family.sample("", &labels, &[], n);
            }
        }
        if c.token_calls > 0 {
            for (token_type, n) in token_counts(&c.tokens) {
                tokens.sample("", &labels, &[(TOKEN_TYPE_LABEL, token_type)], n);
            }
        }
        if let Some(usd) = rules::site_cost(c) {
            cost.sample("", &labels, &[], Float(usd));
        }
        if c.unpriced_calls > 0 {
            unpriced.sample("", &labels, &[], c.unpriced_calls);
        }
        rendered.push(labels);
    }
    calls.write(out);
    durations.write(out);
    within.write(out);
    statuses.write(out);
    for family in counters {
        family.write(out);
    }
    render_error_types(out, snapshot, groups, &rendered);
    tokens.write(out);
    cost.write(out);
    unpriced.write(out);
    allocated.write(out);
}

/// Errors by type, from the error patterns: types only, never the messages.
fn render_error_types(
    out: &mut Output,
    snapshot: &Snapshot,
    groups: &[SiteGroup],
    labels: &[Labels<'_>],
) {
    let by_type = rules::error_types(snapshot, groups);
    let mut errors = out.family(
        "monitor_returned_errors_total",
        "counter",
        "Failed calls by the Rust type of their error: Err values without a 4xx status, and \
         panics (type panic) once monitor_core::errors::record_panics is installed. Messages are not \
         exported.",
    );
    for ((group, error_type), n) in by_type {
        errors.sample("", &labels[group], &[("error_type", error_type)], n);
    }
    errors.write(out);
    let mut ungrouped = out.family(
        "monitor_returned_errors_ungrouped_total",
        "counter",
        "Returned errors not counted by type because the table of error patterns was full.",
    );
    ungrouped.sample("", &NO_LABELS, &[], snapshot.errors.dropped);
    ungrouped.write(out);
}

/// Tokens and cost per model.
/// The token counts of the token families, by [`TOKEN_TYPE_LABEL`]: `input` and `output` whole,
/// and their three parts.
fn token_counts(t: &monitor_core::Tokens) -> [(&'static str, u64); 5] {
    [
        ("input", t.input),
        ("output", t.output),
        ("cached_input", t.cached_input),
        ("cache_write", t.cache_write),
        ("reasoning", t.reasoning),
    ]
}

fn render_models(out: &mut Output, models: &[ModelStats]) {
    let mut tokens = out.family(
        MODEL_TOKENS,
        "counter",
        "Tokens of the metered calls of a model, by type: input (cached_input and cache_write \
         included) and output (reasoning included), and those three parts.",
    );
    let mut cost = out.family(
        MODEL_COST,
        "counter",
        "Cost in US dollars of the calls made while the model had a price; calls without one are \
         in monitor_unpriced_calls_total, not here.",
    );
    let mut by_type = out.family(
        TOKEN_COST,
        "counter",
        "The cost of monitor_cost_usd_total by token type, each token in one: input (neither read \
         from nor written to the cache), cached_input, cache_write, output (not reasoning), \
         reasoning. They add up to monitor_cost_usd_total.",
    );
    let mut unpriced = out.family(
        UNPRICED_CALLS,
        "counter",
        "Metered calls made while the model had no price: their cost is unknown.",
    );
    for m in models {
        let mut labels = Labels::default();
        labels.push(MODEL_LABEL, &m.model);
        // A model none of whose calls reported usage is listed, but its tokens are unknown: no
        // series rather than zeros.
        if m.figures.token_calls > 0 {
            for (token_type, n) in token_counts(&m.figures.tokens) {
                tokens.sample("", &labels, &[(TOKEN_TYPE_LABEL, token_type)], n);
            }
        }
        if let Some(usd) = rules::model_cost(m) {
            cost.sample("", &labels, &[], Float(usd));
            let k = &m.figures.kind_costs();
            for (token_type, usd) in [
                ("input", k.input),
                ("cached_input", k.cached_input),
                ("cache_write", k.cache_write),
                ("output", k.output),
                ("reasoning", k.reasoning),
            ] {
                by_type.sample("", &labels, &[(TOKEN_TYPE_LABEL, token_type)], Float(usd));
            }
        }
        if m.figures.unpriced_calls > 0 {
            unpriced.sample("", &labels, &[], m.figures.unpriced_calls);
        }
    }
    tokens.write(out);
    cost.write(out);
    by_type.write(out);
    unpriced.write(out);
}

/// The OpenTelemetry GenAI client metrics: a histogram family per row of
/// [`gen_ai::GEN_AI_HISTOGRAMS`], with the conventions' boundaries. Token counts are each call's,
/// kept by the record path; durations are the site's histogram folded onto the boundaries, with
/// native buckets for an output of series.
fn render_gen_ai(out: &mut Output, snapshot: &Snapshot) {
    let series = gen_ai::series(snapshot);
    if series.is_empty() {
        return;
    }
    let key_labels = gen_ai::KEY_ATTRIBUTES.map(label_name);
    for row in gen_ai::GEN_AI_HISTOGRAMS {
        let mut family = out.family(row.prometheus, "histogram", row.help);
        let le: Vec<String> = row
            .bounds
            .iter()
            .map(|&b| {
                if out.openmetrics {
                    canonical(b)
                } else {
                    b.to_string()
                }
            })
            .collect();
        for s in &series {
            let mut labels = Labels::default();
            for ((_, value), name) in s.key.attributes().into_iter().zip(&key_labels) {
                labels.push(name, value);
            }
            for point in (row.points)(s) {
                let extra = point
                    .attribute
                    .map(|(name, value)| (label_name(name), value));
                let extra: Vec<(&str, &str)> = extra
                    .iter()
                    .map(|(name, value)| (name.as_str(), *value))
                    .collect();
                histogram(
                    &mut family,
                    &labels,
                    &extra,
                    &le,
                    &point.cumulative,
                    point.sum,
                );
                if let Some(h) = &point.source {
                    family.native(|| {
                        crate::exponential::from_histogram(h, crate::exponential::SCALE)
                    });
                }
            }
        }
        family.write(out);
    }
}

/// An OpenTelemetry attribute's name as a Prometheus label's: dots are not allowed in one.
pub(crate) fn label_name(attribute: &str) -> String {
    attribute.replace('.', "_")
}

/// One histogram's samples: `cumulative` has a count per bound in `le` and then `+Inf`.
fn histogram(
    family: &mut Family,
    labels: &Labels<'_>,
    extra: &[(&str, &str)],
    le: &[String],
    cumulative: &[u64],
    sum: f64,
) {
    let mut with_le: Vec<(&str, &str)> = extra.to_vec();
    with_le.push(("le", ""));
    let last = with_le.len() - 1;
    for (bound, n) in le
        .iter()
        .map(String::as_str)
        .chain(["+Inf"])
        .zip(cumulative)
    {
        with_le[last].1 = bound;
        family.sample("_bucket", labels, &with_le, *n);
    }
    let count = cumulative.last().copied().unwrap_or(0);
    family.sample("_sum", labels, extra, Float(sum));
    family.sample("_count", labels, extra, count);
}

fn render_caches(out: &mut Output, snapshot: &Snapshot) {
    let mut lookups = out.family(
        CACHE_LOOKUPS,
        "counter",
        "Lookups of a named cache, by result: hit or miss.",
    );
    for cache in &snapshot.caches {
        let name = [(CACHE_LABEL, cache.name.as_str())];
        lookups.sample(
            "",
            &NO_LABELS,
            &[name[0], (CACHE_RESULT_LABEL, CACHE_HIT)],
            cache.hits,
        );
        lookups.sample(
            "",
            &NO_LABELS,
            &[name[0], (CACHE_RESULT_LABEL, "miss")],
            cache.misses,
        );
    }
    lookups.write(out);
}

/// The pushing exporters' health: whether what the process recorded is leaving it.
fn render_exports(out: &mut Output, exports: &[monitor_core::exports::ExportHealth]) {
    let mut payloads = out.family(
        "monitor_export_payloads_total",
        "counter",
        "Payloads of a pushing exporter by result: sent (accepted), rejected (refused for good, \
         a 4xx other than 429), dropped (the queue was full while the endpoint was away).",
    );
    let mut failed = out.family(
        "monitor_export_failed_attempts_total",
        "counter",
        "Attempts of a pushing exporter that failed and were retried: a connection error, a \
         timeout, a 429 or a 5xx.",
    );
    let mut queued = out.family(
        "monitor_export_queued_payloads",
        "gauge",
        "Payloads of a pushing exporter waiting to be sent.",
    );
    let mut last = out.family(
        "monitor_export_last_success_timestamp_seconds",
        "gauge",
        "When the endpoint last accepted a payload, in seconds since the Unix epoch.",
    );
    let endpoints: Vec<String> = exports
        .iter()
        .map(|e| rules::endpoint_label(&e.endpoint))
        .collect();
    for (e, endpoint) in exports.iter().zip(&endpoints) {
        let mut labels = Labels::default();
        labels.push("exporter", e.exporter);
        labels.push("endpoint", endpoint);
        for (result, n) in [
            ("sent", e.sent),
            ("rejected", e.rejected),
            ("dropped", e.dropped),
        ] {
            payloads.sample("", &labels, &[("result", result)], n);
        }
        failed.sample("", &labels, &[], e.failed_attempts);
        queued.sample("", &labels, &[], e.queued as u64);
        if let Some(ms) = e.last_success_ms {
            last.sample("", &labels, &[], Float(ms as f64 / 1000.0));
        }
    }
    payloads.write(out);
    failed.write(out);
    queued.write(out);
    last.write(out);
}

/// What tracing kept and dropped: the rows of [`crate::trace_stats::TRACE_COUNTERS`].
fn render_trace_stats(out: &mut Output, stats: &monitor_core::trace::TraceStats) {
    for counter in crate::trace_stats::TRACE_COUNTERS {
        let mut family = out.family(counter.prometheus, "counter", counter.help);
        for point in (counter.points)(stats) {
            family.sample("", &NO_LABELS, point.label.as_slice(), point.value);
        }
        family.write(out);
    }
}

/// Unreadable memory is left out rather than reported as zero: `render` calls this only with a
/// sample.
fn render_memory(out: &mut Output, sample: &monitor_core::memory::MemorySample) {
    let mut rss = out.family(RESIDENT_MEMORY, "gauge", "Resident memory size in bytes.");
    rss.sample("", &NO_LABELS, &[], sample.rss_bytes);
    rss.write(out);
    let mut virt = out.family(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
    );
    virt.sample("", &NO_LABELS, &[], sample.virtual_bytes);
    virt.write(out);
    // Only when `MonitoredAlloc` counts the heap: without it there is nothing true to say.
    let (Some(heap), Some(peak), Some(allocations)) = (
        sample.heap_bytes,
        sample.heap_peak_bytes,
        sample.allocations,
    ) else {
        return;
    };
    for (name, kind, help, value) in [
        (
            HEAP_BYTES,
            "gauge",
            "Heap bytes in use, as MonitoredAlloc counts them.",
            heap,
        ),
        (
            "monitor_heap_peak_bytes",
            "gauge",
            "The most heap bytes in use seen so far.",
            peak,
        ),
        (
            "monitor_heap_allocations_total",
            "counter",
            "Heap allocations since the start.",
            allocations,
        ),
    ] {
        let mut family = out.family(name, kind, help);
        family.sample("", &NO_LABELS, &[], value);
        family.write(out);
    }
}

/// A sample value that is not a whole number.
#[derive(Debug, Clone, Copy)]
struct Float(f64);

/// How a sample value is written.
trait Value {
    fn write_to(self, out: &mut String);
    fn to_f64(self) -> f64;
}

impl Value for u64 {
    fn write_to(self, out: &mut String) {
        out.push_str(itoa::Buffer::new().format(self));
    }

    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Value for Float {
    fn write_to(self, out: &mut String) {
        // `Display` of an f64 never uses an exponent and round-trips: valid in the format.
        let _ = write!(out, "{}", self.to_f64());
    }

    /// The values are sums of finite, non-negative amounts; this only keeps NaN, an infinity or
    /// a negative counter out of the output whatever happens upstream.
    fn to_f64(self) -> f64 {
        if self.0.is_finite() && self.0 > 0.0 {
            self.0
        } else {
            0.0
        }
    }
}

/// One metric family: its samples are gathered, then written together after its HELP and TYPE
/// (or as series, for an [`Output`] of series).
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    openmetrics: bool,
    samples: String,
    series: Option<Vec<Series>>,
}

impl Family {
    #[cfg(test)]
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Family {
        Output::text(0, false).family(name, kind, help)
    }

    /// A sample of `name` + `suffix`, with `labels` and then `extra` ones.
    fn sample(
        &mut self,
        suffix: &str,
        labels: &Labels<'_>,
        extra: &[(&str, &str)],
        value: impl Value,
    ) {
        if let Some(series) = &mut self.series {
            series.push(Series {
                name: format!("{}{suffix}", self.name),
                labels: labels
                    .pairs
                    .iter()
                    .chain(extra)
                    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                    .collect(),
                value: value.to_f64(),
                kind: self.kind,
                help: self.help,
                native: None,
                exemplar: None,
            });
            return;
        }
        let labels = labels.text.as_str();
        let s = &mut self.samples;
        s.push_str(self.name);
        s.push_str(suffix);
        if !labels.is_empty() || !extra.is_empty() {
            s.push('{');
            s.push_str(labels);
            for (i, (name, value)) in extra.iter().enumerate() {
                if i > 0 || !labels.is_empty() {
                    s.push(',');
                }
                push_label_only(s, name, value);
            }
            s.push('}');
        }
        s.push(' ');
        value.write_to(s);
        s.push('\n');
    }

    /// Gives the latest sample (a histogram's `_count`) its native buckets, made only for an
    /// output of series: the text has none.
    fn native(&mut self, make: impl FnOnce() -> crate::exponential::Exponential) {
        if let Some(last) = self.series.as_mut().and_then(|s| s.last_mut()) {
            last.native = Some(make());
        }
    }

    /// Gives the latest sample (a histogram's bucket) an exemplar: at the end of its line in
    /// OpenMetrics, on the series for an output of series. The 0.0.4 text has no exemplars.
    fn exemplar(&mut self, exemplar: Option<&Exemplar>) {
        let Some(e) = exemplar else { return };
        if let Some(last) = self.series.as_mut().and_then(|s| s.last_mut()) {
            last.exemplar = Some(*e);
            return;
        }
        if !self.openmetrics || !self.samples.ends_with('\n') {
            return;
        }
        self.samples.pop();
        write_exemplar(&mut self.samples, e);
        self.samples.push('\n');
    }

    /// Writes the family, unless it has no sample.
    fn write(self, out: &mut Output) {
        if let Some(series) = self.series {
            out.series.extend(series);
            return;
        }
        if self.samples.is_empty() {
            return;
        }
        if self.openmetrics {
            self.write_openmetrics(&mut out.text);
            return;
        }
        let out = &mut out.text;
        out.push_str("# HELP ");
        out.push_str(self.name);
        out.push(' ');
        for c in self.help.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push_str("\n# TYPE ");
        out.push_str(self.name);
        out.push(' ');
        out.push_str(self.kind);
        out.push('\n');
        out.push_str(&self.samples);
    }

    /// The family as OpenMetrics writes it: TYPE before HELP, a counter's family named without
    /// its samples' `_total`, and `"` escaped in the help too.
    fn write_openmetrics(&self, out: &mut String) {
        let (name, kind) = match self.kind {
            "counter" => match self.name.strip_suffix("_total") {
                Some(family) => (family, "counter"),
                // A counter's samples must end in `_total`: one that does not is said no more of
                // than that it is a number.
                None => (self.name, "unknown"),
            },
            kind => (self.name, kind),
        };
        out.push_str("# TYPE ");
        out.push_str(name);
        out.push(' ');
        out.push_str(kind);
        out.push_str("\n# HELP ");
        out.push_str(name);
        out.push(' ');
        for c in self.help.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '"' => out.push_str("\\\""),
                c => out.push(c),
            }
        }
        out.push('\n');
        out.push_str(&self.samples);
    }
}

/// ` # {trace_id="…",span_id="…"} value timestamp`: the exemplar of an OpenMetrics sample, its
/// value in seconds and its timestamp in seconds since the Unix epoch, to the millisecond. Its
/// labels are 63 characters, within the format's 128.
fn write_exemplar(out: &mut String, e: &Exemplar) {
    let ended = e.ended_unix_nanos();
    let _ = write!(
        out,
        " # {{trace_id=\"{}\",span_id=\"{}\"}} {} {}.{:03}",
        e.trace_id,
        e.span_id,
        e.seconds(),
        ended / 1_000_000_000,
        ended % 1_000_000_000 / 1_000_000
    );
}

/// Appends `name="value"` to a rendered label list, escaping the value as the format requires.
fn push_label(labels: &mut String, name: &str, value: &str) {
    if !labels.is_empty() {
        labels.push(',');
    }
    push_label_only(labels, name, value);
}

/// Writes `name="value"`, escaping the value.
fn push_label_only(labels: &mut String, name: &str, value: &str) {
    labels.push_str(name);
    labels.push_str("=\"");
    // Most values need no escape: copied whole (a tenth of the time of /metrics, else).
    if !value.contains(['\\', '"', '\n']) {
        labels.push_str(value);
        labels.push('"');
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => labels.push_str("\\\\"),
            '"' => labels.push_str("\\\""),
            '\n' => labels.push_str("\\n"),
            c => labels.push(c),
        }
    }
    labels.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use monitor_core::figures::Histogram;

    #[test]
    fn label_values_escape_backslash_quote_and_newline_only() {
        let mut labels = String::new();
        push_label(&mut labels, "site", "a\\b\"c\nd\te");
        push_label(&mut labels, "kind", "handler");
        assert_eq!(labels, "site=\"a\\\\b\\\"c\\nd\te\",kind=\"handler\"");
    }

    #[test]
    fn buckets_count_a_call_only_under_bounds_it_cannot_exceed() {
        let mut h = Histogram::default();
        for micros in [50, 100, 101, 999, 3_000, 70_000_000] {
            h.record(Duration::from_micros(micros));
        }
        let b = cumulative_buckets(&h);
        let le = |bound: &str| {
            let index = BOUNDS.iter().position(|(le, _)| *le == bound);
            b[index.unwrap_or(LE - 1)]
        };
        // 100 µs exactly sits in a bucket reaching above 100 µs: counted under the next bound.
        assert_eq!(le("0.0001"), 1);
        assert_eq!(le("0.00025"), 3);
        // 999 µs sits in [983.04 µs, 999.424 µs): under 1 ms.
        assert_eq!(le("0.001"), 4);
        assert_eq!(le("0.0025"), 4);
        assert_eq!(le("0.005"), 5);
        assert_eq!(le("60"), 5);
        assert_eq!(b[LE - 1], 6);
        assert!(b.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn a_float_value_is_never_nan_or_negative() {
        for (v, text) in [
            (f64::NAN, "0"),
            (-1.0, "0"),
            (f64::INFINITY, "0"),
            (0.25, "0.25"),
            (1e-7, "0.0000001"),
        ] {
            let mut out = String::new();
            Float(v).write_to(&mut out);
            assert_eq!(out, text);
        }
    }

    #[test]
    fn canonical_numbers_are_gos_shortest_g_with_a_point() {
        for (value, text) in [
            (0.0, "0.0"),
            (1.0, "1.0"),
            (60.0, "60.0"),
            (2.5, "2.5"),
            (0.0001, "0.0001"),
            (0.00025, "0.00025"),
            (1e-5, "1e-05"),
            (100_000.0, "100000.0"),
            (1e6, "1e+06"),
            (1_048_576.0, "1.048576e+06"),
            (67_108_864.0, "6.7108864e+07"),
            (1.1e23, "1.1e+23"),
            (f64::INFINITY, "+Inf"),
        ] {
            assert_eq!(canonical(value), text);
        }
        // Every bound, as OpenMetrics writes it, reads back as the bound.
        for &(_, nanos) in &BOUNDS {
            let bound = nanos as f64 / 1e9;
            assert_eq!(canonical(bound).parse::<f64>(), Ok(bound));
        }
    }

    #[test]
    fn an_exemplar_goes_on_the_first_bucket_at_or_above_it() {
        assert_eq!(bucket_of(Duration::from_micros(100)), 0);
        assert_eq!(bucket_of(Duration::from_micros(101)), 1);
        assert_eq!(bucket_of(Duration::from_millis(5)), 5);
        assert_eq!(bucket_of(Duration::from_secs(60)), BOUNDS.len() - 1);
        assert_eq!(bucket_of(Duration::from_secs(61)), BOUNDS.len());
    }

    #[test]
    fn a_family_without_samples_writes_nothing() {
        let mut out = Output::text(0, false);
        Family::new("x_total", "counter", "help").write(&mut out);
        assert_eq!(out.text, "");
    }
}
