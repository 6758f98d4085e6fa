//! What the rules read: the history over a window, grouped, or the totals since the start when
//! the history has nothing for it; and how a message names what a group is.

use super::words::span;
use crate::figures::Figures;
use crate::history::query::{Field, Query, QueryResult, TimeRange, query, site_totals};
use crate::history::state::unix_ms;
use crate::record::registry::all;
use crate::record::site::{Site, SiteKind};
use crate::snapshot::Snapshot;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// The stretch of history the slowest stage, the slowest handler and the cache hit ratios are
/// judged over: long enough to smooth a burst, short enough to be about now.
pub(super) const WINDOW: Duration = Duration::from_secs(15 * 60);

/// The recent stretch whose error rate (or time to first chunk) is compared with the one before.
pub(super) const RECENT: Duration = Duration::from_secs(5 * 60);

/// The stretch before [`RECENT`] that stands for the usual. Together they span 15 minutes, which
/// the history keeps at its finest resolution, so the boundary between them is exact rather than
/// rounded to a minute.
pub(super) const BASELINE: Duration = Duration::from_secs(10 * 60);

/// The history over `range`, grouped; `None` when the query cannot be answered.
pub(super) fn history(
    range: TimeRange,
    now: SystemTime,
    kind: Option<SiteKind>,
    by: &[Field],
) -> Option<QueryResult> {
    let mut q = Query::new(range).at(now);
    if let Some(kind) = kind {
        q = q.filter(Field::Kind, kind.as_str());
    }
    for field in by {
        q = q.group_by(*field);
    }
    query(&q).ok()
}

/// Every field that tells a site apart, so groups are sites and keys describe them.
pub(super) const SITE_FIELDS: [Field; 6] = [
    Field::Kind,
    Field::Site,
    Field::Route,
    Field::Pipeline,
    Field::Stage,
    Field::Model,
];

/// A group's description, as a query's group key has it.
pub(super) type Key = BTreeMap<&'static str, String>;

/// A site's description as a query's group key has it.
pub(super) fn key_of(site: &Site) -> Key {
    let mut key = Key::new();
    key.insert("kind", site.kind().as_str().to_owned());
    key.insert("site", site.qualified_name().to_owned());
    let optional = [
        ("route", site.route()),
        ("pipeline", site.pipeline()),
        ("stage", site.stage()),
        ("model", site.model()),
    ];
    for (field, value) in optional {
        if let Some(value) = value {
            key.insert(field, value.to_owned());
        }
    }
    key
}

/// How a message names a site: `handler `create_logo` (POST /api/logos)`.
pub(super) fn subject(key: &Key) -> String {
    let get = |field: &str| key.get(field).map(String::as_str);
    let name = get("site").unwrap_or("?");
    match get("kind") {
        // A route no instrumented handler served is a site named after its route.
        Some("handler") => match get("route") {
            Some(route) if route == name => format!("route `{route}`"),
            Some(route) => format!("handler `{name}` ({route})"),
            None => format!("handler `{name}`"),
        },
        Some("stage") => match (get("stage"), get("pipeline")) {
            (Some(stage), Some(pipeline)) => format!("stage `{stage}` of pipeline `{pipeline}`"),
            _ => format!("stage `{name}`"),
        },
        Some("tokens") => match get("model") {
            Some(model) => format!("metered call `{name}` ({model})"),
            None => format!("metered call `{name}`"),
        },
        _ => format!("`{name}`"),
    }
}

/// The figures of every site of `kind` with calls, merged by `fields`: over the [`WINDOW`] when
/// the history has any, else since the start. Also says which, in the words of a message.
///
/// Both come as [`Figures`], whichever source: the history's per-site figures of the window, or
/// the snapshot's totals, grouped alike by the description [`key_of`] gives.
pub(super) fn figures(
    now: SystemTime,
    snapshot: &Snapshot,
    kind: SiteKind,
    fields: &[Field],
) -> (Vec<(Key, Figures)>, String) {
    let sites = all();
    let to = unix_ms(now);
    let from = to.saturating_sub(WINDOW.as_millis() as u64);
    let of_kind = |index: usize| sites.get(index).is_some_and(|s| s.kind() == kind);
    let window = site_totals(from, to, &of_kind, None);
    let recent = grouped(
        window
            .iter()
            .filter_map(|(index, f)| Some((*sites.get(*index)?, f))),
        fields,
    );
    if !recent.is_empty() {
        return (recent, format!("in the last {}", span(WINDOW)));
    }
    let totals = grouped(
        snapshot
            .sites
            .iter()
            .filter(|s| s.site.kind() == kind)
            .map(|s| (s.site, &*s.figures)),
        fields,
    );
    (totals, "since the start".to_owned())
}

/// The figures of `sites`, merged by the values of `fields` in their descriptions; groups
/// without calls left out.
fn grouped<'a>(
    sites: impl Iterator<Item = (&'static Site, &'a Figures)>,
    fields: &[Field],
) -> Vec<(Key, Figures)> {
    let mut by_key: BTreeMap<Key, Figures> = BTreeMap::new();
    for (site, figures) in sites {
        let full = key_of(site);
        let key = fields
            .iter()
            .filter_map(|f| {
                let name = Field::ALL.iter().find(|(_, g)| g == f)?.0;
                Some((name, full.get(name)?.clone()))
            })
            .collect();
        by_key.entry(key).or_default().add(figures);
    }
    by_key.into_iter().filter(|(_, f)| f.calls() > 0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_what_to_look_at() {
        let key = |pairs: &[(&'static str, &str)]| -> Key {
            pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
        };
        assert_eq!(
            subject(&key(&[
                ("kind", "handler"),
                ("site", "create"),
                ("route", "POST /x")
            ])),
            "handler `create` (POST /x)"
        );
        assert_eq!(
            subject(&key(&[
                ("kind", "handler"),
                ("site", "GET /y"),
                ("route", "GET /y")
            ])),
            "route `GET /y`"
        );
        assert_eq!(
            subject(&key(&[
                ("kind", "stage"),
                ("site", "f"),
                ("pipeline", "p"),
                ("stage", "s")
            ])),
            "stage `s` of pipeline `p`"
        );
        assert_eq!(subject(&Key::new()), "`?`");
    }
}
