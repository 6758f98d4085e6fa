//! Models by name, each with its price in force.
//!
//! A metered call resolves its model to an entry here (a literal model once per site, an
//! expression once per call) and prices its tokens with the entry's price. Entries live for the
//! whole process; their number is capped so that model names computed from input cannot grow
//! memory without bound. What each model used is not kept here: it is read from the sites
//! (see `crate::snapshot`).

use super::pricing::{Compiled, Price, PriceFileReport, PriceTable, PricingError, TABLE};
use super::tokens::Tokens;
use crate::interned::{Registry, intern};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicPtr, Ordering};

/// Distinct models tracked; later ones are counted under [`OTHER_MODELS`].
pub const MAX_MODELS: usize = 256;
/// The model name calls are counted under when none is known.
pub const UNKNOWN_MODEL: &str = "unknown";
/// The model name calls are counted under once [`MAX_MODELS`] names are taken.
pub const OTHER_MODELS: &str = "other";

/// A model, as a site's provider serves it, and its price.
pub(crate) struct ModelEntry {
    name: &'static str,
    provider: Option<&'static str>,
    /// The price in force: null, or a leaked price (see [`ModelEntry::set_price`]). A pointer,
    /// so that a call reads its price with one load: a read lock here cost every metered call
    /// ~10 ns and a shared line written by every thread.
    price: AtomicPtr<Compiled>,
}

impl std::fmt::Debug for ModelEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelEntry")
            .field("name", &self.name)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// Token usage and its cost, credited to a site.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Usage {
    pub(crate) tokens: Tokens,
    /// Picodollars by kind, in the order of [`TokenKind::ALL`](super::TokenKind::ALL); `None`
    /// when the model has no price.
    pub(crate) cost_picousd: Option<[u64; 5]>,
}

impl ModelEntry {
    fn new(name: &str, provider: Option<&str>) -> ModelEntry {
        let entry = ModelEntry {
            // Entries are never removed, and there are at most `MAX_MODELS`.
            name: Box::leak(name.into()),
            provider: provider.map(|p| &*Box::leak(p.into())),
            price: AtomicPtr::new(std::ptr::null_mut()),
        };
        entry.set_price(TABLE.read().lookup(name, provider));
        entry
    }

    /// The model's name.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// The provider of the sites that use it, if they name one.
    pub(crate) fn provider(&self) -> Option<&'static str> {
        self.provider
    }

    /// The price in force now.
    pub(crate) fn price(&self) -> Option<&'static Price> {
        self.compiled().map(|c| &c.price)
    }

    #[inline]
    fn compiled(&self) -> Option<&'static Compiled> {
        // SAFETY: null or a leaked `Compiled`, published with Release in `set_price` and never
        // freed.
        unsafe { self.price.load(Ordering::Acquire).as_ref() }
    }

    /// Puts `price` in force. A price that changed is leaked rather than freed, since a call on
    /// another thread may be reading the old one: what leaks is bounded by the number of price
    /// changes of the models in use (at most [`MAX_MODELS`] each time a table is set), and
    /// setting an equal price again leaks nothing.
    fn set_price(&self, price: Option<&Price>) {
        if self.price() == price {
            return;
        }
        let new = price.map_or(std::ptr::null_mut(), |p| {
            Box::into_raw(Box::new(Compiled::new(p)))
        });
        self.price.store(new, Ordering::Release);
    }

    /// One call's tokens with their cost at the price in force.
    #[inline]
    pub(crate) fn usage(&self, tokens: Tokens) -> Usage {
        Usage {
            tokens,
            cost_picousd: self.compiled().map(|price| price.cost_picousd(&tokens)),
        }
    }
}

/// The model a call's value named: nothing, a name to resolve, or an entry resolved already.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Named<'a> {
    Nothing,
    Name(&'a str),
    Entry(&'static ModelEntry),
}

impl Named<'_> {
    /// The entry, for a site of `provider`.
    pub(crate) fn resolve(self, provider: Option<&str>) -> Option<&'static ModelEntry> {
        match self {
            Named::Nothing => None,
            Named::Name(name) => Some(model(name, provider)),
            Named::Entry(entry) => Some(entry),
        }
    }
}

// Record path: a metered call finds its model's entry (and price) here, from generated code that
// cannot be handed a value.
static MODELS: Registry<ModelEntry> = Registry::new(BTreeMap::new());

/// Longest model name kept, in bytes; a longer one is cut at a character boundary. Names can
/// come from a provider's response (`TokenUsage::model`), and each becomes a label value.
pub const MAX_MODEL_NAME: usize = 128;

/// `name`, cut to at most [`MAX_MODEL_NAME`] bytes.
fn bounded(name: &str) -> &str {
    &name[..name.floor_char_boundary(MAX_MODEL_NAME)]
}

/// The entry for `name` served by `provider`, created on first use.
pub(crate) fn model(name: &str, provider: Option<&str>) -> &'static ModelEntry {
    let name = bounded(name);
    // One entry per model and provider: a provider's prices may differ (`provider/model`). The
    // key is put together on the stack: a model a response names is looked up on every call,
    // which allocates nothing once its entry exists.
    let mut buf = [0u8; 2 * MAX_MODEL_NAME];
    let key = match provider {
        Some(provider) => match joined(&mut buf, name, provider) {
            Some(key) => std::borrow::Cow::Borrowed(key),
            None => std::borrow::Cow::Owned(format!("{name}\u{1f}{provider}")),
        },
        None => std::borrow::Cow::Borrowed(name),
    };
    intern(
        &MODELS,
        &key,
        MAX_MODELS,
        OTHER_MODELS,
        &[UNKNOWN_MODEL],
        |key| {
            let name = key.split('\u{1f}').next().unwrap_or(key);
            ModelEntry::new(name, provider.filter(|_| key.contains('\u{1f}')))
        },
    )
}

/// `name`, the separator and `provider` in `buf`, if they fit.
fn joined<'b>(buf: &'b mut [u8], name: &str, provider: &str) -> Option<&'b str> {
    let len = name.len() + 1 + provider.len();
    let buf = buf.get_mut(..len)?;
    let (head, tail) = buf.split_at_mut(name.len());
    head.copy_from_slice(name.as_bytes());
    let (separator, rest) = tail.split_first_mut()?;
    *separator = 0x1f;
    rest.copy_from_slice(provider.as_bytes());
    std::str::from_utf8(buf).ok()
}

/// Every model entry.
pub(crate) fn entries() -> Vec<&'static ModelEntry> {
    MODELS.read().values().copied().collect()
}

/// Picks up a new price table in every entry.
fn reprice() {
    // The entries first, the table after: making an entry holds the registry and then reads the
    // table, so holding both in the other order could deadlock behind a waiting writer.
    let entries = entries();
    let table = TABLE.read();
    for entry in entries {
        entry.set_price(table.lookup(entry.name, entry.provider));
    }
}

/// Replaces the price table every site costs its tokens with from now on. Costs already recorded
/// stay as they were.
///
/// # Examples
///
/// ```
/// use monitor_core::pricing::{Price, PriceTable, price_of, set_table};
///
/// let mut table = PriceTable::new();
/// table.insert("my-model", Price::per_million(1.0, 2.0))?;
/// set_table(table);
/// assert_eq!(price_of("my-model"), Some(Price::per_million(1.0, 2.0)));
/// # Ok::<(), monitor_core::pricing::PricingError>(())
/// ```
pub fn set_table(table: PriceTable) {
    *TABLE.write() = table;
    reprice();
}

/// Sets or changes the price of one model.
pub fn set_price(model: &str, price: Price) -> Result<(), PricingError> {
    TABLE.write().insert(model, price)?;
    reprice();
    Ok(())
}

/// Loads a price table from a JSON file (either form shown on [`PriceTable`], monitor's or
/// LiteLLM's) and sets it, returning what it took in and left out. On error the table in force
/// stays.
pub fn load_file(path: impl AsRef<Path>) -> Result<PriceFileReport, PricingError> {
    let table = PriceTable::from_json_file(path)?;
    let report = table.report().clone();
    set_table(table);
    Ok(report)
}
