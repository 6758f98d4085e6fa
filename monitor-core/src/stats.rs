//! A site's totals as plain values.

use crate::aggregate::Totals;
use crate::histogram::Histogram;
use crate::usage::{known_cost, picousd_to_usd};
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

/// What a site recorded since the process started. Returned by [`Site::stats`].
///
/// Counts are exact. Durations come from a log-linear histogram: `p50`, `p90` and `p99` are within
/// 1.6 % of the exact sample quantile, `max` is exact.
///
/// [`Site::stats`]: crate::Site::stats
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
    #[serde(serialize_with = "seconds")]
    pub p50: Duration,
    /// 90th percentile duration.
    #[serde(serialize_with = "seconds")]
    pub p90: Duration,
    /// 99th percentile duration.
    #[serde(serialize_with = "seconds")]
    pub p99: Duration,
    /// Longest call.
    #[serde(serialize_with = "seconds")]
    pub max: Duration,
    /// Mean duration.
    #[serde(serialize_with = "seconds")]
    pub mean: Duration,
    /// Sum of all durations.
    #[serde(serialize_with = "seconds")]
    pub total_duration: Duration,
    /// The whole distribution of finished calls, for other quantiles.
    pub durations: Histogram,
}

/// Serialises a duration as seconds.
pub(crate) fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl SiteStats {
    pub(crate) fn from_totals(t: Totals) -> SiteStats {
        let known_cost_usd = picousd_to_usd(t.cost_picousd);
        let [
            informational,
            success,
            redirection,
            client_error,
            server_error,
        ] = t.status_classes;
        SiteStats {
            calls: t.durations.count() + t.cancelled,
            errors: t.errors,
            client_errors: t.client_errors,
            panics: t.panics,
            cancelled: t.cancelled,
            statuses: StatusClasses {
                informational,
                success,
                redirection,
                client_error,
                server_error,
            },
            request_bytes: t.request_bytes,
            response_bytes: t.response_bytes,
            token_calls: t.token_calls,
            input_tokens: t.tokens.input,
            output_tokens: t.tokens.output,
            cached_input_tokens: t.tokens.cached_input,
            cost_usd: known_cost(t.cost_picousd, t.unpriced_calls),
            known_cost_usd,
            unpriced_calls: t.unpriced_calls,
            allocated_bytes: t.allocated_bytes,
            p50: t.durations.quantile(0.50),
            p90: t.durations.quantile(0.90),
            p99: t.durations.quantile(0.99),
            max: t.durations.max(),
            mean: t.durations.mean(),
            total_duration: t.durations.sum(),
            durations: t.durations,
        }
    }

    /// Errors per call, 0 when there were no calls.
    pub fn error_rate(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.errors as f64 / self.calls as f64
        }
    }
}
