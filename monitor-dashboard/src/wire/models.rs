//! `/api/models`: tokens and cost by model.

use super::common::{TokenFigures, secs};
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct Models {
    pub(crate) models: Vec<ModelStats>,
}

#[derive(Serialize)]
pub(crate) struct ModelStats {
    model: String,
    price: Option<Price>,
    /// Every call, failed ones included.
    calls: u64,
    /// The calls that reported usage; the others' usage is unknown.
    token_calls: u64,
    errors: u64,
    #[serde(flatten)]
    tokens: TokenFigures,
    cost_usd: Option<f64>,
    known_cost_usd: f64,
    unpriced_calls: u64,
    cancelled: u64,
    chunks: u64,
    streamed_calls: u64,
    first_chunk_p50: f64,
    first_chunk_p99: f64,
    per_output_chunk_p50: f64,
    per_output_chunk_p99: f64,
}

impl From<&monitor_core::snapshot::ModelStats> for ModelStats {
    fn from(m: &monitor_core::snapshot::ModelStats) -> ModelStats {
        let f = &m.figures;
        ModelStats {
            model: m.model.clone(),
            price: m.price.as_ref().map(Into::into),
            calls: f.calls(),
            token_calls: f.token_calls,
            errors: f.errors,
            tokens: f.into(),
            cost_usd: f.cost_usd(),
            known_cost_usd: f.known_cost_usd(),
            unpriced_calls: f.unpriced_calls,
            cancelled: f.cancelled,
            chunks: f.chunks,
            streamed_calls: f.streamed_calls(),
            first_chunk_p50: secs(f.first_chunk.p50()),
            first_chunk_p99: secs(f.first_chunk.p99()),
            per_output_chunk_p50: secs(f.per_output_chunk.p50()),
            per_output_chunk_p99: secs(f.per_output_chunk.p99()),
        }
    }
}

/// USD per million tokens; a rate the price does not set is left out.
#[derive(Serialize)]
struct Price {
    input: f64,
    output: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    cached_input: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_write: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tiers: Vec<PriceTier>,
}

impl From<&monitor_core::pricing::Price> for Price {
    fn from(p: &monitor_core::pricing::Price) -> Price {
        Price {
            input: p.input,
            output: p.output,
            cached_input: p.cached_input,
            cache_write: p.cache_write,
            reasoning: p.reasoning,
            tiers: p
                .tiers
                .iter()
                .map(|t| PriceTier {
                    above_input_tokens: t.above_input_tokens,
                    price: (&t.price).into(),
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct PriceTier {
    above_input_tokens: u64,
    price: Price,
}
