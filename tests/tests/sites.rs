//! `sites()` lists every instrumented function, called or not, with what its attribute said.

use monitor_core::site::SiteKind;
use monitor_core::{Tokens, monitored_handler, pipeline_stage, sites, tracks_tokens};
use monitor_tests::shapes;
use monitor_tests::support::site;

/// The line of `fn never_called` below.
const NEVER_CALLED_LINE: u32 = line!() + 2;
#[monitored_handler(route = "GET /never")]
fn never_called() -> u32 {
    1
}

#[pipeline_stage(pipeline = "listing", stage = "first")]
fn stage_with_name() {}

#[pipeline_stage(pipeline = "listing")]
fn stage_default_name() {}

#[tracks_tokens(model = "gpt-4o", provider = "openai", name = "llm")]
fn literal_model() -> Tokens {
    Tokens::default()
}

#[test]
fn uncalled_sites_are_listed_with_their_location() {
    let s = site("never_called");
    assert_eq!(s.kind(), SiteKind::Handler);
    assert_eq!(s.route(), Some("GET /never"));
    assert_eq!(s.module_path(), "sites");
    assert_eq!(s.file(), file!());
    assert_eq!(
        s.line(),
        NEVER_CALLED_LINE,
        "the line of `fn`, not of the attribute"
    );
    assert_eq!(s.stats().calls(), 0);
}

#[test]
fn arguments_are_recorded() {
    let s = site("stage_with_name");
    assert_eq!(
        (s.kind(), s.pipeline(), s.stage()),
        (SiteKind::Stage, Some("listing"), Some("first"))
    );
    let s = site("stage_default_name");
    assert_eq!(
        s.stage(),
        Some("stage_default_name"),
        "stage defaults to the function's name"
    );

    let s = site("llm");
    assert_eq!(s.function(), "literal_model");
    assert_eq!(
        (s.kind(), s.model(), s.provider()),
        (SiteKind::Tokens, Some("gpt-4o"), Some("openai"))
    );
    assert_eq!(s.model_expr(), None);

    let s = site("call_model");
    assert_eq!(s.model(), None);
    assert_eq!(s.model_expr(), Some("self.model.as_str()"));
}

#[test]
fn sites_of_a_linked_library_are_listed_too() {
    // `monitor_tests::shapes` is another crate; referencing it links it.
    let _ = shapes::free as fn(u32) -> u32;
    for name in [
        "free",
        "early",
        "greet",
        "service_call",
        "async_method",
        "consume_model",
    ] {
        site(name);
    }
    assert_eq!(site("early").route(), Some("GET /early"));
    assert_eq!(site("early").function(), "early_return");
}

#[test]
fn listing_is_sorted_and_ids_are_unique() {
    let all: Vec<_> = sites().collect();
    assert!(all.len() >= 20, "{} sites", all.len());
    let keys: Vec<_> = all.iter().map(|s| (s.file(), s.line())).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    let mut ids: Vec<String> = all.iter().map(|s| s.id()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len());
}

/// Core's types are not serialised any more: the JSON a site is described in is the dashboard's
/// (its `tests/wire/` pins it), made of these.
#[test]
fn a_site_describes_itself() {
    let described = site("never_called");
    assert_eq!(described.kind().as_str(), "handler");
    assert_eq!(described.route(), Some("GET /never"));
    assert_eq!(described.line(), NEVER_CALLED_LINE);
    assert!(described.id().starts_with("sites::never_called@"));
    let _ = never_called;
    let _ = stage_with_name;
    let _ = stage_default_name;
    let _ = literal_model;
}
