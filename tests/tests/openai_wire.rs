//! The real async-openai client against a server that speaks OpenAI's HTTP API on 127.0.0.1
//! (`monitor_harness::openai`): what monitor reads back — tokens of each kind, the model that
//! answered, cost, time to first chunk, chunks, errors, cut and dropped streams — is what the
//! server sent, with no code between the client's types and `#[tracks_tokens]`.

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, ChatCompletionResponseStream, ChatCompletionStreamOptions,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs, CreateChatCompletionResponse,
};
use async_openai::types::embeddings::{CreateEmbeddingRequestArgs, CreateEmbeddingResponse};
use async_openai::types::responses::{CreateResponseArgs, Response, ResponseStream};
use futures_util::StreamExt;
use monitor_core::pricing::{Price, set_price};
use monitor_core::snapshot::{ErrorPattern, ModelStats, error_patterns};
use monitor_core::{Figures, tracks_tokens};
use monitor_harness::OpenAiServer;
use monitor_harness::openai::{Fault, Reply, Usage};
use monitor_tests::support::site;
use std::time::Duration;

const KEY: &str = "sk-wire-test-0123456789abcdefghij";

/// Every wait of a test: the server answers within milliseconds.
const WITHIN: Duration = Duration::from_secs(20);

const USAGE: Usage = Usage {
    input: 1_200,
    cached: 800,
    output: 300,
    reasoning: 120,
};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `future` on a runtime of its own, failing the test after [`WITHIN`].
fn run<F: Future>(future: F) -> F::Output {
    runtime()
        .block_on(async { tokio::time::timeout(WITHIN, future).await })
        .expect("the client answered within the bound")
}

fn client(server: &OpenAiServer, key: &str) -> Client<OpenAIConfig> {
    Client::with_config(
        OpenAIConfig::new()
            .with_api_base(server.base_url())
            .with_api_key(key),
    )
}

/// A server that requires [`KEY`] and answers with `reply`.
fn server(reply: Reply) -> OpenAiServer {
    let server = OpenAiServer::start().unwrap();
    server.require_key(KEY);
    server.set_default(reply);
    server
}

/// o4-mini's example price: cached input at a quarter, reasoning at the output rate.
fn price(model: &str) {
    set_price(
        model,
        Price::per_million(1.10, 4.40)
            .with_cached_input(0.275)
            .with_reasoning(4.40),
    )
    .unwrap();
}

/// What [`price`] makes of `usage`: fresh input, cached input, visible output and reasoning
/// each at its rate.
fn cost_of(usage: Usage) -> f64 {
    ((usage.input - usage.cached) as f64 * 1.10
        + usage.cached as f64 * 0.275
        + (usage.output - usage.reasoning) as f64 * 4.40
        + usage.reasoning as f64 * 4.40)
        / 1e6
}

fn chat_request(model: &str, include_usage: bool) -> CreateChatCompletionRequest {
    let mut request = CreateChatCompletionRequestArgs::default();
    request
        .model(model)
        .messages([ChatCompletionRequestUserMessage::from("Name a colour.").into()]);
    if include_usage {
        request.stream_options(ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        });
    }
    request.build().unwrap()
}

/// The tokens of `figures` as the server's four counts.
fn usage_of(figures: &Figures) -> Usage {
    Usage {
        input: figures.tokens.input,
        cached: figures.tokens.cached_input,
        output: figures.tokens.output,
        reasoning: figures.tokens.reasoning,
    }
}

fn model_stats(model: &str) -> ModelStats {
    monitor_core::snapshot::models()
        .into_iter()
        .find(|m| m.model == model)
        .unwrap_or_else(|| panic!("no model {model}"))
}

/// The model the latest response named at the site `name`, for requests for `model`.
fn response_model(name: &str, model: &str) -> String {
    let snapshot = monitor_core::snapshot();
    let site = site(name);
    let entry = snapshot
        .sites
        .iter()
        .find(|s| std::ptr::eq(s.site, site))
        .unwrap_or_else(|| panic!("{name} is not in the snapshot"));
    entry.response_model(model).to_owned()
}

fn patterns_of(name: &str) -> Vec<ErrorPattern> {
    let site = site(name);
    error_patterns()
        .patterns
        .into_iter()
        .filter(|p| std::ptr::eq(p.site, site))
        .collect()
}

fn assert_close(got: Option<f64>, expected: f64) {
    let got = got.expect("a known cost");
    assert!((got - expected).abs() < 1e-12, "{got} != {expected}");
}

// ---- Chat completions -------------------------------------------------------------------------
//
// The functions return what the client returns, untouched: async-openai's own types.

#[tracks_tokens(provider = "openai", model = request.model.clone())]
async fn chat_stream(
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
) -> Result<ChatCompletionResponseStream, OpenAIError> {
    client.chat().create_stream(request).await
}

#[test]
fn a_streamed_chat_completion_is_recorded_as_the_server_sent_it() {
    let first = Duration::from_millis(150);
    let reply = Reply::new(USAGE)
        .model("wire-chat-2025-04-16")
        .pieces(5)
        .first_after(first)
        .gap(Duration::from_millis(5));
    let server = server(reply.clone());
    price("wire-chat");
    let client = client(&server, KEY);
    let text: String = run(async {
        let chunks = chat_stream(&client, chat_request("wire-chat", true))
            .await
            .unwrap();
        chunks
            .map(|c| {
                c.unwrap()
                    .choices
                    .iter()
                    .filter_map(|c| c.delta.content.clone())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .await
            .concat()
    });
    assert_eq!(text, reply.text());

    let s = site("chat_stream").stats();
    assert_eq!((s.calls(), s.errors, s.cancelled), (1, 0, 0), "{s:?}");
    assert_eq!(usage_of(&s), USAGE);
    assert_eq!(s.token_calls, 1);
    assert_eq!(s.chunks, reply.chat_events(true) as u64);
    assert_close(s.cost_usd(), cost_of(USAGE));
    assert_eq!(s.first_chunk.count(), 1);
    let ttfc = s.first_chunk.quantile(0.5);
    // The histogram's buckets are within 3 % of a value.
    assert!(ttfc >= first.mul_f64(0.97), "{ttfc:?}");
    assert_eq!(
        response_model("chat_stream", "wire-chat"),
        "wire-chat-2025-04-16"
    );
    let model = model_stats("wire-chat");
    assert_eq!(usage_of(&model.figures), USAGE);
    assert_close(model.figures.cost_usd(), cost_of(USAGE));

    // What arrived: the key, a stream, and the ask for the usage chunk.
    let requests = server.wait_for(1, WITHIN).unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert!(request.streamed() && request.include_usage(), "{request:?}");
    assert_eq!(request.body["model"], "wire-chat");
}

#[tracks_tokens(provider = "openai", model = request.model.clone())]
async fn chat_once(
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    client.chat().create(request).await
}

#[test]
fn a_chat_completion_answered_whole_is_recorded_with_its_usage_and_model() {
    let usage = Usage {
        input: 50,
        cached: 0,
        output: 9,
        reasoning: 0,
    };
    let server = server(Reply::new(usage).first_after(Duration::from_millis(40)));
    price("wire-once");
    let answer = run(chat_once(
        &client(&server, KEY),
        chat_request("wire-once", false),
    ))
    .unwrap();
    assert_eq!(answer.model, "wire-once-2025-04-16");
    let s = site("chat_once").stats();
    assert_eq!((s.calls(), s.errors, s.token_calls), (1, 0, 1));
    assert_eq!(usage_of(&s), usage);
    assert_close(s.cost_usd(), cost_of(usage));
    assert!(s.durations.max() >= Duration::from_millis(38));
    assert_eq!(
        response_model("chat_once", "wire-once"),
        "wire-once-2025-04-16"
    );
    assert!(!server.requests()[0].streamed());
}

#[tracks_tokens(provider = "openai", model = request.model.clone())]
async fn chat_no_done(
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
) -> Result<ChatCompletionResponseStream, OpenAIError> {
    client.chat().create_stream(request).await
}

#[test]
fn a_stream_that_ends_without_done_is_a_whole_call_with_the_usage_it_sent() {
    let reply = Reply::new(USAGE).fault(Fault::NoDone);
    let server = server(reply.clone());
    let items = run(async {
        let chunks = chat_no_done(&client(&server, KEY), chat_request("wire-no-done", true))
            .await
            .unwrap();
        chunks.collect::<Vec<_>>().await
    });
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    let s = site("chat_no_done").stats();
    assert_eq!((s.calls(), s.errors, s.cancelled), (1, 0, 0), "{s:?}");
    assert_eq!(s.chunks, reply.chat_events(true) as u64);
    assert_eq!(usage_of(&s), USAGE);
}

#[tracks_tokens(provider = "openai", model = request.model.clone())]
async fn chat_cut(
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
) -> Result<ChatCompletionResponseStream, OpenAIError> {
    client.chat().create_stream(request).await
}

#[test]
fn a_connection_cut_midway_fails_the_call_and_leaves_its_usage_unknown() {
    let server = server(Reply::new(USAGE).pieces(6).fault(Fault::CutAfter(3)));
    price("wire-cut");
    let items = run(async {
        let chunks = chat_cut(&client(&server, KEY), chat_request("wire-cut", true))
            .await
            .unwrap();
        chunks.collect::<Vec<_>>().await
    });
    // Three chunks, then the client's error for the body that ended midway.
    assert_eq!(items.len(), 4, "{items:?}");
    assert!(items[..3].iter().all(Result::is_ok));
    let Err(OpenAIError::StreamError(_)) = &items[3] else {
        panic!("not a stream error: {:?}", items[3]);
    };
    let s = site("chat_cut").stats();
    assert_eq!((s.calls(), s.errors, s.cancelled), (1, 1, 0), "{s:?}");
    assert_eq!(s.chunks, 4);
    // No usage came: unknown, not zero tokens counted as a metered call.
    assert_eq!((s.token_calls, s.tokens.input, s.tokens.output), (0, 0, 0));
    let patterns = patterns_of("chat_cut");
    assert_eq!(patterns.len(), 1, "{patterns:#?}");
    assert_eq!(patterns[0].error_type, "async_openai::error::OpenAIError");
    assert!(
        patterns[0].example.starts_with("stream failed"),
        "{}",
        patterns[0].example
    );
}

#[tracks_tokens(provider = "openai", model = request.model.clone())]
async fn chat_dropped(
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
) -> Result<ChatCompletionResponseStream, OpenAIError> {
    client.chat().create_stream(request).await
}

#[test]
fn a_stream_the_client_drops_before_its_usage_is_cancelled_with_its_usage_unknown() {
    let server = server(Reply::new(USAGE).pieces(10).gap(Duration::from_millis(30)));
    price("wire-dropped");
    let read = run(async {
        let chunks = chat_dropped(&client(&server, KEY), chat_request("wire-dropped", true))
            .await
            .unwrap();
        // Two chunks, then the stream is dropped: its usage chunk never comes.
        chunks.take(2).collect::<Vec<_>>().await
    });
    assert_eq!(read.len(), 2);
    let s = site("chat_dropped").stats();
    assert_eq!((s.calls(), s.errors, s.cancelled), (1, 0, 1), "{s:?}");
    assert_eq!(s.chunks, 2);
    assert_eq!((s.token_calls, s.tokens.input, s.tokens.output), (0, 0, 0));
    // Under its model, the same: a cancelled call, no usage. The models list it with that call,
    // its usage unknown.
    let snapshot = monitor_core::snapshot();
    let entry = snapshot
        .sites
        .iter()
        .find(|e| std::ptr::eq(e.site, site("chat_dropped")))
        .unwrap();
    let parts: Vec<_> = entry
        .model_parts()
        .into_iter()
        .map(|(m, f)| (m, f.cancelled, f.token_calls))
        .collect();
    assert_eq!(parts, [(Some("wire-dropped"), 1, 0)]);
    let model = model_stats("wire-dropped");
    let f = &model.figures;
    assert_eq!((f.calls(), f.cancelled, f.token_calls), (1, 1, 0));
    assert_eq!(f.tokens, monitor_core::Tokens::default());
}

#[tracks_tokens(provider = "openai", model = request.model.clone())]
async fn chat_unasked(
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
) -> Result<ChatCompletionResponseStream, OpenAIError> {
    client.chat().create_stream(request).await
}

#[test]
fn a_stream_whose_request_did_not_ask_for_usage_has_its_usage_unknown() {
    let reply = Reply::new(USAGE);
    let server = server(reply.clone());
    let items = run(async {
        let chunks = chat_unasked(&client(&server, KEY), chat_request("wire-unasked", false))
            .await
            .unwrap();
        chunks.collect::<Vec<_>>().await
    });
    assert_eq!(items.len(), reply.chat_events(false));
    assert!(!server.requests()[0].include_usage());
    let s = site("chat_unasked").stats();
    assert_eq!((s.calls(), s.errors, s.cancelled), (1, 0, 0), "{s:?}");
    assert_eq!((s.token_calls, s.tokens.input), (0, 0));
}

// ---- Failures before the stream -----------------------------------------------------------------

#[tracks_tokens(provider = "openai", model = request.model.clone())]
async fn chat_limited(
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
) -> Result<ChatCompletionResponseStream, OpenAIError> {
    client.chat().create_stream(request).await
}

#[test]
fn a_rate_limit_is_a_failed_call_that_the_client_retried_after_its_retry_after() {
    // async-openai retries a 429 three times, after the server's `retry-after`: four refusals
    // fail the call.
    let server = server(Reply::failing(Fault::RateLimited {
        retry_after: Duration::ZERO,
    }));
    let result = run(chat_limited(
        &client(&server, KEY),
        chat_request("wire-limited", true),
    ));
    let Err(OpenAIError::ApiError(e)) = &result else {
        panic!("not an API error: {:?}", result.map(|_| ()));
    };
    assert_eq!(e.status_code.as_u16(), 429);
    assert_eq!(e.api_error.code.as_deref(), Some("rate_limit_exceeded"));
    assert_eq!(server.wait_for(4, WITHIN).unwrap().len(), 4);
    let s = site("chat_limited").stats();
    assert_eq!((s.calls(), s.errors, s.token_calls), (1, 1, 0), "{s:?}");
    let patterns = patterns_of("chat_limited");
    assert_eq!(patterns.len(), 1, "{patterns:#?}");
    assert_eq!(patterns[0].error_type, "async_openai::error::OpenAIError");
    assert!(
        patterns[0]
            .example
            .starts_with("429 Too Many Requests requests: Rate limit reached for wire-limited"),
        "{}",
        patterns[0].example
    );
}

#[tracks_tokens(provider = "openai", model = request.model.clone())]
async fn chat_refused(
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
) -> Result<ChatCompletionResponseStream, OpenAIError> {
    client.chat().create_stream(request).await
}

#[test]
fn a_wrong_key_is_a_401_whose_message_never_holds_the_key() {
    let server = server(Reply::new(USAGE));
    let wrong = "sk-wrong-key-abcdefghijklmnopqrstuvwxyz";
    let result = run(chat_refused(
        &client(&server, wrong),
        chat_request("wire-refused", true),
    ));
    let Err(OpenAIError::ApiError(e)) = &result else {
        panic!("not an API error: {:?}", result.map(|_| ()));
    };
    assert_eq!(e.status_code.as_u16(), 401);
    assert_eq!(e.api_error.code.as_deref(), Some("invalid_api_key"));
    // One request: a 401 is not retried.
    assert_eq!(server.request_count(), 1);
    let s = site("chat_refused").stats();
    assert_eq!((s.calls(), s.errors), (1, 1), "{s:?}");
    let patterns = patterns_of("chat_refused");
    assert_eq!(patterns.len(), 1, "{patterns:#?}");
    assert!(patterns[0].example.starts_with("401 Unauthorized"));
    let everything = format!("{:?}", error_patterns());
    assert!(!everything.contains(wrong) && !everything.contains(KEY));
}

// ---- Responses API ------------------------------------------------------------------------------

#[tracks_tokens(provider = "openai", operation = "chat", model = "wire-responses")]
async fn respond_stream(client: &Client<OpenAIConfig>) -> Result<ResponseStream, OpenAIError> {
    let request = CreateResponseArgs::default()
        .model("wire-responses")
        .input("Name a colour.")
        .build()?;
    client.responses().create_stream(request).await
}

#[test]
fn a_streamed_response_is_recorded_from_its_completed_event() {
    let first = Duration::from_millis(120);
    let reply = Reply::new(USAGE).pieces(4).first_after(first);
    let server = server(reply.clone());
    price("wire-responses");
    let events = run(async {
        let events = respond_stream(&client(&server, KEY)).await.unwrap();
        events.collect::<Vec<_>>().await
    });
    assert_eq!(events.len(), reply.response_events());
    assert!(events.iter().all(Result::is_ok), "{events:?}");
    let s = site("respond_stream").stats();
    assert_eq!((s.calls(), s.errors, s.cancelled), (1, 0, 0), "{s:?}");
    assert_eq!(usage_of(&s), USAGE);
    assert_eq!(s.chunks, reply.response_events() as u64);
    assert_close(s.cost_usd(), cost_of(USAGE));
    assert!(s.first_chunk.quantile(0.5) >= first.mul_f64(0.97));
    assert_eq!(
        response_model("respond_stream", "wire-responses"),
        "wire-responses-2025-04-16"
    );
    let request = &server.requests()[0];
    assert_eq!(request.path, "/v1/responses");
    assert!(request.streamed());
}

#[tracks_tokens(provider = "openai", model = "wire-response-once")]
async fn respond_once(client: &Client<OpenAIConfig>) -> Result<Response, OpenAIError> {
    let request = CreateResponseArgs::default()
        .model("wire-response-once")
        .input("Name a colour.")
        .build()?;
    client.responses().create(request).await
}

#[test]
fn a_response_answered_whole_is_recorded_with_its_usage() {
    let server = server(Reply::new(USAGE));
    let response = run(respond_once(&client(&server, KEY))).unwrap();
    assert_eq!(response.model, "wire-response-once-2025-04-16");
    let s = site("respond_once").stats();
    assert_eq!((s.calls(), s.errors, s.token_calls), (1, 0, 1));
    assert_eq!(usage_of(&s), USAGE);
}

#[tracks_tokens(provider = "openai", model = "wire-response-fails")]
async fn respond_stream_failing(
    client: &Client<OpenAIConfig>,
) -> Result<ResponseStream, OpenAIError> {
    let request = CreateResponseArgs::default()
        .model("wire-response-fails")
        .input("Name a colour.")
        .build()?;
    client.responses().create_stream(request).await
}

#[tracks_tokens(provider = "openai", model = "wire-response-fails")]
async fn respond_once_failing(client: &Client<OpenAIConfig>) -> Result<Response, OpenAIError> {
    let request = CreateResponseArgs::default()
        .model("wire-response-fails")
        .input("Name a colour.")
        .build()?;
    client.responses().create(request).await
}

#[test]
fn a_response_the_model_failed_is_a_failed_call_with_its_usage() {
    let reply = Reply::new(USAGE).fault(Fault::ModelFailed);
    let server = server(reply.clone());
    price("wire-response-fails");
    let client = client(&server, KEY);
    // The client hands both back as successes: a `response.failed` event, a `failed` response.
    let events = run(async {
        let events = respond_stream_failing(&client).await.unwrap();
        events.collect::<Vec<_>>().await
    });
    assert!(events.iter().all(Result::is_ok), "{events:?}");
    assert_eq!(events.len(), reply.response_events());
    let response = run(respond_once_failing(&client)).unwrap();
    assert_eq!(
        response.error.map(|e| e.message).as_deref(),
        Some("The model failed to generate a response.")
    );
    for name in ["respond_stream_failing", "respond_once_failing"] {
        let s = site(name).stats();
        assert_eq!(
            (s.calls(), s.errors, s.cancelled, s.token_calls),
            (1, 1, 0, 1),
            "{name}: {s:?}"
        );
        // The tokens spent before the failure are counted and priced.
        assert_eq!(usage_of(&s), USAGE, "{name}");
        assert_close(s.cost_usd(), cost_of(USAGE));
        let pattern = error_patterns()
            .patterns
            .into_iter()
            .find(|p| p.site.name() == name)
            .expect("the failure is filed with its pattern");
        assert_eq!(pattern.error_type, "server_error", "{name}: {pattern:?}");
    }
}

// ---- Embeddings ---------------------------------------------------------------------------------

#[tracks_tokens(provider = "openai", operation = "embeddings", model = "wire-embed")]
async fn embed(client: &Client<OpenAIConfig>) -> Result<CreateEmbeddingResponse, OpenAIError> {
    let request = CreateEmbeddingRequestArgs::default()
        .model("wire-embed")
        .input(["a bakery", "a bookshop"])
        .build()?;
    client.embeddings().create(request).await
}

#[test]
fn embeddings_are_recorded_as_input_tokens_only() {
    let usage = Usage {
        input: 17,
        ..Usage::default()
    };
    let server = server(Reply::new(usage));
    set_price("wire-embed", Price::per_million(0.02, 0.0)).unwrap();
    let response = run(embed(&client(&server, KEY))).unwrap();
    assert_eq!(response.data.len(), 2);
    let s = site("embed").stats();
    assert_eq!((s.calls(), s.errors, s.token_calls), (1, 0, 1));
    assert_eq!(usage_of(&s), usage);
    assert_close(s.cost_usd(), 17.0 * 0.02 / 1e6);
    assert_eq!(server.requests()[0].path, "/v1/embeddings");
}
