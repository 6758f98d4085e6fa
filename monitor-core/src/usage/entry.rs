//! Models by name, each with its price in force.
//!
//! A metered call resolves its model to an entry here (a literal model once per site, an
//! expression once per call) and prices its tokens with the entry's price. Entries live for the
//! whole process; their number is capped so that model names computed from input cannot grow
//! memory without bound. What each model used is not kept here: it is read from the sites
//! (see `crate::snapshot`).

use super::pricing::{Price, PriceTable, PricingError, TABLE, price_of};
use super::tokens::Tokens;
use crate::interned::{Registry, intern};
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::path::Path;

/// Distinct models tracked; later ones are counted under [`OTHER_MODELS`].
pub const MAX_MODELS: usize = 256;
/// The model name calls are counted under when none is known.
pub const UNKNOWN_MODEL: &str = "unknown";
/// The model name calls are counted under once [`MAX_MODELS`] names are taken.
pub const OTHER_MODELS: &str = "other";

/// A model and its price.
pub(crate) struct ModelEntry {
    name: &'static str,
    price: RwLock<Option<Price>>,
}

impl std::fmt::Debug for ModelEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelEntry")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Token usage and its cost, credited to a site.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Usage {
    pub(crate) tokens: Tokens,
    /// `None` when the model has no price.
    pub(crate) cost_picousd: Option<u64>,
}

impl ModelEntry {
    fn new(name: &str) -> ModelEntry {
        ModelEntry {
            // Entries are never removed, and there are at most `MAX_MODELS`.
            name: Box::leak(name.into()),
            price: RwLock::new(price_of(name)),
        }
    }

    /// The model's name.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// The price in force now.
    pub(crate) fn price(&self) -> Option<Price> {
        *self.price.read()
    }

    /// One call's tokens with their cost at the price in force.
    pub(crate) fn usage(&self, tokens: Tokens) -> Usage {
        Usage {
            tokens,
            cost_picousd: self.price.read().map(|price| price.cost_picousd(&tokens)),
        }
    }
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
fn reprice() {
    for entry in MODELS.read().values() {
        *entry.price.write() = price_of(entry.name);
    }
}

/// Replaces the price table every site costs its tokens with from now on. Costs already recorded
/// stay as they were.
///
/// # Examples
///
/// ```
/// use monitor_core::{Price, PriceTable, price_of, set_pricing};
///
/// let mut table = PriceTable::new();
/// table.insert("my-model", Price::per_million(1.0, 2.0))?;
/// set_pricing(table);
/// assert_eq!(price_of("my-model"), Some(Price::per_million(1.0, 2.0)));
/// # Ok::<(), monitor_core::PricingError>(())
/// ```
pub fn set_pricing(table: PriceTable) {
    *TABLE.write() = table;
    reprice();
}

/// Sets or changes the price of one model.
pub fn set_price(model: &str, price: Price) -> Result<(), PricingError> {
    TABLE.write().insert(model, price)?;
    reprice();
    Ok(())
}

/// Loads a price table from a JSON file (the form shown on [`PriceTable`]) and sets it. On error the
/// table in force stays.
pub fn load_pricing(path: impl AsRef<Path>) -> Result<(), PricingError> {
    set_pricing(PriceTable::from_json_file(path)?);
    Ok(())
}
