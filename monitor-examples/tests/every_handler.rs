//! The check a team puts in its own test suite: every route of the service is served by a
//! `#[monitored_handler]`. Once from the site listing (called or not), once from the traffic: a
//! request no instrumented handler served would land on a route's site.

use logo_service::ROUTES;
use monitor_core::site::SiteKind;
use monitor_dashboard::DashboardConfig;

#[test]
fn every_route_has_a_monitored_handler() {
    let handled: Vec<&str> = monitor_core::sites()
        .filter(|s| s.kind() == SiteKind::Handler && !s.is_route())
        .filter_map(|s| s.route())
        .collect();
    for (method, path) in ROUTES {
        let route = format!("{method} {path}");
        assert!(
            handled.contains(&route.as_str()),
            "{route} has no #[monitored_handler]; instrumented routes: {handled:?}"
        );
    }
}

/// The service on a free loopback port, and the task serving it.
async fn start() -> (
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    logo_service::start(
        "127.0.0.1:0".parse().unwrap(),
        DashboardConfig::new().token("every-handler-token").unwrap(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn no_request_to_the_service_goes_unmonitored() {
    let (addr, _server) = start().await;
    let client = reqwest::Client::new();
    let created: serde_json::Value = client
        .post(format!("http://{addr}/api/logos"))
        .header("content-type", "application/json")
        .body(r#"{"prompt": "a lighthouse café called Beacon"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().expect("a logo was created");
    for (method, path) in ROUTES.iter().filter(|(m, _)| *m == "GET") {
        let url = format!("http://{addr}{}", path.replace("{id}", id));
        let response = client.get(url).send().await.unwrap();
        assert!(response.status().is_success(), "{method} {path}");
        // JSON and SVG alike: never sniffed into something else, never cached by the way.
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
        response.bytes().await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let unmonitored: Vec<_> = monitor_core::sites()
        .filter(|s| s.is_route() && s.stats().calls() > 0)
        .filter_map(|s| s.route())
        .collect();
    assert!(
        unmonitored.is_empty(),
        "served without a monitored handler: {unmonitored:?}"
    );
}

#[test]
fn the_binary_lists_its_sites() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_logo-service"))
        .arg("--list-sites")
        .output()
        .unwrap();
    assert!(output.status.success());
    let listing = String::from_utf8(output.stdout).unwrap();
    for (method, path) in ROUTES {
        assert!(
            listing
                .lines()
                .any(|l| l.starts_with("handler") && l.contains(&format!("{method} {path}"))),
            "{method} {path} missing from\n{listing}"
        );
    }
    for stage in ["analyse", "concepts", "render", "optimise", "cache"] {
        assert!(listing.contains(&format!("logo / {stage}")), "{listing}");
    }
    // The stages of the pipeline's `impl` are listed with their type.
    for stage in ["analyse", "concepts", "render", "optimise"] {
        let line = listing
            .lines()
            .find(|l| l.contains(&format!("logo / {stage}")))
            .unwrap();
        assert!(line.contains(&format!("LogoPipeline::{stage} ")), "{line}");
    }
    assert!(
        listing.lines().any(|l| l.starts_with("tokens")),
        "{listing}"
    );
    assert!(
        listing.contains("src/handlers.rs:"),
        "file and line: {listing}"
    );
}

#[test]
fn the_binary_runs_a_load_prints_the_summary_and_exits_with_no_serve() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_logo-service"))
        .args([
            "--requests",
            "12",
            "--concurrency",
            "3",
            "--addr",
            "127.0.0.1:0",
            "--no-serve",
        ])
        .env_remove("MONITOR_DASHBOARD_TOKEN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("load: 12 logo requests"), "{stdout}");
    assert!(stdout.contains("/admin/  token: "), "{stdout}");
    let create = stdout
        .lines()
        .find(|l| l.contains("create_logo"))
        .unwrap_or_else(|| panic!("{stdout}"));
    // kind, site, method, path, calls, …
    assert_eq!(create.split_whitespace().nth(4), Some("12"), "{create}");
}

/// The hardening issue's points 9 and 10 for the demo: ids no one can count to, JSON bodies only.
#[tokio::test]
async fn logo_ids_cannot_be_guessed_and_only_json_is_taken() {
    let (addr, _server) = start().await;
    let client = reqwest::Client::new();
    let post = |content_type: &'static str| {
        client
            .post(format!("http://{addr}/api/logos"))
            .header("content-type", content_type)
            .body(r#"{"prompt": "a tea room called Steep"}"#)
            .send()
    };
    // A plain cross-site form posts `text/plain`: refused, in JSON.
    let refused = post("text/plain").await.unwrap();
    assert_eq!(refused.status(), 415);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_media_type");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let created: serde_json::Value = post("application/json; charset=utf-8")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["id"].as_str().expect("a logo").to_owned();
        assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1]);
    // The old sequential ids find nothing; a malformed one is a 400, not a lookup.
    for (path, status) in [("/api/logos/1", 400), ("/api/logos/2/svg", 400)] {
        let r = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{path}");
    }
    let found = client
        .get(format!("http://{addr}/api/logos/{}", ids[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(found.status(), 200);
}

/// The service's own routes answer errors in the dashboard's JSON shape, a body declared too large
/// before any is read, and a path no route has.
#[tokio::test]
async fn the_service_bounds_bodies_and_answers_errors_in_json() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (addr, _server) = start().await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /api/logos HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 10000000\r\n\r\n")
        .await
        .unwrap();
    let mut answer = vec![0; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered before any body was sent")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"status\":413"), "{answer}");
    let client = reqwest::Client::new();
    for (method, path, status) in [("GET", "/nowhere", 404), ("DELETE", "/api/logos", 405)] {
        let r = client
            .request(method.parse().unwrap(), format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{method} {path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], status, "{method} {path}");
    }
}

#[test]
fn bad_flags_are_refused_with_a_message() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_logo-service"))
        .args(["--concurrency", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--concurrency"));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_logo-service"))
        .args(["--addr", "0.0.0.0:0", "--requests", "0", "--token", "short"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("--token must be at least 8 characters")
            && !said.contains("MONITOR_DASHBOARD_TOKEN"),
        "{said}"
    );
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_logo-service"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--requests",
        "--concurrency",
        "--addr",
        "--no-serve",
        "--list-sites",
        "--token",
    ] {
        assert!(help.contains(flag), "{help}");
    }
}
