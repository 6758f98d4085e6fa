//! The JSON the dashboard serves, as types of its own.
//!
//! The answers are a contract with the page and with whatever else reads them, so they do not
//! serialise monitor-core's types directly: a field renamed in core would silently rename it on
//! the wire. Each type here has the field names the API has always had and is built from core's
//! types by a `From` impl, so a change in core is a compile error here, and a change here is a
//! diff in the golden files of `tests/wire/` (`tests/wire.rs`).

pub(crate) mod insights;
