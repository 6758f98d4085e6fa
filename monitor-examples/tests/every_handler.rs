//! The check a team puts in its own test suite: every route of the service is served by a
//! `#[monitored_handler]`. Once from the site listing (called or not), once from the traffic: a
//! request no instrumented handler served would land on a route's site.

use logo_service::ROUTES;
use monitor_core::SiteKind;
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

#[tokio::test]
async fn no_request_to_the_service_goes_unmonitored() {
    let (addr, _server) = logo_service::start(
        "127.0.0.1:0".parse().unwrap(),
        DashboardConfig::new().token("every-handler-token").unwrap(),
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let created: serde_json::Value = client
        .post(format!("http://{addr}/api/logos"))
        .body(r#"{"prompt": "a lighthouse café called Beacon"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_u64().expect("a logo was created");
    for (method, path) in ROUTES.iter().filter(|(m, _)| *m == "GET") {
        let url = format!("http://{addr}{}", path.replace("{id}", &id.to_string()));
        let response = client.get(url).send().await.unwrap();
        assert!(response.status().is_success(), "{method} {path}");
        response.bytes().await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let unmonitored: Vec<_> = monitor_core::sites()
        .filter(|s| s.is_route() && s.stats().calls > 0)
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
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("MONITOR_DASHBOARD_TOKEN"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
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
