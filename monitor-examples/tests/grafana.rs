//! The Grafana dashboards under `dashboards/`: what the demo writes (`--print-grafana DIR`) is
//! what is committed, byte for byte; every dashboard has what Grafana's dashboard JSON model
//! requires; and every query of every panel, and every variable's, runs against the real
//! Prometheus (Debian's 2.42) that scraped the demo under its built-in load, parses, and returns
//! data — the committed dashboards over the classic buckets, and the native variant
//! (`--grafana-histograms native`) against a second Prometheus started with
//! `--enable-feature=native-histograms`.
//!
//! No JSON Schema of the classic dashboard model ships in a crate, a PyPI or an npm package
//! (`@grafana/schema` has TypeScript types only), so the model's rules are checked here as its
//! schema (grafana-foundation-sdk's `dashboard.jsonschema.json`) states them: required fields,
//! the keys each object may have, the types and ranges of the grid, the variable types.

mod support;

use logo_service::load::{LoadOptions, drive};
use monitor_harness::{PROMETHEUS, Prometheus, TempDir};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::{Serving, demo};

const TOKEN: &str = "grafana-test-token-0123";

/// What to run to write the committed dashboards again.
const REGENERATE: &str =
    "cargo run -p monitor-examples --bin logo-service -- --print-grafana dashboards";

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboards")
}

/// The `.json` files of `dir` by name, with their text.
fn json_files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// What the demo writes with `--print-grafana` and `--grafana-histograms histograms`.
fn generated(histograms: &str) -> BTreeMap<String, String> {
    let dir = TempDir::new("grafana").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_logo-service"))
        .arg("--print-grafana")
        .arg(dir.path())
        .args(["--grafana-histograms", histograms])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = json_files(dir.path());
    // It prints the path of each file it wrote, and wrote nothing else.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        files.len()
    );
    files
}

fn parse(files: &BTreeMap<String, String>) -> Vec<(String, Value)> {
    files
        .iter()
        .map(|(name, text)| {
            let json = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name.clone(), json)
        })
        .collect()
}

#[test]
fn the_committed_dashboards_are_what_the_demo_writes() {
    let committed = json_files(&committed_dir());
    let generated = generated("classic");
    assert_eq!(
        committed.keys().collect::<Vec<_>>(),
        generated.keys().collect::<Vec<_>>(),
        "dashboards/ holds other files than the demo writes: run `{REGENERATE}` at the top of \
         the repository"
    );
    for (name, text) in &generated {
        assert!(
            committed[name] == *text,
            "dashboards/{name} differs from what the demo writes: run `{REGENERATE}` at the top \
             of the repository"
        );
    }
    let uids: Vec<String> = parse(&generated)
        .iter()
        .map(|(_, d)| d["uid"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        uids,
        [
            "logo-service-llm",
            "logo-service-objectives",
            "logo-service-overview",
            "logo-service-pipelines"
        ]
    );
}

/// The keys each object of the model may have (its schema's `additionalProperties: false`).
const DASHBOARD_KEYS: &[&str] = &[
    "id",
    "uid",
    "title",
    "description",
    "revision",
    "gnetId",
    "tags",
    "timezone",
    "editable",
    "graphTooltip",
    "time",
    "timepicker",
    "fiscalYearStartMonth",
    "liveNow",
    "weekStart",
    "refresh",
    "schemaVersion",
    "version",
    "panels",
    "templating",
    "annotations",
    "links",
    "snapshot",
];
const PANEL_KEYS: &[&str] = &[
    "type",
    "id",
    "pluginVersion",
    "tags",
    "targets",
    "title",
    "description",
    "transparent",
    "datasource",
    "gridPos",
    "links",
    "repeat",
    "repeatDirection",
    "maxPerRow",
    "maxDataPoints",
    "transformations",
    "interval",
    "timeFrom",
    "timeShift",
    "hideTimeOverride",
    "libraryPanel",
    "options",
    "fieldConfig",
];
const ROW_KEYS: &[&str] = &[
    "type",
    "collapsed",
    "title",
    "datasource",
    "gridPos",
    "id",
    "panels",
    "repeat",
];
const VARIABLE_KEYS: &[&str] = &[
    "type",
    "name",
    "label",
    "hide",
    "skipUrlSync",
    "description",
    "query",
    "datasource",
    "current",
    "multi",
    "options",
    "refresh",
    "sort",
    "includeAll",
    "allValue",
    "regex",
];
const FIELD_CONFIG_KEYS: &[&str] = &[
    "displayName",
    "displayNameFromDS",
    "description",
    "path",
    "writeable",
    "filterable",
    "unit",
    "decimals",
    "min",
    "max",
    "mappings",
    "thresholds",
    "color",
    "links",
    "noValue",
    "custom",
];
const ANNOTATION_KEYS: &[&str] = &[
    "name",
    "datasource",
    "enable",
    "hide",
    "iconColor",
    "filter",
    "target",
    "type",
    "builtIn",
];
const LINK_KEYS: &[&str] = &[
    "title",
    "type",
    "icon",
    "tooltip",
    "url",
    "tags",
    "asDropdown",
    "targetBlank",
    "includeVars",
    "keepTime",
];

/// The units the panels may use: Grafana's ids for them.
const UNITS: &[&str] = &[
    "s",
    "percentunit",
    "short",
    "currencyUSD",
    "bytes",
    "Bps",
    "reqps",
    "ops",
];

/// Problems with one dashboard, as `where: what`.
struct Problems {
    name: String,
    found: Vec<String>,
}

impl Problems {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.found.push(format!("{}: {}", self.name, what()));
        }
    }

    fn keys(&mut self, at: &str, value: &Value, allowed: &[&str], required: &[&str]) {
        let Some(object) = value.as_object() else {
            self.found
                .push(format!("{}: {at} is not an object", self.name));
            return;
        };
        for key in object.keys() {
            self.check(allowed.contains(&key.as_str()), || {
                format!("{at} has `{key}`, which the model does not allow")
            });
        }
        for key in required {
            self.check(object.contains_key(*key), || format!("{at} lacks `{key}`"));
        }
    }
}

fn is_prometheus_ref(value: &Value) -> bool {
    value["type"] == "prometheus" && value["uid"] == "${datasource}"
}

/// The selectors (`{…}`) of a PromQL expression, quotes minded.
fn selectors(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut current, mut inside, mut quoted, mut escaped) = (String::new(), false, false, false);
    for c in expr.chars() {
        if inside {
            if quoted {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    quoted = false;
                }
            } else if c == '"' {
                quoted = true;
            } else if c == '}' {
                out.push(std::mem::take(&mut current));
                inside = false;
                continue;
            }
            current.push(c);
        } else if c == '{' {
            inside = true;
        }
    }
    out
}

/// Checks one dashboard's JSON model; returns its problems.
fn check_dashboard(name: &str, d: &Value) -> Vec<String> {
    let mut p = Problems {
        name: name.to_owned(),
        found: Vec::new(),
    };
    p.keys(
        "the dashboard",
        d,
        DASHBOARD_KEYS,
        &[
            "schemaVersion",
            "templating",
            "annotations",
            "title",
            "uid",
            "panels",
            "time",
        ],
    );
    p.check(d["schemaVersion"] == 39, || {
        format!("schemaVersion {}", d["schemaVersion"])
    });
    let uid = d["uid"].as_str().unwrap_or("");
    p.check(
        !uid.is_empty()
            && uid.len() <= 40
            && uid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        || format!("uid {uid:?}"),
    );
    p.check(d["title"].as_str().is_some_and(|t| !t.is_empty()), || {
        "no title".into()
    });
    p.check(
        d["tags"]
            .as_array()
            .is_some_and(|t| t.iter().all(Value::is_string)),
        || "tags".into(),
    );
    p.keys("time", &d["time"], &["from", "to"], &["from", "to"]);
    p.check(d["refresh"].is_string(), || "refresh".into());
    p.check([0, 1, 2].iter().any(|n| d["graphTooltip"] == *n), || {
        "graphTooltip".into()
    });
    for (i, a) in d["annotations"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        p.keys(
            &format!("annotation {i}"),
            a,
            ANNOTATION_KEYS,
            &["name", "datasource", "enable", "iconColor"],
        );
    }
    for (i, l) in d["links"].as_array().into_iter().flatten().enumerate() {
        p.keys(
            &format!("link {i}"),
            l,
            LINK_KEYS,
            &[
                "title",
                "type",
                "icon",
                "tooltip",
                "tags",
                "asDropdown",
                "targetBlank",
                "includeVars",
                "keepTime",
            ],
        );
    }

    // Variables: a Prometheus data source first, then `job` and `instance`.
    p.keys("templating", &d["templating"], &["list"], &["list"]);
    let variables = d["templating"]["list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = variables
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    p.check(
        names.starts_with(&["datasource", "job", "instance"]),
        || format!("variables {names:?}"),
    );
    for v in &variables {
        let at = format!("variable {}", v["name"]);
        p.keys(&at, v, VARIABLE_KEYS, &["type", "name"]);
        p.check([0, 1, 2].iter().any(|n| v["refresh"] == *n), || {
            format!("{at}: refresh {}", v["refresh"])
        });
        match v["type"].as_str() {
            Some("datasource") => p.check(v["query"] == "prometheus", || {
                format!("{at}: a data source variable of {}", v["query"])
            }),
            Some("query") => {
                p.check(is_prometheus_ref(&v["datasource"]), || {
                    format!("{at}: datasource {}", v["datasource"])
                });
                p.check(
                    v["query"]
                        .as_str()
                        .is_some_and(|q| q.starts_with("label_values(") && q.ends_with(')')),
                    || format!("{at}: query {}", v["query"]),
                );
            }
            other => p.found.push(format!("{name}: {at} of type {other:?}")),
        }
    }

    // Panels: ids unique across rows and panels, on the grid without overlap.
    let panels = d["panels"].as_array().cloned().unwrap_or_default();
    p.check(!panels.is_empty(), || "no panels".into());
    let mut ids = BTreeSet::new();
    let mut cells: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    for panel in &panels {
        let id = panel["id"].as_u64();
        let at = format!("panel {} ({})", panel["id"], panel["title"]);
        p.check(id.is_some_and(|id| ids.insert(id)), || {
            format!("{at}: id missing or not unique")
        });
        let g = &panel["gridPos"];
        p.keys(
            &format!("{at} gridPos"),
            g,
            &["h", "w", "x", "y", "static"],
            &["h", "w", "x", "y"],
        );
        let (h, w, x, y) = (
            g["h"].as_u64().unwrap_or(0),
            g["w"].as_u64().unwrap_or(0),
            g["x"].as_u64().unwrap_or(99),
            g["y"].as_u64().unwrap_or(0),
        );
        p.check(
            h > 0 && (1..=24).contains(&w) && x < 24 && x + w <= 24,
            || format!("{at}: gridPos {g}"),
        );
        for row in y..y + h {
            for col in x..(x + w).min(24) {
                if let Some(other) = cells.insert((row, col), id.unwrap_or(0)) {
                    p.found.push(format!(
                        "{name}: {at} overlaps panel {other} at {col},{row}"
                    ));
                }
            }
        }
        p.check(
            panel["title"].as_str().is_some_and(|t| !t.is_empty()),
            || format!("{at}: no title"),
        );
        if panel["type"] == "row" {
            p.keys(&at, panel, ROW_KEYS, &["type", "collapsed", "id", "panels"]);
            continue;
        }
        p.keys(
            &at,
            panel,
            PANEL_KEYS,
            &[
                "type",
                "id",
                "title",
                "gridPos",
                "datasource",
                "targets",
                "fieldConfig",
            ],
        );
        p.check(
            ["timeseries", "stat", "gauge", "table"]
                .contains(&panel["type"].as_str().unwrap_or("")),
            || format!("{at}: type {}", panel["type"]),
        );
        p.check(is_prometheus_ref(&panel["datasource"]), || {
            format!("{at}: datasource {}", panel["datasource"])
        });
        let field_config = &panel["fieldConfig"];
        p.keys(
            &format!("{at} fieldConfig"),
            field_config,
            &["defaults", "overrides"],
            &["defaults", "overrides"],
        );
        let defaults = &field_config["defaults"];
        p.keys(
            &format!("{at} defaults"),
            defaults,
            FIELD_CONFIG_KEYS,
            &["unit"],
        );
        p.check(
            UNITS.contains(&defaults["unit"].as_str().unwrap_or("")),
            || format!("{at}: unit {}", defaults["unit"]),
        );
        // Thresholds: the first step's value is null (Grafana's -Infinity), the others rise.
        let steps = defaults["thresholds"]["steps"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        p.check(
            steps.first().is_some_and(|s| s["value"].is_null())
                && steps[1..]
                    .windows(2)
                    .all(|w| w[0]["value"].as_f64() < w[1]["value"].as_f64())
                && steps[1..].iter().all(|s| s["value"].is_number()),
            || format!("{at}: threshold steps {steps:?}"),
        );
        let targets = panel["targets"].as_array().cloned().unwrap_or_default();
        p.check(!targets.is_empty(), || format!("{at}: no targets"));
        let mut ref_ids = BTreeSet::new();
        for t in &targets {
            let ref_id = t["refId"].as_str().unwrap_or("");
            p.check(
                !ref_id.is_empty() && ref_ids.insert(ref_id.to_owned()),
                || format!("{at}: refId {ref_id:?} missing or repeated"),
            );
            p.check(is_prometheus_ref(&t["datasource"]), || {
                format!("{at} {ref_id}: datasource")
            });
            let expr = t["expr"].as_str().unwrap_or("");
            p.check(!expr.is_empty(), || format!("{at} {ref_id}: no expr"));
            // Every selector is filtered to the dashboard's job and instance.
            let selectors = selectors(expr);
            p.check(!selectors.is_empty(), || {
                format!("{at} {ref_id}: no selector")
            });
            for s in selectors {
                p.check(
                    s.contains(r#"job=~"$job""#) && s.contains(r#"instance=~"$instance""#),
                    || format!("{at} {ref_id}: {{{s}}} is not filtered by $job and $instance"),
                );
            }
        }
    }
    p.found
}

#[test]
fn every_dashboard_has_what_the_grafana_model_requires() {
    let committed = parse(&json_files(&committed_dir()));
    let native = parse(&generated("native"));
    let mut problems = Vec::new();
    for (name, dashboard) in committed.iter().chain(&native) {
        problems.extend(check_dashboard(name, dashboard));
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The native variant reads native histograms where the committed one reads buckets.
    let text =
        |set: &[(String, Value)]| -> String { set.iter().map(|(_, d)| d.to_string()).collect() };
    assert!(text(&committed).contains("_bucket{"));
    assert!(!text(&native).contains("_bucket{") && text(&native).contains("histogram_count("));
}

#[test]
fn the_checks_catch_a_broken_dashboard() {
    let committed = parse(&json_files(&committed_dir()));
    let (name, mut d) = committed[0].clone();
    assert!(check_dashboard(&name, &d).is_empty());
    d["panels"][1]["id"] = d["panels"][0]["id"].clone();
    d["panels"][2]["gridPos"]["w"] = Value::from(30);
    d["panels"][3]["targets"][0]["expr"] = Value::from("up{job=\"x\"}");
    d["panels"][4]["fieldConfig"]["defaults"]["colour"] = Value::from("red");
    d["templating"]["list"][0]["type"] = Value::from("prometheus");
    d["schemaVersion"] = Value::from(16);
    let problems = check_dashboard(&name, &d);
    for expected in [
        "not unique",
        "gridPos",
        "not filtered by $job",
        "`colour`",
        "of type Some(\"prometheus\")",
        "schemaVersion 16",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expected}: {problems:#?}"
        );
    }
}

/// One query a dashboard runs: where it is, and its PromQL.
struct Query {
    at: String,
    expr: String,
}

/// Every panel's every target, and every query variable's query as the instant query Grafana's
/// `label_values(selector, label)` amounts to: `count by (label) (selector)`.
fn queries(dashboards: &[(String, Value)]) -> Vec<Query> {
    let mut out = Vec::new();
    for (name, d) in dashboards {
        for v in d["templating"]["list"].as_array().into_iter().flatten() {
            let Some(q) = v["query"].as_str() else {
                continue;
            };
            let Some(args) = q
                .strip_prefix("label_values(")
                .and_then(|a| a.strip_suffix(')'))
            else {
                continue;
            };
            let (selector, label) = args.rsplit_once(", ").unwrap_or(("", args));
            out.push(Query {
                at: format!("{name}: variable {}", v["name"]),
                expr: format!("count by ({label}) ({selector})"),
            });
        }
        for panel in d["panels"].as_array().into_iter().flatten() {
            for t in panel["targets"].as_array().into_iter().flatten() {
                out.push(Query {
                    at: format!("{name}: panel {:?} {}", panel["title"], t["refId"]),
                    expr: t["expr"].as_str().unwrap_or("").to_owned(),
                });
            }
        }
    }
    out
}

/// `expr` as Grafana sends it with the variables set: `job` and `instance` the scraped target
/// (a single value of a multi-value variable, regex-escaped as Grafana does), every other
/// variable `All` (`.*`), the rate interval a minute and the range five.
fn interpolate(expr: &str, instance: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$__range", "5m")
        .replace("$job", "monitor")
        .replace("$instance", &instance.replace('.', "\\\\."))
        .replace("$route", ".*")
        .replace("$model", ".*")
}

/// Runs every query against `prometheus`; returns what failed: a query Prometheus refused, or
/// one without a single finite value.
async fn run_all(
    prometheus: &Prometheus,
    client: &reqwest::Client,
    queries: &[Query],
    instance: &str,
) -> Vec<String> {
    let mut failed = Vec::new();
    for q in queries {
        let expr = interpolate(&q.expr, instance);
        assert!(
            !expr.contains('$'),
            "{}: a variable is left in {expr}",
            q.at
        );
        match prometheus.query(client, &expr).await {
            Err(body) => failed.push(format!("{}: refused: {body}\n  {expr}", q.at)),
            Ok(result) => {
                let finite = result.iter().any(|series| {
                    series["value"][1]
                        .as_str()
                        .and_then(|v| v.parse::<f64>().ok())
                        .is_some_and(f64::is_finite)
                });
                if !finite {
                    failed.push(format!("{}: no finite value in {result:?}\n  {expr}", q.at));
                }
            }
        }
    }
    failed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_query_returns_data_from_the_real_prometheus() {
    if !Path::new(PROMETHEUS).exists() {
        assert!(!monitor_harness::in_ci(), "CI needs Debian's prometheus");
        eprintln!("skipped: no {PROMETHEUS}");
        return;
    }
    let started = Instant::now();
    let classic = parse(&json_files(&committed_dir()));
    let native = parse(&generated("native"));

    // The demo fails a fifth of its logo requests (for the failed shares and the burn rates) and
    // keeps half its runs as traces (for the traces row).
    let serving = Serving::start(demo(TOKEN).args([
        "--requests",
        "0",
        "--fail-rate",
        "0.2",
        "--trace-sample",
        "0.5",
    ]));
    let instance = serving.base.trim_start_matches("http://").to_owned();
    let addr = instance.parse().unwrap();
    let client = reqwest::Client::new();
    let mut buckets = Prometheus::start(addr, "/admin/metrics").unwrap();
    let mut natives = Prometheus::start_with(
        addr,
        "/admin/metrics",
        &["--enable-feature=native-histograms"],
    )
    .unwrap();
    buckets.wait_ready(&client).await.unwrap();
    natives.wait_ready(&client).await.unwrap();
    // Scraping before the load starts, so that every rate sees it rise.
    for prometheus in [&buckets, &natives] {
        prometheus
            .poll(&client, r#"up{job="monitor"}"#, |r| {
                monitor_harness::single_value(r) == Some(1.0)
            })
            .await
            .unwrap();
    }

    // The built-in load: 160 logo requests, 8 at a time (about 5 s), with bad bodies (400),
    // lookups of missing logos (404), clients that give up (cancelled), cache hits, and the
    // LLM streams' tokens, costs and errors. Bounded by its count; each request by reqwest's and
    // the service's timeouts.
    let options = LoadOptions {
        requests: 160,
        concurrency: 8,
    };
    let report = tokio::time::timeout(
        Duration::from_secs(60),
        drive(&serving.base, &options, |_| {}),
    )
    .await
    .expect("the load ends within 60 s");
    // What the panels show happened: answers, bad requests, missing logos, impatient clients.
    assert!(
        report.created > 0 && report.rejected > 0 && report.not_found > 0 && report.abandoned > 0,
        "{report:?}"
    );
    let answered = report.create_sent - report.abandoned;
    eprintln!(
        "load: {} logo requests ({} answered) in {:.1} s",
        report.create_sent,
        answered,
        started.elapsed().as_secs_f64()
    );

    // Both have scraped the end of the load, and once more after it.
    let created =
        r#"sum(monitor_calls_total{job="monitor",route="POST /api/logos",outcome!="cancelled"})"#;
    for prometheus in [&buckets, &natives] {
        prometheus
            .poll(&client, created, |r| {
                monitor_harness::single_value(r).is_some_and(|n| n >= answered as f64)
            })
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let mut failed = run_all(&buckets, &client, &queries(&classic), &instance).await;
    failed.extend(run_all(&natives, &client, &queries(&native), &instance).await);
    let count = queries(&classic).len() + queries(&native).len();
    eprintln!(
        "{count} queries of {} dashboards against two Prometheus servers, {} failed, in {:.1} s \
         in all",
        classic.len() + native.len(),
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failed.is_empty(),
        "{failed:#?}\n--- prometheus (classic) log ---\n{}\n--- prometheus (native) log ---\n{}",
        buckets.log(),
        natives.log()
    );
    drop(serving);
}
