//! Simulated LLM clients that stream, as providers' SDKs do: the first chunk after a time to first
//! token drawn from a log-normal distribution, the next ones a few milliseconds apart, the usage
//! reported the way each provider reports it, rate limits now and then. Deterministic from a seed:
//! the same prompt gets the same tokens on every run, and a client's n-th call the same latencies.
//!
//! Two providers' shapes, each a `#[tracks_tokens]` function returning a stream:
//! - [`MessagesClient`], Anthropic-style: events. `message_start` carries the input — cache reads
//!   and writes counted apart from `input_tokens`, as Anthropic does — and a first output token;
//!   `message_delta`, at the end, the output so far. Both are running totals. The system prompt is
//!   marked for caching: the first call with a system prompt writes it to the cache, calls made
//!   once that write is readable read it. Now and then the stream fails midway with an
//!   `overloaded_error`, as the real API's does.
//! - [`ChatClient`], OpenAI-style: a reasoning model. Chunks carry text, and the usage comes once,
//!   in a last chunk of its own (`stream_options.include_usage`): a stream cut off before its end
//!   has reported no tokens, as with the real API. Its reasoning happens before the first visible
//!   chunk, so it lengthens the time to first chunk. Prompt caching is automatic: a system prompt
//!   seen before is read from the cache, and nothing is billed for writing it.
//!
//! Times are about a twentieth of a real provider's (a time to first token of 200–600 ms becomes
//! 10–30 ms), so that the demo's load takes seconds.

use futures_util::stream::{self, BoxStream, StreamExt};
use monitor_core::errors::ErrorType;
use monitor_core::{TokenUsage, Tokens, tracks_tokens};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How a call to a model failed: the simulated providers' two ways, and a real endpoint's
/// ([`crate::openai`]). Each is an error type of its own in the monitor's figures
/// ([`ErrorType`]): a 429 and a 401 are not one failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LlmError {
    /// Refused before the stream opened (HTTP 429), with the wait the provider asked for.
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    /// The stream failed midway (Anthropic's `overloaded_error` event).
    Overloaded,
    /// Any other refusal with an HTTP status (401, 404, 500, 503…).
    Http { status: u16, message: String },
    /// The response's body stopped before its end: the connection closed midway.
    StreamCut(String),
    /// No connection could be made.
    Unreachable(String),
    /// The endpoint went silent for longer than the client waits.
    Timeout(String),
    /// A request that could not be made, or an answer that was not OpenAI's.
    Invalid(String),
}

impl fmt::Display for LlmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LlmError::RateLimited {
                retry_after: Some(wait),
                message,
            } => write!(f, "rate limited, retry after {wait:?}: {message}"),
            LlmError::RateLimited {
                retry_after: None,
                message,
            } => write!(f, "rate limited: {message}"),
            LlmError::Overloaded => f.write_str("overloaded_error: the stream ended midway"),
            LlmError::Http { status, message } => write!(f, "http {status}: {message}"),
            LlmError::StreamCut(message) => write!(f, "the stream was cut midway: {message}"),
            LlmError::Unreachable(message) => write!(f, "unreachable: {message}"),
            LlmError::Timeout(message) => write!(f, "timed out: {message}"),
            LlmError::Invalid(message) => write!(f, "invalid: {message}"),
        }
    }
}

impl ErrorType for LlmError {
    fn error_type(&self) -> &'static str {
        match self {
            LlmError::RateLimited { .. } => "rate_limited",
            LlmError::Overloaded => "overloaded",
            LlmError::Http { status, .. } => http_error_type(*status),
            LlmError::StreamCut(_) => "stream_cut",
            LlmError::Unreachable(_) => "unreachable",
            LlmError::Timeout(_) => "timeout",
            LlmError::Invalid(_) => "invalid",
        }
    }
}

/// The statuses an OpenAI-compatible API documents, each an error type of its own.
const HTTP_ERROR_TYPES: [(u16, &str); 13] = [
    (400, "http 400"),
    (401, "http 401"),
    (403, "http 403"),
    (404, "http 404"),
    (408, "http 408"),
    (409, "http 409"),
    (413, "http 413"),
    (422, "http 422"),
    (429, "http 429"),
    (500, "http 500"),
    (502, "http 502"),
    (503, "http 503"),
    (504, "http 504"),
];

/// `http 401`; a status not in [`HTTP_ERROR_TYPES`] by its class, so that no answer makes a new
/// label.
fn http_error_type(status: u16) -> &'static str {
    HTTP_ERROR_TYPES
        .iter()
        .find(|(listed, _)| *listed == status)
        .map_or_else(
            || match status / 100 {
                4 => "http 4xx",
                5 => "http 5xx",
                _ => "http",
            },
            |(_, name)| name,
        )
}

impl std::error::Error for LlmError {}

/// A stream the provider sends: items after their waits.
type Events<T> = BoxStream<'static, Result<T, LlmError>>;

/// What the two simulated providers share: timings, rate limits, the call count the seeds come
/// from.
#[derive(Debug)]
struct Provider {
    model: String,
    /// Median time to the first token (before any reasoning).
    first_token: Duration,
    /// Median gap between two chunks.
    gap: Duration,
    /// Output tokens per text chunk.
    tokens_per_chunk: u64,
    /// One call in `rate_limit_every` is refused.
    rate_limit_every: u64,
    calls: AtomicU64,
}

/// The time to open a stream: the request, and the response's headers.
const CONNECT: Duration = Duration::from_millis(1);

impl Provider {
    fn new(model: &str, first_token: Duration, gap: Duration, rate_limit_every: u64) -> Provider {
        Provider {
            model: model.to_owned(),
            first_token,
            gap,
            tokens_per_chunk: 4,
            rate_limit_every: rate_limit_every.max(1),
            calls: AtomicU64::new(0),
        }
    }

    /// The seed of the next call: the prompt's hash and the call's number.
    fn seed(&self, prompt: &str) -> u64 {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        hash(prompt) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// Opens a stream: the headers come back, or a 429.
    async fn open(&self, seed: u64) -> Result<(), LlmError> {
        tokio::time::sleep(CONNECT).await;
        if seed.is_multiple_of(self.rate_limit_every) {
            return Err(LlmError::RateLimited {
                retry_after: Some(Duration::from_millis(5)),
                message: format!("rate limit reached for {}", self.model),
            });
        }
        Ok(())
    }

    /// Time to the first token: log-normal around the median, plus `extra` (prefill, reasoning).
    fn time_to_first_token(&self, seed: u64, extra: Duration) -> Duration {
        self.first_token.mul_f64(lognormal(seed, 0.45)) + extra
    }

    /// The gap before the `i`-th chunk after the first.
    fn gap(&self, seed: u64, i: u64) -> Duration {
        let seed = (seed ^ i.wrapping_mul(0xD6E8_FEB8_6659_FD93)).rotate_left(17);
        self.gap.mul_f64(lognormal(seed, 0.5))
    }

    /// The visible answer to `prompt`, cut into the chunks that carry `output` tokens.
    fn pieces(&self, prompt: &str, output: u64) -> Vec<String> {
        let text: Vec<char> = format!("{} concept for: {prompt}", self.model)
            .chars()
            .collect();
        let n = output.div_ceil(self.tokens_per_chunk).max(1) as usize;
        (0..n)
            .map(|i| {
                text[i * text.len() / n..(i + 1) * text.len() / n]
                    .iter()
                    .collect()
            })
            .collect()
    }
}

/// Plays `script`: each item after its wait.
fn play<T: Send + 'static>(script: Vec<(Duration, Result<T, LlmError>)>) -> Events<T> {
    stream::iter(script)
        .then(|(wait, item)| async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            item
        })
        .boxed()
}

/// Input tokens of a text: ~1.3 per word.
fn tokens_of(text: &str) -> u64 {
    text.split_whitespace().count() as u64 * 13 / 10
}

/// Output tokens of an answer of at most `max_output`: from half of it to all of it, by prompt.
fn output_for(prompt: &str, max_output: u64) -> u64 {
    max_output / 2 + hash(prompt) % (max_output / 2 + 1)
}

// ---- Anthropic-style ----------------------------------------------------------------------------

/// An event of an Anthropic-style Messages stream.
#[derive(Debug, Clone)]
pub(crate) enum Event {
    /// The message begins: its input, and the first output token.
    MessageStart {
        model: String,
        /// Input tokens neither read from nor written to the cache.
        input_tokens: u64,
        cache_read_input_tokens: u64,
        cache_creation_input_tokens: u64,
        output_tokens: u64,
    },
    /// A piece of the answer's text.
    ContentBlockDelta {
        text: String,
    },
    /// The message's output so far (sent once, before it stops).
    MessageDelta {
        output_tokens: u64,
    },
    MessageStop,
}

impl TokenUsage for Event {
    fn token_usage(&self) -> Tokens {
        match self {
            Event::MessageStart {
                input_tokens,
                cache_read_input_tokens: read,
                cache_creation_input_tokens: written,
                output_tokens,
                ..
            } => Tokens::new(input_tokens + read + written, *output_tokens)
                .cached(*read)
                .cache_write(*written),
            Event::MessageDelta { output_tokens } => Tokens::new(0, *output_tokens),
            Event::ContentBlockDelta { .. } | Event::MessageStop => Tokens::default(),
        }
    }

    fn model(&self) -> Option<&str> {
        match self {
            Event::MessageStart { model, .. } => Some(model),
            _ => None,
        }
    }

    /// Anthropic's counts are the message's so far, not each event's own.
    fn is_running_total(&self) -> bool {
        true
    }
}

/// An Anthropic-style client: streamed events, prompt caching of the system prompt.
#[derive(Debug)]
pub(crate) struct MessagesClient {
    provider: Provider,
    /// A stream fails midway once in `overloaded_every` calls.
    overloaded_every: u64,
    /// Cached system prompts by hash, and when their entry became readable: a write is readable
    /// once the response that wrote it has begun, so calls made before that write it again.
    cache: Mutex<HashMap<u64, Instant>>,
}

/// Prefill of input tokens not read from the cache: what makes a cached call start sooner.
const PREFILL_PER_TOKEN: Duration = Duration::from_micros(20);

impl MessagesClient {
    pub(crate) fn new(
        model: &str,
        first_token: Duration,
        gap: Duration,
        rate_limit_every: u64,
        overloaded_every: u64,
    ) -> MessagesClient {
        MessagesClient {
            provider: Provider::new(model, first_token, gap, rate_limit_every),
            overloaded_every: overloaded_every.max(1),
            cache: Mutex::default(),
        }
    }

    /// The model it asks for.
    pub(crate) fn model(&self) -> &str {
        &self.provider.model
    }

    /// Whether the system prompt is read from the cache, or written to it; a write is readable
    /// `after` from now.
    fn cache_lookup(&self, system: &str, after: Duration) -> bool {
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let readable = cache.entry(hash(system)).or_insert(now + after);
        if *readable <= now {
            return true;
        }
        *readable = (*readable).min(now + after);
        false
    }

    /// A Messages call, streamed: `message_start`, the text's deltas, `message_delta` with the
    /// output, `message_stop`.
    #[tracks_tokens(model = self.model(), provider = "anthropic")]
    pub(crate) async fn stream_messages(
        &self,
        system: &str,
        prompt: &str,
        max_output: u64,
    ) -> Result<BoxStream<'static, Result<Event, LlmError>>, LlmError> {
        let p = &self.provider;
        let seed = p.seed(prompt);
        p.open(seed).await?;
        let system_tokens = tokens_of(system);
        let fresh = tokens_of(prompt) + 8;
        let output = output_for(prompt, max_output);
        // A write is readable once this response has begun: estimate it as if uncached.
        let uncached =
            p.time_to_first_token(seed, PREFILL_PER_TOKEN * (system_tokens + fresh) as u32);
        let read = self.cache_lookup(system, uncached);
        let (cache_read, cache_write) = if read {
            (system_tokens, 0)
        } else {
            (0, system_tokens)
        };
        let prefill = PREFILL_PER_TOKEN * (fresh + cache_write) as u32;
        let first = p.time_to_first_token(seed, prefill);
        let mut script = vec![(
            first,
            Ok(Event::MessageStart {
                model: p.model.clone(),
                input_tokens: fresh,
                cache_read_input_tokens: cache_read,
                cache_creation_input_tokens: cache_write,
                output_tokens: 1,
            }),
        )];
        let overloaded = seed % self.overloaded_every == 3;
        for (i, text) in p.pieces(prompt, output).into_iter().enumerate() {
            if overloaded && i == 3 {
                script.push((p.gap(seed, i as u64), Err(LlmError::Overloaded)));
                return Ok(play(script));
            }
            script.push((p.gap(seed, i as u64), Ok(Event::ContentBlockDelta { text })));
        }
        script.push((
            Duration::ZERO,
            Ok(Event::MessageDelta {
                output_tokens: output,
            }),
        ));
        script.push((Duration::ZERO, Ok(Event::MessageStop)));
        Ok(play(script))
    }

    /// The answer's text, read to the stream's end.
    pub(crate) async fn complete(
        &self,
        system: &str,
        prompt: &str,
        max_output: u64,
    ) -> Result<String, LlmError> {
        let events = self.stream_messages(system, prompt, max_output).await?;
        read_to_end(events, |event, text| {
            if let Event::ContentBlockDelta { text: piece } = event {
                text.push_str(&piece);
            }
        })
        .await
    }
}

// ---- OpenAI-style -------------------------------------------------------------------------------

/// The usage of an OpenAI-style completion: `prompt_tokens` include the cached ones,
/// `completion_tokens` the reasoning ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChatUsage {
    pub(crate) prompt_tokens: u64,
    pub(crate) cached_tokens: u64,
    pub(crate) completion_tokens: u64,
    pub(crate) reasoning_tokens: u64,
}

/// A chunk of an OpenAI-style chat completion stream.
#[derive(Debug, Clone)]
pub(crate) struct ChatChunk {
    pub(crate) model: String,
    /// A piece of the answer's text (empty in the usage chunk).
    pub(crate) delta: String,
    /// Only in the last chunk.
    pub(crate) usage: Option<ChatUsage>,
}

impl TokenUsage for ChatChunk {
    fn token_usage(&self) -> Tokens {
        self.usage.map_or(Tokens::default(), |u| {
            Tokens::new(u.prompt_tokens, u.completion_tokens)
                .cached(u.cached_tokens)
                .reasoning(u.reasoning_tokens)
        })
    }

    fn model(&self) -> Option<&str> {
        Some(&self.model)
    }
}

/// An OpenAI-style client of a reasoning model: chunks, usage in the last one.
#[derive(Debug)]
pub(crate) struct ChatClient {
    provider: Provider,
    /// Time per reasoning token, spent before the first visible chunk.
    per_reasoning_token: Duration,
    /// System prompts seen: read from the provider's automatic cache.
    seen: Mutex<HashSet<u64>>,
}

impl ChatClient {
    pub(crate) fn new(
        model: &str,
        first_token: Duration,
        gap: Duration,
        per_reasoning_token: Duration,
        rate_limit_every: u64,
    ) -> ChatClient {
        ChatClient {
            provider: Provider::new(model, first_token, gap, rate_limit_every),
            per_reasoning_token,
            seen: Mutex::default(),
        }
    }

    /// The model it asks for.
    pub(crate) fn model(&self) -> &str {
        &self.provider.model
    }

    /// A chat completion, streamed: the text's chunks, then a chunk with the usage.
    #[tracks_tokens(model = self.model(), provider = "openai")]
    pub(crate) async fn stream_chat(
        &self,
        system: &str,
        prompt: &str,
        max_output: u64,
    ) -> Result<BoxStream<'static, Result<ChatChunk, LlmError>>, LlmError> {
        let p = &self.provider;
        let seed = p.seed(prompt);
        p.open(seed).await?;
        let system_tokens = tokens_of(system);
        let cached = if self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hash(system))
        {
            0
        } else {
            system_tokens
        };
        let visible = output_for(prompt, max_output);
        let reasoning = 96 + (seed >> 7) % 385;
        let first = p.time_to_first_token(seed, self.per_reasoning_token * reasoning as u32);
        let chunk = |delta: String, usage| ChatChunk {
            model: p.model.clone(),
            delta,
            usage,
        };
        let mut script: Vec<_> = p
            .pieces(prompt, visible)
            .into_iter()
            .enumerate()
            .map(|(i, text)| {
                let wait = if i == 0 { first } else { p.gap(seed, i as u64) };
                (wait, Ok(chunk(text, None)))
            })
            .collect();
        let usage = ChatUsage {
            prompt_tokens: system_tokens + tokens_of(prompt) + 8,
            cached_tokens: cached,
            completion_tokens: visible + reasoning,
            reasoning_tokens: reasoning,
        };
        script.push((Duration::ZERO, Ok(chunk(String::new(), Some(usage)))));
        Ok(play(script))
    }

    /// The answer's text, read to the stream's end.
    pub(crate) async fn complete(
        &self,
        system: &str,
        prompt: &str,
        max_output: u64,
    ) -> Result<String, LlmError> {
        let chunks = self.stream_chat(system, prompt, max_output).await?;
        read_to_end(chunks, |chunk, text| text.push_str(&chunk.delta)).await
    }
}

/// Reads a stream to its end, folding its items into a text; the first error, if one came.
///
/// Read to the end even past an error (the provider closes the stream right after one): a
/// stream read to its end is a call that failed, one dropped before its end a cancelled call.
async fn read_to_end<T>(
    mut items: Events<T>,
    mut fold: impl FnMut(T, &mut String),
) -> Result<String, LlmError> {
    let mut text = String::new();
    let mut failed = None;
    while let Some(item) = items.next().await {
        match item {
            Ok(item) => fold(item, &mut text),
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    failed.map_or(Ok(text), Err)
}

/// FNV-1a: a stable hash, so the same prompt costs the same tokens on every run.
pub(crate) fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A log-normal factor with median 1, from a seed.
fn lognormal(seed: u64, sigma: f64) -> f64 {
    let u1 = ((seed >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let u2 = ((seed.rotate_left(29) >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    (sigma * normal).exp()
}
