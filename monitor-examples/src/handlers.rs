//! The service's API handlers, written as plain functions returning HTTP statuses.

use crate::llm::LlmClient;
use crate::pipeline::{self, PipelineError};
use http::StatusCode;
use monitor_core::{monitored_handler, pipeline_stage};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug)]
pub(crate) struct App {
    pub(crate) draft: LlmClient,
    pub(crate) judge: LlmClient,
    logos: Mutex<HashMap<u64, String>>,
    /// SVGs by prompt: a repeated prompt is served without running the pipeline.
    rendered: Mutex<HashMap<String, String>>,
    next_id: AtomicU64,
}

impl App {
    pub(crate) fn new(draft: LlmClient, judge: LlmClient) -> App {
        App {
            draft,
            judge,
            logos: Mutex::default(),
            rendered: Mutex::default(),
            next_id: AtomicU64::new(1),
        }
    }
}

/// Runs the pipeline for a prompt and stores the SVG: 201 with its id, 400 for a prompt with no
/// words, 503 when the model stays rate-limited.
#[monitored_handler(route = "POST /api/logos")]
pub(crate) async fn create_logo(
    app: &App,
    prompt: String,
) -> Result<(StatusCode, String), (StatusCode, String)> {
    let svg = match cached_logo(app, &prompt) {
        Some(svg) => svg,
        None => {
            let brief = pipeline::analyse_prompt(&prompt).map_err(to_status)?;
            let concept = pipeline::generate_concepts(&app.draft, &app.judge, &brief)
                .await
                .map_err(to_status)?;
            let svg = pipeline::optimise_svg(pipeline::render_svg(&brief, &concept)).await;
            app.rendered
                .lock()
                .expect("render cache poisoned")
                .insert(prompt, svg.clone());
            svg
        }
    };
    let id = app.next_id.fetch_add(1, Ordering::Relaxed);
    app.logos
        .lock()
        .expect("logo store poisoned")
        .insert(id, svg);
    Ok((StatusCode::CREATED, format!("{{\"id\":{id}}}")))
}

/// The SVG already rendered for this prompt, if any: `Some` counts as a hit of the "logos" cache.
#[pipeline_stage(pipeline = "logo", stage = "cache", cache = "logos")]
fn cached_logo(app: &App, prompt: &str) -> Option<String> {
    app.rendered
        .lock()
        .expect("render cache poisoned")
        .get(prompt)
        .cloned()
}

/// The SVG of a logo, or 404.
#[monitored_handler(route = "GET /api/logos/{id}/svg")]
pub(crate) fn get_logo_svg(app: &App, id: u64) -> Result<String, StatusCode> {
    app.logos
        .lock()
        .expect("logo store poisoned")
        .get(&id)
        .cloned()
        .ok_or(StatusCode::NOT_FOUND)
}

fn to_status(error: PipelineError) -> (StatusCode, String) {
    let status = match error {
        PipelineError::EmptyPrompt => StatusCode::BAD_REQUEST,
        PipelineError::Llm(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, format!("{{\"error\":\"{error}\"}}"))
}
