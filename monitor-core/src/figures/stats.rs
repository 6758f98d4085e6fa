//! A site's totals as plain values: the view of [`Figures`] that [`Site::stats`] returns.
//!
//! [`Site::stats`]: crate::Site::stats

use super::{Figures, Histogram};
use std::time::Duration;

/// Calls by HTTP status class, for sites whose return values carry a status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq)]
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
    /// The costs by kind of `f`.
    pub fn of(f: &Figures) -> KindCosts {
        let [input, cached_input, cache_write, output, reasoning] =
            f.cost_by_kind.map(super::picousd_to_usd);
        KindCosts {
            input,
            cached_input,
            cache_write,
            output,
            reasoning,
        }
    }
}

/// What a site recorded since the process started. Returned by [`Site::stats`].
///
/// Counts are exact. Durations come from a log-linear histogram: `p50`, `p90` and `p99` are within
/// 1.6 % of the exact sample quantile, `max` is exact.
///
/// [`Site::stats`]: crate::Site::stats
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SiteStats {
    /// Calls made: finished, panicked, or (for futures) dropped before they finished.
    pub calls: u64,
    /// Calls that failed: a `Result::Err` (unless it carries a 4xx status), a 5xx status, or a panic.
    pub errors: u64,
    /// Calls whose return value carried a 4xx status. Not counted in `errors`.
    pub client_errors: u64,
    /// Calls that panicked (also counted in `errors`).
    pub panics: u64,
    /// Futures dropped before they finished. Their durations are not in the histogram.
    pub cancelled: u64,
    /// Calls by HTTP status class.
    pub statuses: StatusClasses,
    /// Bytes of request payload, summed over the arguments whose type tells a size.
    pub request_bytes: u64,
    /// Bytes of response payload, summed over the return values whose type tells a size.
    pub response_bytes: u64,
    /// Calls that reported token usage: the site's own for `#[tracks_tokens]`; for a stage or a
    /// handler, the `#[tracks_tokens]` calls made inside it.
    pub token_calls: u64,
    /// Input tokens, cached ones included.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from the provider's cache.
    pub cached_input_tokens: u64,
    /// Input tokens written to the provider's cache.
    pub cache_write_tokens: u64,
    /// Output tokens spent reasoning (a part of `output_tokens`).
    pub reasoning_tokens: u64,
    /// What each kind of token cost, over the calls that had a price.
    pub cost_by_kind: KindCosts,
    /// Cost of the tokens in USD; `None` when a call's model had no price, since a partial sum
    /// would understate it. Zero when no tokens were used.
    pub cost_usd: Option<f64>,
    /// Cost of the calls whose model had a price.
    pub known_cost_usd: f64,
    /// Calls whose model had no price.
    pub unpriced_calls: u64,
    /// Heap bytes allocated by the calls' own code: inside the call, and not inside an instrumented
    /// call it made, which counts them itself. Counted with the `alloc` feature when
    /// `MonitoredAlloc` is the global allocator; 0 otherwise.
    pub allocated_bytes: u64,
    /// Median duration.
    pub p50: Duration,
    /// 90th percentile duration.
    pub p90: Duration,
    /// 99th percentile duration.
    pub p99: Duration,
    /// Longest call.
    pub max: Duration,
    /// Mean duration.
    pub mean: Duration,
    /// Sum of all durations.
    pub total_duration: Duration,
    /// The whole distribution of finished calls, for other quantiles.
    pub durations: Histogram,
    /// Items yielded, by calls that return a stream.
    pub chunks: u64,
    /// Time from the call to a stream's first item, for each streamed call that yielded one;
    /// empty for a site that does not stream.
    pub first_chunk: Histogram,
    /// Time per output chunk of each streamed call with two items or more: from its first item to
    /// its last, over the items after the first.
    pub per_output_chunk: Histogram,
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

impl From<Figures> for SiteStats {
    fn from(f: Figures) -> SiteStats {
        SiteStats {
            calls: f.calls(),
            errors: f.errors,
            client_errors: f.client_errors,
            panics: f.panics,
            cancelled: f.cancelled,
            statuses: StatusClasses::from_counts(f.statuses),
            request_bytes: f.request_bytes,
            response_bytes: f.response_bytes,
            token_calls: f.token_calls,
            input_tokens: f.tokens.input,
            output_tokens: f.tokens.output,
            cached_input_tokens: f.tokens.cached_input,
            cache_write_tokens: f.tokens.cache_write,
            reasoning_tokens: f.tokens.reasoning,
            cost_by_kind: KindCosts::of(&f),
            cost_usd: f.cost_usd(),
            known_cost_usd: f.known_cost_usd(),
            unpriced_calls: f.unpriced_calls,
            allocated_bytes: f.allocated_bytes,
            p50: f.durations.quantile(0.50),
            p90: f.durations.quantile(0.90),
            p99: f.durations.quantile(0.99),
            max: f.durations.max(),
            mean: f.durations.mean(),
            total_duration: f.durations.sum(),
            durations: f.durations,
            chunks: f.chunks,
            first_chunk: f.first_chunk,
            per_output_chunk: f.per_output_chunk,
        }
    }
}

impl SiteStats {
    /// Errors per call, 0 when there were no calls.
    pub fn error_rate(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.errors as f64 / self.calls as f64
        }
    }
}
