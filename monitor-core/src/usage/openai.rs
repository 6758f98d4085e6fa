//! [`TokenUsage`] for async-openai's response types (feature `async-openai`): the orphan rule
//! keeps users from implementing monitor's trait for another crate's types, so the support for
//! the most used client lives here.
//!
//! OpenAI counts cached and cache-written tokens inside `prompt_tokens` / `input_tokens`, and
//! reasoning tokens inside `completion_tokens` / `output_tokens`, as [`Tokens`] does: the figures
//! are taken as they come.

use super::tokens::{TokenUsage, Tokens};
use async_openai::types::chat::{
    CompletionUsage, CreateChatCompletionResponse, CreateChatCompletionStreamResponse,
};
use async_openai::types::embeddings::{
    CreateBase64EmbeddingResponse, CreateEmbeddingResponse, EmbeddingUsage,
};
use async_openai::types::responses::{Response, ResponseStreamEvent, ResponseUsage};

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

/// A response of the Responses API.
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
/// too); the model with every event that carries the response.
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
