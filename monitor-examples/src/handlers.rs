//! The service's API handlers: axum handlers, each with `#[monitored_handler]`.

use crate::llm::{ChatClient, MessagesClient};
use crate::openai::{Judge, OpenAiJudge};
use crate::pipeline::{LogoPipeline, PipelineError, Style};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use monitor_core::{monitored_handler, pipeline_stage};
use serde::{Deserialize, Serialize};
use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest prompt accepted, in characters.
pub const MAX_PROMPT_CHARS: usize = 500;

/// Logos kept, and SVGs kept for repeated prompts: beyond, the least recently used go first.
/// Kept for ever, 115,000 requests held 138 MB of heap.
pub(crate) const MAX_LOGOS: usize = 10_000;

/// Entries by key, at most `cap`, the least recently used dropped first: a store whose memory no
/// run of requests can grow without bound, and where a logo still being read stays.
#[derive(Debug)]
struct Bounded<K: Eq + Hash, V> {
    entries: lru::LruCache<K, V>,
}

impl<K: Eq + Hash, V: Clone> Bounded<K, V> {
    fn new(cap: usize) -> Bounded<K, V> {
        Bounded {
            entries: lru::LruCache::new(NonZeroUsize::new(cap).unwrap_or(NonZeroUsize::MIN)),
        }
    }

    /// The entry, now the most recently used.
    fn get(&mut self, key: &K) -> Option<V> {
        self.entries.get(key).cloned()
    }

    fn insert(&mut self, key: K, value: V) {
        self.entries.put(key, value);
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The service's state: its LLM clients and the logos made so far.
#[derive(Debug)]
pub struct App {
    pub(crate) draft: MessagesClient,
    pub(crate) judge: Judge,
    logos: Mutex<Bounded<String, Logo>>,
    /// SVGs by prompt and style: a repeated request is served without running the pipeline.
    rendered: Mutex<Bounded<(String, Style), (String, String)>>,
    /// The share of logo requests answered with an injected 500 (`--fail-rate`), and the
    /// requests counted so far: every 1/rate-th fails, spread evenly.
    fail_rate: f64,
    requests: AtomicU64,
}

impl App {
    /// The demo's service: an Anthropic-style drafting model whose system prompt is cached, and
    /// an OpenAI-style reasoning model that judges the drafts (see [`crate::prices`]). Times to
    /// first token of 20 and 12 ms (the judge's reasoning comes on top), chunks about 1 ms apart.
    pub fn new() -> App {
        let ms = Duration::from_millis;
        App::with_clients(
            MessagesClient::new(crate::prices::DRAFT_MODEL, ms(20), ms(1), 17, 29),
            ChatClient::new(
                crate::prices::JUDGE_MODEL,
                ms(12),
                ms(1),
                Duration::from_micros(60),
                23,
            ),
        )
    }

    pub(crate) fn with_clients(draft: MessagesClient, judge: ChatClient) -> App {
        App {
            draft,
            judge: Judge::Simulated(judge),
            logos: Mutex::new(Bounded::new(MAX_LOGOS)),
            rendered: Mutex::new(Bounded::new(MAX_LOGOS)),
            fail_rate: 0.0,
            requests: AtomicU64::new(0),
        }
    }

    /// The same service, its judging model at a real OpenAI-compatible endpoint instead of the
    /// simulated one (`--openai-base-url`).
    pub fn judging_with(mut self, judge: OpenAiJudge) -> App {
        self.judge = Judge::OpenAi(judge);
        self
    }

    /// The same service, answering `rate` of its logo requests (0 to 1) with a 500: a failure
    /// to watch the objectives and their alerts react to.
    pub fn failing(mut self, rate: f64) -> App {
        self.fail_rate = rate.clamp(0.0, 1.0);
        self
    }

    /// Whether this request is one of the failures injected.
    fn inject_failure(&self) -> bool {
        if self.fail_rate <= 0.0 {
            return false;
        }
        let n = self.requests.fetch_add(1, Ordering::Relaxed) as f64;
        ((n + 1.0) * self.fail_rate).floor() > (n * self.fail_rate).floor()
    }

    fn logo(&self, id: &str) -> Option<Logo> {
        self.logos
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id.to_owned())
    }

    /// Logos kept now.
    pub fn logos_kept(&self) -> usize {
        self.logos.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Default for App {
    fn default() -> App {
        App::new()
    }
}

/// A logo made by the service.
#[derive(Debug, Clone, Serialize)]
pub struct Logo {
    /// Its id: 128 random bits in hex, so that no one finds another's logo (and prompt) by
    /// counting.
    pub id: String,
    /// The prompt it was made from.
    pub prompt: String,
    /// Its style.
    pub style: Style,
    /// The concept the judging model picked.
    pub concept: String,
    /// When it was made, Unix milliseconds.
    pub created_ms: u64,
    /// Where its SVG is.
    pub svg_url: String,
    #[serde(skip)]
    svg: String,
}

/// The body of `POST /api/logos`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateLogo {
    /// What the logo is for, in words.
    pub prompt: String,
    /// `flat` (default), `outline` or `badge`.
    #[serde(default)]
    pub style: Style,
}

/// An answer that is not a success: a status and `{"error": …, "status": …, "message": …}`, the
/// dashboard's shape.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.error,
            "status": self.status.as_u16(),
            "message": self.message,
        });
        (self.status, Json(body)).into_response()
    }
}

impl From<PipelineError> for ApiError {
    fn from(error: PipelineError) -> ApiError {
        match error {
            PipelineError::EmptyPrompt => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_prompt", error.to_string())
            }
            PipelineError::Llm(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "model_unavailable",
                error.to_string(),
            ),
        }
    }
}

/// Makes a logo: validates the body, runs the pipeline (or serves a cached SVG) and answers 201
/// with the logo. 400 for a body that is not a valid request, 503 when the model stays
/// rate-limited through its retries.
#[monitored_handler(route = "POST /api/logos", objective = "logo-api")]
pub(crate) async fn create_logo(
    State(app): State<Arc<App>>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Logo>), ApiError> {
    // JSON only: a plain cross-site form (`text/plain`, no preflight) cannot post one.
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the request as `Content-Type: application/json`",
        ));
    }
    if app.inject_failure() {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "injected_failure",
            "a failure injected by --fail-rate",
        ));
    }
    let request: CreateLogo = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", e.to_string()))?;
    let prompt = request.prompt.trim().to_owned();
    if prompt.chars().count() > MAX_PROMPT_CHARS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_prompt",
            format!("the prompt is longer than {MAX_PROMPT_CHARS} characters"),
        ));
    }
    let (concept, svg) = match cached_logo(&app, &prompt, request.style) {
        Some(found) => found,
        None => {
            let pipeline = LogoPipeline {
                draft: &app.draft,
                judge: &app.judge,
            };
            let brief = pipeline.analyse(&prompt)?;
            let concept = pipeline.concepts(&brief).await?;
            let svg = pipeline.render(&brief, &concept, request.style);
            let svg = pipeline.optimise(svg).await;
            app.rendered
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(
                    (prompt.clone(), request.style),
                    (concept.clone(), svg.clone()),
                );
            (concept, svg)
        }
    };
    let id = crate::new_token().map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_randomness",
            format!("no id can be drawn: {e}"),
        )
    })?;
    let logo = Logo {
        id: id.clone(),
        prompt,
        style: request.style,
        concept,
        created_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        svg_url: format!("/api/logos/{id}/svg"),
        svg,
    };
    app.logos
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, logo.clone());
    Ok((StatusCode::CREATED, Json(logo)))
}

/// The concept and SVG already made for this prompt and style, if any: `Some` counts as a hit of
/// the `logos` cache, `None` as a miss.
#[pipeline_stage(pipeline = "logo", stage = "cache", cache = "logos")]
fn cached_logo(app: &App, prompt: &str, style: Style) -> Option<(String, String)> {
    app.rendered
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(prompt.to_owned(), style))
}

/// A logo's description, or 404; 400 for an id that is not one.
#[monitored_handler(route = "GET /api/logos/{id}", objective = "logo-api")]
pub(crate) async fn get_logo(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<Logo>, ApiError> {
    check_id(&id)?;
    app.logo(&id).map(Json).ok_or_else(|| not_found(&id))
}

/// A logo's SVG (`image/svg+xml`), or 404.
#[monitored_handler(route = "GET /api/logos/{id}/svg", objective = "logo-api")]
pub(crate) async fn get_logo_svg(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    check_id(&id)?;
    let logo = app.logo(&id).ok_or_else(|| not_found(&id))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], logo.svg).into_response())
}

/// Characters of a logo id: 32 hex digits.
pub(crate) const ID_LEN: usize = 32;

fn check_id(id: &str) -> Result<(), ApiError> {
    if id.len() == ID_LEN && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        // Not echoed whole: an id is at most 32 characters, a path can be anything.
        let shown: String = id.chars().take(ID_LEN).collect();
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("a logo id is {ID_LEN} hex digits, not {shown:?}"),
        ))
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no logo {id}"))
}

#[cfg(test)]
mod tests {
    use super::{Bounded, check_id};

    #[test]
    fn the_store_keeps_at_most_its_cap_the_least_recently_used_dropped_first() {
        let mut store = Bounded::new(3);
        for i in 0..10 {
            store.insert(i, i * 10);
            assert!(store.len() <= 3);
        }
        assert_eq!(
            (store.get(&6), store.get(&7), store.get(&9)),
            (None, Some(70), Some(90))
        );
        // 8 is now the least recently used (7 and 9 were just read): the next one displaces it.
        store.insert(10, 100);
        assert_eq!((store.get(&8), store.get(&7)), (None, Some(70)));
        // Replacing a kept entry does not count it twice.
        store.insert(9, 1);
        assert_eq!((store.len(), store.get(&9)), (3, Some(1)));
    }

    #[test]
    fn an_id_is_32_hex_digits() {
        assert!(check_id("0123456789abcdef0123456789abcdef").is_ok());
        for bad in ["1", "0123456789abcdef0123456789abcdeg", &"a".repeat(33), ""] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }
}
