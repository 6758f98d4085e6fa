//! An axum service with monitor: `#[monitored_handler]` on its handlers, the layer that gives each
//! one its final status and the bytes that really flowed, and the dashboard mounted under `/admin`
//! (the page, the JSON API, `/admin/metrics` for Prometheus). It sends itself a few requests,
//! prints what was measured and what `/admin/metrics` says of it, and stops.
//!
//! Run it with `cargo run -p monitor-dashboard --example axum`; with `-- --serve` it then keeps
//! serving on 127.0.0.1:3000 (the page at `/admin/`) until Ctrl-C.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use monitor_core::site::SiteKind;
use monitor_core::{monitored_handler, sites};
use monitor_dashboard::{DashboardConfig, MonitorLayer, ServerLimits};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// An empty prompt is the client's fault (400: a client error); "crash" is ours (500: an error).
#[monitored_handler(route = "POST /api/logos")]
async fn create_logo(Json(body): Json<Value>) -> Result<Json<Value>, (StatusCode, String)> {
    let fail = |status, message: &str| Err((status, message.to_owned()));
    match body["prompt"].as_str().unwrap_or_default() {
        "" => fail(StatusCode::BAD_REQUEST, "empty prompt"),
        "crash" => fail(StatusCode::INTERNAL_SERVER_ERROR, "renderer crashed"),
        prompt => Ok(Json(json!({ "svg": format!("<svg>{prompt}</svg>") }))),
    }
}

#[monitored_handler(route = "GET /api/logos/{id}")]
async fn get_logo(Path(id): Path<u64>) -> Result<String, StatusCode> {
    match id {
        1..=10 => Ok(format!("<svg>logo {id}</svg>")),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let serve = std::env::args().any(|arg| arg == "--serve");
    // The runtime: the collector that fills the dashboard's history every second. Keep the guard.
    let monitor = monitor_core::init(monitor_core::Config::from_env()?)?;

    // The layer goes on the service's own routes; the dashboard is a router of its own beside
    // them (`nest_service` answers both `/admin` and `/admin/`).
    let app = Router::new()
        .route("/api/logos", post(create_logo))
        .route("/api/logos/{id}", get(get_logo))
        .layer(MonitorLayer::new())
        .nest_service(
            "/admin",
            monitor_dashboard::router(DashboardConfig::from_env()?),
        );
    let port = if serve { 3000 } else { 0 };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let limits = ServerLimits::default();
        let shutdown = async {
            let _ = stopped.await;
        };
        monitor_dashboard::serve_with_limits_until(listener, app, &limits, shutdown).await
    });

    let client = reqwest::Client::new();
    let logos = format!("{base}/api/logos");
    let post = |prompt| client.post(&logos).json(&json!({ "prompt": prompt }));
    let get = |id| client.get(format!("{logos}/{id}"));
    let requests = [post("a fox"), post(""), post("crash"), get(1), get(42)];
    let sent = requests.len() as u64;
    for request in requests {
        let request = request.build()?;
        let line = format!("{} {}", request.method(), request.url().path());
        let response = client.execute(request).await?;
        let status = response.status();
        println!("{line:<20} -> {status}: {}", response.text().await?);
    }

    // A request is recorded when its response body has ended on the server: wait for all of them.
    let handlers: Vec<_> = sites().filter(|s| s.kind() == SiteKind::Handler).collect();
    let recorded = || handlers.iter().map(|s| s.stats().calls()).sum::<u64>();
    let deadline = Instant::now() + Duration::from_secs(5);
    while recorded() < sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("\nhandler     calls errors 4xx      p50      p99  req B resp B");
    for site in &handlers {
        let s = site.stats();
        let (p50, p99) = (
            format!("{:.1?}", s.durations.p50()),
            format!("{:.1?}", s.durations.p99()),
        );
        let (calls, errors, client_errors) = (s.calls(), s.errors, s.client_errors);
        let (name, request, response) = (site.name(), s.request_bytes, s.response_bytes);
        println!(
            "{name:<11} {calls:>5} {errors:>6} {client_errors:>3} {p50:>8} {p99:>8} {request:>6} {response:>6}"
        );
    }
    if recorded() != sent {
        return Err(format!("{sent} requests sent, {} recorded", recorded()).into());
    }

    // What Prometheus would scrape, for the same calls.
    let metrics = client.get(format!("{base}/admin/metrics")).send().await?;
    println!("\nGET /admin/metrics, the calls:");
    for line in metrics.text().await?.lines() {
        if line.starts_with("monitor_calls_total") {
            println!("  {line}");
        }
    }

    if serve {
        println!("\nthe dashboard: {base}/admin/ (Ctrl-C stops)");
        tokio::signal::ctrl_c().await?;
    }
    // Stop accepting, answer what is under way, then end the runtime: its last tick sees it all.
    let _ = stop.send(());
    server.await??;
    drop(monitor);
    Ok(())
}
