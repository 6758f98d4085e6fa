//! [`TokenUsage`] for async-openai's response types (feature `async-openai`): the orphan rule
//! keeps users from implementing monitor's trait for another crate's types, so the support for
//! the most used client lives here.
//!
//! OpenAI counts cached and cache-written tokens inside `prompt_tokens` / `input_tokens`, and
//! reasoning tokens inside `completion_tokens` / `output_tokens`, as [`Tokens`] does: the figures
//! are taken as they come.

use super::tokens::{Failure, TokenUsage, Tokens};
use async_openai::types::chat::{
    CompletionUsage, CreateChatCompletionResponse, CreateChatCompletionStreamResponse,
};
use async_openai::types::embeddings::{
    CreateBase64EmbeddingResponse, CreateEmbeddingResponse, EmbeddingUsage,
};
use async_openai::types::responses::{Response, ResponseStreamEvent, ResponseUsage, Status};
use std::borrow::Cow;

/// A count the API sends as a signed number (`cache_write_tokens`); a negative one is none.
fn count(n: Option<i64>) -> u64 {
    n.map_or(0, |n| u64::try_from(n).unwrap_or(0))
}

/// Chat Completions' usage: `prompt_tokens` (cached ones included, `cache_write_tokens` too),
/// `completion_tokens` (reasoning ones included).
impl TokenUsage for CompletionUsage {
    fn token_usage(&self) -> Tokens {
        let prompt = self.prompt_tokens_details.as_ref();
        let completion = self.completion_tokens_details.as_ref();
        Tokens::new(self.prompt_tokens.into(), self.completion_tokens.into())
            .cached(prompt.and_then(|d| d.cached_tokens).map_or(0, u64::from))
            .cache_write(count(prompt.and_then(|d| d.cache_write_tokens)))
            .reasoning(
                completion
                    .and_then(|d| d.reasoning_tokens)
                    .map_or(0, u64::from),
            )
    }
}

/// A chat completion: its `usage` (none when the server sent none: the call's usage is then
/// unknown) and the `model` that answered.
impl TokenUsage for CreateChatCompletionResponse {
    fn token_usage(&self) -> Tokens {
        self.usage.token_usage()
    }
    fn model(&self) -> Option<&str> {
        Some(&self.model)
    }
    fn has_usage(&self) -> bool {
        self.usage.is_some()
    }
}

/// A chunk of a streamed chat completion: only the last one has `usage`, and only when the
/// request set `stream_options.include_usage` (its `choices` are empty). Every chunk names the
/// model.
impl TokenUsage for CreateChatCompletionStreamResponse {
    fn token_usage(&self) -> Tokens {
        self.usage.token_usage()
    }
    fn model(&self) -> Option<&str> {
        Some(&self.model)
    }
    fn has_usage(&self) -> bool {
        self.usage.is_some()
    }
}

/// The Responses API's usage: `input_tokens` (with `input_tokens_details.cached_tokens`),
/// `output_tokens` (with `output_tokens_details.reasoning_tokens`).
impl TokenUsage for ResponseUsage {
    fn token_usage(&self) -> Tokens {
        Tokens::new(self.input_tokens.into(), self.output_tokens.into())
            .cached(self.input_tokens_details.cached_tokens.into())
            .cache_write(count(self.input_tokens_details.cache_write_tokens))
            .reasoning(self.output_tokens_details.reasoning_tokens.into())
    }
}

/// The error codes the Responses API documents (async-openai's `ResponseErrorCode`), as it
/// writes them: each is an error type as it comes. A code not among them is kept in the message,
/// so that a provider's new code cannot make error types without bound.
const ERROR_CODES: [&str; 21] = [
    "server_error",
    "rate_limit_exceeded",
    "invalid_prompt",
    "data_residency_mismatch",
    "bio_policy",
    "misalignment_policy_violation",
    "vector_store_timeout",
    "invalid_image",
    "invalid_image_format",
    "invalid_base64_image",
    "invalid_image_url",
    "image_too_large",
    "image_too_small",
    "image_parse_error",
    "image_content_policy_violation",
    "invalid_image_mode",
    "image_file_too_large",
    "unsupported_image_media_type",
    "empty_image_file",
    "failed_to_download_image",
    "image_file_not_found",
];

/// A failure with `code` (none when the API sent none) and `message`: the code is the error type
/// when it is a documented one, else `fallback` is, and the code goes in the message.
fn failure<'a>(code: Option<&str>, message: &'a str, fallback: &'static str) -> Failure<'a> {
    match code {
        None => Failure::new(fallback, message),
        Some(code) => match ERROR_CODES.iter().find(|known| **known == code) {
            Some(known) => Failure::new(known, message),
            None => Failure::new(fallback, Cow::Owned(format!("{code}: {message}"))),
        },
    }
}

/// A failed response's error, by its code as the API writes it.
fn response_failure(response: &Response) -> Failure<'_> {
    let Some(error) = &response.error else {
        return Failure::new("response_failed", "the response failed");
    };
    let code = serde_json::to_value(&error.code).ok();
    failure(
        code.as_ref().and_then(serde_json::Value::as_str),
        &error.message,
        "response_failed",
    )
}

/// A response of the Responses API. One whose `status` is `failed` is a failed call, of its
/// `error`'s code (`server_error`, `rate_limit_exceeded`, …); an `incomplete` one, cut short at
/// `max_output_tokens` or by the content filter, is not.
impl TokenUsage for Response {
    fn token_usage(&self) -> Tokens {
        self.usage.token_usage()
    }
    fn model(&self) -> Option<&str> {
        Some(&self.model)
    }
    fn has_usage(&self) -> bool {
        self.usage.is_some()
    }
    fn failure(&self) -> Option<Failure<'_>> {
        (self.status == Status::Failed).then(|| response_failure(self))
    }
}

/// The response an event carries whole: the lifecycle events. Those that end the stream
/// (`response.completed`, `response.incomplete`, `response.failed`) carry its usage.
fn response_of(event: &ResponseStreamEvent) -> Option<&Response> {
    match event {
        ResponseStreamEvent::ResponseCreated(e) => Some(&e.response),
        ResponseStreamEvent::ResponseInProgress(e) => Some(&e.response),
        ResponseStreamEvent::ResponseQueued(e) => Some(&e.response),
        ResponseStreamEvent::ResponseCompleted(e) => Some(&e.response),
        ResponseStreamEvent::ResponseIncomplete(e) => Some(&e.response),
        ResponseStreamEvent::ResponseFailed(e) => Some(&e.response),
        _ => None,
    }
}

/// An event of a streamed response: the usage comes with the event that ends it
/// (`response.completed`, or `response.incomplete` / `response.failed`, whose tokens were spent
/// too); the model with every event that carries the response. `response.failed` and the `error`
/// event make the call a failed one, of the error's code.
impl TokenUsage for ResponseStreamEvent {
    fn token_usage(&self) -> Tokens {
        response_of(self).map_or(Tokens::default(), Response::token_usage)
    }
    fn model(&self) -> Option<&str> {
        response_of(self).map(|r| r.model.as_str())
    }
    fn has_usage(&self) -> bool {
        response_of(self).is_some_and(Response::has_usage)
    }
    fn failure(&self) -> Option<Failure<'_>> {
        match self {
            ResponseStreamEvent::ResponseFailed(e) => Some(response_failure(&e.response)),
            ResponseStreamEvent::ResponseError(e) => {
                Some(failure(e.code.as_deref(), &e.message, "stream_error"))
            }
            _ => None,
        }
    }
}

/// Embeddings' usage: input tokens only.
impl TokenUsage for EmbeddingUsage {
    fn token_usage(&self) -> Tokens {
        Tokens::new(self.prompt_tokens.into(), 0)
    }
}

/// Embeddings: input tokens, and the `model`.
impl TokenUsage for CreateEmbeddingResponse {
    fn token_usage(&self) -> Tokens {
        self.usage.token_usage()
    }
    fn model(&self) -> Option<&str> {
        Some(&self.model)
    }
}

/// Embeddings asked for as base64: input tokens, and the `model`.
impl TokenUsage for CreateBase64EmbeddingResponse {
    fn token_usage(&self) -> Tokens {
        self.usage.token_usage()
    }
    fn model(&self) -> Option<&str> {
        Some(&self.model)
    }
}
