//! `#[monitored_handler]` on the handlers of an HTTP API, called here the way a framework calls
//! them: each call's duration, its outcome — ok, an error, or the client's error when the value
//! returned carries a 4xx status — and the response's size as its type tells it. The handlers are
//! listed at link time, called or not, as a test would list them.
//!
//! Behind a server, a layer adds what the return value cannot tell: the final status and the bytes
//! that really flowed (`cargo run -p monitor-dashboard --example axum`).
//!
//! Run it with `cargo run -p monitor-core --example monitored_handler`.

use http::StatusCode;
use monitor_core::site::SiteKind;
use monitor_core::{monitored_handler, sites};

/// An empty prompt is the client's fault (400: a client error); "crash" is ours (500: an error).
#[monitored_handler(route = "POST /api/logos")]
async fn create_logo(prompt: &str) -> Result<String, (StatusCode, String)> {
    let fail = |status, message: &str| Err((status, message.to_owned()));
    match prompt {
        "" => fail(StatusCode::BAD_REQUEST, "empty prompt"),
        "crash" => fail(StatusCode::INTERNAL_SERVER_ERROR, "renderer crashed"),
        prompt => Ok(format!("<svg>{prompt}</svg>")),
    }
}

#[monitored_handler(route = "GET /api/logos/{id}")]
async fn get_logo(id: u64) -> Result<String, StatusCode> {
    match id {
        1..=10 => Ok(format!("<svg>logo {id}</svg>")),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

/// Never called in this run, and listed all the same.
#[allow(dead_code)]
#[monitored_handler(route = "DELETE /api/logos/{id}")]
async fn delete_logo(_id: u64) -> StatusCode {
    StatusCode::NO_CONTENT
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let handlers: Vec<_> = sites().filter(|s| s.kind() == SiteKind::Handler).collect();
    for site in &handlers {
        let (name, route, file, line) = (site.name(), site.route(), site.file(), site.line());
        println!("{name:<11} {:<24} {file}:{line}", route.ok_or("no route")?);
    }

    for prompt in ["a fox", "an owl reading", "", "crash"] {
        let answer = create_logo(prompt).await;
        println!("POST {prompt:?} -> {answer:?}");
    }
    for id in [1, 2, 42] {
        println!("GET {id} -> {:?}", get_logo(id).await);
    }

    println!("\nhandler     calls errors 4xx      p50      p99 resp B");
    for site in &handlers {
        let s = site.stats();
        let (p50, p99) = (
            format!("{:.1?}", s.durations.p50()),
            format!("{:.1?}", s.durations.p99()),
        );
        let (name, calls, errors, client_errors) =
            (site.name(), s.calls(), s.errors, s.client_errors);
        let response = s.response_bytes;
        println!(
            "{name:<11} {calls:>5} {errors:>6} {client_errors:>3} {p50:>8} {p99:>8} {response:>6}"
        );
    }
    // Every call above was recorded when it returned: nothing waits for a collector.
    let calls: u64 = handlers.iter().map(|s| s.stats().calls()).sum();
    if calls != 7 {
        return Err(format!("7 calls made, {calls} recorded").into());
    }
    Ok(())
}
