//! Prices of metered models, and the cost of the tokens a call used.

use super::tokens::Tokens;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// What a model costs, in US dollars per million tokens.
///
/// # Examples
///
/// ```
/// use monitor_core::{Price, Tokens};
///
/// let price = Price::per_million(2.50, 10.00).with_cached_input(1.25);
/// let usage = Tokens { input: 1_000_000, output: 100_000, cached_input: 200_000 };
/// // 800k fresh input at 2.50, 200k cached at 1.25, 100k output at 10.00
/// assert!((price.cost_usd(&usage) - 3.25).abs() < 1e-9);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// USD per million input tokens that were not read from the cache.
    pub input: f64,
    /// USD per million output tokens.
    pub output: f64,
    /// USD per million cached input tokens; when absent they cost as much as other input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<f64>,
}

impl Price {
    /// A price for input and output tokens, in USD per million.
    pub const fn per_million(input: f64, output: f64) -> Price {
        Price {
            input,
            output,
            cached_input: None,
        }
    }

    /// The same price with a separate rate for cached input tokens, in USD per million.
    pub const fn with_cached_input(self, cached_input: f64) -> Price {
        Price {
            cached_input: Some(cached_input),
            ..self
        }
    }

    /// What `tokens` cost at this price, in USD.
    pub fn cost_usd(&self, tokens: &Tokens) -> f64 {
        let cached = tokens.cached_input.min(tokens.input);
        let fresh = tokens.input - cached;
        let per_million = fresh as f64 * self.input
            + cached as f64 * self.cached_input.unwrap_or(self.input)
            + tokens.output as f64 * self.output;
        per_million / 1e6
    }

    /// The cost in picodollars (1e-12 USD), the unit sites add up without rounding away cheap calls.
    pub(crate) fn cost_picousd(&self, tokens: &Tokens) -> u64 {
        // f64 → u64 `as` saturates, and the rates are checked finite and non-negative.
        (self.cost_usd(tokens) * 1e12).round() as u64
    }

    fn check(&self, model: &str) -> Result<(), PricingError> {
        let fields = [
            ("input", Some(self.input)),
            ("output", Some(self.output)),
            ("cached_input", self.cached_input),
        ];
        for (field, value) in fields {
            if let Some(value) = value
                && !(value.is_finite() && value >= 0.0)
            {
                return Err(PricingError::InvalidPrice {
                    model: model.to_owned(),
                    field,
                    value,
                });
            }
        }
        Ok(())
    }
}

/// Prices by model name. Names match exactly: a dated variant (`gpt-4o-2024-08-06`) needs its own
/// entry, because guessing from a prefix would price `gpt-4o-mini` as `gpt-4o`.
///
/// The JSON form, as [`PriceTable::from_json_str`] and [`load_pricing`] read it:
///
/// ```json
/// { "models": {
///     "gpt-4o":      { "input": 2.50, "output": 10.00, "cached_input": 1.25 },
///     "small-model": { "input": 0.15, "output": 0.60 }
/// } }
/// ```
///
/// # Examples
///
/// ```
/// use monitor_core::{Price, PriceTable};
///
/// let mut table = PriceTable::new();
/// table.insert("gpt-4o", Price::per_million(2.50, 10.00))?;
/// assert_eq!(table.get("gpt-4o"), Some(Price::per_million(2.50, 10.00)));
/// assert_eq!(table.get("gpt-4o-mini"), None);
/// # Ok::<(), monitor_core::PricingError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    models: BTreeMap<String, Price>,
}

impl PriceTable {
    /// An empty table: every model is unpriced.
    pub fn new() -> PriceTable {
        PriceTable::default()
    }

    /// Sets the price of `model`. Rates must be finite and not negative.
    pub fn insert(&mut self, model: impl Into<String>, price: Price) -> Result<(), PricingError> {
        let model = model.into();
        price.check(&model)?;
        self.models.insert(model, price);
        Ok(())
    }

    /// The price of `model`, if the table has one.
    pub fn get(&self, model: &str) -> Option<Price> {
        self.models.get(model).copied()
    }

    /// Models and their prices, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Price)> {
        self.models
            .iter()
            .map(|(name, price)| (name.as_str(), *price))
    }

    /// Reads the JSON form shown on [`PriceTable`].
    pub fn from_json_str(json: &str) -> Result<PriceTable, PricingError> {
        Self::parse(json, None)
    }

    /// Reads the JSON form shown on [`PriceTable`] from a file.
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<PriceTable, PricingError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|source| PricingError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&json, Some(path))
    }

    fn parse(json: &str, path: Option<&Path>) -> Result<PriceTable, PricingError> {
        let table: PriceTable = serde_json::from_str(json).map_err(|e| PricingError::Parse {
            path: path.map(Path::to_owned),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        for (model, price) in &table.models {
            price.check(model)?;
        }
        Ok(table)
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
    /// The text is not a price table.
    Parse {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// A rate is negative, infinite or NaN.
    InvalidPrice {
        /// The model.
        model: String,
        /// `input`, `output` or `cached_input`.
        field: &'static str,
        /// The rate given.
        value: f64,
    },
}

impl fmt::Display for PricingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PricingError::Io { path, source } => {
                write!(f, "cannot read price table {}: {source}", path.display())
            }
            PricingError::Parse { path, message, .. } => match path {
                Some(path) => write!(f, "price table {} is not valid: {message}", path.display()),
                None => write!(f, "price table is not valid: {message}"),
            },
            PricingError::InvalidPrice {
                model,
                field,
                value,
            } => write!(
                f,
                "price `{field}` of model `{model}` is {value}, but must be a finite number of USD per million tokens, 0 or more"
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
pub(crate) static TABLE: RwLock<PriceTable> = RwLock::new(PriceTable {
    models: BTreeMap::new(),
});

/// The price in force for `model`.
pub fn price_of(model: &str) -> Option<Price> {
    TABLE.read().get(model)
}

/// A copy of the table in force.
pub fn pricing() -> PriceTable {
    TABLE.read().clone()
}
