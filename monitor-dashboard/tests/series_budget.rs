//! The series budget against a real server on 127.0.0.1: a flood of requests to routes, to paths
//! no route matches, with made-up methods, to the dashboard with a token and without one, makes
//! at most the operator's budget of route sites plus the shared one, and a second flood of other
//! made-up requests adds no series to `/metrics`.

use axum::Router;
use axum::routing::get;
use monitor_dashboard::{DashboardConfig, MonitorLayer, ServerLimits, serve_with_limits};
use std::net::SocketAddr;

const BUDGET: usize = 8;
const ROUTES: usize = 20;
const TOKEN: &str = "series-budget-token-0123456789";

async fn start() -> SocketAddr {
    let mut app = Router::new();
    for i in 0..ROUTES {
        app = app.route(&format!("/budget/{i}/{{id}}"), get(|| async { "ok" }));
    }
    // The dashboard under the layer too, so that its requests are some of the flood.
    let app = app
        .nest_service(
            "/admin",
            monitor_dashboard::router(DashboardConfig::new().token(TOKEN).unwrap()),
        )
        .layer(MonitorLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ServerLimits::default();
    tokio::spawn(async move { serve_with_limits(listener, app, &limits).await });
    addr
}

/// One flood: every route twice, `odd` made-up methods and `odd` unmatched paths, the dashboard
/// with and without the token and with a wrong one. `salt` makes every made-up name new.
async fn flood(client: &reqwest::Client, addr: SocketAddr, salt: &str, odd: usize) {
    for i in 0..ROUTES {
        for id in 0..2 {
            let r = client
                .get(format!("http://{addr}/budget/{i}/{salt}{id}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    }
    for i in 0..odd {
        let method = http::Method::from_bytes(format!("X{salt}{i}").as_bytes()).unwrap();
        let r = client
            .request(method, format!("http://{addr}/budget/{}/1", i % ROUTES))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{}", r.status());
        let r = client
            .get(format!("http://{addr}/{salt}/nowhere/{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    for (i, token) in [None, Some("wrong-token-wrong-token-wrong"), Some(TOKEN)]
        .into_iter()
        .enumerate()
    {
        for path in ["api/sites", "api/query", "metrics", "nowhere"] {
            let mut request = client.get(format!("http://{addr}/admin/{path}?{salt}={i}"));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send().await.unwrap().bytes().await.unwrap();
        }
    }
}

/// The series of a `/metrics` answer: its sample lines without their values.
fn series(metrics: &str) -> std::collections::BTreeSet<String> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            l.rsplit_once(' ')
                .map_or(l, |(series, _)| series)
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_adds_series_beyond_the_budget() {
    monitor_core::Config::new()
        .max_route_sites(BUDGET)
        .apply()
        .unwrap();
    let addr = start().await;
    let client = reqwest::Client::new();
    let metrics = || async {
        client
            .get(format!("http://{addr}/admin/metrics"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };

    flood(&client, addr, "first", 150).await;
    let routes: Vec<&str> = monitor_core::sites()
        .filter(|s| s.is_route())
        .filter_map(|s| s.route())
        .collect();
    assert_eq!(routes.len(), BUDGET + 1, "{routes:?}");
    assert!(routes.contains(&monitor_core::site::OTHER_ROUTES));
    assert!(
        routes.iter().all(|r| !r.contains("first")),
        "a made-up name became a site: {routes:?}"
    );
    let before = series(&metrics().await);

    flood(&client, addr, "second", 150).await;
    let after = series(&metrics().await);
    let added: Vec<&String> = after.difference(&before).collect();
    assert!(
        added.is_empty(),
        "series added by the second flood: {added:?}"
    );
    assert_eq!(
        monitor_core::sites().filter(|s| s.is_route()).count(),
        BUDGET + 1
    );
    // The shared site counted every request that had no site of its own: both floods' made-up
    // methods and unmatched paths at least.
    let other = monitor_core::sites()
        .find(|s| s.route() == Some(monitor_core::site::OTHER_ROUTES))
        .unwrap()
        .stats();
    assert!(other.calls() >= 2 * 2 * 150, "{}", other.calls());
}
