#![deny(warnings)]

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use monitor_core::monitored_handler;
use std::sync::Arc;
use std::sync::Mutex;
use tower::ServiceExt;

#[derive(Default)]
struct App {
    logos: Mutex<Vec<Logo>>,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Logo {
    prompt: String,
}

/// Extractors as destructuring patterns, a `Result` with a status as the error.
#[monitored_handler(route = "GET /logos/{id}")]
async fn get_logo(
    State(app): State<Arc<App>>,
    Path(id): Path<u64>,
) -> Result<Json<Logo>, StatusCode> {
    let logos = app.logos.lock().unwrap();
    let logo = usize::try_from(id).ok().and_then(|i| logos.get(i));
    logo.cloned().map(Json).ok_or(StatusCode::NOT_FOUND)
}

#[monitored_handler(route = "POST /logos")]
async fn create_logo(
    State(app): State<Arc<App>>,
    Json(logo): Json<Logo>,
) -> (StatusCode, Json<u64>) {
    let mut logos = app.logos.lock().unwrap();
    logos.push(logo);
    (StatusCode::CREATED, Json(logos.len() as u64 - 1))
}

/// Extractors bound to names: their sizes are read where they tell one.
#[monitored_handler(route = "GET /health")]
async fn health(state: State<Arc<App>>) -> String {
    format!("{} logos", state.logos.lock().unwrap().len())
}

fn router() -> Router {
    Router::new()
        .route("/logos/{id}", get(get_logo))
        .route("/logos", post(create_logo))
        .route("/health", get(health))
        .with_state(Arc::new(App::default()))
}

async fn send(router: &Router, request: Request<Body>) -> StatusCode {
    router.clone().oneshot(request).await.unwrap().status()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let router = router();
        let created = Request::post("/logos")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"prompt":"a fox"}"#))
            .unwrap();
        assert_eq!(send(&router, created).await, StatusCode::CREATED);
        let found = Request::get("/logos/0").body(Body::empty()).unwrap();
        assert_eq!(send(&router, found).await, StatusCode::OK);
        let missing = Request::get("/logos/7").body(Body::empty()).unwrap();
        assert_eq!(send(&router, missing).await, StatusCode::NOT_FOUND);
        let health = Request::get("/health").body(Body::empty()).unwrap();
        assert_eq!(send(&router, health).await, StatusCode::OK);
    });

    let site = |route: &str| {
        monitor_core::sites()
            .find(|s| s.route() == Some(route))
            .unwrap()
            .stats()
    };
    let get = site("GET /logos/{id}");
    assert_eq!((get.calls(), get.errors, get.client_errors), (2, 0, 1));
    let create = site("POST /logos");
    assert_eq!((create.calls(), create.errors), (1, 0));
    assert_eq!(create.status_classes().success, 1);
    let health = site("GET /health");
    assert_eq!(health.calls(), 1);
    assert_eq!(health.response_bytes, "1 logos".len() as u64);
}
