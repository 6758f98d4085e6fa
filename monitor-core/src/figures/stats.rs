//! The values read off [`Figures`](super::Figures) in a shape of their own: status classes, costs
//! by kind.

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
