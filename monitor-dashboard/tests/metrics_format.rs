//! `/metrics` checked against the text exposition format 0.0.4 by a parser of its own, and the
//! counts it shows against the calls made. Needs no external tool (promtool and a real Prometheus
//! are in `prometheus_server.rs`).

use monitor_core::pricing::Price;
use monitor_core::site::SiteKind;
use monitor_core::{Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use monitor_dashboard::{CONTENT_TYPE, DashboardConfig};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::Duration;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Everything the format lets a site name carry that needs escaping, and more.
const ODD_NAME: &str = "fmt \"odd\" \\ name\nline two\t\u{e9}";
const ODD_ROUTE: &str = "POST /fmt/\"quoted\"/back\\slash";
const ODD_STAGE: &str = "draft \"v2\"\\n";
const ODD_CACHE: &str = "fmt \"cache\"\n";
const SECRET_MESSAGE: &str = "fmt-secret-message-4711";

#[monitored_handler(
    name = "fmt \"odd\" \\ name\nline two\t\u{e9}",
    route = "POST /fmt/\"quoted\"/back\\slash"
)]
fn odd_handler(body: String, fail: bool) -> Result<String, String> {
    if fail {
        Err(format!("{SECRET_MESSAGE}: {body}"))
    } else {
        Ok("hello".to_owned())
    }
}

#[monitored_handler(route = "GET /fmt/status")]
fn fmt_status(code: u16) -> http::StatusCode {
    http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::OK)
}

#[pipeline_stage(pipeline = "fmt-pipe", stage = "draft \"v2\"\\n")]
fn fmt_stage(prompt: &str) -> Result<usize, String> {
    fmt_priced(prompt)?;
    fmt_unpriced(prompt)?;
    Ok(1)
}

#[tracks_tokens(model = "fmt-priced")]
fn fmt_priced(_prompt: &str) -> Result<Tokens, String> {
    Ok(Tokens::new(100, 10))
}

#[tracks_tokens(model = "fmt-unpriced")]
fn fmt_unpriced(_prompt: &str) -> Result<Tokens, String> {
    Ok(Tokens::new(50, 5).cached(40))
}

/// A priced model whose every call was refused: none reported usage.
#[tracks_tokens(model = "fmt-refused")]
fn fmt_refused() -> Result<Tokens, String> {
    Err("rate limited".into())
}

#[monitored_handler]
fn fmt_panics() -> u32 {
    panic!("fmt_panics panics on purpose")
}

#[monitored_handler]
async fn fmt_cancellable() -> u32 {
    std::future::pending::<()>().await;
    1
}

#[monitored_handler]
fn fmt_slow() -> &'static str {
    std::thread::sleep(Duration::from_millis(3));
    "slow"
}

#[expect(dead_code, reason = "never called: it must be exported all the same")]
#[monitored_handler]
fn fmt_never_called() -> u32 {
    0
}

// Two sites with the same labels: exported as one series, never as two identical ones.
#[monitored_handler(name = "fmt_twin")]
fn fmt_twin_a() -> u32 {
    1
}

#[monitored_handler(name = "fmt_twin")]
fn fmt_twin_b() -> u32 {
    2
}

#[monitored_handler]
fn fmt_busy() -> u32 {
    4
}

#[monitored_handler(route = "GET /fmt/served")]
fn fmt_served() -> u32 {
    3
}

fn poll_once_then_drop<F: Future>(future: F) {
    let mut future = pin!(future);
    assert!(
        future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
    );
}

#[test]
fn the_exposition_follows_the_format_and_counts_every_call_exactly() -> TestResult {
    monitor_core::pricing::set_price("fmt-priced", Price::per_million(1.0, 2.0))?;
    let mut request_bytes = 0;
    for i in 0..5 {
        let body = "x".repeat(i + 1);
        request_bytes += body.len() as u64;
        let _ = odd_handler(body, i >= 3);
    }
    for code in [200, 200, 201, 204, 404, 404, 503] {
        fmt_status(code);
    }
    for _ in 0..3 {
        fmt_stage("a fox")?;
    }
    monitor_core::pricing::set_price("fmt-refused", Price::per_million(1.0, 2.0))?;
    fmt_refused().unwrap_err();
    fmt_refused().unwrap_err();
    // Its panic message shows in the output; silencing it would mean swapping the process's
    // panic hook under the tests running beside this one.
    assert!(std::panic::catch_unwind(fmt_panics).is_err());
    poll_once_then_drop(fmt_cancellable());
    poll_once_then_drop(fmt_cancellable());
    fmt_slow();
    fmt_slow();
    fmt_twin_a();
    fmt_twin_a();
    fmt_twin_b();
    let cache = monitor_core::cache(ODD_CACHE);
    cache.hit();
    cache.hit();
    cache.miss();

    let text = monitor_dashboard::render();
    let exposition = Exposition::parse(&text);

    // The odd name, route and stage come back unchanged through the escaping.
    let odd = [("site", ODD_NAME), ("route", ODD_ROUTE)];
    let calls = |labels: &[(&'static str, &'static str)], outcome: &'static str| {
        let mut labels = labels.to_vec();
        labels.push(("outcome", outcome));
        exposition.value("monitor_calls_total", &labels)
    };
    assert_eq!(calls(&odd, "ok"), 3.0);
    assert_eq!(calls(&odd, "error"), 2.0);
    assert_eq!(calls(&odd, "client_error"), 0.0);
    assert_eq!(
        exposition.value("monitor_request_bytes_total", &odd),
        request_bytes as f64
    );
    assert_eq!(exposition.value("monitor_response_bytes_total", &odd), 15.0);
    assert_eq!(
        exposition.value("monitor_call_duration_seconds_count", &odd),
        5.0
    );
    let odd_errors = exposition.find("monitor_returned_errors_total", &odd);
    assert_eq!(odd_errors.len(), 1, "{odd_errors:?}");
    assert_eq!(odd_errors[0].value, 2.0);
    assert!(odd_errors[0].label("error_type").contains("String"));
    assert!(
        !text.contains(SECRET_MESSAGE),
        "an error message was exported"
    );

    let status = [("site", "fmt_status")];
    assert_eq!(calls(&status, "ok"), 4.0);
    assert_eq!(calls(&status, "client_error"), 2.0);
    assert_eq!(calls(&status, "error"), 1.0);
    for (class, n) in [
        ("1xx", 0.0),
        ("2xx", 4.0),
        ("3xx", 0.0),
        ("4xx", 2.0),
        ("5xx", 1.0),
    ] {
        let labels = [status[0], ("status_class", class)];
        assert_eq!(exposition.value("monitor_http_responses_total", &labels), n);
    }

    let panics = [("site", "fmt_panics")];
    assert_eq!(calls(&panics, "panic"), 1.0);
    assert_eq!(calls(&panics, "error"), 0.0, "a panic is counted once");
    assert_eq!(
        exposition.value("monitor_call_duration_seconds_count", &panics),
        1.0
    );
    let cancellable = [("site", "fmt_cancellable")];
    assert_eq!(calls(&cancellable, "cancelled"), 2.0);
    assert_eq!(calls(&cancellable, "ok"), 0.0);
    assert_eq!(
        exposition.value("monitor_call_duration_seconds_count", &cancellable),
        0.0
    );

    // Each call slept 3 ms: none can be counted under 2.5 ms.
    let slow = [("site", "fmt_slow")];
    let slow_le = |le: &str| {
        exposition.value(
            "monitor_call_duration_seconds_bucket",
            &[slow[0], ("le", le)],
        )
    };
    assert_eq!(slow_le("0.0025"), 0.0);
    assert_eq!(slow_le("+Inf"), 2.0);
    assert!(exposition.value("monitor_call_duration_seconds_sum", &slow) >= 0.006);

    let never = [("site", "fmt_never_called")];
    for outcome in ["ok", "error", "client_error", "panic", "cancelled"] {
        assert_eq!(calls(&never, outcome), 0.0);
    }
    assert_eq!(
        exposition.value(
            "monitor_call_duration_seconds_bucket",
            &[never[0], ("le", "+Inf")]
        ),
        0.0
    );

    assert_eq!(calls(&[("site", "fmt_twin")], "ok"), 3.0);

    let handlers = monitor_core::sites()
        .filter(|s| s.kind() == SiteKind::Handler)
        .count();
    assert_eq!(
        exposition.value("monitor_sites", &[("kind", "handler")]),
        handlers as f64
    );

    // Tokens and cost: by model, and credited to the stage that made the calls.
    let model = |name: &'static str, token_type: &'static str| {
        [
            ("gen_ai_request_model", name),
            ("gen_ai_token_type", token_type),
        ]
    };
    let usage_sum =
        |labels: &[(&str, &str)]| exposition.value("gen_ai_client_token_usage_sum", labels);
    let usage_count =
        |labels: &[(&str, &str)]| exposition.value("gen_ai_client_token_usage_count", labels);
    assert_eq!(usage_sum(&model("fmt-priced", "input")), 300.0);
    assert_eq!(usage_sum(&model("fmt-priced", "output")), 30.0);
    assert_eq!(usage_count(&model("fmt-priced", "input")), 3.0);
    assert_eq!(usage_sum(&model("fmt-unpriced", "input")), 150.0);
    assert_eq!(usage_count(&model("fmt-unpriced", "output")), 3.0);
    let priced = [("gen_ai_request_model", "fmt-priced")];
    let unpriced = [("gen_ai_request_model", "fmt-unpriced")];
    assert_eq!(
        exposition.value(
            "monitor_model_tokens_total",
            &model("fmt-unpriced", "cached_input")
        ),
        120.0
    );
    // 3 calls of 100 input tokens at $1/M and 10 output tokens at $2/M.
    let cost = exposition.value("monitor_cost_usd_total", &priced);
    assert!((cost - 3.6e-4).abs() < 1e-12, "cost {cost}");
    assert!(
        exposition
            .find("monitor_cost_usd_total", &unpriced)
            .is_empty(),
        "an unknown cost was exported"
    );
    assert_eq!(
        exposition.value("monitor_unpriced_calls_total", &unpriced),
        3.0
    );
    assert!(
        exposition
            .find("monitor_unpriced_calls_total", &priced)
            .is_empty()
    );

    // A model none of whose calls reported usage: its calls are counted, its tokens and cost
    // are unknown, so no series says zero.
    let refused = [("gen_ai_request_model", "fmt-refused")];
    for family in [
        "monitor_model_tokens_total",
        "monitor_cost_usd_total",
        "monitor_token_cost_usd_total",
        "monitor_unpriced_calls_total",
    ] {
        assert!(
            exposition.find(family, &refused).is_empty(),
            "{family} for a model of unknown usage"
        );
    }
    assert_eq!(calls(&[("site", "fmt_refused")], "error"), 2.0);

    let stage = [("stage", ODD_STAGE), ("pipeline", "fmt-pipe")];
    assert_eq!(calls(&stage, "ok"), 3.0);
    let stage_tokens = |token_type| {
        let labels = [stage[0], stage[1], ("gen_ai_token_type", token_type)];
        exposition.value("monitor_site_tokens_total", &labels)
    };
    assert_eq!(stage_tokens("input"), 450.0);
    assert_eq!(stage_tokens("output"), 45.0);
    let stage_cost = exposition.value("monitor_site_cost_usd_total", &stage);
    assert!(
        (stage_cost - 3.6e-4).abs() < 1e-12,
        "stage cost {stage_cost}"
    );
    assert_eq!(
        exposition.value("monitor_site_unpriced_calls_total", &stage),
        3.0
    );
    let unpriced_site = [("site", "fmt_unpriced")];
    assert!(
        exposition
            .find("monitor_site_cost_usd_total", &unpriced_site)
            .is_empty()
    );
    assert_eq!(
        exposition.value("monitor_site_unpriced_calls_total", &unpriced_site),
        3.0
    );

    for (result, n) in [("hit", 2.0), ("miss", 1.0)] {
        let labels = [("cache", ODD_CACHE), ("result", result)];
        assert_eq!(exposition.value("monitor_cache_lookups_total", &labels), n);
    }

    let rss = exposition.value("process_resident_memory_bytes", &[]);
    let virt = exposition.value("process_virtual_memory_bytes", &[]);
    assert!(rss > 0.0 && virt >= rss, "rss {rss}, virtual {virt}");
    assert_eq!(exposition.types["process_resident_memory_bytes"], "gauge");
    Ok(())
}

#[test]
fn counters_never_fall_between_renders() {
    let before = Exposition::parse(&monitor_dashboard::render());
    for _ in 0..20 {
        fmt_busy();
    }
    let after = Exposition::parse(&monitor_dashboard::render());
    let mut compared = 0;
    for sample in &before.samples {
        let family = before.family_of(&sample.name);
        if !matches!(
            before.types[&family].as_str(),
            "counter" | "histogram" | "summary"
        ) {
            continue;
        }
        let labels: Vec<(&str, &str)> = sample
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let later = after.find(&sample.name, &labels);
        if let Some(later) = later.iter().find(|s| s.labels.len() == sample.labels.len()) {
            assert!(
                later.value >= sample.value,
                "{} {:?} fell from {} to {}",
                sample.name,
                sample.labels,
                sample.value,
                later.value
            );
            compared += 1;
        }
    }
    assert!(compared > 50, "only {compared} series compared");
}

async fn serve(config: DashboardConfig) -> Result<SocketAddr, std::io::Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, monitor_dashboard::router(config)).await });
    Ok(addr)
}

#[tokio::test]
async fn metrics_are_served_with_the_format_s_content_type() -> TestResult {
    fmt_served();
    let addr = serve(DashboardConfig::new()).await?;
    let response = reqwest::get(format!("http://{addr}/metrics")).await?;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    assert_eq!(content_type, CONTENT_TYPE);
    let exposition = Exposition::parse(&response.text().await?);
    assert!(
        exposition.value(
            "monitor_calls_total",
            &[("route", "GET /fmt/served"), ("outcome", "ok")]
        ) >= 1.0
    );
    Ok(())
}

#[tokio::test]
async fn protected_metrics_need_the_token() -> TestResult {
    let token = "fmt-token-0123456789";
    let addr = serve(DashboardConfig::new().token(token)?.protect_metrics(true)).await?;
    let url = format!("http://{addr}/metrics");
    let client = reqwest::Client::new();

    let without = client.get(&url).send().await?;
    assert_eq!(without.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert!(!without.text().await?.contains("monitor_calls_total"));
    let wrong = client
        .get(&url)
        .bearer_auth("fmt-token-wrong-guess")
        .send()
        .await?;
    assert_eq!(wrong.status(), reqwest::StatusCode::UNAUTHORIZED);
    let with = client.get(&url).bearer_auth(token).send().await?;
    assert_eq!(with.status(), reqwest::StatusCode::OK);
    assert!(
        with.text()
            .await?
            .contains("# TYPE monitor_calls_total counter\n")
    );

    // Unprotected, the token is not asked for /metrics.
    let open = serve(DashboardConfig::new().token(token)?).await?;
    let response = client.get(format!("http://{open}/metrics")).send().await?;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    Ok(())
}

#[test]
fn the_parser_rejects_what_the_format_forbids() {
    let bad = [
        ("no type", "x_total 1\n"),
        (
            "two TYPE lines",
            "# TYPE x_total counter\n# TYPE x_total counter\nx_total 1\n",
        ),
        (
            "type after sample",
            "# TYPE b gauge\nb 1\na 1\n# TYPE a gauge\n",
        ),
        (
            "split family",
            "# TYPE a gauge\n# TYPE b gauge\na{x=\"1\"} 1\nb 1\na{x=\"2\"} 1\n",
        ),
        ("negative counter", "# TYPE x_total counter\nx_total -1\n"),
        ("NaN", "# TYPE x gauge\nx NaN\n"),
        ("counter without _total", "# TYPE x counter\nx 1\n"),
        ("bad escape", "# TYPE x gauge\nx{a=\"\\t\"} 1\n"),
        (
            "duplicate series",
            "# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n",
        ),
        ("no final newline", "# TYPE x gauge\nx 1"),
        (
            "falling buckets",
            "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        ),
        (
            "+Inf not the count",
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
        ),
        (
            "no +Inf",
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
        ),
    ];
    for (what, text) in bad {
        let parsed = std::panic::catch_unwind(|| Exposition::parse(text));
        assert!(parsed.is_err(), "accepted {what}: {text:?}");
    }
    let good = "# HELP h A \\\\ help.\n# TYPE h histogram\nh_bucket{a=\"\\\"\\\\\\n\",le=\"1\"} 1\n\
                h_bucket{a=\"\\\"\\\\\\n\",le=\"+Inf\"} 1\nh_sum{a=\"\\\"\\\\\\n\"} 0.5\n\
                h_count{a=\"\\\"\\\\\\n\"} 1\n";
    let parsed = Exposition::parse(good);
    assert_eq!(parsed.value("h_count", &[("a", "\"\\\n")]), 1.0);
}

// ---- A parser of the text format 0.0.4 that panics on anything the format or its conventions
// ---- forbid.

type Labels = Vec<(String, String)>;

#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: Labels,
    value: f64,
}

impl Sample {
    fn label(&self, name: &str) -> &str {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

#[derive(Debug)]
struct Exposition {
    samples: Vec<Sample>,
    types: HashMap<String, String>,
}

impl Exposition {
    fn parse(text: &str) -> Exposition {
        assert!(text.ends_with('\n'), "the last line does not end with \\n");
        let mut exposition = Exposition {
            samples: Vec::new(),
            types: HashMap::new(),
        };
        let mut helps = HashSet::new();
        let mut finished_families = HashSet::new();
        let mut current_family: Option<String> = None;
        let mut series = HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap_or_default();
                assert!(helps.insert(name.to_owned()), "two HELP lines for {name}");
                assert!(
                    !finished_families.contains(name) && current_family.as_deref() != Some(name),
                    "HELP of {name} after its samples"
                );
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                    "unknown type in {line:?}"
                );
                assert!(
                    exposition
                        .types
                        .insert(name.to_owned(), kind.to_owned())
                        .is_none(),
                    "two TYPE lines for {name}"
                );
                if kind == "counter" {
                    assert!(name.ends_with("_total"), "counter {name} without _total");
                }
            } else if line.starts_with('#') || line.is_empty() {
                continue;
            } else {
                let sample = parse_sample(line);
                let family = exposition.family_of(&sample.name);
                let kind = exposition
                    .types
                    .get(&family)
                    .unwrap_or_else(|| panic!("sample before the TYPE of its family: {line:?}"))
                    .clone();
                if current_family.as_deref() != Some(family.as_str()) {
                    assert!(
                        !finished_families.contains(&family),
                        "samples of {family} are not together: {line:?}"
                    );
                    if let Some(previous) = current_family.take() {
                        finished_families.insert(previous);
                    }
                    current_family = Some(family.clone());
                }
                assert!(!sample.value.is_nan(), "NaN: {line:?}");
                if kind != "gauge" && kind != "untyped" {
                    assert!(
                        sample.value >= 0.0 && sample.value.is_finite(),
                        "a {kind} sample that is negative or infinite: {line:?}"
                    );
                }
                let mut key = sample.labels.clone();
                key.sort();
                assert!(
                    series.insert((sample.name.clone(), key)),
                    "duplicate series: {line:?}"
                );
                exposition.samples.push(sample);
            }
        }
        exposition.check_histograms();
        exposition
    }

    /// The family a sample belongs to: its own name, or the histogram or summary it is part of.
    fn family_of(&self, name: &str) -> String {
        if self.types.contains_key(name) {
            return name.to_owned();
        }
        for (suffix, kinds) in [
            ("_bucket", &["histogram"][..]),
            ("_sum", &["histogram", "summary"][..]),
            ("_count", &["histogram", "summary"][..]),
        ] {
            if let Some(base) = name.strip_suffix(suffix)
                && self
                    .types
                    .get(base)
                    .is_some_and(|kind| kinds.contains(&kind.as_str()))
            {
                return base.to_owned();
            }
        }
        name.to_owned()
    }

    /// Buckets rising in `le` and cumulative, ending in `+Inf` equal to `_count`, with a `_sum`.
    fn check_histograms(&self) {
        for (family, _) in self.types.iter().filter(|(_, kind)| *kind == "histogram") {
            let bucket_name = format!("{family}_bucket");
            let mut groups: Vec<(Labels, Vec<(f64, f64)>)> = Vec::new();
            for sample in self.samples.iter().filter(|s| s.name == bucket_name) {
                let le = sample.label("le");
                let bound: f64 = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse()
                        .unwrap_or_else(|_| panic!("bad le {le:?} in {family}"))
                };
                let mut rest: Vec<_> = sample
                    .labels
                    .iter()
                    .filter(|(k, _)| k != "le")
                    .cloned()
                    .collect();
                rest.sort();
                match groups.iter_mut().find(|(labels, _)| *labels == rest) {
                    Some((_, buckets)) => buckets.push((bound, sample.value)),
                    None => groups.push((rest, vec![(bound, sample.value)])),
                }
            }
            for (labels, buckets) in &groups {
                for pair in buckets.windows(2) {
                    assert!(pair[0].0 < pair[1].0, "{family} {labels:?}: le not rising");
                    assert!(
                        pair[0].1 <= pair[1].1,
                        "{family} {labels:?}: buckets not cumulative"
                    );
                }
                let last = buckets.last().copied().unwrap_or((0.0, 0.0));
                assert_eq!(last.0, f64::INFINITY, "{family} {labels:?}: no +Inf bucket");
                let with = |suffix: &str| {
                    let name = format!("{family}{suffix}");
                    let found: Vec<_> = self
                        .samples
                        .iter()
                        .filter(|s| {
                            s.name == name && {
                                let mut l = s.labels.clone();
                                l.sort();
                                l == *labels
                            }
                        })
                        .collect();
                    assert_eq!(found.len(), 1, "{name} {labels:?}");
                    found[0].value
                };
                assert_eq!(
                    last.1,
                    with("_count"),
                    "{family} {labels:?}: +Inf != _count"
                );
                assert!(with("_sum") >= 0.0);
            }
        }
    }

    /// The samples of `name` that carry all of `labels` (and maybe others).
    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v))
            })
            .collect()
    }

    /// The value of the one sample of `name` that carries all of `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found = self.find(name, labels);
        assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
        found[0].value
    }
}

fn parse_sample(line: &str) -> Sample {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    assert!(
        !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()),
        "bad metric name in {line:?}"
    );
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = after;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let eq = rest
                .find("=\"")
                .unwrap_or_else(|| panic!("bad label in {line:?}"));
            let label = &rest[..eq];
            assert!(
                !label.is_empty()
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !label.starts_with("__"),
                "bad label name {label:?} in {line:?}"
            );
            let mut value = String::new();
            let mut chars = rest[eq + 2..].char_indices();
            let consumed = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        Some((_, 'n')) => value.push('\n'),
                        other => panic!("invalid escape {other:?} in {line:?}"),
                    },
                    Some((i, '"')) => break i + 1,
                    Some((_, c)) => value.push(c),
                    None => panic!("unterminated label value in {line:?}"),
                }
            };
            assert!(
                !labels.iter().any(|(k, _): &(String, String)| k == label),
                "label {label} twice in {line:?}"
            );
            labels.push((label.to_owned(), value));
            rest = &rest[eq + 2 + consumed..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }
    let value = rest
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("no space before the value in {line:?}"));
    assert!(
        !value.contains(' '),
        "timestamps are not expected: {line:?}"
    );
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}")),
    };
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}
