//! Grafana dashboards over the series `/metrics` exports, made from a service's sites and its
//! objectives: the JSON model of Grafana 10 and 11 (`schemaVersion` 39), for a Prometheus data
//! source.
//!
//! [`dashboards`] writes up to four, each only when the service has what it shows:
//!
//! | dashboard (`uid`) | when | what |
//! |---|---|---|
//! | `<service>-overview` | always | per route: request rate, failed share, latency percentiles, outcomes, status classes; memory and its growth (the leak rate); cache hit ratios; runs kept as traces |
//! | `<service>-pipelines` | a stage names a pipeline | per pipeline, a row: runs, stage calls, success, latency percentiles and time per stage |
//! | `<service>-llm` | a site tracks tokens | tokens by model and type, cost per model, per provider and per token type, time to first chunk, operation durations, failed and unpriced calls |
//! | `<service>-objectives` | objectives are declared | per objective, a row: the share of its budget left over its window, and its burn rate over the windows of the page alert |
//!
//! Every dashboard has a `datasource` variable (type `datasource`, Prometheus), and `job` and
//! `instance` variables (`label_values` of `monitor_sites`); every query is filtered by
//! `job=~"$job",instance=~"$instance"`. The overview adds `route`, the LLM dashboard `model`.
//!
//! Names come from the exporter that writes them ([`crate::prometheus`], [`crate::gen_ai`],
//! [`crate::trace_stats`]), and burn rates are the expressions of the objectives' recording rules
//! ([`crate::objective_rules::burn_rate`]), evaluated in the panel: no rule file is needed.
//!
//! The demo's dashboards are in the repository's `dashboards/`, written by
//! `logo-service --print-grafana dashboards` (`--grafana-histograms native` for the native
//! variant); `monitor-examples/tests/grafana.rs` fails when they drift, checks them against the
//! dashboard model, and runs every panel's query against the real Prometheus that scraped the
//! demo.
//!
//! Latency percentiles read the classic buckets (`…_bucket`, [`Histograms::Classic`]) unless
//! asked for native histograms ([`Histograms::Native`]), for a Prometheus started with
//! `--enable-feature=native-histograms`, which scrapes the protobuf exposition and then keeps
//! the native buckets only.
//!
//! # Examples
//!
//! ```
//! use monitor_core::objectives::Objective;
//! use monitor_core::site::SiteKind;
//! use monitor_core::Site;
//! use monitor_export::grafana::{DashboardOptions, dashboards};
//!
//! let create = Site::builder(SiteKind::Handler, "create").route("POST /api/logos").build();
//! let objectives = [Objective::success_rate("api", 0.995).kind(SiteKind::Handler)];
//! let boards = dashboards(&[create], &objectives, &DashboardOptions::new("logo-service"));
//!
//! let uids: Vec<&str> = boards.iter().map(|b| b.uid.as_str()).collect();
//! assert_eq!(uids, ["logo-service-overview", "logo-service-objectives"]);
//! let json = boards[0].to_json();
//! assert!(json.contains(r#""schemaVersion": 39"#));
//! assert!(json.contains(r#"route=~\"$route\",job=~\"$job\",instance=~\"$instance\""#));
//! ```

use crate::gen_ai::{self, KEY_ATTRIBUTES, OPERATION_DURATION, TIME_TO_FIRST_CHUNK};
use crate::objective_rules::{self, FAILED, RuleOptions, nominal, quoted};
use crate::prometheus::{
    ALLOCATED_BYTES, CACHE_HIT, CACHE_LABEL, CACHE_LOOKUPS, CACHE_RESULT_LABEL, CALL_DURATION,
    CALLS, HEAP_BYTES, HTTP_RESPONSES, MODEL_COST, MODEL_LABEL, MODEL_TOKENS, OUTCOME_LABEL,
    RESIDENT_MEMORY, SITE_COST, SITES, STATUS_CLASS_LABEL, TOKEN_COST, TOKEN_TYPE_LABEL,
    UNPRICED_CALLS, label_name,
};
use crate::trace_stats::{EXPORT_DROPPED, REASON_LABEL, RUNS_KEPT, RUNS_OVER_LIMIT, SPANS_DROPPED};
use monitor_core::Site;
use monitor_core::figures::Outcomes;
use monitor_core::memory::{DEFAULT_LEAK_THRESHOLD, DEFAULT_LEAK_WINDOW};
use monitor_core::objectives::{Goal, Objective, PAGE, Per};
use monitor_core::site::SiteKind;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The dashboard JSON model's version the dashboards are written in: Grafana 11's (10.4 reads
/// it as well).
pub const SCHEMA_VERSION: u64 = 39;

/// Where latency percentiles are read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Histograms {
    /// The classic buckets, `…_bucket{le="…"}`: what Prometheus stores when it scrapes the text
    /// exposition (the default).
    #[default]
    Classic,
    /// Native histograms: what a Prometheus 2.40 to 2.x started with
    /// `--enable-feature=native-histograms` stores instead of the classic buckets, `_count` and
    /// `_sum` (finer percentiles; counts through `histogram_count`).
    Native,
}

/// How [`dashboards`] are made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DashboardOptions {
    /// The service's name: the start of each title and `uid`, and a tag of each dashboard.
    pub service: String,
    /// Where latency percentiles are read from.
    pub histograms: Histograms,
    /// Whether `MonitoredAlloc` counts the heap (heap panels are left out otherwise: the series
    /// would not exist).
    pub heap: bool,
}

impl DashboardOptions {
    /// Dashboards of `service`, over classic buckets, without heap panels.
    pub fn new(service: impl Into<String>) -> DashboardOptions {
        DashboardOptions {
            service: service.into(),
            histograms: Histograms::Classic,
            heap: false,
        }
    }

    /// Latency percentiles from `histograms`.
    pub fn histograms(mut self, histograms: Histograms) -> DashboardOptions {
        self.histograms = histograms;
        self
    }

    /// Heap panels, when `MonitoredAlloc` is the global allocator.
    pub fn heap(mut self, heap: bool) -> DashboardOptions {
        self.heap = heap;
        self
    }
}

/// One dashboard: its `uid`, its title, and its JSON model.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// The `uid`: the service's name (letters, digits, `-` and `_`; at most 40 characters in all)
    /// and what the dashboard shows.
    pub uid: String,
    /// The title.
    pub title: String,
    /// The JSON model, as Grafana imports it.
    pub json: Value,
}

impl Dashboard {
    /// `<uid>.json`: the file a provisioning directory holds it in.
    pub fn file_name(&self) -> String {
        format!("{}.json", self.uid)
    }

    /// The JSON model, pretty-printed with its keys sorted, and a final newline: the same text
    /// for the same dashboard, whatever order it was built in.
    pub fn to_json(&self) -> String {
        let mut json = self.json.clone();
        json.sort_all_objects();
        let mut text = serde_json::to_string_pretty(&json).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// The dashboards of a service with `sites` and `objectives` (see the [module docs](self)).
/// Sites made at run time for routes no handler served ([`Site::is_route`]) are left out.
pub fn dashboards(
    sites: &[&Site],
    objectives: &[Objective],
    options: &DashboardOptions,
) -> Vec<Dashboard> {
    let sites: Vec<&Site> = sites.iter().copied().filter(|s| !s.is_route()).collect();
    let q = Queries {
        histograms: options.histograms,
    };
    let mut out = vec![overview(&sites, options, &q)];
    let pipelines: BTreeSet<&str> = sites
        .iter()
        .filter(|s| s.kind() == SiteKind::Stage)
        .filter_map(|s| s.pipeline())
        .collect();
    if !pipelines.is_empty() {
        out.push(pipelines_board(&pipelines, options, &q));
    }
    if sites.iter().any(|s| s.kind() == SiteKind::Tokens) {
        out.push(llm(&sites, options, &q));
    }
    if !objectives.is_empty() {
        out.push(objectives_board(objectives, options));
    }
    out
}

/// The matchers every query carries: the dashboard's `job` and `instance`.
const SCOPE: &str = r#"job=~"$job",instance=~"$instance""#;

/// The range of every `rate`: Grafana's, at least four scrape intervals.
const RATE_INTERVAL: &str = "$__rate_interval";

/// The data source every panel and query variable reads.
fn datasource() -> Value {
    json!({ "type": "prometheus", "uid": "${datasource}" })
}

/// Writes PromQL over the exported series.
struct Queries {
    histograms: Histograms,
}

impl Queries {
    /// `metric{matchers…,job=~"$job",instance=~"$instance"}`.
    fn select(&self, metric: &str, matchers: &[String]) -> String {
        let mut all: Vec<&str> = matchers.iter().map(String::as_str).collect();
        all.push(SCOPE);
        format!("{metric}{{{}}}", all.join(","))
    }

    /// `sum by (by) (rate(metric{…}[$__rate_interval]))`.
    fn rate(&self, metric: &str, matchers: &[String], by: &[&str]) -> String {
        sum_by(
            by,
            &format!("rate({}[{RATE_INTERVAL}])", self.select(metric, matchers)),
        )
    }

    /// The rate of a histogram's observations, summed by `by`.
    fn count_rate(&self, histogram: &str, matchers: &[String], by: &[&str]) -> String {
        match self.histograms {
            Histograms::Classic => self.rate(&format!("{histogram}_count"), matchers, by),
            Histograms::Native => sum_by(
                by,
                &format!(
                    "histogram_count(rate({}[{RATE_INTERVAL}]))",
                    self.select(histogram, matchers)
                ),
            ),
        }
    }

    /// The rate of a histogram's sum (seconds per second for durations), summed by `by`.
    fn sum_rate(&self, histogram: &str, matchers: &[String], by: &[&str]) -> String {
        match self.histograms {
            Histograms::Classic => self.rate(&format!("{histogram}_sum"), matchers, by),
            Histograms::Native => sum_by(
                by,
                &format!(
                    "histogram_sum(rate({}[{RATE_INTERVAL}]))",
                    self.select(histogram, matchers)
                ),
            ),
        }
    }

    /// The `q` quantile of a histogram's observations, by `by`.
    fn quantile(&self, q: f64, histogram: &str, matchers: &[String], by: &[&str]) -> String {
        let inner = match self.histograms {
            Histograms::Classic => {
                let mut with_le = vec!["le"];
                with_le.extend_from_slice(by);
                self.rate(&format!("{histogram}_bucket"), matchers, &with_le)
            }
            Histograms::Native => self.rate(histogram, matchers, by),
        };
        format!("histogram_quantile({q}, {inner})")
    }
}

/// `sum by (a, b) (inner)`, or `sum(inner)` by nothing.
fn sum_by(by: &[&str], inner: &str) -> String {
    if by.is_empty() {
        format!("sum({inner})")
    } else {
        format!("sum by ({}) ({inner})", by.join(", "))
    }
}

/// `label="value"`.
fn eq(label: &str, value: &str) -> String {
    format!("{label}={}", quoted(value))
}

/// `label=~"pattern"`.
fn re(label: &str, pattern: &str) -> String {
    format!("{label}=~{}", quoted(pattern))
}

/// `label!="value"`.
fn ne(label: &str, value: &str) -> String {
    format!("{label}!={}", quoted(value))
}

/// The calls of [`CALLS`] a success counts as failed, as a matcher.
fn failed() -> String {
    re(OUTCOME_LABEL, &FAILED.join("|"))
}

/// Calls that finished: all but the cancelled ones.
fn finished() -> String {
    ne(OUTCOME_LABEL, Outcomes::NAMES[4])
}

/// One query of a panel: its expression and its legend.
struct Target {
    expr: String,
    legend: String,
}

fn target(expr: String, legend: &str) -> Target {
    Target {
        expr,
        legend: legend.to_owned(),
    }
}

/// A panel before it is placed.
struct Panel {
    kind: &'static str,
    title: String,
    description: String,
    unit: &'static str,
    width: u64,
    height: u64,
    targets: Vec<Target>,
    /// Colour steps above a base colour: `(from, colour)`.
    thresholds: Vec<(f64, &'static str)>,
    /// The base colour, below the first step.
    base: &'static str,
    /// Whether a time series draws its thresholds as lines.
    threshold_lines: bool,
    min: Option<f64>,
    max: Option<f64>,
}

impl Panel {
    fn new(kind: &'static str, title: &str, unit: &'static str, description: &str) -> Panel {
        let (width, height) = match kind {
            "stat" | "gauge" => (6, 4),
            _ => (12, 8),
        };
        Panel {
            kind,
            title: title.to_owned(),
            description: description.to_owned(),
            unit,
            width,
            height,
            targets: Vec::new(),
            thresholds: Vec::new(),
            base: "green",
            threshold_lines: false,
            min: None,
            max: None,
        }
    }

    fn stat(title: &str, unit: &'static str, description: &str) -> Panel {
        Panel::new("stat", title, unit, description)
    }

    fn series(title: &str, unit: &'static str, description: &str) -> Panel {
        Panel::new("timeseries", title, unit, description)
    }

    fn target(mut self, expr: String, legend: &str) -> Panel {
        self.targets.push(target(expr, legend));
        self
    }

    fn size(mut self, width: u64, height: u64) -> Panel {
        self.width = width;
        self.height = height;
        self
    }

    fn thresholds(mut self, base: &'static str, steps: &[(f64, &'static str)]) -> Panel {
        self.base = base;
        self.thresholds = steps.to_vec();
        self
    }

    fn threshold_lines(mut self) -> Panel {
        self.threshold_lines = true;
        self
    }

    fn range(mut self, min: Option<f64>, max: Option<f64>) -> Panel {
        self.min = min;
        self.max = max;
        self
    }

    fn json(self, id: u64, x: u64, y: u64) -> Value {
        let mut steps = vec![json!({ "color": self.base, "value": null })];
        steps.extend(
            self.thresholds
                .iter()
                .map(|(value, color)| json!({ "color": color, "value": value })),
        );
        let mut defaults = json!({
            "unit": self.unit,
            "color": { "mode": if self.kind == "timeseries" { "palette-classic" } else { "thresholds" } },
            "thresholds": { "mode": "absolute", "steps": steps },
        });
        if let Some(min) = self.min {
            defaults["min"] = json!(min);
        }
        if let Some(max) = self.max {
            defaults["max"] = json!(max);
        }
        let options = match self.kind {
            "timeseries" => {
                defaults["custom"] = json!({
                    "drawStyle": "line",
                    "lineWidth": 1,
                    "fillOpacity": 10,
                    "showPoints": "never",
                    "spanNulls": false,
                    "thresholdsStyle": {
                        "mode": if self.threshold_lines { "line" } else { "off" }
                    },
                });
                json!({
                    "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true },
                    "tooltip": { "mode": "multi", "sort": "desc" },
                })
            }
            _ => json!({
                "reduceOptions": { "calcs": ["lastNotNull"], "fields": "", "values": false },
                "colorMode": "value",
                "graphMode": "area",
                "justifyMode": "auto",
                "orientation": "auto",
                "textMode": "auto",
            }),
        };
        let targets: Vec<Value> = self
            .targets
            .iter()
            .zip(ref_ids())
            .map(|(t, ref_id)| {
                json!({
                    "datasource": datasource(),
                    "editorMode": "code",
                    "expr": t.expr,
                    "legendFormat": t.legend,
                    "range": true,
                    "refId": ref_id,
                })
            })
            .collect();
        json!({
            "id": id,
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "datasource": datasource(),
            "gridPos": { "h": self.height, "w": self.width, "x": x, "y": y },
            "targets": targets,
            "fieldConfig": { "defaults": defaults, "overrides": [] },
            "options": options,
        })
    }
}

/// `A`, `B` … `Z`, `AA`, `AB` …: Grafana's query ids.
fn ref_ids() -> impl Iterator<Item = String> {
    (0usize..).map(|mut n| {
        let mut id = String::new();
        loop {
            id.insert(0, char::from(b'A' + (n % 26) as u8));
            if n < 26 {
                break id;
            }
            n = n / 26 - 1;
        }
    })
}

/// Panels laid out on Grafana's grid of 24 columns: left to right, a new line when one is full,
/// and a row across before each group.
struct Board {
    panels: Vec<Value>,
    next_id: u64,
    x: u64,
    y: u64,
    line_height: u64,
}

impl Board {
    fn new() -> Board {
        Board {
            panels: Vec::new(),
            next_id: 1,
            x: 0,
            y: 0,
            line_height: 0,
        }
    }

    fn id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn new_line(&mut self) {
        self.y += self.line_height;
        self.x = 0;
        self.line_height = 0;
    }

    fn row(&mut self, title: &str) {
        self.new_line();
        let id = self.id();
        self.panels.push(json!({
            "id": id,
            "type": "row",
            "title": title,
            "collapsed": false,
            "gridPos": { "h": 1, "w": 24, "x": 0, "y": self.y },
            "panels": [],
        }));
        self.y += 1;
    }

    fn add(&mut self, panel: Panel) {
        if self.x + panel.width > 24 {
            self.new_line();
        }
        let (x, width, height) = (self.x, panel.width, panel.height);
        let id = self.id();
        self.panels.push(panel.json(id, x, self.y));
        self.x += width;
        self.line_height = self.line_height.max(height);
    }
}

/// A `query` variable: `label_values(selector, label)`, several values or all of them.
fn variable(name: &str, label: &str, query: String) -> Value {
    json!({
        "name": name,
        "label": label,
        "type": "query",
        "datasource": datasource(),
        "query": query,
        "refresh": 2,
        "sort": 1,
        "multi": true,
        "includeAll": true,
        "allValue": ".*",
        "regex": "",
        "hide": 0,
        "skipUrlSync": false,
        "options": [],
    })
}

/// The variables every dashboard has, then `extra`.
fn templating(extra: Vec<Value>) -> Value {
    let mut list = vec![
        json!({
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "regex": "",
            "refresh": 1,
            "hide": 0,
            "multi": false,
            "includeAll": false,
            "skipUrlSync": false,
            "options": [],
        }),
        variable("job", "Job", format!("label_values({SITES}, job)")),
        variable(
            "instance",
            "Instance",
            format!(r#"label_values({SITES}{{job=~"$job"}}, instance)"#),
        ),
    ];
    list.extend(extra);
    json!({ "list": list })
}

/// The service's name as it may stand in a `uid` (letters, digits, `-`, `_`) and leave room for
/// the longest suffix within Grafana's 40 characters.
fn uid_prefix(service: &str) -> String {
    let cleaned: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(40 - "-objectives".len())
        .collect();
    if cleaned.is_empty() {
        "monitor".to_owned()
    } else {
        cleaned
    }
}

fn dashboard(
    options: &DashboardOptions,
    suffix: &str,
    title: &str,
    description: &str,
    variables: Vec<Value>,
    board: Board,
) -> Dashboard {
    let uid = format!("{}-{suffix}", uid_prefix(&options.service));
    let title = format!("{} · {title}", options.service);
    let json = json!({
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["monitor", options.service],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": true,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "timezone": "browser",
        "weekStart": "",
        "liveNow": false,
        "refresh": "30s",
        "time": { "from": "now-1h", "to": "now" },
        "annotations": {
            "list": [{
                "builtIn": 1,
                "datasource": { "type": "grafana", "uid": "-- Grafana --" },
                "enable": true,
                "hide": true,
                "iconColor": "rgba(0, 211, 255, 1)",
                "name": "Annotations & Alerts",
                "type": "dashboard",
            }],
        },
        "links": [{
            "title": options.service,
            "type": "dashboards",
            "icon": "external link",
            "tooltip": "",
            "tags": [options.service],
            "asDropdown": true,
            "targetBlank": false,
            "includeVars": true,
            "keepTime": true,
        }],
        "templating": templating(variables),
        "panels": board.panels,
    });
    Dashboard { uid, title, json }
}

fn overview(sites: &[&Site], options: &DashboardOptions, q: &Queries) -> Dashboard {
    let handler = vec![
        eq("kind", SiteKind::Handler.as_str()),
        re("route", "$route"),
    ];
    let with = |extra: String| {
        let mut m = handler.clone();
        m.push(extra);
        m
    };
    let calls = q.rate(CALLS, &handler, &[]);
    let mut b = Board::new();

    b.row("Requests");
    b.add(
        Panel::stat(
            "Requests",
            "reqps",
            "Calls of the handlers of the routes chosen, per second.",
        )
        .target(calls.clone(), "requests"),
    );
    b.add(
        Panel::stat(
            "Failed",
            "percentunit",
            "Share of requests that failed: an Err, a 5xx or a panic.",
        )
        .target(
            format!("{} / {calls}", q.rate(CALLS, &with(failed()), &[])),
            "failed",
        )
        .thresholds("green", &[(0.01, "orange"), (0.05, "red")]),
    );
    b.add(
        Panel::stat(
            "Latency p99",
            "s",
            "99th percentile of the requests' durations.",
        )
        .target(q.quantile(0.99, CALL_DURATION, &handler, &[]), "p99"),
    );
    b.add(
        Panel::stat(
            "Client errors",
            "percentunit",
            "Share of requests answered with a 4xx: the caller's error, not counted as failed.",
        )
        .target(
            format!(
                "{} / {calls}",
                q.rate(CALLS, &with(eq(OUTCOME_LABEL, Outcomes::NAMES[2])), &[])
            ),
            "4xx",
        ),
    );
    b.add(
        Panel::series(
            "Request rate by route",
            "reqps",
            "Calls of each route's handler, per second.",
        )
        .target(q.rate(CALLS, &handler, &["route"]), "{{route}}"),
    );
    b.add(
        Panel::series(
            "Failed share by route",
            "percentunit",
            "Share of each route's requests that failed: an Err, a 5xx or a panic.",
        )
        .target(
            format!(
                "{} / {}",
                q.rate(CALLS, &with(failed()), &["route"]),
                q.rate(CALLS, &handler, &["route"])
            ),
            "{{route}}",
        ),
    );
    let latency = Panel::series(
        "Latency by route",
        "s",
        "Percentiles of each route's request durations (cancelled requests left out).",
    );
    let latency = [(0.5, "p50"), (0.9, "p90"), (0.99, "p99")]
        .into_iter()
        .fold(latency, |p, (quantile, name)| {
            p.target(
                q.quantile(quantile, CALL_DURATION, &handler, &["route"]),
                &format!("{name} {{{{route}}}}"),
            )
        });
    b.add(latency);
    b.add(
        Panel::series(
            "Requests by outcome",
            "reqps",
            "ok, error (an Err or a 5xx), client_error (a 4xx), panic, cancelled (the client \
             went away, or a timeout gave up).",
        )
        .target(q.rate(CALLS, &handler, &[OUTCOME_LABEL]), "{{outcome}}"),
    );
    b.add(
        Panel::series(
            "Responses by status class",
            "reqps",
            "Requests answered with a status, by its class.",
        )
        .target(
            q.rate(HTTP_RESPONSES, &handler, &[STATUS_CLASS_LABEL]),
            "{{status_class}}",
        ),
    );

    b.row("Memory");
    let mut memory = Panel::series(
        "Memory",
        "bytes",
        "Resident size of the process; heap in use as MonitoredAlloc counts it.",
    )
    .target(q.select(RESIDENT_MEMORY, &[]), "resident {{instance}}");
    let growth_range = nominal(DEFAULT_LEAK_WINDOW);
    let mut growth = Panel::series(
        "Memory growth (leak rate)",
        "Bps",
        &format!(
            "The slope of a least-squares line through the last {growth_range} of samples, as \
             monitor's leak detector draws it; the line is its default threshold. A steady \
             climb above it is a suspected leak; a rise that levels off is warm-up."
        ),
    )
    .target(
        format!("deriv({}[{growth_range}])", q.select(RESIDENT_MEMORY, &[])),
        "resident {{instance}}",
    )
    .thresholds("green", &[(DEFAULT_LEAK_THRESHOLD, "red")])
    .threshold_lines();
    if options.heap {
        memory = memory.target(q.select(HEAP_BYTES, &[]), "heap {{instance}}");
        growth = growth.target(
            format!("deriv({}[{growth_range}])", q.select(HEAP_BYTES, &[])),
            "heap {{instance}}",
        );
    }
    b.add(memory);
    b.add(growth);
    if options.heap {
        b.add(
            Panel::series(
                "Heap allocated by site",
                "Bps",
                "Heap bytes each site's own code allocates per second (calls it makes to other \
                 instrumented functions excluded): the ten highest.",
            )
            .target(
                format!("topk(10, {})", q.rate(ALLOCATED_BYTES, &[], &["site"])),
                "{{site}}",
            ),
        );
    }

    if sites.iter().any(|s| s.cache().is_some()) {
        b.row("Caches");
        let lookups = q.rate(CACHE_LOOKUPS, &[], &[CACHE_LABEL]);
        let hits = q.rate(
            CACHE_LOOKUPS,
            &[eq(CACHE_RESULT_LABEL, CACHE_HIT)],
            &[CACHE_LABEL],
        );
        b.add(
            Panel::new(
                "gauge",
                "Cache hit ratio",
                "percentunit",
                "Share of each cache's lookups that hit, over the range of a rate.",
            )
            .target(format!("{hits} / {lookups}"), "{{cache}}")
            .size(6, 8)
            .range(Some(0.0), Some(1.0))
            .thresholds("red", &[(0.2, "orange"), (0.5, "green")]),
        );
        b.add(
            Panel::series(
                "Cache hit ratio over time",
                "percentunit",
                "Share of each cache's lookups that hit.",
            )
            .target(format!("{hits} / {lookups}"), "{{cache}}")
            .size(9, 8),
        );
        b.add(
            Panel::series("Cache lookups", "ops", "Lookups per second, by result.")
                .target(
                    q.rate(CACHE_LOOKUPS, &[], &[CACHE_LABEL, CACHE_RESULT_LABEL]),
                    "{{cache}} {{result}}",
                )
                .size(9, 8),
        );
    }

    b.row("Traces");
    b.add(
        Panel::series(
            "Runs kept as traces",
            "ops",
            "Runs kept per second, by the rule that kept them: failed, cancelled, slow, \
             over_budget, sampled.",
        )
        .target(q.rate(RUNS_KEPT, &[], &[REASON_LABEL]), "{{reason}}"),
    );
    b.add(
        Panel::series(
            "Trace data lost",
            "ops",
            "Spans dropped (beyond a run's limit, or detached), calls not traced for too many \
             runs in flight, and kept runs the export queue had no room for.",
        )
        .target(
            q.rate(SPANS_DROPPED, &[], &[REASON_LABEL]),
            "spans dropped: {{reason}}",
        )
        .target(
            q.rate(RUNS_OVER_LIMIT, &[], &[]),
            "calls over the limit of runs",
        )
        .target(q.rate(EXPORT_DROPPED, &[], &[]), "kept runs not exported"),
    );

    let routes = variable(
        "route",
        "Route",
        format!(
            "label_values({}{{{},{SCOPE}}}, route)",
            CALLS,
            eq("kind", SiteKind::Handler.as_str())
        ),
    );
    dashboard(
        options,
        "overview",
        "Service",
        "Requests per route, memory, caches and traces, from monitor's /metrics.",
        vec![routes],
        b,
    )
}

fn pipelines_board(
    pipelines: &BTreeSet<&str>,
    options: &DashboardOptions,
    q: &Queries,
) -> Dashboard {
    let mut b = Board::new();
    for pipeline in pipelines {
        let stage = vec![
            eq("kind", SiteKind::Stage.as_str()),
            eq("pipeline", pipeline),
        ];
        let with = |extra: String| {
            let mut m = stage.clone();
            m.push(extra);
            m
        };
        b.row(&format!("Pipeline {pipeline}"));
        b.add(
            Panel::stat(
                "Runs",
                "ops",
                "Runs per second: the calls of the pipeline's most-called stage, which every \
                 run passes through.",
            )
            .target(
                format!("max({})", q.rate(CALLS, &stage, &["stage"])),
                "runs",
            ),
        );
        b.add(
            Panel::stat(
                "Stage calls failed",
                "percentunit",
                "Share of the pipeline's finished stage calls that failed: an Err or a panic.",
            )
            .target(
                format!(
                    "{} / {}",
                    q.rate(CALLS, &with(failed()), &[]),
                    q.rate(CALLS, &with(finished()), &[])
                ),
                "failed",
            )
            .thresholds("green", &[(0.01, "orange"), (0.05, "red")]),
        );
        b.add(
            Panel::stat(
                "Slowest stage p99",
                "s",
                "The highest 99th percentile of the stages' call durations.",
            )
            .target(
                format!(
                    "max({})",
                    q.quantile(0.99, CALL_DURATION, &stage, &["stage"])
                ),
                "p99",
            ),
        );
        b.add(
            Panel::stat(
                "Time in stages",
                "s",
                "Seconds spent in the pipeline's stages per second: more than 1 with runs in \
                 parallel.",
            )
            .target(q.sum_rate(CALL_DURATION, &stage, &[]), "busy"),
        );
        b.add(
            Panel::series("Stage calls", "ops", "Calls of each stage, per second.")
                .target(q.rate(CALLS, &stage, &["stage"]), "{{stage}}"),
        );
        b.add(
            Panel::series(
                "Stage success",
                "percentunit",
                "Share of each stage's finished calls that succeeded (no Err, no panic).",
            )
            .target(
                format!(
                    "1 - ({} / {})",
                    q.rate(CALLS, &with(failed()), &["stage"]),
                    q.rate(CALLS, &with(finished()), &["stage"])
                ),
                "{{stage}}",
            )
            .range(None, Some(1.0)),
        );
        b.add(
            Panel::series(
                "Stage latency",
                "s",
                "Median and 99th percentile of each stage's call durations.",
            )
            .target(
                q.quantile(0.5, CALL_DURATION, &stage, &["stage"]),
                "p50 {{stage}}",
            )
            .target(
                q.quantile(0.99, CALL_DURATION, &stage, &["stage"]),
                "p99 {{stage}}",
            ),
        );
        b.add(
            Panel::series(
                "Time per stage",
                "s",
                "Seconds spent in each stage per second: where a run's time goes.",
            )
            .target(q.sum_rate(CALL_DURATION, &stage, &["stage"]), "{{stage}}"),
        );
    }
    dashboard(
        options,
        "pipelines",
        "Pipelines",
        "Runs, stage calls, success and durations of each pipeline.",
        Vec::new(),
        b,
    )
}

fn llm(sites: &[&Site], options: &DashboardOptions, q: &Queries) -> Dashboard {
    let [_, provider_attribute, model_attribute, _] = KEY_ATTRIBUTES;
    let provider = label_name(provider_attribute);
    let gen_ai_model = label_name(model_attribute);
    let error_type = label_name(gen_ai::ERROR_TYPE);
    let model = vec![re(MODEL_LABEL, "$model")];
    let gen_ai_models = vec![re(&gen_ai_model, "$model")];
    let with = |extra: String| {
        let mut m = gen_ai_models.clone();
        m.push(extra);
        m
    };
    let by_model: &[&str] = &[&gen_ai_model];
    let by_provider_model: &[&str] = &[&provider, &gen_ai_model];
    let mut b = Board::new();

    b.row("Spend");
    b.add(
        Panel::stat(
            "Cost per hour",
            "currencyUSD",
            "Cost of the chosen models' priced calls, per hour at the current rate.",
        )
        .target(
            format!("{} * 3600", q.rate(MODEL_COST, &model, &[])),
            "USD/h",
        ),
    );
    b.add(
        Panel::stat(
            "Cost over the range",
            "currencyUSD",
            "Cost of the chosen models' priced calls over the dashboard's time range.",
        )
        .target(
            format!("sum(increase({}[$__range]))", q.select(MODEL_COST, &model)),
            "USD",
        ),
    );
    b.add(
        Panel::stat(
            "Tokens per second",
            "short",
            "Input and output tokens of the chosen models, per second.",
        )
        .target(
            q.rate(
                MODEL_TOKENS,
                &[model[0].clone(), re(TOKEN_TYPE_LABEL, "input|output")],
                &[],
            ),
            "tokens/s",
        ),
    );
    b.add(
        Panel::stat(
            "Time to first chunk p50",
            "s",
            "Median time from a streamed call to its first chunk.",
        )
        .target(
            q.quantile(0.5, TIME_TO_FIRST_CHUNK, &gen_ai_models, &[]),
            "p50",
        ),
    );
    b.add(
        Panel::series(
            "Tokens by model and type",
            "short",
            "Tokens per second: input (cached_input and cache_write included), output \
             (reasoning included), and those three parts.",
        )
        .target(
            q.rate(MODEL_TOKENS, &model, &[MODEL_LABEL, TOKEN_TYPE_LABEL]),
            "{{gen_ai_request_model}} {{gen_ai_token_type}}",
        ),
    );
    b.add(
        Panel::series(
            "Cost per hour by model",
            "currencyUSD",
            "Cost of each model's priced calls, per hour at the rate of the moment.",
        )
        .target(
            format!("{} * 3600", q.rate(MODEL_COST, &model, &[MODEL_LABEL])),
            "{{gen_ai_request_model}}",
        ),
    );
    let mut by_provider = Panel::series(
        "Cost per hour by provider",
        "currencyUSD",
        "Cost of the priced calls of each provider's metered functions (all models), per hour.",
    );
    for (name, sites) in providers(sites) {
        let parts: Vec<String> = sites
            .iter()
            .map(|s| {
                format!(
                    "rate({}[{RATE_INTERVAL}])",
                    q.select(
                        SITE_COST,
                        &[
                            eq("kind", SiteKind::Tokens.as_str()),
                            eq("site", s.qualified_name()),
                            eq("module", s.module_path()),
                        ]
                    )
                )
            })
            .collect();
        by_provider = by_provider.target(format!("sum({}) * 3600", parts.join(" or ")), name);
    }
    b.add(by_provider);
    b.add(
        Panel::series(
            "Cost per hour by token type",
            "currencyUSD",
            "Cost of the chosen models' calls by the tokens it paid for, each token in one \
             type: input, cached_input, cache_write, output, reasoning.",
        )
        .target(
            format!("{} * 3600", q.rate(TOKEN_COST, &model, &[TOKEN_TYPE_LABEL])),
            "{{gen_ai_token_type}}",
        ),
    );

    b.row("Latency");
    b.add(
        Panel::series(
            "Time to first chunk",
            "s",
            "Median and 99th percentile of the time from a streamed call to its first chunk.",
        )
        .target(
            q.quantile(0.5, TIME_TO_FIRST_CHUNK, &gen_ai_models, by_model),
            "p50 {{gen_ai_request_model}}",
        )
        .target(
            q.quantile(0.99, TIME_TO_FIRST_CHUNK, &gen_ai_models, by_model),
            "p99 {{gen_ai_request_model}}",
        ),
    );
    b.add(
        Panel::series(
            "Operation duration p99",
            "s",
            "99th percentile of a call's duration, to its value or a stream's end.",
        )
        .target(
            q.quantile(0.99, OPERATION_DURATION, &gen_ai_models, by_provider_model),
            "{{gen_ai_provider_name}} {{gen_ai_request_model}}",
        ),
    );
    b.add(
        Panel::series(
            "Calls by provider and model",
            "ops",
            "Metered calls per second.",
        )
        .target(
            q.count_rate(OPERATION_DURATION, &gen_ai_models, by_provider_model),
            "{{gen_ai_provider_name}} {{gen_ai_request_model}}",
        ),
    );
    // Failed calls are a series of their own, which exists only once a call failed: a model
    // without failures reads 0 rather than nothing.
    let all = q.count_rate(OPERATION_DURATION, &gen_ai_models, by_model);
    let failures = q.count_rate(OPERATION_DURATION, &with(ne(&error_type, "")), by_model);
    b.add(
        Panel::series(
            "Failed calls by model",
            "percentunit",
            "Share of each model's calls that failed (an Err or an error status).",
        )
        .target(
            format!("({failures} or {all} * 0) / {all}"),
            "{{gen_ai_request_model}}",
        ),
    );
    // The same for calls without a price, counted only once there was one.
    let unpriced = q.rate(UNPRICED_CALLS, &model, &[MODEL_LABEL]);
    let metered = q.rate(
        MODEL_TOKENS,
        &[model[0].clone(), eq(TOKEN_TYPE_LABEL, "input")],
        &[MODEL_LABEL],
    );
    b.add(
        Panel::series(
            "Unpriced calls",
            "ops",
            "Calls per second made while their model had no price: their cost is unknown, \
             and left out of every cost here.",
        )
        .target(
            format!("{unpriced} or {metered} * 0"),
            "{{gen_ai_request_model}}",
        ),
    );

    let models = variable(
        "model",
        "Model",
        format!("label_values({MODEL_TOKENS}{{{SCOPE}}}, {MODEL_LABEL})"),
    );
    dashboard(
        options,
        "llm",
        "LLM calls",
        "Tokens, cost, time to first chunk and failures of the metered calls, by model and \
         provider.",
        vec![models],
        b,
    )
}

/// The token sites by provider (`_OTHER` for those that name none), sorted.
fn providers<'a>(sites: &[&'a Site]) -> BTreeMap<&'static str, Vec<&'a Site>> {
    let mut by: BTreeMap<&'static str, Vec<&'a Site>> = BTreeMap::new();
    for site in sites.iter().filter(|s| s.kind() == SiteKind::Tokens) {
        by.entry(site.provider().unwrap_or(gen_ai::UNKNOWN_PROVIDER))
            .or_default()
            .push(site);
    }
    for sites in by.values_mut() {
        sites.sort_by_key(|s| (s.qualified_name(), s.module_path()));
        sites.dedup_by_key(|s| (s.qualified_name(), s.module_path()));
    }
    by
}

fn objectives_board(objectives: &[Objective], options: &DashboardOptions) -> Dashboard {
    let rules = RuleOptions::default()
        .regex_matcher("job", "$job")
        .regex_matcher("instance", "$instance")
        .native_histograms(options.histograms == Histograms::Native);
    // The page alert's windows, shortest first, and its factors as lines.
    let mut windows: Vec<Duration> = PAGE.iter().flat_map(|(l, s, _)| [*l, *s]).collect();
    windows.sort();
    windows.dedup();
    let mut factors: Vec<f64> = PAGE.iter().map(|(_, _, f)| *f).collect();
    factors.sort_by(f64::total_cmp);
    let steps: Vec<(f64, &'static str)> = factors
        .iter()
        .zip(["orange", "red"].into_iter().cycle())
        .map(|(f, c)| (*f, c))
        .collect();
    let mut b = Board::new();
    for objective in objectives {
        let window = nominal(objective.window);
        b.row(&format!("{}: {}", objective.name, goal_words(objective)));
        let burn = |w: Duration| objective_rules::burn_rate(objective, w, &rules);
        b.add(
            Panel::stat(
                &format!("Budget left ({window})"),
                "percentunit",
                &format!(
                    "Share of the objective's error budget left over its {window} window: 1 \
                     minus the burn rate over the window. Needs Prometheus to keep {window} of \
                     samples (its retention) to be true to the window."
                ),
            )
            .target(format!("1 - ({})", burn(objective.window)), "budget left")
            .size(6, 8)
            .thresholds("red", &[(0.0, "orange"), (0.25, "green")]),
        );
        let (long, _, _) = PAGE[0];
        b.add(
            Panel::stat(
                &format!("Burn rate ({})", nominal(long)),
                "short",
                "How fast the budget burns: 1 spends it exactly over the window; the page alert \
                 fires above 14.4 over 1 h (and 5 m), or 6 over 6 h (and 30 m).",
            )
            .target(burn(long), "burn rate")
            .size(6, 8)
            .thresholds("green", &steps),
        );
        let mut series = Panel::series(
            "Burn rate",
            "short",
            "The burn rate over the windows of the page alert; the lines are its factors.",
        )
        .thresholds("green", &steps)
        .threshold_lines();
        for w in &windows {
            series = series.target(burn(*w), &format!("over {}", nominal(*w)));
        }
        b.add(series);
    }
    dashboard(
        options,
        "objectives",
        "Objectives",
        "Each objective's error budget and burn rate, from the expressions of monitor's \
         objective rules.",
        Vec::new(),
        b,
    )
}

/// What an objective holds to, in words: `99.5 % of calls succeed`.
fn goal_words(objective: &Objective) -> String {
    let per = |per: Per| match per {
        Per::Call => "per call".to_owned(),
        Per::Run => "per run".to_owned(),
        Per::Period(d) => format!("per {}", nominal(d)),
    };
    let percent = |target: f64| format!("{} %", (target * 1e5).round() / 1e3);
    match objective.goal {
        Goal::SuccessRate { target } => format!("{} of calls succeed", percent(target)),
        Goal::Latency { threshold, target } => format!(
            "{} of calls within {}",
            percent(target),
            threshold_words(threshold)
        ),
        Goal::Cost { max_usd, per: p } => format!("at most ${max_usd} {}", per(p)),
        Goal::Tokens { max, per: p } => format!("at most {max} tokens {}", per(p)),
    }
}

/// `500 ms`, `2 s`.
fn threshold_words(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_ids_go_on_after_z() {
        let ids: Vec<String> = ref_ids().take(28).collect();
        assert_eq!(ids[0], "A");
        assert_eq!(ids[25], "Z");
        assert_eq!(ids[26], "AA");
        assert_eq!(ids[27], "AB");
    }

    #[test]
    fn a_uid_keeps_to_grafanas_characters_and_length() {
        assert_eq!(uid_prefix("logo service/v2"), "logo-service-v2");
        assert_eq!(uid_prefix(""), "monitor");
        let long = uid_prefix(&"x".repeat(100));
        assert!(format!("{long}-objectives").len() <= 40);
    }

    #[test]
    fn quantiles_read_classic_buckets_or_native_histograms() {
        let m = [eq("route", "GET /")];
        let classic = Queries {
            histograms: Histograms::Classic,
        };
        assert_eq!(
            classic.quantile(0.99, CALL_DURATION, &m, &["route"]),
            "histogram_quantile(0.99, sum by (le, route) (rate(monitor_call_duration_seconds_bucket\
             {route=\"GET /\",job=~\"$job\",instance=~\"$instance\"}[$__rate_interval])))"
        );
        let native = Queries {
            histograms: Histograms::Native,
        };
        assert_eq!(
            native.quantile(0.5, CALL_DURATION, &m, &[]),
            "histogram_quantile(0.5, sum(rate(monitor_call_duration_seconds\
             {route=\"GET /\",job=~\"$job\",instance=~\"$instance\"}[$__rate_interval])))"
        );
        assert_eq!(
            native.count_rate(CALL_DURATION, &m, &[]),
            "sum(histogram_count(rate(monitor_call_duration_seconds\
             {route=\"GET /\",job=~\"$job\",instance=~\"$instance\"}[$__rate_interval])))"
        );
    }

    #[test]
    fn panels_flow_left_to_right_and_wrap_at_24_columns() {
        let mut b = Board::new();
        b.row("r");
        for _ in 0..3 {
            b.add(Panel::series("t", "s", ""));
        }
        let pos: Vec<(u64, u64, u64)> = b
            .panels
            .iter()
            .map(|p| {
                let g = &p["gridPos"];
                (
                    g["x"].as_u64().unwrap_or(99),
                    g["y"].as_u64().unwrap_or(99),
                    p["id"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(pos, [(0, 0, 1), (0, 1, 2), (12, 1, 3), (0, 9, 4)]);
    }

    #[test]
    fn goals_read_as_words() {
        use monitor_core::objectives::Objective;
        assert_eq!(
            goal_words(&Objective::success_rate("a", 0.995)),
            "99.5 % of calls succeed"
        );
        assert_eq!(
            goal_words(&Objective::latency("b", Duration::from_millis(500), 0.99)),
            "99 % of calls within 500 ms"
        );
        assert_eq!(
            goal_words(&Objective::cost(
                "c",
                50.0,
                Per::Period(Duration::from_secs(86_400))
            )),
            "at most $50 per 1d"
        );
    }
}
