//! `#[monitored_handler]` on two axum handlers: every request is measured — duration, outcome (ok,
//! error, client error) and the bytes that flowed each way — and the handlers are listed at link
//! time, called or not, as a test harness would list them.
//!
//! Run it with `cargo run -p monitor-examples --example monitored_handler`.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use monitor_core::site::SiteKind;
use monitor_core::{monitored_handler, sites};
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
    // What a test would check: every handler is instrumented and has a route.
    let handlers: Vec<_> = sites().filter(|s| s.kind() == SiteKind::Handler).collect();
    for site in &handlers {
        let (name, route, file, line) = (site.name(), site.route(), site.file(), site.line());
        println!("{name:<11} {:<20} {file}:{line}", route.ok_or("no route")?);
    }

    // The layer gives each handler its final status and the body sizes that really flowed.
    let app = Router::new()
        .route("/api/logos", post(create_logo))
        .route("/api/logos/{id}", get(get_logo))
        .layer(monitor_dashboard::MonitorLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

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
    let recorded = || handlers.iter().map(|s| s.stats().calls()).sum::<u64>();
    let deadline = Instant::now() + Duration::from_secs(2);
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
    Ok(())
}
