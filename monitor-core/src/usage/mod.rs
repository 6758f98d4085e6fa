//! Token usage: the five kinds of tokens a metered call reports ([`Tokens`], [`TokenKind`]), the
//! trait a return value implements to report them ([`TokenUsage`]), and the bounds on models by
//! name.
//!
//! Reach for it to make a type of your own report tokens to `#[tracks_tokens]`; prices are in
//! [`pricing`](crate::pricing), and what each model used in
//! [`snapshot::models`](crate::snapshot::models).

// Tokens, prices, and models by name: what a metered call used and what it cost.
//
// The bottom layer of the crate: it knows nothing of sites. The record path prices a call's
// tokens with [`entry::ModelEntry::usage`]; the read model adds up what each model used.
pub(crate) mod entry;
#[cfg(feature = "async-openai")]
mod openai;
mod price_file;
pub(crate) mod pricing;
pub(crate) mod tokens;

pub use entry::{MAX_MODEL_NAME, MAX_MODELS, OTHER_MODELS, UNKNOWN_MODEL};
pub use pricing::TokenKind;
pub use tokens::{Failure, TokenUsage, Tokens};
