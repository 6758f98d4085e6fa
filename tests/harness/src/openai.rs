//! An OpenAI-compatible server of the test's own on 127.0.0.1: the HTTP API as OpenAI documents
//! it, so that a real client (async-openai, or anything that speaks to OpenAI, vLLM or Ollama)
//! can be run against it and what monitor records compared with what the server sent.
//!
//! - `POST /v1/chat/completions`: a `chat.completion` object, or with `"stream": true` server-sent
//!   events, `data: {chunk}` each: a first chunk with the assistant's role, one per piece of
//!   text, one with the `finish_reason`, then — when the request asked with
//!   `stream_options.include_usage` — a last chunk with `choices: []` and the usage (every chunk
//!   before it carries `"usage": null`), and `data: [DONE]`.
//! - `POST /v1/responses`: a `response` object, or with `"stream": true` typed events
//!   (`event: response.created` … `response.output_text.delta` … `response.completed`), the
//!   usage — with `input_tokens_details.cached_tokens` and
//!   `output_tokens_details.reasoning_tokens` — in `response.completed`'s response.
//! - `POST /v1/embeddings`: a list of embeddings, with `prompt_tokens` and `total_tokens`.
//!
//! Each request gets the next [`Reply`] queued ([`OpenAiServer::then`]), else the default one
//! ([`OpenAiServer::set_default`]): its usage, the model it names, its delays, and a fault (a
//! 401, a 429 with `retry-after`, a 500, a stream without `[DONE]`, a connection cut midway).
//! With a key required ([`OpenAiServer::require_key`]), a request without `Authorization: Bearer
//! {key}` is refused as OpenAI refuses it. Every request is kept ([`OpenAiServer::requests`]).

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Requests kept; later ones are served but not kept (a test that sends more reads
/// [`OpenAiServer::request_count`]).
pub const MAX_KEPT_REQUESTS: usize = 10_000;

/// The token counts of one reply, as OpenAI counts them: `input` includes the `cached` input
/// tokens, `output` the `reasoning` tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// `prompt_tokens` / `input_tokens`.
    pub input: u64,
    /// `prompt_tokens_details.cached_tokens` / `input_tokens_details.cached_tokens`.
    pub cached: u64,
    /// `completion_tokens` / `output_tokens`.
    pub output: u64,
    /// `completion_tokens_details.reasoning_tokens` / `output_tokens_details.reasoning_tokens`.
    pub reasoning: u64,
}

impl Usage {
    /// `total_tokens`.
    pub fn total(&self) -> u64 {
        self.input + self.output
    }
}

/// What goes wrong with a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 401, `invalid_api_key`: the key was revoked.
    Unauthorized,
    /// 429, `rate_limit_exceeded`, with `retry-after` (whole seconds, rounded up) and
    /// `retry-after-ms`.
    RateLimited {
        /// How long the server asks the client to wait.
        retry_after: Duration,
    },
    /// 500, `server_error`.
    ServerError,
    /// A chat stream ends cleanly after its last chunk (the usage chunk, when asked for) without
    /// `data: [DONE]`; a Responses stream ends before `response.completed`.
    NoDone,
    /// The connection is closed after this many events of a stream (before the usage): the
    /// client reads a body that ends midway.
    CutAfter(usize),
    /// The model fails after its text (Responses API only): a stream ends with `response.failed`
    /// in place of `response.completed`, a response comes back `200` with `status: "failed"`,
    /// each with `error.code` `server_error` and the usage spent.
    ModelFailed,
}

/// One scripted reply. [`Reply::new`] answers with usage 0 and the requested model's dated name;
/// the builders set the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    usage: Usage,
    model: Option<String>,
    pieces: usize,
    first_after: Duration,
    gap: Duration,
    fault: Option<Fault>,
}

impl Default for Reply {
    fn default() -> Reply {
        Reply::new(Usage::default())
    }
}

impl Reply {
    /// A successful reply with this usage: three pieces of text, at once.
    pub fn new(usage: Usage) -> Reply {
        Reply {
            usage,
            model: None,
            pieces: 3,
            first_after: Duration::ZERO,
            gap: Duration::ZERO,
            fault: None,
        }
    }

    /// A reply that fails with `fault`.
    pub fn failing(fault: Fault) -> Reply {
        Reply::default().fault(fault)
    }

    /// The model the reply names (default: the requested one with a date, `o4-mini` answered
    /// as `o4-mini-2025-04-16`, as OpenAI names the snapshot that served a request).
    pub fn model(mut self, model: &str) -> Reply {
        self.model = Some(model.to_owned());
        self
    }

    /// Pieces of text a stream sends (at least 1).
    pub fn pieces(mut self, pieces: usize) -> Reply {
        self.pieces = pieces.max(1);
        self
    }

    /// The wait before the first event of a stream, or before a whole reply: the time to first
    /// token.
    pub fn first_after(mut self, wait: Duration) -> Reply {
        self.first_after = wait;
        self
    }

    /// The wait between two events of a stream after the first.
    pub fn gap(mut self, wait: Duration) -> Reply {
        self.gap = wait;
        self
    }

    /// What goes wrong.
    pub fn fault(mut self, fault: Fault) -> Reply {
        self.fault = Some(fault);
        self
    }

    /// Its usage.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// The `data:` events a chat stream of this reply sends before `[DONE]`, when whole: the
    /// role chunk, the pieces, the finish chunk, and the usage chunk if asked for.
    pub fn chat_events(&self, include_usage: bool) -> usize {
        self.pieces + 2 + usize::from(include_usage)
    }

    /// The events a whole Responses stream of this reply sends: created, in_progress, the
    /// item and part added, the deltas, the text, part and item done, completed.
    pub fn response_events(&self) -> usize {
        self.pieces + 8
    }

    /// The text the pieces make.
    pub fn text(&self) -> String {
        (0..self.pieces).map(piece).collect()
    }

    /// The model a reply to a request for `requested` names.
    pub fn model_for(&self, requested: &str) -> String {
        self.model
            .clone()
            .unwrap_or_else(|| format!("{requested}-2025-04-16"))
    }
}

fn piece(i: usize) -> String {
    format!("word{i} ")
}

/// One request the server took.
#[derive(Debug, Clone)]
pub struct Request {
    /// When it came.
    pub at: Instant,
    /// `POST`, …
    pub method: String,
    /// The path, `/v1/chat/completions`.
    pub path: String,
    /// The headers, names lowercase, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The body, parsed; `Value::Null` when it was not JSON.
    pub body: Value,
}

impl Request {
    /// The value of header `name` (lowercase), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the request asked for a stream.
    pub fn streamed(&self) -> bool {
        self.body["stream"] == Value::Bool(true)
    }

    /// Whether it asked for the usage in a stream's last chunk
    /// (`stream_options.include_usage`).
    pub fn include_usage(&self) -> bool {
        self.body["stream_options"]["include_usage"] == Value::Bool(true)
    }
}

struct Shared {
    key: Mutex<Option<String>>,
    replies: Mutex<VecDeque<Reply>>,
    default: Mutex<Reply>,
    requests: Mutex<Vec<Request>>,
    count: AtomicU64,
}

/// A poisoned lock still holds what the test scripted: a handler that panicked changed nothing.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The server; stopped when dropped.
#[derive(Debug)]
pub struct OpenAiServer {
    base_url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl OpenAiServer {
    /// Listens on a free port of 127.0.0.1, on a thread and a runtime of its own (so that a test
    /// on any runtime, or none, can use it). Replies with [`Reply::default`] until told
    /// otherwise; requires no key until [`require_key`](OpenAiServer::require_key).
    pub fn start() -> std::io::Result<OpenAiServer> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let base_url = format!("http://{}/v1", listener.local_addr()?);
        let shared = Arc::new(Shared {
            key: Mutex::new(None),
            replies: Mutex::new(VecDeque::new()),
            default: Mutex::new(Reply::default()),
            requests: Mutex::new(Vec::new()),
            count: AtomicU64::new(0),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new()
            .fallback(serve)
            .with_state(Arc::clone(&shared));
        let thread = std::thread::Builder::new()
            .name("openai-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    // Not a graceful shutdown: a stream under way is cut, as when a server dies.
                    tokio::select! {
                        _ = axum::serve(listener, app) => {}
                        _ = stopped => {}
                    }
                });
                // Tasks still serving connections are dropped with the runtime.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(OpenAiServer {
            base_url,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:{port}/v1`: the API base a client is given.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// From now on, a request without `Authorization: Bearer {key}` gets OpenAI's 401.
    pub fn require_key(&self, key: &str) {
        *lock(&self.shared.key) = Some(key.to_owned());
    }

    /// The reply of every request with none queued.
    pub fn set_default(&self, reply: Reply) {
        *lock(&self.shared.default) = reply;
    }

    /// Queues a reply: the next request without one gets it.
    pub fn then(&self, reply: Reply) {
        lock(&self.shared.replies).push_back(reply);
    }

    /// The requests taken so far, oldest first (the first [`MAX_KEPT_REQUESTS`]).
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.requests).clone()
    }

    /// Requests taken so far, kept or not.
    pub fn request_count(&self) -> u64 {
        self.shared.count.load(Ordering::Relaxed)
    }

    /// Waits until `n` requests have come, at most `within`; the requests kept then.
    pub fn wait_for(&self, n: u64, within: Duration) -> Result<Vec<Request>, crate::Error> {
        let deadline = Instant::now() + within;
        while self.request_count() < n {
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} requests after {within:?}, not {n}",
                    self.request_count()
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(self.requests())
    }
}

impl Drop for OpenAiServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Every request: kept, checked, then answered by its path.
async fn serve(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let request = Request {
        at: Instant::now(),
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    };
    let n = shared.count.fetch_add(1, Ordering::Relaxed);
    if (n as usize) < MAX_KEPT_REQUESTS {
        lock(&shared.requests).push(request.clone());
    }
    let id = format!("{n:016x}");

    if let Some(refused) = check_key(lock(&shared.key).as_deref(), &request) {
        return refused;
    }
    let endpoint = match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/v1/chat/completions") => Endpoint::Chat,
        ("POST", "/v1/responses") => Endpoint::Responses,
        ("POST", "/v1/embeddings") => Endpoint::Embeddings,
        (method, path) => {
            return error(
                StatusCode::NOT_FOUND,
                &format!("Invalid URL ({method} {path})"),
                "invalid_request_error",
                None,
            );
        }
    };
    let Some(model) = request.body["model"].as_str() else {
        return error(
            StatusCode::BAD_REQUEST,
            "you must provide a model parameter",
            "invalid_request_error",
            None,
        );
    };
    let reply = lock(&shared.replies)
        .pop_front()
        .unwrap_or_else(|| lock(&shared.default).clone());
    match reply.fault {
        Some(Fault::Unauthorized) => {
            return unauthorized(request.header("authorization"));
        }
        Some(Fault::RateLimited { retry_after }) => return rate_limited(model, retry_after),
        Some(Fault::ServerError) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                None,
            );
        }
        _ => {}
    }
    let answered = reply.model_for(model);
    match (endpoint, request.streamed()) {
        (Endpoint::Chat, false) => {
            tokio::time::sleep(reply.first_after).await;
            json_response(chat_completion(&id, &answered, &reply))
        }
        (Endpoint::Chat, true) => sse(chat_stream(&id, &answered, &reply, request.include_usage())),
        (Endpoint::Responses, false) => {
            tokio::time::sleep(reply.first_after).await;
            let response = response_object(&id, &answered, &reply, true);
            json_response(if reply.fault == Some(Fault::ModelFailed) {
                failed(response)
            } else {
                response
            })
        }
        (Endpoint::Responses, true) => sse(response_stream(&id, &answered, &reply)),
        (Endpoint::Embeddings, _) => {
            tokio::time::sleep(reply.first_after).await;
            json_response(embeddings(&answered, &reply, &request.body["input"]))
        }
    }
}

#[derive(Clone, Copy)]
enum Endpoint {
    Chat,
    Responses,
    Embeddings,
}

/// OpenAI's answer to a missing or wrong key: `None` when the request may go on.
fn check_key(key: Option<&str>, request: &Request) -> Option<Response> {
    let key = key?;
    let sent = request.header("authorization");
    let bearer = sent.and_then(|v| v.strip_prefix("Bearer "));
    (bearer != Some(key)).then(|| unauthorized(sent))
}

fn unauthorized(sent: Option<&str>) -> Response {
    match sent.and_then(|v| v.strip_prefix("Bearer ")) {
        // OpenAI names the key it refused by its first and last characters only.
        Some(key) => error(
            StatusCode::UNAUTHORIZED,
            &format!(
                "Incorrect API key provided: {}. You can find your API key at \
                 https://platform.openai.com/account/api-keys.",
                masked(key)
            ),
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
        None => error(
            StatusCode::UNAUTHORIZED,
            "You didn't provide an API key. You need to provide your API key in an Authorization \
             header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password \
             field (with blank username) if you're accessing the API from your browser and are \
             prompted for a username and password. You can obtain an API key from \
             https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            None,
        ),
    }
}

/// `sk-abc…wxyz` as OpenAI shows it: the first three characters and the last four.
fn masked(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

fn rate_limited(model: &str, retry_after: Duration) -> Response {
    let seconds = retry_after.as_millis().div_ceil(1000);
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        &format!(
            "Rate limit reached for {model} in organization org-test on requests per min (RPM): \
             Limit 3, Used 3, Requested 1. Please try again in {seconds}s. Visit \
             https://platform.openai.com/account/rate-limits to learn more."
        ),
        "requests",
        Some("rate_limit_exceeded"),
    );
    let headers = response.headers_mut();
    for (name, value) in [
        ("retry-after", seconds.to_string()),
        ("retry-after-ms", retry_after.as_millis().to_string()),
        ("x-ratelimit-limit-requests", "3".to_owned()),
        ("x-ratelimit-remaining-requests", "0".to_owned()),
        ("x-ratelimit-reset-requests", format!("{seconds}s")),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

/// OpenAI's error object: `{"error": {"message", "type", "param", "code"}}`.
fn error(status: StatusCode, message: &str, kind: &str, code: Option<&str>) -> Response {
    let body = json!({
        "error": {"message": message, "type": kind, "param": null, "code": code}
    });
    (status, json_headers(), body.to_string()).into_response()
}

fn json_headers() -> [(header::HeaderName, &'static str); 1] {
    [(header::CONTENT_TYPE, "application/json")]
}

fn json_response(value: Value) -> Response {
    (StatusCode::OK, json_headers(), value.to_string()).into_response()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn chat_usage(usage: Usage) -> Value {
    json!({
        "prompt_tokens": usage.input,
        "completion_tokens": usage.output,
        "total_tokens": usage.total(),
        "prompt_tokens_details": {"cached_tokens": usage.cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0
        }
    })
}

fn chat_completion(id: &str, model: &str, reply: &Reply) -> Value {
    json!({
        "id": format!("chatcmpl-{id}"),
        "object": "chat.completion",
        "created": now(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": reply.text(),
                "refusal": null,
                "annotations": []
            },
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": chat_usage(reply.usage),
        "service_tier": "default",
        "system_fingerprint": "fp_harness"
    })
}

/// What a stream sends: each item after its wait; `None` closes the connection there.
type Script = Vec<(Duration, Option<String>)>;

/// The chunks of a chat completion stream, as `data:` lines, and `[DONE]`.
fn chat_stream(id: &str, model: &str, reply: &Reply, include_usage: bool) -> Script {
    let created = now();
    let chunk = |delta: Value, finish: Value, usage: Option<Value>| {
        let mut chunk = json!({
            "id": format!("chatcmpl-{id}"),
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": "fp_harness",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
        });
        if include_usage {
            chunk["usage"] = usage.unwrap_or(Value::Null);
        }
        chunk
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
        None,
    )];
    events
        .extend((0..reply.pieces).map(|i| chunk(json!({"content": piece(i)}), Value::Null, None)));
    events.push(chunk(json!({}), json!("stop"), None));
    if include_usage {
        let mut last = chunk(json!({}), Value::Null, Some(chat_usage(reply.usage)));
        last["choices"] = json!([]);
        events.push(last);
    }
    let mut lines: Vec<String> = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    if reply.fault != Some(Fault::NoDone) {
        lines.push("data: [DONE]\n\n".to_owned());
    }
    timed(lines, reply)
}

fn response_usage(usage: Usage) -> Value {
    json!({
        "input_tokens": usage.input,
        "input_tokens_details": {"cached_tokens": usage.cached},
        "output_tokens": usage.output,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning},
        "total_tokens": usage.total()
    })
}

fn message(id: &str, text: Option<&str>) -> Value {
    let content = match text {
        Some(text) => json!([output_text(text)]),
        None => json!([]),
    };
    json!({
        "type": "message",
        "id": format!("msg_{id}"),
        "status": if text.is_some() { "completed" } else { "in_progress" },
        "role": "assistant",
        "content": content
    })
}

fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// A completed `response` object as the model's failure leaves it: `status: "failed"`, an
/// `error`, no output, the usage spent.
fn failed(mut response: Value) -> Value {
    response["status"] = json!("failed");
    response["error"] = json!({
        "code": "server_error",
        "message": "The model failed to generate a response."
    });
    response["output"] = json!([]);
    response
}

/// A `response` object; in progress (no output, no usage) or completed.
fn response_object(id: &str, model: &str, reply: &Reply, completed: bool) -> Value {
    let text = reply.text();
    json!({
        "id": format!("resp_{id}"),
        "object": "response",
        "created_at": now(),
        "status": if completed { "completed" } else { "in_progress" },
        "error": null,
        "incomplete_details": null,
        "instructions": null,
        "max_output_tokens": null,
        "model": model,
        "output": if completed { json!([message(id, Some(&text))]) } else { json!([]) },
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": {"effort": null, "summary": null},
        "store": true,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": if completed { response_usage(reply.usage) } else { Value::Null },
        "user": null,
        "metadata": {}
    })
}

/// The typed events of a Responses stream, `event:` and `data:` each.
fn response_stream(id: &str, model: &str, reply: &Reply) -> Script {
    let text = reply.text();
    let item = format!("msg_{id}");
    let mut events: Vec<Value> = vec![
        json!({"type": "response.created", "response": response_object(id, model, reply, false)}),
        json!({"type": "response.in_progress", "response": response_object(id, model, reply, false)}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": message(id, None)}),
        json!({
            "type": "response.content_part.added", "item_id": item, "output_index": 0,
            "content_index": 0, "part": output_text("")
        }),
    ];
    events.extend((0..reply.pieces).map(|i| {
        json!({
            "type": "response.output_text.delta", "item_id": item, "output_index": 0,
            "content_index": 0, "delta": piece(i), "logprobs": []
        })
    }));
    events.extend([
        json!({
            "type": "response.output_text.done", "item_id": item, "output_index": 0,
            "content_index": 0, "text": text, "logprobs": []
        }),
        json!({
            "type": "response.content_part.done", "item_id": item, "output_index": 0,
            "content_index": 0, "part": output_text(&text)
        }),
        json!({"type": "response.output_item.done", "output_index": 0, "item": message(id, Some(&text))}),
    ]);
    let response = response_object(id, model, reply, true);
    match reply.fault {
        Some(Fault::NoDone) => {}
        Some(Fault::ModelFailed) => {
            events.push(json!({"type": "response.failed", "response": failed(response)}));
        }
        _ => events.push(json!({"type": "response.completed", "response": response})),
    }
    let lines = events
        .into_iter()
        .enumerate()
        .map(|(n, mut event)| {
            event["sequence_number"] = json!(n);
            let kind = event["type"].as_str().unwrap_or_default().to_owned();
            format!("event: {kind}\ndata: {event}\n\n")
        })
        .collect();
    timed(lines, reply)
}

/// The lines after the reply's waits, cut where its fault says.
fn timed(lines: Vec<String>, reply: &Reply) -> Script {
    let mut script: Script = lines
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            let wait = if i == 0 { reply.first_after } else { reply.gap };
            (wait, Some(line))
        })
        .collect();
    if let Some(Fault::CutAfter(n)) = reply.fault {
        script.truncate(n);
        // A wait first, so that the events before the cut are flushed to the client: hyper
        // drops what it still holds when a body fails.
        script.push((reply.gap.max(Duration::from_millis(20)), None));
    }
    script
}

/// A server-sent event stream playing `script`.
fn sse(script: Script) -> Response {
    let body = stream::iter(script).then(|(wait, line)| async move {
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        // An error ends the body there: hyper closes the connection without the chunked
        // encoding's last chunk, and the client reads a body cut short.
        line.map(Bytes::from)
            .ok_or_else(|| std::io::Error::other("connection cut by the script"))
    });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/event-stream; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

fn embeddings(model: &str, reply: &Reply, input: &Value) -> Value {
    let inputs = match input {
        Value::Array(items) => items.len().max(1),
        _ => 1,
    };
    let data: Vec<Value> = (0..inputs)
        .map(|index| {
            json!({
                "object": "embedding",
                "index": index,
                "embedding": [0.0023064255, -0.009327292, -0.0028842222]
            })
        })
        .collect();
    json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": reply.usage.input, "total_tokens": reply.usage.input}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_shown_by_its_first_three_and_last_four_characters() {
        assert_eq!(masked("sk-test-0123456789"), "sk-***********6789");
        assert_eq!(masked("short"), "*****");
    }

    #[test]
    fn a_cut_stream_sends_its_first_events_then_closes() {
        let reply = Reply::new(Usage::default()).fault(Fault::CutAfter(2));
        let script = chat_stream("1", "m", &reply, true);
        assert_eq!(script.len(), 3);
        assert!(script[..2].iter().all(|(_, line)| line.is_some()));
        assert_eq!(script[2].1, None);
    }

    #[test]
    fn a_whole_chat_stream_ends_with_the_usage_chunk_then_done() {
        let usage = Usage {
            input: 10,
            cached: 4,
            output: 7,
            reasoning: 2,
        };
        let reply = Reply::new(usage);
        let script = chat_stream("1", "m", &reply, true);
        assert_eq!(script.len(), reply.chat_events(true) + 1);
        let lines: Vec<&str> = script.iter().filter_map(|(_, l)| l.as_deref()).collect();
        assert_eq!(lines.last(), Some(&"data: [DONE]\n\n"));
        let usage_chunk: Value = serde_json::from_str(
            lines[lines.len() - 2]
                .strip_prefix("data: ")
                .unwrap()
                .trim(),
        )
        .unwrap();
        assert_eq!(usage_chunk["choices"], json!([]));
        assert_eq!(
            usage_chunk["usage"]["prompt_tokens_details"]["cached_tokens"],
            4
        );
        assert_eq!(usage_chunk["usage"]["total_tokens"], 17);
    }
}
