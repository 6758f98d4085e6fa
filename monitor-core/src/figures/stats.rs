//! The values read off [`Figures`] in a shape of their own — status classes, costs by kind —
//! and the JSON of a set of figures.

use super::Figures;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use std::time::Duration;

/// Calls by HTTP status class, for sites whose return values carry a status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StatusClasses {
    /// 1xx.
    pub informational: u64,
    /// 2xx.
    pub success: u64,
    /// 3xx.
    pub redirection: u64,
    /// 4xx.
    pub client_error: u64,
    /// 5xx.
    pub server_error: u64,
}

/// What each kind of token cost, in USD, over the calls that had a price.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct KindCosts {
    /// Input tokens neither read from nor written to the cache.
    pub input: f64,
    /// Input tokens read from the cache.
    pub cached_input: f64,
    /// Input tokens written to the cache.
    pub cache_write: f64,
    /// Output tokens that were not reasoning.
    pub output: f64,
    /// Reasoning tokens.
    pub reasoning: f64,
}

impl KindCosts {
    /// The costs of `[input, cached_input, cache_write, output, reasoning]` tokens, in
    /// millionths of a millionth of a USD.
    pub(crate) fn from_picousd(picousd: [u64; 5]) -> KindCosts {
        let [input, cached_input, cache_write, output, reasoning] =
            picousd.map(super::picousd_to_usd);
        KindCosts {
            input,
            cached_input,
            cache_write,
            output,
            reasoning,
        }
    }
}

/// Serialises a duration as seconds.
pub(crate) fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl StatusClasses {
    /// The classes of `[1xx, 2xx, 3xx, 4xx, 5xx]` counts.
    pub fn from_counts(counts: [u64; 5]) -> StatusClasses {
        let [
            informational,
            success,
            redirection,
            client_error,
            server_error,
        ] = counts;
        StatusClasses {
            informational,
            success,
            redirection,
            client_error,
            server_error,
        }
    }
}

/// Figures as JSON: the counts, the values derived from them (quantiles, mean and sum of the
/// durations in seconds, costs in USD) and the histograms, under the names the dashboard's
/// `/api/sites` has always given them. Written field by field so that a new figure does not
/// change what a reader of that JSON receives.
impl Serialize for Figures {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let d = &self.durations;
        let mut s = serializer.serialize_struct("Figures", 29)?;
        s.serialize_field("calls", &self.calls())?;
        s.serialize_field("errors", &self.errors)?;
        s.serialize_field("client_errors", &self.client_errors)?;
        s.serialize_field("panics", &self.panics)?;
        s.serialize_field("cancelled", &self.cancelled)?;
        s.serialize_field("statuses", &self.status_classes())?;
        s.serialize_field("request_bytes", &self.request_bytes)?;
        s.serialize_field("response_bytes", &self.response_bytes)?;
        s.serialize_field("token_calls", &self.token_calls)?;
        s.serialize_field("input_tokens", &self.tokens.input)?;
        s.serialize_field("output_tokens", &self.tokens.output)?;
        s.serialize_field("cached_input_tokens", &self.tokens.cached_input)?;
        s.serialize_field("cache_write_tokens", &self.tokens.cache_write)?;
        s.serialize_field("reasoning_tokens", &self.tokens.reasoning)?;
        s.serialize_field("cost_by_kind", &self.kind_costs())?;
        s.serialize_field("cost_usd", &self.cost_usd())?;
        s.serialize_field("known_cost_usd", &self.known_cost_usd())?;
        s.serialize_field("unpriced_calls", &self.unpriced_calls)?;
        s.serialize_field("allocated_bytes", &self.allocated_bytes)?;
        s.serialize_field("p50", &d.p50().as_secs_f64())?;
        s.serialize_field("p90", &d.p90().as_secs_f64())?;
        s.serialize_field("p99", &d.p99().as_secs_f64())?;
        s.serialize_field("max", &d.max().as_secs_f64())?;
        s.serialize_field("mean", &d.mean().as_secs_f64())?;
        s.serialize_field("total_duration", &d.sum().as_secs_f64())?;
        s.serialize_field("durations", d)?;
        s.serialize_field("chunks", &self.chunks)?;
        s.serialize_field("first_chunk", &self.first_chunk)?;
        s.serialize_field("per_output_chunk", &self.per_output_chunk)?;
        s.end()
    }
}
