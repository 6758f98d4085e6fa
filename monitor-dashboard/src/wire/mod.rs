//! The JSON the dashboard serves, as types of its own.
//!
//! The answers are a contract with the page and with whatever else reads them, so they do not
//! serialise monitor-core's types directly: a field renamed in core would silently rename it on
//! the wire. Each type here spells the field names the API has always had and is built from
//! core's types by a `From` impl (or a `new` that takes what the route adds), so a change in core
//! is a compile error here, and a change here is a diff in the golden files of `tests/wire/`
//! (`tests/wire.rs`). A file per answer; `common.rs` holds what several share.

pub(crate) mod common;
pub(crate) mod errors;
pub(crate) mod estimates;
pub(crate) mod events;
pub(crate) mod exports;
pub(crate) mod insights;
pub(crate) mod memory;
pub(crate) mod models;
pub(crate) mod objectives;
pub(crate) mod problem;
pub(crate) mod query;
pub(crate) mod runs;
pub(crate) mod sites;
pub(crate) mod tick;
