//! Lists of `(key, value)` kept sorted by key: a histogram's buckets, a frame's sites.

/// Adds `theirs` into `mine`, two lists sorted by key, keeping the order: `add` combines the values
/// of a key in both, a key only in `theirs` comes in as it is. One pass over both, and no new list
/// when every key of `theirs` is in `mine` already — the same sites tick after tick, the same
/// buckets reading after reading, usually.
pub(crate) fn merge_keyed<K: Ord + Clone, V: Clone>(
    mine: &mut Vec<(K, V)>,
    theirs: &[(K, V)],
    add: impl Fn(&mut V, &V),
) {
    let mut fresh = Vec::new();
    let mut at = 0;
    for (key, value) in theirs {
        while mine.get(at).is_some_and(|(k, _)| k < key) {
            at += 1;
        }
        match mine.get_mut(at) {
            Some((k, v)) if k == key => add(v, value),
            _ => fresh.push((key.clone(), value.clone())),
        }
    }
    if !fresh.is_empty() {
        let old = std::mem::take(mine);
        let mut old = old.into_iter().peekable();
        let mut fresh = fresh.into_iter().peekable();
        while let Some(next) = match (old.peek(), fresh.peek()) {
            (Some((a, _)), Some((b, _))) if b < a => fresh.next(),
            (Some(_), _) => old.next(),
            (None, _) => fresh.next(),
        } {
            mine.push(next);
        }
    }
}
