//! A simulated LLM client: deterministic token counts from the prompt, latency drawn from a
//! log-normal distribution, and rate-limit errors now and then, as a real provider gives.

use monitor_core::{TokenUsage, Tokens, tracks_tokens};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What the provider answered.
#[derive(Debug, Clone)]
pub(crate) struct Completion {
    pub(crate) text: String,
    pub(crate) model: String,
    pub(crate) usage: Tokens,
}

impl TokenUsage for Completion {
    fn token_usage(&self) -> Tokens {
        self.usage
    }

    fn model(&self) -> Option<&str> {
        Some(&self.model)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LlmError {
    RateLimited { retry_after: Duration },
}

impl fmt::Display for LlmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LlmError::RateLimited { retry_after } => {
                write!(f, "rate limited, retry after {retry_after:?}")
            }
        }
    }
}

impl std::error::Error for LlmError {}

/// A client bound to one model, as real SDK clients are.
#[derive(Debug)]
pub(crate) struct LlmClient {
    pub(crate) model: String,
    /// Mean latency of a call, before the per-token part.
    base_latency: Duration,
    /// One call in `rate_limit_every` is refused.
    rate_limit_every: u64,
    calls: AtomicU64,
}

impl LlmClient {
    pub(crate) fn new(model: &str, base_latency: Duration, rate_limit_every: u64) -> LlmClient {
        LlmClient {
            model: model.to_owned(),
            base_latency,
            rate_limit_every: rate_limit_every.max(1),
            calls: AtomicU64::new(0),
        }
    }

    /// One completion. The model comes from the client's field, evaluated at each call.
    #[tracks_tokens(model = self.model.as_str(), provider = "simulated")]
    pub(crate) async fn complete(
        &self,
        system: &str,
        prompt: &str,
        max_output: u64,
    ) -> Result<Completion, LlmError> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        let seed = hash(prompt) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        if seed.is_multiple_of(self.rate_limit_every) {
            tokio::time::sleep(Duration::from_millis(2)).await;
            return Err(LlmError::RateLimited {
                retry_after: Duration::from_millis(5),
            });
        }
        // ~1.3 tokens per word; the system prompt is the same on every call, so providers cache it.
        let system_tokens = words(system) * 13 / 10;
        let input = system_tokens + words(prompt) * 13 / 10 + 8;
        let output = max_output / 2 + hash(prompt) % (max_output / 2 + 1);
        let latency =
            self.base_latency.mul_f64(lognormal(seed, 0.5)) + Duration::from_micros(300 * output);
        tokio::time::sleep(latency).await;
        Ok(Completion {
            text: format!("{} concept for: {prompt}", self.model),
            model: self.model.clone(),
            usage: Tokens::new(input, output).cached(system_tokens),
        })
    }
}

fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
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
