//! Prices of metered models, and the cost of the tokens a call used.

use super::tokens::Tokens;
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The five kinds of tokens providers bill, each call's tokens split so that each is in one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenKind {
    /// Input tokens neither read from nor written to the cache.
    Input,
    /// Input tokens read from the provider's cache.
    CachedInput,
    /// Input tokens written to the provider's cache.
    CacheWrite,
    /// Output tokens that were not reasoning.
    Output,
    /// Output tokens spent reasoning.
    Reasoning,
}

impl TokenKind {
    /// Every kind, in the order of the `[_; 5]` arrays that hold figures by kind.
    pub const ALL: [TokenKind; 5] = [
        TokenKind::Input,
        TokenKind::CachedInput,
        TokenKind::CacheWrite,
        TokenKind::Output,
        TokenKind::Reasoning,
    ];

    /// `input`, `cached_input`, `cache_write`, `output` or `reasoning`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenKind::Input => "input",
            TokenKind::CachedInput => "cached_input",
            TokenKind::CacheWrite => "cache_write",
            TokenKind::Output => "output",
            TokenKind::Reasoning => "reasoning",
        }
    }

    /// How many tokens of this kind `tokens` holds.
    pub const fn of(self, tokens: &Tokens) -> u64 {
        match self {
            TokenKind::Input => tokens.fresh_input(),
            TokenKind::CachedInput => tokens.cached_input_part(),
            TokenKind::CacheWrite => tokens.cache_write_part(),
            TokenKind::Output => tokens.visible_output(),
            TokenKind::Reasoning => tokens.reasoning_part(),
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What a model costs, in US dollars per million tokens of each kind, with higher rates for
/// long-context calls.
///
/// Cached input, cache writes and reasoning have rates of their own when given; otherwise cached
/// input and cache writes cost what other input does and reasoning what other output does.
///
/// # Examples
///
/// ```
/// use monitor_core::pricing::Price;
/// use monitor_core::Tokens;
///
/// let price = Price::per_million(3.00, 15.00)
///     .with_cached_input(0.30)
///     .with_cache_write(3.75)
///     .with_tier(200_000, Price::per_million(6.00, 22.50).with_cached_input(0.60).with_cache_write(7.50));
/// // 10k input, of which 8k read from the cache and 1k written to it; 500 output.
/// let usage = Tokens::new(10_000, 500).cached(8_000).cache_write(1_000);
/// let usd = (1_000.0 * 3.00 + 8_000.0 * 0.30 + 1_000.0 * 3.75 + 500.0 * 15.00) / 1e6;
/// assert!((price.cost_usd(&usage) - usd).abs() < 1e-12);
/// // Above 200k input tokens, every token of the call is billed at the tier's rates.
/// let long = Tokens::new(250_000, 1_000);
/// assert!((price.cost_usd(&long) - (250_000.0 * 6.00 + 1_000.0 * 22.50) / 1e6).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    /// USD per million input tokens neither read from nor written to the cache.
    pub input: f64,
    /// USD per million output tokens that were not reasoning.
    pub output: f64,
    /// USD per million input tokens read from the cache; when absent, `input`.
    pub cached_input: Option<f64>,
    /// USD per million input tokens written to the cache; when absent, `input`.
    pub cache_write: Option<f64>,
    /// USD per million reasoning tokens; when absent, `output`.
    pub reasoning: Option<f64>,
    /// Long-context rates, by rising threshold (see [`Price::with_tier`]).
    pub tiers: Vec<PriceTier>,
}

/// The rates of a call whose input exceeds a threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTier {
    /// The tier applies to calls with more input tokens than this.
    pub above_input_tokens: u64,
    /// Its rates. Tiers of their own are not used.
    pub price: Price,
}

impl Price {
    /// A price for input and output tokens, in USD per million.
    pub const fn per_million(input: f64, output: f64) -> Price {
        Price {
            input,
            output,
            cached_input: None,
            cache_write: None,
            reasoning: None,
            tiers: Vec::new(),
        }
    }

    /// The same price with a rate for input tokens read from the cache, in USD per million.
    #[must_use]
    pub fn with_cached_input(self, usd_per_million: f64) -> Price {
        Price {
            cached_input: Some(usd_per_million),
            ..self
        }
    }

    /// The same price with a rate for input tokens written to the cache, in USD per million
    /// (Anthropic bills them at 1.25× input for a five-minute cache).
    #[must_use]
    pub fn with_cache_write(self, usd_per_million: f64) -> Price {
        Price {
            cache_write: Some(usd_per_million),
            ..self
        }
    }

    /// The same price with a rate for reasoning tokens, in USD per million.
    #[must_use]
    pub fn with_reasoning(self, usd_per_million: f64) -> Price {
        Price {
            reasoning: Some(usd_per_million),
            ..self
        }
    }

    /// The same price, but a call with more than `input_tokens_above` input tokens has every one
    /// of its tokens billed at `tier`'s rates. With several tiers, the highest threshold the
    /// call's input exceeds applies; a tier with the threshold of an earlier one replaces it.
    #[must_use]
    pub fn with_tier(mut self, input_tokens_above: u64, tier: Price) -> Price {
        let tier = PriceTier {
            above_input_tokens: input_tokens_above,
            price: Price {
                tiers: Vec::new(),
                ..tier
            },
        };
        match self
            .tiers
            .binary_search_by_key(&input_tokens_above, |t| t.above_input_tokens)
        {
            Ok(at) => self.tiers[at] = tier,
            Err(at) => self.tiers.insert(at, tier),
        }
        self
    }

    /// The rates a call with `input` input tokens is billed at: this price's, or its tier's.
    #[inline]
    pub fn rates_for(&self, input: u64) -> &Price {
        self.tiers
            .iter()
            .rev()
            .find(|t| input > t.above_input_tokens)
            .map_or(self, |t| &t.price)
    }

    /// USD per million tokens of `kind`, without tiers.
    #[inline]
    pub fn rate(&self, kind: TokenKind) -> f64 {
        match kind {
            TokenKind::Input => self.input,
            TokenKind::CachedInput => self.cached_input.unwrap_or(self.input),
            TokenKind::CacheWrite => self.cache_write.unwrap_or(self.input),
            TokenKind::Output => self.output,
            TokenKind::Reasoning => self.reasoning.unwrap_or(self.output),
        }
    }

    /// What `tokens` cost at this price, in USD, kind by kind in the order of [`TokenKind::ALL`].
    pub fn cost_usd_by_kind(&self, tokens: &Tokens) -> [f64; 5] {
        let rates = self.rates_for(tokens.input);
        TokenKind::ALL.map(|kind| kind.of(tokens) as f64 * rates.rate(kind) / 1e6)
    }

    /// What `tokens` cost at this price, in USD.
    pub fn cost_usd(&self, tokens: &Tokens) -> f64 {
        self.cost_usd_by_kind(tokens).iter().sum()
    }

    /// Checks every rate and threshold; `key` names the failing one as the price's source
    /// spells it.
    pub(crate) fn check(&self) -> Result<(), (String, f64)> {
        let fields = [
            ("input", Some(self.input)),
            ("output", Some(self.output)),
            ("cached_input", self.cached_input),
            ("cache_write", self.cache_write),
            ("reasoning", self.reasoning),
        ];
        for (field, value) in fields {
            if let Some(value) = value
                && !(value.is_finite() && value >= 0.0)
            {
                return Err((field.to_owned(), value));
            }
        }
        for tier in &self.tiers {
            if tier.above_input_tokens == 0 {
                return Err(("tiers.above_input_tokens".to_owned(), 0.0));
            }
            tier.price
                .check()
                .map_err(|(key, value)| (format!("tiers.{key}"), value))?;
        }
        Ok(())
    }
}

/// A price made ready for the record path: each tier's rates in picodollars (1e-12 USD, the unit
/// sites add up without rounding away cheap calls) per token, in fixed point, so that pricing a
/// call is five integer multiplications. In floating point it took ~10 ns: converting counts to
/// `f64` and back is a dozen instructions each on baseline x86-64.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) price: Price,
    /// Rates of the price itself, by [`TokenKind::ALL`].
    base: [u64; 5],
    /// Thresholds and rates of the tiers, by rising threshold.
    tiers: Vec<(u64, [u64; 5])>,
}

/// Bits of fraction of a compiled rate.
const FRACTION: u32 = 16;

impl Compiled {
    pub(crate) fn new(price: &Price) -> Compiled {
        // USD per million tokens is picodollars per token × 1e-6: × 1e6, in fixed point. `as`
        // saturates; rates are checked finite and non-negative.
        let fixed = |p: &Price| {
            TokenKind::ALL
                .map(|kind| (p.rate(kind) * 1e6 * f64::from(1u32 << FRACTION)).round() as u64)
        };
        Compiled {
            price: price.clone(),
            base: fixed(price),
            tiers: price
                .tiers
                .iter()
                .map(|t| (t.above_input_tokens, fixed(&t.price)))
                .collect(),
        }
    }

    /// What `tokens` cost by kind, in picodollars, rounded to nearest.
    #[inline]
    pub(crate) fn cost_picousd(&self, tokens: &Tokens) -> [u64; 5] {
        let rates = self
            .tiers
            .iter()
            .rev()
            .find(|(above, _)| tokens.input > *above)
            .map_or(&self.base, |(_, rates)| rates);
        let mut cost = [0; 5];
        for ((cost, kind), rate) in cost.iter_mut().zip(TokenKind::ALL).zip(rates) {
            let fixed = u128::from(kind.of(tokens)) * u128::from(*rate) + (1 << (FRACTION - 1));
            *cost = u64::try_from(fixed >> FRACTION).unwrap_or(u64::MAX);
        }
        cost
    }
}

/// Prices by model name. Names match exactly: a dated variant (`gpt-4o-2024-08-06`) needs its own
/// entry, because guessing from a prefix would price `gpt-4o-mini` as `gpt-4o`. A site that names
/// its provider (`#[tracks_tokens(provider = "vertex_ai")]`) is priced by `provider/model` when
/// the table has that entry, as LiteLLM's file names many models, and by the bare name otherwise.
///
/// Two JSON forms are read, by [`PriceTable::from_json_str`] and [`load_file`]: monitor's own,
/// in USD per million tokens,
///
/// ```json
/// { "models": {
///     "claude-sonnet-4-5": { "input": 3.00, "output": 15.00, "cached_input": 0.30, "cache_write": 3.75,
///                            "tiers": [ { "above_input_tokens": 200000, "input": 6.00, "output": 22.50,
///                                         "cached_input": 0.60, "cache_write": 7.50 } ] },
///     "o3-mini":           { "input": 1.10, "output": 4.40, "reasoning": 4.40 }
/// } }
/// ```
///
/// and LiteLLM's `model_prices_and_context_window.json`, in USD per token (see
/// [`PriceFileReport`] for what of it is read).
///
/// [`load_file`]: crate::pricing::load_file
///
/// # Examples
///
/// ```
/// use monitor_core::pricing::{Price, PriceTable};
///
/// let mut table = PriceTable::new();
/// table.insert("gpt-4o", Price::per_million(2.50, 10.00))?;
/// assert_eq!(table.get("gpt-4o"), Some(&Price::per_million(2.50, 10.00)));
/// assert_eq!(table.get("gpt-4o-mini"), None);
/// # Ok::<(), monitor_core::pricing::PricingError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    pub(crate) models: BTreeMap<String, Price>,
    pub(crate) report: PriceFileReport,
}

/// Which JSON form a price file was in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PriceFormat {
    /// Built in code, not read from a file.
    #[default]
    Code,
    /// monitor's `{ "models": { … } }`, USD per million tokens.
    Monitor,
    /// LiteLLM's `model_prices_and_context_window.json`, USD per token.
    LiteLlm,
}

/// What reading a price file took in and left out.
///
/// From LiteLLM's file, an entry is read from `input_cost_per_token`, `output_cost_per_token`,
/// `cache_read_input_token_cost`, `cache_creation_input_token_cost`,
/// `output_cost_per_reasoning_token` and their `_above_<N>k_tokens` forms (long-context tiers, N
/// thousand input tokens), or from a `tiered_pricing` list of input ranges with those rates;
/// `litellm_provider` and `mode` are kept in the report only. Entries priced in anything but
/// tokens (images, seconds of audio, search queries) are skipped, as are service-tier rates
/// (`_batches`, `_flex`, `_priority`), which a plain call is not billed at;
/// other keys (context sizes, `supports_*` flags) are ignored; the `sample_spec` entry, which
/// documents the format, is not a model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PriceFileReport {
    /// The form the file was in.
    pub format: PriceFormat,
    /// Models priced.
    pub models: usize,
    /// Entries skipped because they are not priced per token.
    pub not_per_token: usize,
    /// Service-tier rates skipped (`_batches`, `_flex`, `_priority` keys).
    pub service_tier_rates: usize,
    /// Keys not about prices, ignored.
    pub ignored_keys: usize,
    /// Priced models by `mode` (`chat`, `embedding`, …), for LiteLLM's file.
    pub modes: BTreeMap<String, usize>,
}

impl PriceTable {
    /// An empty table: every model is unpriced.
    pub fn new() -> PriceTable {
        PriceTable::default()
    }

    /// Sets the price of `model`. Rates must be finite and not negative, thresholds above 0.
    pub fn insert(&mut self, model: impl Into<String>, price: Price) -> Result<(), PricingError> {
        let model = model.into();
        if let Err((key, value)) = price.check() {
            return Err(PricingError::InvalidRate {
                path: None,
                model,
                key,
                value: value.to_string(),
            });
        }
        self.models.insert(model, price);
        self.report.models = self.models.len();
        Ok(())
    }

    /// The price of `model`, if the table has one.
    pub fn get(&self, model: &str) -> Option<&Price> {
        self.models.get(model)
    }

    /// The price of `model` served by `provider`: `provider/model`'s entry, or else the model's
    /// own.
    pub fn lookup(&self, model: &str, provider: Option<&str>) -> Option<&Price> {
        // The provider's entry first, as LiteLLM looks it up: `vertex_ai/claude-sonnet-4-5` has
        // long-context rates that `claude-sonnet-4-5` (Anthropic's API) lacks, and
        // `azure_ai/claude-sonnet-4-5` other rates. A bare name is often one provider's entry.
        provider
            .and_then(|provider| self.get(&format!("{provider}/{model}")))
            .or_else(|| self.get(model))
    }

    /// Models and their prices, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Price)> {
        self.models
            .iter()
            .map(|(name, price)| (name.as_str(), price))
    }

    /// Models priced.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether no model is priced.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// What reading the file took in and left out.
    pub fn report(&self) -> &PriceFileReport {
        &self.report
    }
}

/// Why a price table could not be set.
#[derive(Debug)]
#[non_exhaustive]
pub enum PricingError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The text is not JSON, or not a price table.
    Parse {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// 1-based line of the problem, 0 when it is not about one place.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// A rate is negative, not a number, or infinite; or a tier's threshold is not a positive
    /// whole number of tokens.
    InvalidRate {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// The model.
        model: String,
        /// The key as the source spells it (`input`, `tiers.cached_input`,
        /// `input_cost_per_token_above_200k_tokens`, …).
        key: String,
        /// The value given, as written; for a threshold spelled in a LiteLLM key, that part of
        /// the key (`1.5k`).
        value: String,
    },
    /// A key monitor's own form does not have (a typo would otherwise price at a default).
    UnknownKey {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// The model.
        model: String,
        /// The key.
        key: String,
    },
}

fn in_file(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!("price table {}", p.display()))
        .unwrap_or_else(|| "price table".to_owned())
}

impl fmt::Display for PricingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PricingError::Io { path, source } => {
                write!(f, "cannot read price table {}: {source}", path.display())
            }
            PricingError::Parse { path, message, .. } => {
                write!(f, "{} is not valid: {message}", in_file(path))
            }
            PricingError::InvalidRate {
                path,
                model,
                key,
                value,
            } => {
                let file = in_file(path);
                const THRESHOLD: &str =
                    "a tier's threshold must be a positive whole number of tokens";
                // LiteLLM spells a tier's threshold inside the key, `…_above_200k_tokens`: when it
                // is that part which is wrong, `value` is that part.
                let spelled = key
                    .rsplit_once("_above_")
                    .and_then(|(_, rest)| rest.strip_suffix("_tokens"));
                if key.ends_with("above_input_tokens") {
                    write!(
                        f,
                        "{file}: `{key}` of model `{model}` is {value}, but {THRESHOLD}"
                    )
                } else if spelled == Some(value.as_str()) {
                    write!(
                        f,
                        "{file}: `{key}` of model `{model}` has the threshold {value}, but {THRESHOLD}"
                    )
                } else {
                    write!(
                        f,
                        "{file}: `{key}` of model `{model}` is {value}, but must be a finite number of USD, 0 or more"
                    )
                }
            }
            PricingError::UnknownKey { path, model, key } => write!(
                f,
                "{}: model `{model}` has an unknown key `{key}` (known: input, output, cached_input, cache_write, reasoning, tiers)",
                in_file(path)
            ),
        }
    }
}

impl std::error::Error for PricingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PricingError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The table in force. Set through `entry.rs`, which reprices the models it knows.
// Record path: every metered call is priced from it as it is recorded.
pub(crate) static TABLE: RwLock<PriceTable> = RwLock::new(PriceTable {
    models: BTreeMap::new(),
    report: PriceFileReport {
        format: PriceFormat::Code,
        models: 0,
        not_per_token: 0,
        service_tier_rates: 0,
        ignored_keys: 0,
        modes: BTreeMap::new(),
    },
});

/// The price in force for `model`.
pub fn price_of(model: &str) -> Option<Price> {
    TABLE.read().get(model).cloned()
}

/// A copy of the table in force.
pub fn table() -> PriceTable {
    TABLE.read().clone()
}
