//! Token usage by model, across sites.
//!
//! A metered call resolves its model to an entry here once (a literal model once per site, an
//! expression once per call) and adds its usage to it. Entries live for the whole process; their
//! number is capped so that model names computed from input cannot grow memory without bound.

use crate::aggregate::Usage;
use crate::pricing::{Price, price_of};
use crate::registry::{Registry, intern};
use crate::tokens::Tokens;
use parking_lot::RwLock;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Distinct models tracked; later ones are counted under [`OTHER_MODELS`].
pub const MAX_MODELS: usize = 256;
/// The model name calls are counted under when none is known.
pub const UNKNOWN_MODEL: &str = "unknown";
/// The model name calls are counted under once [`MAX_MODELS`] names are taken.
pub const OTHER_MODELS: &str = "other";

pub(crate) struct ModelEntry {
    name: Box<str>,
    price: RwLock<Option<Price>>,
    calls: AtomicU64,
    input: AtomicU64,
    output: AtomicU64,
    cached_input: AtomicU64,
    cost_picousd: AtomicU64,
    unpriced_calls: AtomicU64,
}

impl std::fmt::Debug for ModelEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelEntry")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ModelEntry {
    fn new(name: &str) -> ModelEntry {
        ModelEntry {
            name: name.into(),
            price: RwLock::new(price_of(name)),
            calls: AtomicU64::new(0),
            input: AtomicU64::new(0),
            output: AtomicU64::new(0),
            cached_input: AtomicU64::new(0),
            cost_picousd: AtomicU64::new(0),
            unpriced_calls: AtomicU64::new(0),
        }
    }

    /// Adds one call's tokens; returns them with their cost for the sites to add too.
    pub(crate) fn record(&self, tokens: Tokens) -> Usage {
        let cost_picousd = self.price.read().map(|price| price.cost_picousd(&tokens));
        self.calls.fetch_add(1, Relaxed);
        self.input.fetch_add(tokens.input, Relaxed);
        self.output.fetch_add(tokens.output, Relaxed);
        self.cached_input.fetch_add(tokens.cached_input, Relaxed);
        match cost_picousd {
            Some(cost) => self.cost_picousd.fetch_add(cost, Relaxed),
            None => self.unpriced_calls.fetch_add(1, Relaxed),
        };
        Usage {
            tokens,
            cost_picousd,
        }
    }

    fn stats(&self) -> ModelStats {
        let cost_picousd = self.cost_picousd.load(Relaxed);
        let known_cost_usd = picousd_to_usd(cost_picousd);
        let unpriced_calls = self.unpriced_calls.load(Relaxed);
        ModelStats {
            model: self.name.to_string(),
            price: *self.price.read(),
            calls: self.calls.load(Relaxed),
            input_tokens: self.input.load(Relaxed),
            output_tokens: self.output.load(Relaxed),
            cached_input_tokens: self.cached_input.load(Relaxed),
            cost_usd: known_cost(cost_picousd, unpriced_calls),
            known_cost_usd,
            unpriced_calls,
        }
    }
}

/// A total cost in USD, or `None` when any call in it had no price: a partial sum would understate
/// it.
pub(crate) fn known_cost(picousd: u64, unpriced_calls: u64) -> Option<f64> {
    (unpriced_calls == 0).then(|| picousd_to_usd(picousd))
}

pub(crate) fn picousd_to_usd(picousd: u64) -> f64 {
    picousd as f64 / 1e12
}

static MODELS: Registry<ModelEntry> = Registry::new(BTreeMap::new());

/// The entry for `name`, created on first use.
pub(crate) fn model(name: &str) -> &'static ModelEntry {
    intern(
        &MODELS,
        name,
        MAX_MODELS,
        OTHER_MODELS,
        &[UNKNOWN_MODEL],
        ModelEntry::new,
    )
}

/// Picks up a new price table in every entry.
pub(crate) fn reprice() {
    for entry in MODELS.read().values() {
        *entry.price.write() = price_of(&entry.name);
    }
}

/// Token usage and cost of one model, over every site that called it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ModelStats {
    /// The model's name; [`UNKNOWN_MODEL`] for calls that named none.
    pub model: String,
    /// The price in force now, if any.
    pub price: Option<Price>,
    /// Calls that reported usage.
    pub calls: u64,
    /// Input tokens, cached ones included.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from the provider's cache.
    pub cached_input_tokens: u64,
    /// Total cost in USD, or `None` when some calls were made while the model had no price.
    pub cost_usd: Option<f64>,
    /// Cost of the calls that had a price.
    pub known_cost_usd: f64,
    /// Calls made while the model had no price.
    pub unpriced_calls: u64,
}

/// Usage by model, sorted by name.
///
/// # Examples
///
/// ```
/// for model in monitor_core::models() {
///     println!("{}: {} tokens in", model.model, model.input_tokens);
/// }
/// ```
pub fn models() -> Vec<ModelStats> {
    MODELS.read().values().map(|entry| entry.stats()).collect()
}
