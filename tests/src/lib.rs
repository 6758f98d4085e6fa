//! Functions of every shape the macros must accept, compiled with warnings denied: generated code
//! must not raise a rustc or clippy warning in the user's crate. `cargo clippy --all-targets -- -D
//! warnings` runs over this crate in CI, with the pedantic group on; the two lints allowed below
//! are about the user's own API, which the attributes leave as written. The integration tests call
//! these functions.
#![deny(warnings, clippy::pedantic)]
#![allow(clippy::must_use_candidate, clippy::missing_errors_doc)]

pub mod shapes;
pub mod support;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;
