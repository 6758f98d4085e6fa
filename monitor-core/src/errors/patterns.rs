//! The table of error patterns: every failed call's error, grouped by site, error type and a
//! normalised message, after redaction.
//!
//! A message is first redacted, so no secret is ever stored, then normalised to give the pattern
//! that groups it. Sites are known here by a key of the record path's choosing (their position
//! among the sites); the read model turns keys back into sites.

use super::redact::{MessageCache, normalize, redact};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// Distinct patterns kept; errors of further patterns are only counted, in
/// [`ErrorSummary::dropped`](crate::snapshot::ErrorSummary::dropped).
pub const MAX_PATTERNS: usize = 1024;
/// Characters of an example message kept.
pub const MAX_EXAMPLE_CHARS: usize = 500;

/// One pattern's errors so far.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) count: u64,
    pub(crate) first_seen: SystemTime,
    pub(crate) last_seen: SystemTime,
    pub(crate) example: String,
}

/// Site key, error type, pattern.
pub(crate) type Key = (usize, &'static str, String);

struct Registry {
    patterns: BTreeMap<Key, Entry>,
    dropped: u64,
}

// Record path: a failed call's message is grouped into its pattern as it is recorded.
static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    patterns: BTreeMap::new(),
    dropped: 0,
});
/// Bumped by every error filed: a reader that saw this number has seen the table as it is.
static CHANGES: AtomicU64 = AtomicU64::new(0);

/// The redacted example and the pattern of a message.
fn example_and_pattern(message: &str) -> (String, String) {
    static SEEN: MessageCache<(String, String)> = MessageCache::new(4096);
    SEEN.get(message, |message| {
        let example = truncate(redact(message));
        let pattern = normalize(&example);
        (example, pattern)
    })
}

/// Records one failed call's error, of the site `site`. Called on the error path only.
pub(crate) fn record(site: usize, error_type: &'static str, message: &str) {
    let (example, pattern) = example_and_pattern(message);
    let now = SystemTime::now();
    let mut registry = REGISTRY.lock();
    CHANGES.fetch_add(1, Ordering::Relaxed);
    let key = (site, error_type, pattern);
    if let Some(entry) = registry.patterns.get_mut(&key) {
        entry.count += 1;
        entry.last_seen = now;
        entry.example = example;
    } else if registry.patterns.len() < MAX_PATTERNS {
        let entry = Entry {
            count: 1,
            first_seen: now,
            last_seen: now,
            example,
        };
        registry.patterns.insert(key, entry);
    } else {
        registry.dropped += 1;
    }
}

/// Files the panic unwinding this thread as an error of `site`, if the hook caught its message.
pub(crate) fn record_panic(site: usize) {
    if let Some(message) = super::panics::message() {
        record(site, "panic", &message);
    }
}

/// How many errors were filed so far: while it stays the same, so does the table.
pub(crate) fn changes() -> u64 {
    CHANGES.load(Ordering::Relaxed)
}

/// Every pattern with its errors, and how many errors did not fit.
pub(crate) fn table() -> (Vec<(Key, Entry)>, u64) {
    let registry = REGISTRY.lock();
    let rows = registry
        .patterns
        .iter()
        .map(|(key, entry)| (key.clone(), entry.clone()))
        .collect();
    (rows, registry.dropped)
}

fn truncate(mut message: String) -> String {
    if let Some((cut, _)) = message.char_indices().nth(MAX_EXAMPLE_CHARS) {
        message.truncate(cut);
        message.push('…');
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_examples_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_EXAMPLE_CHARS + 10);
        let cut = truncate(long);
        assert_eq!(cut.chars().count(), MAX_EXAMPLE_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
