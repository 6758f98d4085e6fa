//! `/api/events` over real HTTP on 127.0.0.1: the events of real instrumented calls — failed,
//! slow outliers, sampled — filtered, ordered, limited and redacted; bad parameters; the token.
//!
//! Events, sampling and outlier thresholds are process-wide: one test makes every call (and
//! counts only its own sites), the others make none. The collector the router starts is stopped,
//! so that only that test's `tick_at` sets the outlier thresholds, when it means to.

use axum::Router;
use http::StatusCode as HttpStatus;
use monitor_dashboard::DashboardConfig;
use reqwest::StatusCode;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const TOKEN: &str = "events-test-token-0123";
const SECRET: &str = "sk-abcdefghijklmnopqrstuvwxyz123456";

#[monitor_core::monitored_handler(route = "POST /events-test/checkout")]
fn events_checkout(attempt: u32, fail: bool) -> Result<u32, String> {
    if fail {
        Err(format!(
            "card rejected for key {SECRET} (attempt {attempt})"
        ))
    } else {
        Ok(attempt)
    }
}

#[monitor_core::monitored_handler(route = "GET /events-test/status")]
fn events_status(code: u16) -> Result<&'static str, HttpStatus> {
    match HttpStatus::from_u16(code) {
        Ok(HttpStatus::OK) => Ok("ok"),
        Ok(status) => Err(status),
        Err(_) => Err(HttpStatus::INTERNAL_SERVER_ERROR),
    }
}

#[monitor_core::pipeline_stage(pipeline = "events_test_pipe", stage = "render")]
fn events_render(pause: Duration) -> u64 {
    if !pause.is_zero() {
        std::thread::sleep(pause);
    }
    7
}

/// One dashboard for the whole binary, on a thread of its own: every test's runtime can reach it.
/// No collector runs: the tests tick by hand.
fn dashboard() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let config = DashboardConfig::new().token(TOKEN).unwrap();
                let app = Router::new().nest_service("/admin", monitor_dashboard::router(config));
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                sender.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        receiver.recv().unwrap()
    })
}

async fn get_json(path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let addr = dashboard();
    let mut request = reqwest::Client::new().get(format!("http://{addr}/admin/api/events{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    let json = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{path} answered {status} with non-JSON {body:?}: {e}"));
    (status, json)
}

/// The answer to `/api/events<path>`, which must be a 200.
async fn events(path: &str) -> Value {
    let (status, body) = get_json(path, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// How many events passed the filters, and the ones listed.
async fn matched(path: &str) -> (u64, Vec<Value>) {
    let body = events(path).await;
    let listed = body["events"].as_array().unwrap().clone();
    (body["matched"].as_u64().unwrap(), listed)
}

fn field(events: &[Value], name: &str) -> Vec<Value> {
    events.iter().map(|e| e[name].clone()).collect()
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test]
async fn events_of_real_calls_are_filtered_sorted_limited_and_redacted() {
    dashboard();
    monitor_core::events::set_outlier_factor(2.0);
    let started = unix_now();

    // Sampling off: only failures are kept, and no site has an outlier threshold yet.
    for attempt in 1..=3 {
        assert!(events_checkout(attempt, true).is_err());
    }
    for attempt in 4..=5 {
        assert!(events_checkout(attempt, false).is_ok());
    }
    for code in [500, 404, 404, 200, 200] {
        let _ = events_status(code);
    }
    // More than the 100 calls a site needs for a p99; none is kept (no threshold until a tick).
    for _ in 0..150 {
        events_render(Duration::ZERO);
    }
    monitor_core::history::tick_at(SystemTime::now());
    // Far beyond twice the p99 of calls that do nothing.
    events_render(Duration::from_millis(40));

    // Into the next whole second, so that `from` and `to` have a boundary to tell apart.
    let boundary = unix_now().floor() + 1.0;
    std::thread::sleep(Duration::from_secs_f64(boundary - unix_now() + 0.005));
    let boundary = boundary as u64;

    // Sampling every call: the successes and client errors too; a failure stays a failure.
    monitor_core::events::set_sampling(1.0);
    for code in [200, 200, 200, 503, 404, 404] {
        let _ = events_status(code);
    }
    monitor_core::events::set_sampling(0.0);
    for code in [200, 404, 200] {
        let _ = events_status(code);
    }

    // One site: newest first, every field.
    let body = events("?site=events_status").await;
    assert_eq!(body["matched"], 7, "{body}");
    assert_eq!(body["capacity"], monitor_core::events::EVENT_CAPACITY);
    assert_eq!(body["evicted"], 0);
    let all = body["events"].as_array().unwrap().clone();
    assert_eq!(
        field(&all, "status"),
        [404, 404, 503, 200, 200, 200, 500].map(|s| if s == 200 { Value::Null } else { s.into() }),
        "{body}"
    );
    assert_eq!(
        field(&all, "reason"),
        [
            "sampled", "sampled", "failed", "sampled", "sampled", "sampled", "failed"
        ]
        .map(Value::from)
    );
    assert_eq!(
        field(&all, "outcome"),
        [
            "client_error",
            "client_error",
            "error",
            "ok",
            "ok",
            "ok",
            "error"
        ]
        .map(Value::from)
    );
    let times: Vec<f64> = all.iter().map(|e| e["at"].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert!(
        times
            .iter()
            .all(|&t| t >= started.floor() && t <= unix_now() + 1.0),
        "{times:?} from {started}"
    );
    let ok = &all[3];
    assert_eq!(ok["response_bytes"], 2, "{ok}");
    assert_eq!(ok["request_bytes"], 0, "{ok}");
    assert_eq!(ok["error_type"], Value::Null, "{ok}");
    assert!(ok["duration_secs"].as_f64().unwrap() < 1.0, "{ok}");
    let site = &ok["site"];
    assert_eq!(site["name"], "events_status");
    assert_eq!(site["kind"], "handler");
    assert_eq!(site["route"], "GET /events-test/status");
    assert!(site["id"].as_str().unwrap().contains("events_status"));

    // Reasons, alone and as a list.
    for (query, count) in [
        ("reason=sampled", 5),
        ("reason=failed", 2),
        ("reason=failed,sampled", 7),
        ("reason=outlier", 0),
        ("outcome=ok", 3),
        ("outcome=client_error", 2),
        ("outcome=error", 2),
        ("outcome=error&reason=sampled", 0),
        ("outcome=client_error&reason=sampled", 2),
        ("kind=handler", 7),
        ("kind=stage", 0),
        ("range=1d", 7),
        ("range=15m", 7),
        ("from=0", 7),
    ] {
        let path = format!("?site=events_status&{query}");
        let (n, listed) = matched(&path).await;
        assert_eq!(n, count, "{path}");
        assert_eq!(listed.len() as u64, count, "{path}");
    }

    // The limit cuts the newest, `matched` still counts them all.
    let (n, listed) = matched("?site=events_status&limit=2").await;
    assert_eq!(n, 7);
    assert_eq!(listed, all[..2]);
    let (n, listed) = matched("?site=events_status&limit=1000").await;
    assert_eq!((n, listed.len()), (7, 7));

    // The site by its id, which is unique where a name need not be.
    let id = site["id"].as_str().unwrap();
    let path = format!("?site={}", urlencode(id));
    assert_eq!(matched(&path).await.0, 7, "{path}");

    // Time, in whole Unix seconds: `from` included, `to` excluded. Phase one's 500 came before
    // the boundary, the six calls since after it.
    for (query, count) in [
        (format!("from={boundary}"), 6),
        (format!("from={}", started as u64), 7),
        (format!("to={boundary}"), 1),
        (format!("from=0&to={boundary}"), 1),
        (format!("from={boundary}&to={}", boundary + 3600), 6),
        (format!("from={boundary}&to={boundary}"), 0),
        (format!("from={}", boundary + 3600), 0),
    ] {
        let path = format!("?site=events_status&{query}");
        assert_eq!(matched(&path).await.0, count, "{path}");
    }
    assert_eq!(all[6]["status"], 500);
    assert!(all[6]["at"].as_f64().unwrap() < boundary as f64);
    assert!(all[5]["at"].as_f64().unwrap() >= boundary as f64);

    // Failed calls carry their error, redacted before it was stored.
    let body = events("?site=events_checkout").await;
    assert!(!body.to_string().contains(SECRET), "{body}");
    assert!(!body.to_string().contains("abcdefghijklmnop"), "{body}");
    let failed = body["events"].as_array().unwrap();
    assert_eq!(body["matched"], 3);
    assert_eq!(
        field(failed, "error_message"),
        [3, 2, 1].map(|n| Value::from(format!("card rejected for key <redacted> (attempt {n})")))
    );
    for event in failed {
        assert_eq!(event["reason"], "failed", "{event}");
        assert_eq!(event["outcome"], "error", "{event}");
        assert_eq!(event["status"], Value::Null, "{event}");
        assert!(
            !event["error_type"].as_str().unwrap_or_default().is_empty(),
            "{event}"
        );
    }

    // The slow call is the stage's one outlier.
    let (n, listed) = matched("?site=events_render").await;
    assert_eq!(n, 1, "{listed:?}");
    let slow = &listed[0];
    assert_eq!(slow["reason"], "outlier");
    assert_eq!(slow["outcome"], "ok");
    assert!(slow["duration_secs"].as_f64().unwrap() >= 0.040, "{slow}");
    assert_eq!(slow["error_message"], Value::Null);
    assert_eq!(slow["site"]["kind"], "stage");
    assert_eq!(slow["site"]["pipeline"], "events_test_pipe");
    assert_eq!(slow["site"]["stage"], "render");
    for (path, count) in [
        ("?pipeline=events_test_pipe", 1),
        ("?pipeline=events_test_pipe&kind=stage&reason=outlier", 1),
        ("?pipeline=events_test_pipe&reason=failed,sampled", 0),
        ("?site=events_render&kind=handler", 0),
        ("?site=events_checkout&kind=handler&outcome=error", 3),
        ("?site=events_checkout&outcome=ok", 0),
    ] {
        assert_eq!(matched(path).await.0, count, "{path}");
    }

    // Unfiltered: at least this test's 11, newest first, at most the default limit listed.
    let body = events("").await;
    let n = body["matched"].as_u64().unwrap();
    let listed = body["events"].as_array().unwrap();
    assert!(n >= 11, "{body}");
    assert_eq!(listed.len() as u64, n.min(100));
    assert_eq!(listed[0], all[0], "the newest call of all is the last 404");
}

/// Percent-encodes everything but unreserved characters: a site id holds `:` and `@`.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn every_bad_parameter_is_a_400_naming_it() {
    let cases = [
        ("?site=no_such_site", "site"),
        ("?site=", "site"),
        ("?kind=widget", "kind"),
        ("?pipeline=no_such_pipeline", "pipeline"),
        ("?outcome=fine", "outcome"),
        ("?reason=failed,late", "reason"),
        ("?reason=failed,", "reason"),
        ("?reason=", "reason"),
        ("?from=yesterday", "from"),
        ("?from=1.5", "from"),
        ("?to=-5", "to"),
        ("?from=200&to=100", "from"),
        ("?range=forever", "range"),
        ("?range=0s", "range"),
        ("?range=99999999999999999999d", "range"),
        ("?range=%FF%FE", "range"),
        ("?range=15m&from=1", "range"),
        ("?range=15m&to=1", "range"),
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?limit=ten", "limit"),
        ("?limit=-1", "limit"),
        ("?limit=18446744073709551616", "limit"),
        ("?limit=", "limit"),
        ("?colour=red", "colour"),
        ("?site=events_status&site=events_checkout", "site"),
        ("?limit=5&limit=5", "limit"),
        ("?kind=handler&outcome=ok&reason=failed&Kind=stage", "Kind"),
    ];
    for (path, parameter) in cases {
        let (status, body) = get_json(path, Some(TOKEN)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"], "bad_parameter", "{path}");
        assert_eq!(body["parameter"], parameter, "{path}: {body}");
        assert!(!body["message"].as_str().unwrap().is_empty(), "{path}");
    }
    // The edges that are not errors.
    for path in [
        "?limit=1",
        "?limit=1000",
        "?from=18446744073709551615",
        "?from=0&to=18446744073709551615",
        "?range=18446744073709551615s",
        "?reason=%20failed%20,sampled",
        "?kind=stage&pipeline=events_test_pipe&site=events_render&outcome=ok&reason=outlier&from=0&to=1&limit=3",
    ] {
        let body = events(path).await;
        assert!(body["events"].is_array(), "{path}: {body}");
    }
    let (n, _) = matched("?from=18446744073709551615").await;
    assert_eq!(n, 0);
}

#[tokio::test]
async fn events_need_the_token() {
    for token in [None, Some("not-the-token-at-all")] {
        let (status, body) = get_json("", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(body["error"], "unauthorized");
        assert!(!body.to_string().contains(TOKEN));
    }
    // Refused before the parameters are read.
    let (status, _) = get_json("?limit=0", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
