//! Entries looked up by name and kept for the life of the process (models, caches), their number
//! capped so that names computed from input cannot grow memory without bound.

use parking_lot::RwLock;
use std::collections::BTreeMap;

/// Named entries, never removed.
pub(crate) type Registry<T> = RwLock<BTreeMap<Box<str>, &'static T>>;

/// The entry for `name`, made by `make` on first use. Once `max - 1` names are taken, other names
/// share the entry `overflow`; names in `always` are let in regardless, since they are fixed.
pub(crate) fn intern<T>(
    registry: &Registry<T>,
    name: &str,
    max: usize,
    overflow: &str,
    always: &[&str],
    make: impl FnOnce(&str) -> T,
) -> &'static T {
    if let Some(entry) = registry.read().get(name) {
        return entry;
    }
    let mut entries = registry.write();
    if let Some(entry) = entries.get(name) {
        return entry;
    }
    let name = if entries.len() >= max - 1 && !always.contains(&name) {
        overflow
    } else {
        name
    };
    // Entries are never removed: the cap bounds what this leaks to `max` entries.
    entries
        .entry(name.into())
        .or_insert_with(|| Box::leak(Box::new(make(name))))
}
