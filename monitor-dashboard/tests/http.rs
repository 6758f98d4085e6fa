//! The dashboard's routes over real HTTP on 127.0.0.1: auth, every route, bad input, the stream.

use axum::Router;
use monitor_dashboard::{DashboardConfig, DashboardError};
use reqwest::StatusCode;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const TOKEN: &str = "http-test-token-0123";

#[monitor_core::monitored_handler(route = "GET /http-test")]
fn http_test_handler(fail: bool) -> Result<u32, String> {
    if fail {
        Err("upstream said no to user 4711".to_owned())
    } else {
        Ok(1)
    }
}

#[monitor_core::pipeline_stage(pipeline = "http_test_pipe", stage = "only")]
fn http_test_stage() -> u32 {
    7
}

async fn start(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn start_dashboard() -> SocketAddr {
    let config = DashboardConfig::new().token(TOKEN).unwrap();
    start(Router::new().nest_service("/admin", monitor_dashboard::router(config))).await
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut request = client().get(format!("http://{addr}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

async fn get_json(addr: SocketAddr, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let (status, body) = get(addr, path, token).await;
    let json = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{path} answered {status} with non-JSON {body:?}: {e}"));
    (status, json)
}

const API_ROUTES: [&str; 8] = [
    "/admin/api/sites",
    "/admin/api/query",
    "/admin/api/errors",
    "/admin/api/memory",
    "/admin/api/estimates",
    "/admin/api/models",
    "/admin/api/insights",
    "/admin/api/events",
];

#[tokio::test]
async fn every_api_route_needs_the_token_and_answers_json_with_it() {
    let addr = start_dashboard().await;
    for route in API_ROUTES.iter().chain(&["/admin/api/stream"]) {
        let (status, body) = get_json(addr, route, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{route} without a token");
        assert_eq!(body["error"], "unauthorized", "{route}");
        let (status, body) = get_json(addr, route, Some("not-the-token-at-all")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{route} with a bad token");
        assert!(!body.to_string().contains(TOKEN));
    }
    for route in API_ROUTES {
        let (status, body) = get_json(addr, route, Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{route}: {body}");
        assert!(body.is_object(), "{route}");
        assert!(
            !body.to_string().contains(TOKEN),
            "{route} repeats the token"
        );
    }
    // The page is public: it holds no data and asks for the token.
    let (status, page) = get(addr, "/admin/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<html") || page.contains("<!doctype"),
        "{page}"
    );
    assert!(!page.contains(TOKEN));
    // /metrics is open by default.
    let (status, _) = get(addr, "/admin/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn sites_and_query_report_the_calls_made() {
    let addr = start_dashboard().await;
    for i in 0..9 {
        let _ = http_test_handler(i % 3 == 0);
    }
    let (status, body) = get_json(addr, "/admin/api/sites?kind=handler", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    let sites = body["sites"].as_array().unwrap();
    assert!(sites.iter().all(|s| s["kind"] == "handler"));
    let site = sites
        .iter()
        .find(|s| s["name"] == "http_test_handler")
        .expect("the handler is listed");
    assert_eq!(site["route"], "GET /http-test");
    assert_eq!(site["stats"]["calls"], 9);
    assert_eq!(site["stats"]["errors"], 3);
    // Uncalled sites are listed too.
    let (_, body) = get_json(addr, "/admin/api/sites?kind=stage", Some(TOKEN)).await;
    assert!(
        body["sites"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["stage"] == "only" && s["pipeline"] == "http_test_pipe")
    );

    // The history has the calls once a tick has filed them.
    monitor_core::history::tick_at(std::time::SystemTime::now());
    let (status, body) = get_json(
        addr,
        "/admin/api/query?range=15m&site=http_test_handler&group_by=site",
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let groups = body["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{body}");
    assert_eq!(groups[0]["key"]["site"], "http_test_handler");
    assert_eq!(groups[0]["calls"], 9);
    assert_eq!(groups[0]["errors"], 3);

    // Error patterns: normalised and never the raw number.
    let (_, body) = get_json(addr, "/admin/api/errors", Some(TOKEN)).await;
    let pattern = body["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["site"]["name"] == "http_test_handler")
        .expect("the handler's errors are grouped");
    assert_eq!(pattern["count"], 3);
    assert!(!pattern["pattern"].as_str().unwrap().contains("4711"));
}

#[tokio::test]
async fn bad_parameters_are_a_400_naming_the_parameter() {
    let addr = start_dashboard().await;
    let cases = [
        ("/admin/api/query?colour=red", "colour"),
        ("/admin/api/query?range=forever", "range"),
        ("/admin/api/query?range=1h&resolution=1s", "resolution"),
        ("/admin/api/query?from=200&to=100", "from"),
        ("/admin/api/query?from=100", "to"),
        ("/admin/api/query?group_by=site,flavour", "flavour"),
        ("/admin/api/query?range=%FF%FE", "range"),
        ("/admin/api/sites?kind=widget", "kind"),
        ("/admin/api/sites?knd=handler", "knd"),
        ("/admin/api/errors?limit=5", "limit"),
        ("/admin/api/estimates?pipeline=no_such_pipeline", "pipeline"),
        ("/admin/api/estimates?finished=a", "finished"),
        ("/admin/api/stream?since=1", "since"),
    ];
    for (path, parameter) in cases {
        let (status, body) = get_json(addr, path, Some(TOKEN)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"], "bad_parameter", "{path}");
        assert_eq!(body["parameter"], parameter, "{path}: {body}");
        assert!(!body["message"].as_str().unwrap().is_empty(), "{path}");
    }
    let (status, body) = get_json(addr, "/admin/api/nothing-here", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn odd_input_never_breaks_the_server() {
    let addr = start_dashboard().await;
    let odd = [
        "/admin/api/query?range=",
        "/admin/api/query?range=0s",
        "/admin/api/query?range=99999999999999999999d",
        "/admin/api/query?resolution=18446744073709551615s",
        "/admin/api/query?from=18446744073709551615&to=18446744073709551615",
        "/admin/api/query?group_by=",
        "/admin/api/query?site=%00%22%5C%0A",
        "/admin/api/query?&&&=&",
        "/admin/api/estimates?pipeline=",
    ];
    for path in odd {
        let (status, body) = get_json(addr, path, Some(TOKEN)).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{path}: {status} {body}"
        );
    }
    // Headers that are not a bearer token at all.
    for header in [
        "Basic Zm9vOmJhcg==",
        "Bearer",
        "Bearer ",
        "bearer x",
        "\u{7f}",
    ] {
        let response = client()
            .get(format!("http://{addr}/admin/api/sites"))
            .header("authorization", header)
            .send()
            .await;
        if let Ok(response) = response {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header:?}");
        }
    }
    // Still serving.
    let (status, _) = get_json(addr, "/admin/api/sites", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn protected_metrics_need_the_token() {
    let config = DashboardConfig::new()
        .token(TOKEN)
        .unwrap()
        .protect_metrics(true);
    let addr = start(monitor_dashboard::router(config)).await;
    let (status, body) = get_json(addr, "/metrics", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "unauthorized");
    let (status, body) = get(addr, "/metrics", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains(TOKEN));
}

#[tokio::test]
async fn without_a_token_the_api_is_open_and_serve_stays_on_loopback() {
    let addr = start(monitor_dashboard::router(DashboardConfig::new())).await;
    let (status, _) = get_json(addr, "/api/sites", None).await;
    assert_eq!(status, StatusCode::OK);

    let open: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let refused = monitor_dashboard::serve(open, DashboardConfig::new()).await;
    assert!(
        matches!(refused, Err(DashboardError::OpenToNetwork { .. })),
        "{refused:?}"
    );
    assert!(
        monitor_dashboard::check_exposure(open, &DashboardConfig::new().token(TOKEN).unwrap())
            .is_ok()
    );
    assert!(
        monitor_dashboard::check_exposure("127.0.0.1:9".parse().unwrap(), &DashboardConfig::new())
            .is_ok()
    );
    assert!(
        monitor_dashboard::check_exposure("[::1]:9".parse().unwrap(), &DashboardConfig::new())
            .is_ok()
    );
}

#[test]
fn configuration_errors_name_the_key_and_never_repeat_a_token() {
    let err = DashboardConfig::from_vars([("MONITOR_DASHBOARD_TOKEN", "short")]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("MONITOR_DASHBOARD_TOKEN"), "{text}");
    assert!(!text.contains("short"), "{text}");
    let err = DashboardConfig::from_vars([("MONITOR_DASHBOARD_PROTECT_METRICS", "sometimes")])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("MONITOR_DASHBOARD_PROTECT_METRICS")
    );
    assert!(err.to_string().contains("sometimes"));
    let config = DashboardConfig::from_vars([
        ("MONITOR_DASHBOARD_TOKEN", "a-long-enough-token"),
        ("MONITOR_DASHBOARD_PROTECT_METRICS", "true"),
        ("UNRELATED", "x"),
    ])
    .unwrap();
    assert!(config.has_token());
    assert!(!format!("{config:?}").contains("a-long-enough-token"));
}

/// Reads Server-Sent Events from `/api/stream` until `count` ticks arrived or the deadline passed.
async fn read_ticks(addr: SocketAddr, count: usize) -> Vec<Value> {
    let mut response = client()
        .get(format!("http://{addr}/admin/api/stream"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buffer = String::new();
    let mut ticks = Vec::new();
    while ticks.len() < count && Instant::now() < deadline {
        let chunk = tokio::time::timeout(Duration::from_secs(5), response.chunk()).await;
        let Ok(Ok(Some(chunk))) = chunk else { continue };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let message: String = buffer.drain(..end + 2).collect();
            if message.lines().any(|l| l == "event: tick") {
                let data: String = message
                    .lines()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .collect();
                ticks.push(serde_json::from_str(&data).unwrap());
            }
        }
    }
    ticks
}

#[tokio::test]
async fn the_stream_delivers_a_message_per_tick() {
    let addr = start_dashboard().await;
    let reader = tokio::spawn(read_ticks(addr, 2));
    // The collector the router started ticks every second; drive ticks too, so the test does not
    // wait on it, and make a call for them to carry.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !reader.is_finished() && Instant::now() < deadline {
        http_test_stage();
        monitor_core::history::tick_at(std::time::SystemTime::now());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ticks = reader.await.unwrap();
    assert_eq!(ticks.len(), 2, "two ticks within 20 s");
    for tick in &ticks {
        assert!(tick["sites"].is_array(), "{tick}");
        assert!(tick["period"].is_number(), "{tick}");
        assert!(tick["dropped"].is_number(), "{tick}");
    }
    assert!(
        ticks
            .iter()
            .flat_map(|t| t["sites"].as_array().unwrap())
            .any(|s| s["site"]["stage"] == "only" && s["calls"].as_u64() > Some(0)),
        "the stage's calls arrive in a tick: {ticks:?}"
    );
}

/// Query strings made of the characters that break parsers — `%`, `&`, `=`, `+`, quotes, control
/// characters, non-ASCII — sent to every route: each answer is a 200 or a 400 with a JSON body,
/// and the server keeps serving.
#[tokio::test]
async fn garbage_query_strings_get_an_answer_never_a_crash() {
    const PIECES: [&str; 16] = [
        "%",
        "%2",
        "%FF",
        "&",
        "=",
        "+",
        "range",
        "from",
        "1h",
        "group_by",
        "site",
        ",",
        "%00",
        "é",
        "\"",
        "99999999999999999999",
    ];
    let addr = start_dashboard().await;
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..300 {
        let len = 1 + next() % 8;
        let query: String = (0..len)
            .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
            .collect();
        let route = API_ROUTES[i % API_ROUTES.len()];
        let url = format!("http://{addr}{route}?{}", query.replace(' ', "%20"));
        let Ok(response) = client().get(&url).bearer_auth(TOKEN).send().await else {
            continue; // a URL the client itself refuses to send
        };
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{url}: {status} {body}"
        );
        assert!(
            serde_json::from_str::<Value>(&body).is_ok(),
            "{url}: {body}"
        );
    }
    let (status, _) = get_json(addr, "/admin/api/sites", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
}

/// The hardening issue's points 4, 5, 6 and 10, each as a hostile client tried them.
#[tokio::test]
async fn the_scheme_is_case_insensitive_and_another_scheme_is_named() {
    let addr = start_dashboard().await;
    let url = format!("http://{addr}/admin/api/models");
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let response = client()
            .get(&url)
            .header("Authorization", format!("{scheme} {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
    }
    let response = client()
        .get(&url)
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], 401);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not a `Basic` credential"),
        "{body}"
    );
}

#[tokio::test]
async fn every_error_is_one_json_shape_and_no_path_can_be_probed() {
    let addr = start_dashboard().await;
    // An unknown page path: JSON, with the path as sent, prefix included.
    let (status, body) = get_json(addr, "/admin/nonexistent", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        (body["error"].as_str(), body["status"].as_u64()),
        (Some("not_found"), Some(404))
    );
    assert_eq!(body["message"], "no route /admin/nonexistent");
    // An unknown API path tells nothing without the token, and is a 404 with it.
    let (status, body) = get_json(addr, "/admin/api/secret-route", None).await;
    assert_eq!(
        (status, body["status"].as_u64()),
        (StatusCode::UNAUTHORIZED, Some(401))
    );
    let (status, body) = get_json(addr, "/admin/api/secret-route", Some(TOKEN)).await;
    assert_eq!(
        (status, body["status"].as_u64()),
        (StatusCode::NOT_FOUND, Some(404))
    );
    // A method a route does not take: a JSON 405 that still says what it takes.
    let response = client()
        .post(format!("http://{addr}/admin/api/sites"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET,HEAD");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["error"].as_str(), body["status"].as_u64()),
        (Some("method_not_allowed"), Some(405))
    );
    // A bad parameter has the same shape, with the parameter named.
    let (status, body) = get_json(addr, "/admin/api/sites?kind=garbage", Some(TOKEN)).await;
    assert_eq!(
        (status, body["status"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(400))
    );
    assert_eq!(body["parameter"], "kind");
}

#[tokio::test]
async fn answers_are_not_sniffed_nor_cached() {
    let addr = start_dashboard().await;
    for (path, token) in [
        ("/admin/api/sites", Some(TOKEN)),
        ("/admin/api/sites", None),
        ("/admin/metrics", None),
        ("/admin/nonexistent", None),
    ] {
        let mut request = client().get(format!("http://{addr}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
    }
    // The page keeps its own policy: revalidated, not refetched blind.
    let response = client()
        .get(format!("http://{addr}/admin/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn query_parameters_are_validated_alike_on_every_route() {
    http_test_stage();
    let addr = start_dashboard().await;
    for (path, parameter) in [
        // A kind that no site has is a mistake, not an empty answer.
        ("/admin/api/query?kind=garbage", "kind"),
        // A parameter given twice would silently take one of them.
        ("/admin/api/query?range=5m&range=1h", "range"),
        ("/admin/api/sites?kind=stage&kind=handler", "kind"),
        (
            "/admin/api/estimates?pipeline=http_test_pipe&pipeline=x",
            "pipeline",
        ),
        // A time past the year 9999 is refused, not clamped.
        ("/admin/api/query?from=0&to=99999999999999999", "to"),
        // Stages are the pipeline's, each once.
        (
            "/admin/api/estimates?pipeline=http_test_pipe&finished=x",
            "finished",
        ),
        (
            "/admin/api/estimates?pipeline=http_test_pipe&finished=only,only",
            "finished",
        ),
    ] {
        let (status, body) = get_json(addr, path, Some(TOKEN)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["parameter"], parameter, "{path}: {body}");
    }
    let (status, _) = get_json(
        addr,
        "/admin/api/estimates?pipeline=http_test_pipe&finished=only",
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The 32,000 entries (as long as a URL may be) are refused at the first bad one.
    let long = vec!["x"; 32_000].join(",");
    let started = Instant::now();
    let (status, body) = get_json(
        addr,
        &format!("/admin/api/estimates?pipeline=http_test_pipe&finished={long}"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    eprintln!("32,000 stages refused in {:?}", started.elapsed());
}

#[test]
fn an_empty_token_variable_is_no_token() {
    let config = DashboardConfig::from_vars([("MONITOR_DASHBOARD_TOKEN", "")]).unwrap();
    assert!(!config.has_token());
    let config = DashboardConfig::from_vars([("MONITOR_DASHBOARD_TOKEN", "  ")]).unwrap();
    assert!(!config.has_token());
    assert!(matches!(
        DashboardConfig::from_vars([("MONITOR_DASHBOARD_TOKEN", "short")]),
        Err(DashboardError::InvalidValue { .. })
    ));
}

/// Streams are capped: beyond the cap a JSON 503, and a closed stream gives its place back.
#[tokio::test]
async fn streams_beyond_the_cap_get_a_json_503() {
    let config = DashboardConfig::new().token(TOKEN).unwrap().max_streams(2);
    let addr = start(Router::new().nest_service("/admin", monitor_dashboard::router(config))).await;
    let open = || async {
        client()
            .get(format!("http://{addr}/admin/api/stream"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
    };
    let first = open().await;
    let second = open().await;
    assert_eq!(
        (first.status(), second.status()),
        (StatusCode::OK, StatusCode::OK)
    );
    let third = open().await;
    assert_eq!(third.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(third.headers()["retry-after"], "5");
    let body: Value = third.json().await.unwrap();
    assert_eq!(
        (body["error"].as_str(), body["status"].as_u64()),
        (Some("too_many_streams"), Some(503))
    );
    // The server learns a client left when it next writes to it: at the next tick.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        monitor_core::history::tick_at(std::time::SystemTime::now());
        let again = open().await;
        if again.status() == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(second);
}

#[test]
fn the_stream_cap_is_configured_from_the_environment() {
    let config = DashboardConfig::from_vars([("MONITOR_DASHBOARD_MAX_STREAMS", "7")]).unwrap();
    assert!(format!("{config:?}").contains("max_streams: 7"));
    for bad in ["0", "-1", "many", ""] {
        let err = DashboardConfig::from_vars([("MONITOR_DASHBOARD_MAX_STREAMS", bad)]).unwrap_err();
        assert!(
            err.to_string().contains("MONITOR_DASHBOARD_MAX_STREAMS"),
            "{err}"
        );
    }
}

#[test]
fn the_leak_detector_is_configured_from_the_environment() {
    let config = DashboardConfig::from_vars([
        ("MONITOR_DASHBOARD_LEAK_BYTES_PER_SEC", "131072"),
        ("MONITOR_DASHBOARD_LEAK_WINDOW_SECS", "1800"),
    ])
    .unwrap();
    let debug = format!("{config:?}");
    assert!(
        debug.contains("leak_threshold_bytes_per_sec: Some(131072.0)")
            && debug.contains("leak_window: Some(1800s)"),
        "{debug}"
    );
    for key in [
        "MONITOR_DASHBOARD_LEAK_BYTES_PER_SEC",
        "MONITOR_DASHBOARD_LEAK_WINDOW_SECS",
    ] {
        for bad in ["0", "-1", "fast", ""] {
            let err = DashboardConfig::from_vars([(key, bad)]).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
    }
}

/// The pushing exporters' health, behind the token, their endpoints without credentials.
#[tokio::test]
async fn the_exporters_health_is_served_without_secrets() {
    let addr = start_dashboard().await;
    let entry = monitor_core::exports::ExportEntry::register(
        "remote_write",
        "https://user:secret@mimir.example/api/v1/push?token=t",
    );
    entry.update(|h| {
        h.made = 3;
        h.sent = 2;
        h.queued = 1;
        h.last_error = Some("HTTP 503".to_owned());
    });
    let (status, _) = get_json(addr, "/admin/api/exports", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = get_json(addr, "/admin/api/exports", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ours = body["exports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint"] == "https://mimir.example/api/v1/push")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(
        (
            &ours["exporter"],
            &ours["sent"],
            &ours["queued"],
            &ours["last_error"]
        ),
        (
            &Value::from("remote_write"),
            &Value::from(2),
            &Value::from(1),
            &Value::from("HTTP 503")
        )
    );
    assert!(!body.to_string().contains("secret"), "{body}");
    let (status, body) = get_json(addr, "/admin/api/exports?x=1", Some(TOKEN)).await;
    assert_eq!(
        (status, &body["parameter"]),
        (StatusCode::BAD_REQUEST, &Value::from("x"))
    );
    drop(entry);
}
