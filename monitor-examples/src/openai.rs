//! The judging model through a real OpenAI-compatible endpoint (`--openai-base-url`): OpenAI, a
//! local vLLM or Ollama, a LiteLLM proxy.
//!
//! The official client, async-openai, streams the chat completion with
//! `stream_options.include_usage`, and `#[tracks_tokens]` reads the chunks' usage and the model
//! that answered by itself (monitor-core's `async-openai` feature): nothing here counts a token.
//! What is here is what a service needs around a real endpoint: the client does not retry (the
//! pipeline does, so that every attempt is a call the monitor sees), a 429's `retry-after` is
//! kept for the pipeline to honour, and every failure comes back as an [`LlmError`] that says
//! what it was — `rate_limited`, `http 401`, `stream_cut` — as its error type.

use crate::llm::{ChatClient, LlmError};
use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::{OpenAIError, WrappedError};
use async_openai::middleware::{HttpRequestFactory, ReqwestService};
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    ChatCompletionStreamOptions, CreateChatCompletionRequestArgs,
    CreateChatCompletionStreamResponse,
};
use futures_util::stream::{BoxStream, StreamExt};
use monitor_core::tracks_tokens;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Time to connect to the endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest silence between two reads of a response, its head included: a reasoning model may
/// think for a minute before its first chunk.
const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// The completion's token budget, reasoning included: a reasoning model given the simulated
/// judge's 60 would spend them all thinking and answer nothing.
const MAX_COMPLETION_TOKENS: u32 = 1024;

/// The judging model at an OpenAI-compatible endpoint.
pub struct OpenAiJudge {
    client: Client<OpenAIConfig>,
    base_url: String,
    model: String,
}

/// Without the client: its configuration holds the key.
impl fmt::Debug for OpenAiJudge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiJudge")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl OpenAiJudge {
    /// A client of `base_url` (`https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`) asking
    /// for `model`, with `api_key` as its bearer token (`None`: an empty one, which local servers
    /// take). An error names what is wrong and never shows the key.
    pub fn new(base_url: &str, api_key: Option<&str>, model: &str) -> Result<OpenAiJudge, String> {
        // Shown without the user, password or query a URL may carry.
        let shown = monitor_export::rules::endpoint_label(base_url);
        let url = reqwest::Url::parse(base_url)
            .map_err(|e| format!("--openai-base-url {shown:?} is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!(
                "--openai-base-url {shown:?} must be an http or https URL with a host"
            ));
        }
        if model.trim().is_empty() {
            return Err("--openai-model must name a model".to_owned());
        }
        // async-openai builds these headers for every request and panics on one that is not a
        // valid header value: checked here, once, by name.
        let key = api_key.unwrap_or_default();
        if http::HeaderValue::from_str(&format!("Bearer {key}")).is_err() {
            return Err("OPENAI_API_KEY holds a character an HTTP header cannot carry".to_owned());
        }
        for name in ["OPENAI_ORG_ID", "OPENAI_PROJECT_ID"] {
            if let Some(value) = std::env::var_os(name)
                && value
                    .to_str()
                    .is_none_or(|v| http::HeaderValue::from_str(v).is_err())
            {
                return Err(format!(
                    "{name} holds a character an HTTP header cannot carry"
                ));
            }
        }
        let base_url = base_url.trim_end_matches('/').to_owned();
        let config = OpenAIConfig::new()
            .with_api_base(&base_url)
            .with_api_key(key);
        let http = reqwest013::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot make the HTTP client: {e}"))?;
        let client =
            Client::with_config(config).with_http_service(RateLimits(ReqwestService::new(http)));
        Ok(OpenAiJudge {
            client,
            base_url,
            model: model.to_owned(),
        })
    }

    /// The model it asks for.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The API base it sends to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A chat completion, streamed: async-openai's own chunks, the last with the usage.
    #[tracks_tokens(model = self.model(), provider = "openai")]
    pub(crate) async fn openai_chat(
        &self,
        system: &str,
        prompt: &str,
    ) -> Result<BoxStream<'static, Result<CreateChatCompletionStreamResponse, LlmError>>, LlmError>
    {
        let request = CreateChatCompletionRequestArgs::default()
            .model(&self.model)
            .messages([
                ChatCompletionRequestSystemMessage::from(system).into(),
                ChatCompletionRequestUserMessage::from(prompt).into(),
            ])
            .max_completion_tokens(MAX_COMPLETION_TOKENS)
            .stream(true)
            .stream_options(ChatCompletionStreamOptions {
                include_usage: Some(true),
                include_obfuscation: None,
            })
            .build()
            .map_err(classify)?;
        let chunks = self
            .client
            .chat()
            .create_stream(request)
            .await
            .map_err(classify)?;
        Ok(chunks.map(|chunk| chunk.map_err(classify)).boxed())
    }

    /// The answer's text, read to the stream's end.
    pub(crate) async fn complete(&self, system: &str, prompt: &str) -> Result<String, LlmError> {
        let mut chunks = self.openai_chat(system, prompt).await?;
        let mut text = String::new();
        let mut failed = None;
        // Read to the end even past an error, as the simulated clients are: a stream read to its
        // end is a call that failed, one dropped before its end a cancelled one.
        while let Some(chunk) = chunks.next().await {
            match chunk {
                Ok(chunk) => {
                    for choice in chunk.choices {
                        text.push_str(choice.delta.content.as_deref().unwrap_or_default());
                    }
                }
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        failed.map_or(Ok(text), Err)
    }
}

/// A 429 as the client's error, with what its `retry-after-ms` or `retry-after` asked: the API
/// error async-openai makes of a 429 has the body but not the headers.
#[derive(Debug)]
struct RateLimited {
    retry_after: Option<Duration>,
    message: String,
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RateLimited {}

/// async-openai's plain transport, without its retries, turning a 429 into [`RateLimited`].
#[derive(Clone)]
struct RateLimits(ReqwestService);

type Answer = <ReqwestService as tower_service::Service<HttpRequestFactory>>::Response;

impl tower_service::Service<HttpRequestFactory> for RateLimits {
    type Response = Answer;
    type Error = OpenAIError;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, OpenAIError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), OpenAIError>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        let sent = self.0.call(request);
        Box::pin(async move {
            let response = sent.await?;
            if response.status().as_u16() != 429 {
                return Ok(response);
            }
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
            };
            let retry_after = header("retry-after-ms")
                .map(Duration::from_millis)
                .or_else(|| header("retry-after").map(Duration::from_secs));
            let body = response.bytes().await.unwrap_or_default();
            let message = match serde_json::from_slice::<WrappedError>(&body) {
                Ok(wrapped) => wrapped.error.to_string(),
                Err(_) => String::from_utf8_lossy(&body).chars().take(500).collect(),
            };
            Err(OpenAIError::Boxed(Box::new(RateLimited {
                retry_after,
                message,
            })))
        })
    }
}

/// What a failure of the client was.
fn classify(error: OpenAIError) -> LlmError {
    match error {
        OpenAIError::ApiError(e) => LlmError::Http {
            status: e.status_code.as_u16(),
            message: e.api_error.to_string(),
        },
        OpenAIError::Boxed(e) => match e.downcast::<RateLimited>() {
            Ok(limited) => LlmError::RateLimited {
                retry_after: limited.retry_after,
                message: limited.message,
            },
            Err(e) => LlmError::Invalid(e.to_string()),
        },
        // The body's bytes stopped coming: the connection closed or went silent midway.
        OpenAIError::StreamError(e) => LlmError::StreamCut(e.to_string()),
        OpenAIError::Reqwest(e) if e.is_timeout() => LlmError::Timeout(e.to_string()),
        OpenAIError::Reqwest(e) if e.is_connect() => LlmError::Unreachable(e.to_string()),
        OpenAIError::Reqwest(e) => LlmError::StreamCut(e.to_string()),
        other => LlmError::Invalid(other.to_string()),
    }
}

/// The judging model: simulated (the default), or at a real endpoint.
#[derive(Debug)]
pub(crate) enum Judge {
    Simulated(ChatClient),
    OpenAi(OpenAiJudge),
}

impl Judge {
    /// The answer's text; the simulated model writes at most `max_output` visible tokens.
    pub(crate) async fn complete(
        &self,
        system: &str,
        prompt: &str,
        max_output: u64,
    ) -> Result<String, LlmError> {
        match self {
            Judge::Simulated(client) => client.complete(system, prompt, max_output).await,
            Judge::OpenAi(judge) => judge.complete(system, prompt).await,
        }
    }
}
