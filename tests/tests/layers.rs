//! No module of any crate of the workspace imports another that imports it back, directly or
//! around a circle. monitor-core is moreover laid out in layers: no circle between the directories
//! that group its files either (record, usage, figures, history, errors, memory, snapshot,
//! objectives, insights), and they stack in the order its lib.rs gives. Read from the sources:
//! every path a file names through `crate::`, `super::` or `self::` — a name the crate root
//! re-exports (`crate::Snapshot`, `crate::pricing::Price`) counted as the module it comes from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace's root directory.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every module of the crate whose sources are in `root` (`record::site`, …) with its source,
/// comments removed. The crate roots are `lib` and `main`.
fn modules(root: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().with_extension("");
                let name = rel.to_string_lossy().replace("/mod", "").replace('/', "::");
                let source = std::fs::read_to_string(&path).unwrap();
                let code: String = source
                    .lines()
                    .map(|l| l.split("//").next().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("\n");
                out.insert(name, code);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The `src` directory of every crate of the workspace: found, not listed, so that a new crate
/// is checked from its first commit.
fn crates() -> Vec<PathBuf> {
    let mut found = Vec::new();
    for parent in [workspace(), workspace().join("tests")] {
        for entry in std::fs::read_dir(&parent).unwrap() {
            let dir = entry.unwrap().path();
            if dir.join("Cargo.toml").is_file() && dir.join("src").is_dir() {
                found.push(dir.join("src"));
            }
        }
    }
    found.sort();
    found
}

/// What the crate root re-exports, by the name it has there (`Snapshot`, or `pricing::Price` for
/// an item of one of the root's inline modules): the module each comes from. Read from lib.rs's
/// `pub use` statements, at its top level and in its inline `pub mod name { … }` modules.
fn reexports(modules: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let Some(lib) = modules.get("lib") else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    let mut scope: Option<String> = None;
    let mut statement = String::new();
    for line in lib.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("pub mod ")
            && let Some(name) = rest.strip_suffix(" {")
        {
            scope = Some(name.trim().to_owned());
            continue;
        }
        if line == "}" {
            scope = None;
            continue;
        }
        if statement.is_empty() && !trimmed.starts_with("pub use ") {
            continue;
        }
        statement.push_str(trimmed);
        statement.push(' ');
        if !trimmed.ends_with(';') {
            continue;
        }
        let body = std::mem::take(&mut statement);
        let body = body
            .trim()
            .trim_start_matches("pub use ")
            .trim_end_matches(';')
            .trim()
            .trim_start_matches("crate::")
            .to_owned();
        let (head, items) = match body.split_once("::{") {
            Some((head, items)) => (head.to_owned(), items.trim_end_matches('}').to_owned()),
            None => match body.rsplit_once("::") {
                Some((head, item)) => (head.to_owned(), item.to_owned()),
                None => continue,
            },
        };
        for item in items.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, alias) = match item.split_once(" as ") {
                Some((name, alias)) => (name.trim(), alias.trim()),
                None => (item, item),
            };
            let mut parts: Vec<&str> = head.split("::").collect();
            parts.extend(name.split("::"));
            if let Some(module) = longest(&parts, modules) {
                let key = match &scope {
                    Some(scope) => format!("{scope}::{alias}"),
                    None => alias.to_owned(),
                };
                out.insert(key, module);
            }
        }
    }
    out
}

/// The module a path starting in `from` names: the longest prefix that is a module, or, for a
/// name the crate root re-exports, the module it comes from.
fn target(
    from: &str,
    path: &[&str],
    modules: &BTreeMap<String, String>,
    reexported: &BTreeMap<String, String>,
) -> Option<String> {
    let mut base: Vec<&str> = from.split("::").collect();
    let rest: &[&str] = match path.first() {
        Some(&"crate") => {
            base.clear();
            &path[1..]
        }
        Some(&"self") => &path[1..],
        Some(&"super") => {
            let supers = path.iter().take_while(|p| **p == "super").count();
            base.truncate(base.len().saturating_sub(supers));
            &path[supers..]
        }
        _ => return None,
    };
    base.extend(rest);
    let found = longest(&base, modules);
    if found.as_deref().is_some_and(|m| m != "lib") {
        return found;
    }
    // At the root: a re-exported name, or an item of one of the root's inline modules.
    let two = base.iter().take(2).copied().collect::<Vec<_>>().join("::");
    reexported
        .get(&two)
        .or_else(|| base.first().and_then(|first| reexported.get(*first)))
        .cloned()
        .or(found)
}

fn longest(parts: &[&str], modules: &BTreeMap<String, String>) -> Option<String> {
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|m| modules.contains_key(m))
}

/// `from → to` for every module a module names, itself, its parents and its children left out.
fn edges(modules: &BTreeMap<String, String>) -> BTreeSet<(String, String)> {
    let reexported = reexports(modules);
    let mut edges = BTreeSet::new();
    for (from, code) in modules {
        let words: Vec<&str> = code
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '{' || c == ','))
            .filter(|w| !w.is_empty())
            .collect();
        for word in words {
            // `use super::{a, b}` and `crate::x::y` alike: the path, then each item of a brace.
            let (head, items) = match word.split_once("::{") {
                Some((head, items)) => (head, items.split(',').collect::<Vec<_>>()),
                None => (word, vec![""]),
            };
            for item in items {
                let item = item.trim_matches(|c| c == '{' || c == '}' || c == ',');
                let path: Vec<&str> = head
                    .split("::")
                    .chain(item.split("::"))
                    .filter(|p| !p.is_empty() && *p != "{")
                    .collect();
                if !matches!(path.first(), Some(&("crate" | "super" | "self"))) {
                    continue;
                }
                if let Some(to) = target(from, &path, modules, &reexported) {
                    let related = to == *from
                        || from.starts_with(&format!("{to}::"))
                        || to.starts_with(&format!("{from}::"));
                    if !related {
                        edges.insert((from.clone(), to));
                    }
                }
            }
        }
    }
    edges
}

/// A circle among `edges`, if there is one.
fn circle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges {
        graph.entry(a).or_default().push(b);
    }
    fn visit<'a>(
        node: &'a str,
        graph: &BTreeMap<&'a str, Vec<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| *n == node) {
            return Some(path[at..].iter().map(|s| s.to_string()).collect());
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, &graph, &mut Vec::new(), &mut done))
}

/// The crate root, its hidden module for generated code, the configuration and the runtime that
/// owns what runs gather everything; the layers are below them.
const ABOVE: [&str; 4] = ["lib", "__private", "config", "runtime"];

/// Crate roots: they declare the modules, and the modules may use what the root defines.
const ROOTS: [&str; 2] = ["lib", "main"];

#[test]
fn no_module_of_any_crate_imports_one_that_imports_it_back() {
    let crates = crates();
    let names: Vec<String> = crates
        .iter()
        .map(|src| {
            src.parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for known in [
        "monitor-core",
        "monitor-export",
        "monitor-dashboard",
        "monitor-macros",
    ] {
        assert!(
            names.iter().any(|n| n == known),
            "{known} not found in {names:?}"
        );
    }
    for (src, name) in crates.iter().zip(&names) {
        if name == "monitor-core" {
            // Checked below, layers and all, with its hidden module and its configuration (which
            // gather everything) above the layers.
            continue;
        }
        let edges: BTreeSet<(String, String)> = edges(&modules(src))
            .into_iter()
            .filter(|(a, b)| !ROOTS.contains(&a.as_str()) && !ROOTS.contains(&b.as_str()))
            .collect();
        if name == "monitor-dashboard" {
            // The test reads the dashboard's imports: these are known to exist.
            assert!(
                edges.contains(&("events".into(), "params".into())),
                "{edges:?}"
            );
            assert!(
                edges.contains(&("api".into(), "events".into())),
                "{edges:?}"
            );
        }
        assert_eq!(circle(&edges), None, "modules of {name} import each other");
    }
}

#[test]
fn monitor_core_is_laid_out_in_layers() {
    let modules = modules(&workspace().join("monitor-core/src"));
    assert!(modules.contains_key("record::site") && modules.contains_key("snapshot"));
    let edges: BTreeSet<(String, String)> = edges(&modules)
        .into_iter()
        .filter(|(a, b)| !ABOVE.contains(&a.as_str()) && !ABOVE.contains(&b.as_str()))
        .collect();
    // The test reads the imports it must: these are known to exist.
    assert!(
        edges.contains(&("record::guard".into(), "record::site".into())),
        "{edges:?}"
    );
    assert!(
        edges.contains(&("snapshot".into(), "record::registry".into())),
        "{edges:?}"
    );
    assert!(
        edges.contains(&("insights::read".into(), "history::query".into())),
        "{edges:?}"
    );
    assert_eq!(circle(&edges), None, "files import each other");
    let top = |m: &str| m.split("::").next().unwrap_or(m).to_owned();
    let layers: BTreeSet<(String, String)> = edges
        .iter()
        .map(|(a, b)| (top(a), top(b)))
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        circle(&layers),
        None,
        "layers import each other: {layers:?}"
    );
    // The order ARCHITECTURE.md's layers give, bottom up.
    for (below, above) in [
        ("usage", "figures"),
        ("figures", "record"),
        ("errors", "record"),
        ("record", "snapshot"),
        ("snapshot", "history"),
        // Insights read everything, objectives included, and nothing reads them.
        ("history", "insights"),
        ("objectives", "insights"),
        ("snapshot", "insights"),
    ] {
        assert!(
            !layers.contains(&(below.to_owned(), above.to_owned())),
            "{below} imports {above}"
        );
    }
}

#[test]
fn a_name_the_root_re_exports_counts_as_its_module() {
    let mut modules = modules(&workspace().join("monitor-core/src"));
    let reexported = reexports(&modules);
    // What lib.rs re-exports is read, at the top and in its inline modules.
    assert_eq!(
        reexported.get("Snapshot").map(String::as_str),
        Some("snapshot")
    );
    assert_eq!(reexported.get("Site").map(String::as_str), Some("record"));
    assert_eq!(
        reexported.get("pricing::Price").map(String::as_str),
        Some("usage::pricing")
    );
    // A module of a lower layer naming a higher one through the root is caught, whichever way it
    // names it: the root's name, or an inline module's.
    modules.insert(
        "usage::through_the_root".into(),
        "use crate::Snapshot;\nfn f() { crate::site::route_site(\"GET /\"); }".into(),
    );
    let edges = edges(&modules);
    assert!(
        edges.contains(&("usage::through_the_root".into(), "snapshot".into())),
        "{edges:?}"
    );
    assert!(
        edges.contains(&("usage::through_the_root".into(), "record".into())),
        "{edges:?}"
    );
}
