//! async-openai's own types (feature `async-openai`), deserialized from the JSON OpenAI documents,
//! returned by `#[tracks_tokens(provider = "openai")]` functions with no code of ours: every kind
//! of token, the model, the cost, the stream's first chunk and chunks, and a stream cut off before
//! its usage chunk, whose usage is unknown rather than zero.
//!
//! The streams are returned as async-openai's client names them, `Result<ChatCompletionResponseStream,
//! OpenAIError>`: an alias of a `Pin<Box<dyn Stream<…> + Send>>` that the types-only dependency
//! cannot name, written here through local aliases, so that the macro sees no stream in the
//! signature and measures the value by its type.
//!
//! Its own binary: every run is kept as a trace (`always_on`), to read the spans back.

use async_openai::error::OpenAIError;
use async_openai::types::chat::{CreateChatCompletionResponse, CreateChatCompletionStreamResponse};
use async_openai::types::embeddings::CreateEmbeddingResponse;
use async_openai::types::responses::{Response, ResponseStreamEvent};
use futures_util::{Stream, StreamExt, stream};
use monitor_core::pricing::{Price, set_price};
use monitor_core::trace::{self, KeptRun, KeptSpan, Sampler, SpanOutcome};
use monitor_core::{Config, TokenUsage, Tokens, tracks_tokens};
use monitor_tests::support::site;
use std::pin::Pin;
use std::sync::{Arc, Once};
use std::time::Duration;

const EPS: f64 = 1e-12;

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        Config::new()
            .traces(true)
            .trace_sampler(Sampler::AlwaysOn)
            .apply()
            .unwrap();
        for (model, price) in [
            (
                "gpt-4o-2024-08-06",
                Price::per_million(2.50, 10.00).with_cached_input(1.25),
            ),
            (
                "o3-mini-2025-01-31",
                Price::per_million(1.10, 4.40).with_cached_input(0.55),
            ),
            (
                "gpt-4.1-2025-04-14",
                Price::per_million(2.00, 8.00).with_cached_input(0.50),
            ),
            ("text-embedding-3-small", Price::per_million(0.02, 0.0)),
        ] {
            set_price(model, price).unwrap();
        }
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// The one kept run whose root is the site `root`, and that root's span: each test's function is
/// the outermost instrumented call, so it is the root of a run of its own.
fn only_span_of(root: &str) -> (Arc<KeptRun>, KeptSpan) {
    let runs: Vec<_> = trace::recent_runs()
        .into_iter()
        .filter(|r| r.root().site.name() == root)
        .collect();
    assert_eq!(runs.len(), 1, "runs of {root}: {runs:#?}");
    let span = runs[0].root().clone();
    (runs[0].clone(), span)
}

fn cost_of(model: &str, tokens: &Tokens) -> f64 {
    monitor_core::pricing::price_of(model)
        .unwrap()
        .cost_usd(tokens)
}

// --- Chat Completions --------------------------------------------------------------------------

/// A chat completion by a reasoning model, as OpenAI documents it (`POST /v1/chat/completions`),
/// with cached prompt tokens and reasoning tokens.
const CHAT_COMPLETION: &str = include_str!("../fixtures/openai_chat_completion.json");

const CHAT_TOKENS: Tokens = Tokens::new(1117, 346).cached(1024).reasoning(256);

fn chat_completion() -> CreateChatCompletionResponse {
    serde_json::from_str(CHAT_COMPLETION).unwrap()
}

#[tracks_tokens(provider = "openai")]
fn oai_chat() -> Result<CreateChatCompletionResponse, OpenAIError> {
    Ok(chat_completion())
}

#[test]
fn a_chat_completion_reports_every_kind_its_model_and_its_cost() {
    setup();
    let response = oai_chat().unwrap();
    // The impl reads the response as OpenAI counts it: cached and reasoning tokens are parts.
    assert_eq!(response.token_usage(), CHAT_TOKENS);
    assert_eq!(response.model(), Some("o3-mini-2025-01-31"));

    let s = site("oai_chat").stats();
    assert_eq!((s.calls(), s.errors, s.token_calls), (1, 0, 1));
    assert_eq!(s.tokens, CHAT_TOKENS);
    // 93 fresh input at 1.10, 1,024 cached at 0.55, 346 output (256 of them reasoning) at 4.40.
    let expected = (93.0 * 1.10 + 1024.0 * 0.55 + 346.0 * 4.40) / 1e6;
    assert!((s.cost_usd().unwrap() - expected).abs() < EPS, "{s:?}");

    let (_, span) = only_span_of("oai_chat");
    assert_eq!(span.outcome, SpanOutcome::Ok);
    assert_eq!(span.tokens, Some(CHAT_TOKENS));
    assert_eq!(span.model, Some("o3-mini-2025-01-31"));
    assert_eq!(span.response_model, Some("o3-mini-2025-01-31"));
    assert!(
        (span.cost_usd().unwrap() - expected).abs() < EPS,
        "{span:?}"
    );
    assert_eq!((span.chunks, span.first_chunk), (None, None));
}

#[tracks_tokens(provider = "openai")]
fn oai_chat_failing() -> Result<CreateChatCompletionResponse, OpenAIError> {
    Err(OpenAIError::InvalidArgument("max_tokens: too large".into()))
}

#[test]
fn a_failed_chat_completion_is_an_error_without_usage() {
    setup();
    assert!(oai_chat_failing().is_err());
    let s = site("oai_chat_failing").stats();
    assert_eq!((s.calls(), s.errors, s.token_calls), (1, 1, 0));
    assert_eq!(s.tokens, Tokens::default());
    let (run, span) = only_span_of("oai_chat_failing");
    assert_eq!(span.outcome, SpanOutcome::Error);
    assert_eq!(span.tokens, None);
    assert_eq!(
        span.error_message.as_deref(),
        Some("invalid args: max_tokens: too large")
    );
    assert_eq!(run.kept, trace::KeepReason::Failed);
}

#[tracks_tokens(provider = "openai")]
fn oai_chat_without_usage() -> CreateChatCompletionResponse {
    CreateChatCompletionResponse {
        usage: None,
        ..chat_completion()
    }
}

#[test]
fn a_chat_completion_without_usage_has_its_usage_unknown_not_zero() {
    setup();
    oai_chat_without_usage();
    let s = site("oai_chat_without_usage").stats();
    assert_eq!((s.calls(), s.errors, s.token_calls), (1, 0, 0));
    assert_eq!(s.cost_usd(), Some(0.0)); // no call priced, none unpriced: nothing was spent that we know of
    let (_, span) = only_span_of("oai_chat_without_usage");
    assert_eq!(span.tokens, None);
    assert_eq!(span.cost_by_kind_usd, None);
    // The response still names the model that answered.
    assert_eq!(span.response_model, Some("o3-mini-2025-01-31"));
}

// --- Chat Completions, streamed ---------------------------------------------------------------

/// The chunks of a streamed chat completion with `stream_options: {"include_usage": true}`, as
/// OpenAI documents them: `usage` is `null` in every chunk but the last, whose `choices` are empty.
const CHAT_CHUNKS: [&str; 4] = [
    r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}"#,
    r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_44709d6fcb","choices":[],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}"#,
];

const STREAM_TOKENS: Tokens = Tokens::new(2006, 300).cached(1920);

/// What async-openai's `ChatCompletionResponseStream` is, in a crate that cannot name it.
type ChatCompletionResponseStream =
    Pin<Box<dyn Stream<Item = Result<CreateChatCompletionStreamResponse, OpenAIError>> + Send>>;

/// The chunks, the first after `first_ms`, the others 2 ms apart; without the usage chunk unless
/// `include_usage`.
fn chat_chunks(first_ms: u64, include_usage: bool) -> ChatCompletionResponseStream {
    let n = if include_usage { 4 } else { 3 };
    let chunks: Vec<CreateChatCompletionStreamResponse> = CHAT_CHUNKS[..n]
        .iter()
        .map(|json| serde_json::from_str(json).unwrap())
        .collect();
    Box::pin(
        stream::iter(chunks)
            .enumerate()
            .then(move |(i, chunk)| async move {
                let wait = if i == 0 { first_ms } else { 2 };
                tokio::time::sleep(Duration::from_millis(wait)).await;
                Ok(chunk)
            }),
    )
}

#[tracks_tokens(provider = "openai")]
fn oai_stream(include_usage: bool) -> Result<ChatCompletionResponseStream, OpenAIError> {
    Ok(chat_chunks(30, include_usage))
}

#[test]
fn a_chat_stream_behind_an_alias_is_measured_as_a_stream() {
    setup();
    let chunks: Vec<_> = runtime().block_on(oai_stream(true).unwrap().collect());
    assert_eq!(chunks.len(), 4);
    assert!(chunks.iter().all(Result::is_ok));
    let s = site("oai_stream").stats();
    assert_eq!((s.calls(), s.errors, s.cancelled), (1, 0, 0));
    assert_eq!((s.chunks, s.token_calls), (4, 1));
    assert_eq!(s.tokens, STREAM_TOKENS);
    let expected = cost_of("gpt-4o-2024-08-06", &STREAM_TOKENS);
    // 86 fresh input at 2.50, 1,920 cached at 1.25, 300 output at 10.00.
    assert!((expected - (86.0 * 2.50 + 1920.0 * 1.25 + 300.0 * 10.00) / 1e6).abs() < EPS);
    assert!((s.cost_usd().unwrap() - expected).abs() < EPS, "{s:?}");
    // The call lasts to the stream's end: the first chunk comes 30 ms after the call.
    let first = s.first_chunk.quantile(0.5);
    assert_eq!(s.first_chunk.count(), 1);
    assert!(first >= Duration::from_millis(29), "{first:?}");
    assert!(s.durations.max() >= first, "{s:?}");

    let (_, span) = only_span_of("oai_stream");
    assert_eq!(span.outcome, SpanOutcome::Ok);
    assert_eq!(span.tokens, Some(STREAM_TOKENS));
    assert_eq!(span.model, Some("gpt-4o-2024-08-06"));
    assert_eq!(span.response_model, Some("gpt-4o-2024-08-06"));
    assert_eq!(span.chunks, Some(4));
    assert!(
        span.first_chunk
            .is_some_and(|d| d >= Duration::from_millis(29))
    );
    assert!(
        (span.cost_usd().unwrap() - expected).abs() < EPS,
        "{span:?}"
    );
}

#[tracks_tokens(provider = "openai")]
async fn oai_stream_async(
    include_usage: bool,
) -> Result<ChatCompletionResponseStream, OpenAIError> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    Ok(chat_chunks(5, include_usage))
}

#[test]
fn an_async_fn_returning_the_alias_is_measured_as_a_stream() {
    setup();
    let rt = runtime();
    let chunks: Vec<_> =
        rt.block_on(async { oai_stream_async(true).await.unwrap().collect().await });
    assert_eq!(chunks.len(), 4);
    let s = site("oai_stream_async").stats();
    assert_eq!((s.calls(), s.chunks, s.token_calls), (1, 4, 1));
    assert_eq!(s.tokens, STREAM_TOKENS);
    // The first chunk, counted from the call: the 5 ms before the stream was returned, and 5 more.
    assert!(
        s.first_chunk.quantile(0.5) >= Duration::from_millis(9),
        "{s:?}"
    );
    let (_, span) = only_span_of("oai_stream_async");
    assert_eq!((span.tokens, span.chunks), (Some(STREAM_TOKENS), Some(4)));
}

#[tracks_tokens(provider = "openai")]
fn oai_stream_cut_off() -> Result<ChatCompletionResponseStream, OpenAIError> {
    Ok(chat_chunks(1, true))
}

#[test]
fn a_chat_stream_dropped_before_its_usage_chunk_is_cancelled_with_its_usage_unknown() {
    setup();
    let rt = runtime();
    rt.block_on(async {
        let mut chunks = oai_stream_cut_off().unwrap();
        for _ in 0..2 {
            assert!(chunks.next().await.unwrap().is_ok());
        }
        // Dropped: the usage chunk never came.
    });
    let s = site("oai_stream_cut_off").stats();
    assert_eq!((s.calls(), s.cancelled, s.errors), (1, 1, 0));
    assert_eq!(s.chunks, 2);
    // Never zero tokens: the call reported none, and is not among the calls with usage.
    assert_eq!((s.token_calls, s.tokens), (0, Tokens::default()));
    assert_eq!(s.tokens_per_call[0].iter().sum::<u64>(), 0);
    let (run, span) = only_span_of("oai_stream_cut_off");
    assert_eq!(span.outcome, SpanOutcome::Cancelled);
    assert_eq!(run.kept, trace::KeepReason::Cancelled);
    assert_eq!((span.tokens, span.cost_by_kind_usd), (None, None));
    assert_eq!(span.chunks, Some(2));
    // The chunks named the model, so the span does.
    assert_eq!(span.response_model, Some("gpt-4o-2024-08-06"));
}

#[tracks_tokens(provider = "openai")]
fn oai_stream_without_usage() -> Result<ChatCompletionResponseStream, OpenAIError> {
    Ok(chat_chunks(1, false))
}

#[test]
fn a_chat_stream_that_did_not_ask_for_usage_ends_with_its_usage_unknown() {
    setup();
    let chunks: Vec<_> = runtime().block_on(oai_stream_without_usage().unwrap().collect());
    assert_eq!(chunks.len(), 3);
    let s = site("oai_stream_without_usage").stats();
    assert_eq!((s.calls(), s.cancelled, s.errors, s.chunks), (1, 0, 0, 3));
    assert_eq!((s.token_calls, s.tokens), (0, Tokens::default()));
    let (_, span) = only_span_of("oai_stream_without_usage");
    assert_eq!((span.outcome, span.tokens), (SpanOutcome::Ok, None));
}

#[tracks_tokens(provider = "openai")]
fn oai_stream_refused() -> Result<ChatCompletionResponseStream, OpenAIError> {
    Err(OpenAIError::InvalidArgument("stream: unsupported".into()))
}

#[test]
fn an_err_instead_of_a_stream_ends_the_call_there() {
    setup();
    assert!(oai_stream_refused().is_err());
    let s = site("oai_stream_refused").stats();
    assert_eq!((s.calls(), s.errors, s.chunks, s.token_calls), (1, 1, 0, 0));
    let (_, span) = only_span_of("oai_stream_refused");
    assert_eq!(span.outcome, SpanOutcome::Error);
    assert_eq!(
        span.error_message.as_deref(),
        Some("invalid args: stream: unsupported")
    );
    assert_eq!((span.tokens, span.chunks), (None, None));
}

/// A stream with the auto traits in another order and `Sync` too, unpinned and `Unpin`: measured
/// all the same, and returned as that type.
type UnpinnedChunks = Box<
    dyn Stream<Item = Result<CreateChatCompletionStreamResponse, OpenAIError>>
        + Sync
        + Unpin
        + Send,
>;

#[tracks_tokens(provider = "openai")]
fn oai_stream_unpinned() -> UnpinnedChunks {
    let chunks: Vec<Result<CreateChatCompletionStreamResponse, OpenAIError>> = CHAT_CHUNKS
        .iter()
        .map(|json| Ok(serde_json::from_str(json).unwrap()))
        .collect();
    Box::new(stream::iter(chunks))
}

#[test]
fn an_unpinned_sync_stream_is_measured_and_keeps_its_type() {
    setup();
    let stream: UnpinnedChunks = oai_stream_unpinned();
    let chunks: Vec<_> = runtime().block_on(stream.collect());
    assert_eq!(chunks.len(), 4);
    let s = site("oai_stream_unpinned").stats();
    assert_eq!((s.calls(), s.chunks, s.tokens), (1, 4, STREAM_TOKENS));
}

// --- Responses API ------------------------------------------------------------------------------

/// A response of the Responses API (`POST /v1/responses`) as OpenAI documents it, with cached and
/// reasoning tokens.
const RESPONSE: &str = r#"{
  "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
  "object": "response",
  "created_at": 1741476542,
  "status": "completed",
  "error": null,
  "incomplete_details": null,
  "instructions": null,
  "max_output_tokens": null,
  "model": "gpt-4.1-2025-04-14",
  "output": [
    {
      "type": "message",
      "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b",
      "status": "completed",
      "role": "assistant",
      "content": [
        {
          "type": "output_text",
          "text": "In a peaceful grove beneath a silver moon, a unicorn named Lumina discovered a hidden pool.",
          "annotations": []
        }
      ]
    }
  ],
  "parallel_tool_calls": true,
  "previous_response_id": null,
  "reasoning": {
    "effort": null,
    "summary": null
  },
  "store": true,
  "temperature": 1.0,
  "text": {
    "format": {
      "type": "text"
    }
  },
  "tool_choice": "auto",
  "tools": [],
  "top_p": 1.0,
  "truncation": "disabled",
  "usage": {
    "input_tokens": 3600,
    "input_tokens_details": {
      "cached_tokens": 3072
    },
    "output_tokens": 700,
    "output_tokens_details": {
      "reasoning_tokens": 512
    },
    "total_tokens": 4300
  },
  "user": null,
  "metadata": {}
}"#;

const RESPONSE_TOKENS: Tokens = Tokens::new(3600, 700).cached(3072).reasoning(512);

fn response() -> Response {
    serde_json::from_str(RESPONSE).unwrap()
}

#[tracks_tokens(provider = "openai")]
async fn oai_response() -> Result<Response, OpenAIError> {
    Ok(response())
}

#[test]
fn a_response_reports_its_cached_and_reasoning_tokens() {
    setup();
    runtime().block_on(oai_response()).unwrap();
    let s = site("oai_response").stats();
    assert_eq!(
        (s.calls(), s.token_calls, s.tokens),
        (1, 1, RESPONSE_TOKENS)
    );
    let expected = cost_of("gpt-4.1-2025-04-14", &RESPONSE_TOKENS);
    // 528 fresh input at 2.00, 3,072 cached at 0.50, 700 output at 8.00.
    assert!((expected - (528.0 * 2.00 + 3072.0 * 0.50 + 700.0 * 8.00) / 1e6).abs() < EPS);
    assert!((s.cost_usd().unwrap() - expected).abs() < EPS, "{s:?}");
    let (_, span) = only_span_of("oai_response");
    assert_eq!(span.tokens, Some(RESPONSE_TOKENS));
    assert_eq!(span.response_model, Some("gpt-4.1-2025-04-14"));
}

/// A streamed response's events, as OpenAI documents them: `response.created` (the response so
/// far, without usage), text deltas, `response.completed` (the whole response, with usage).
fn response_events() -> Vec<ResponseStreamEvent> {
    let mut created = response();
    created.status = serde_json::from_str(r#""in_progress""#).unwrap();
    created.usage = None;
    created.output.clear();
    let created = serde_json::json!({
        "type": "response.created",
        "sequence_number": 0,
        "response": created,
    });
    let delta = |n: u64, text: &str| {
        serde_json::json!({
            "type": "response.output_text.delta",
            "item_id": "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b",
            "output_index": 0,
            "content_index": 0,
            "delta": text,
            "logprobs": [],
            "sequence_number": n,
        })
    };
    let completed = serde_json::json!({
        "type": "response.completed",
        "sequence_number": 3,
        "response": serde_json::from_str::<serde_json::Value>(RESPONSE).unwrap(),
    });
    [
        created,
        delta(1, "In a peaceful"),
        delta(2, " grove"),
        completed,
    ]
    .into_iter()
    .map(|event| serde_json::from_value(event).unwrap())
    .collect()
}

/// What async-openai's `ResponseStream` is, in a crate that cannot name it.
type ResponseStream = Pin<Box<dyn Stream<Item = Result<ResponseStreamEvent, OpenAIError>> + Send>>;

/// The events, 2 ms apart.
fn response_stream() -> ResponseStream {
    let events = response_events().into_iter().map(Ok);
    Box::pin(stream::iter(events).then(|event| async move {
        tokio::time::sleep(Duration::from_millis(2)).await;
        event
    }))
}

#[tracks_tokens(provider = "openai")]
async fn oai_response_stream() -> Result<ResponseStream, OpenAIError> {
    Ok(response_stream())
}

#[test]
fn a_response_stream_takes_its_usage_from_response_completed() {
    setup();
    let rt = runtime();
    let events: Vec<_> =
        rt.block_on(async { oai_response_stream().await.unwrap().collect().await });
    assert_eq!(events.len(), 4);
    // Only `response.completed` carries usage; `response.created` names the model.
    let events: Vec<ResponseStreamEvent> = events.into_iter().map(Result::unwrap).collect();
    let with_usage: Vec<bool> = events.iter().map(TokenUsage::has_usage).collect();
    assert_eq!(with_usage, [false, false, false, true]);
    assert_eq!(events[0].model(), Some("gpt-4.1-2025-04-14"));

    let s = site("oai_response_stream").stats();
    assert_eq!((s.calls(), s.chunks, s.token_calls), (1, 4, 1));
    assert_eq!(s.tokens, RESPONSE_TOKENS);
    let expected = cost_of("gpt-4.1-2025-04-14", &RESPONSE_TOKENS);
    assert!((s.cost_usd().unwrap() - expected).abs() < EPS, "{s:?}");
    let (_, span) = only_span_of("oai_response_stream");
    assert_eq!(span.tokens, Some(RESPONSE_TOKENS));
    assert_eq!(span.chunks, Some(4));
    assert!(
        span.first_chunk
            .is_some_and(|d| d >= Duration::from_millis(2))
    );
    assert_eq!(span.model, Some("gpt-4.1-2025-04-14"));
}

#[tracks_tokens(provider = "openai")]
async fn oai_response_stream_cut_off() -> Result<ResponseStream, OpenAIError> {
    Ok(response_stream())
}

#[test]
fn a_response_stream_dropped_before_response_completed_has_its_usage_unknown() {
    setup();
    runtime().block_on(async {
        let mut events = oai_response_stream_cut_off().await.unwrap();
        for _ in 0..3 {
            assert!(events.next().await.unwrap().is_ok());
        }
    });
    let s = site("oai_response_stream_cut_off").stats();
    assert_eq!((s.calls(), s.cancelled, s.chunks), (1, 1, 3));
    assert_eq!((s.token_calls, s.tokens), (0, Tokens::default()));
    let (run, span) = only_span_of("oai_response_stream_cut_off");
    assert_eq!((span.outcome, span.tokens), (SpanOutcome::Cancelled, None));
    assert_eq!(
        (span.chunks, run.tokens_under(span.id)),
        (Some(3), Tokens::default())
    );
    assert_eq!(span.response_model, Some("gpt-4.1-2025-04-14"));
}

/// A response that failed, as the API returns one: `status: "failed"` and an `error` with its code,
/// the tokens spent before it failed still in `usage`.
fn failed_response(code: &str) -> Response {
    let mut response: serde_json::Value = serde_json::from_str(RESPONSE).unwrap();
    response["status"] = "failed".into();
    response["error"] =
        serde_json::json!({"code": code, "message": "The model failed to generate a response."});
    response["output"] = serde_json::json!([]);
    serde_json::from_value(response).unwrap()
}

#[tracks_tokens(provider = "openai")]
async fn oai_response_failed() -> Result<Response, OpenAIError> {
    Ok(failed_response("server_error"))
}

#[tracks_tokens(provider = "openai")]
async fn oai_response_incomplete() -> Result<Response, OpenAIError> {
    let mut response: serde_json::Value = serde_json::from_str(RESPONSE).unwrap();
    response["status"] = "incomplete".into();
    response["incomplete_details"] = serde_json::json!({"reason": "max_output_tokens"});
    Ok(serde_json::from_value(response).unwrap())
}

#[test]
fn a_failed_response_is_a_failed_call_whose_tokens_still_count() {
    setup();
    let rt = runtime();
    let response = rt.block_on(oai_response_failed()).unwrap();
    assert_eq!(
        response.failure().map(|f| f.error_type),
        Some("server_error")
    );
    let s = site("oai_response_failed").stats();
    assert_eq!((s.calls(), s.errors, s.token_calls), (1, 1, 1));
    assert_eq!(s.tokens, RESPONSE_TOKENS);
    let expected = cost_of("gpt-4.1-2025-04-14", &RESPONSE_TOKENS);
    assert!((s.cost_usd().unwrap() - expected).abs() < EPS, "{s:?}");
    let (_, span) = only_span_of("oai_response_failed");
    assert_eq!(span.outcome, SpanOutcome::Error);
    assert_eq!(span.error_type, Some("server_error"));
    assert_eq!(
        span.error_message.as_deref(),
        Some("The model failed to generate a response.")
    );
    assert_eq!(span.tokens, Some(RESPONSE_TOKENS));

    // Cut short at `max_output_tokens`, it answered: no failure.
    rt.block_on(oai_response_incomplete()).unwrap();
    let s = site("oai_response_incomplete").stats();
    assert_eq!((s.calls(), s.errors, s.token_calls), (1, 0, 1));
    let (_, span) = only_span_of("oai_response_incomplete");
    assert_eq!((span.outcome, span.error_type), (SpanOutcome::Ok, None));
}

/// The events of a stream that fails: `response.created`, a delta, then `last`.
fn failing_stream(last: serde_json::Value) -> ResponseStream {
    let mut events = response_events();
    events.truncate(2);
    events.push(serde_json::from_value(last).unwrap());
    Box::pin(stream::iter(events.into_iter().map(Ok)))
}

#[tracks_tokens(provider = "openai")]
async fn oai_response_stream_failed() -> Result<ResponseStream, OpenAIError> {
    Ok(failing_stream(serde_json::json!({
        "type": "response.failed",
        "sequence_number": 2,
        "response": failed_response("rate_limit_exceeded"),
    })))
}

#[tracks_tokens(provider = "openai")]
async fn oai_response_stream_error_event() -> Result<ResponseStream, OpenAIError> {
    Ok(failing_stream(serde_json::json!({
        "type": "error",
        "sequence_number": 2,
        "code": "overloaded",
        "message": "The server is overloaded.",
        "param": null,
    })))
}

#[test]
fn a_stream_ending_in_response_failed_or_an_error_event_is_a_failed_call() {
    setup();
    let rt = runtime();
    // async-openai yields both as `Ok` events: only their type says the call failed.
    let events: Vec<_> =
        rt.block_on(async { oai_response_stream_failed().await.unwrap().collect().await });
    assert!(events.iter().all(Result::is_ok) && events.len() == 3);
    let s = site("oai_response_stream_failed").stats();
    assert_eq!((s.calls(), s.errors, s.cancelled, s.chunks), (1, 1, 0, 3));
    // `response.failed` carries the usage of the tokens spent before the failure.
    assert_eq!((s.token_calls, s.tokens), (1, RESPONSE_TOKENS));
    let (_, span) = only_span_of("oai_response_stream_failed");
    assert_eq!(
        (span.outcome, span.error_type),
        (SpanOutcome::Error, Some("rate_limit_exceeded"))
    );
    assert_eq!(span.tokens, Some(RESPONSE_TOKENS));

    // An `error` event with a code the API does not document: its code goes in the message, so
    // that error types stay a small fixed set.
    let events: Vec<_> = rt.block_on(async {
        oai_response_stream_error_event()
            .await
            .unwrap()
            .collect()
            .await
    });
    assert_eq!(events.len(), 3);
    let s = site("oai_response_stream_error_event").stats();
    assert_eq!((s.calls(), s.errors, s.chunks), (1, 1, 3));
    // No event carried usage: it is unknown, not zero.
    assert_eq!(s.token_calls, 0);
    let (_, span) = only_span_of("oai_response_stream_error_event");
    assert_eq!(
        (span.outcome, span.error_type, span.tokens),
        (SpanOutcome::Error, Some("stream_error"), None)
    );
    assert_eq!(
        span.error_message.as_deref(),
        Some("overloaded: The server is overloaded.")
    );
}

// --- Embeddings ---------------------------------------------------------------------------------

/// Embeddings (`POST /v1/embeddings`) as OpenAI documents them.
const EMBEDDINGS: &str = r#"{
  "object": "list",
  "data": [
    {
      "object": "embedding",
      "embedding": [0.0023064255, -0.009327292, -0.0028842222],
      "index": 0
    }
  ],
  "model": "text-embedding-3-small",
  "usage": {
    "prompt_tokens": 8,
    "total_tokens": 8
  }
}"#;

#[tracks_tokens(provider = "openai", operation = "embeddings")]
fn oai_embed() -> Result<CreateEmbeddingResponse, OpenAIError> {
    Ok(serde_json::from_str(EMBEDDINGS).unwrap())
}

#[test]
fn embeddings_report_their_input_tokens() {
    setup();
    oai_embed().unwrap();
    let s = site("oai_embed").stats();
    assert_eq!((s.calls(), s.token_calls), (1, 1));
    assert_eq!(s.tokens, Tokens::new(8, 0));
    assert!((s.cost_usd().unwrap() - 8.0 * 0.02 / 1e6).abs() < EPS);
    let (_, span) = only_span_of("oai_embed");
    assert_eq!(span.tokens, Some(Tokens::new(8, 0)));
    assert_eq!(span.response_model, Some("text-embedding-3-small"));
}
