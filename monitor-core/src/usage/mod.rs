//! Tokens, prices, and models by name: what a metered call used and what it cost.
//!
//! The bottom layer of the crate: it knows nothing of sites. The record path prices a call's
//! tokens with [`entry::ModelEntry::usage`]; the read model adds up what each model used.

pub(crate) mod entry;
mod price_file;
pub(crate) mod pricing;
pub(crate) mod tokens;

pub use entry::{
    MAX_MODEL_NAME, MAX_MODELS, OTHER_MODELS, UNKNOWN_MODEL, load_pricing, set_price, set_pricing,
};
pub use pricing::{
    Price, PriceFileReport, PriceFormat, PriceTable, PriceTier, PricingError, TokenKind, price_of,
    pricing,
};
pub use tokens::{TokenUsage, Tokens};
