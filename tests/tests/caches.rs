//! Cache hits and misses, counted through the API and from return values.

use monitor_core::caches::all;
use monitor_core::{Lookup, Tokens, cache, monitored_handler, pipeline_stage, tracks_tokens};
use monitor_tests::support::{block_on, site};
use std::collections::HashMap;
use std::sync::Mutex;

#[test]
fn the_api_counts_hits_and_misses_exactly_across_threads() {
    let logos = cache("api-logos");
    std::thread::scope(|scope| {
        for t in 0..8u64 {
            scope.spawn(move || {
                for i in 0..10_000u64 {
                    logos.record((i + t).is_multiple_of(4));
                }
            });
        }
    });
    let stats = cache("api-logos").stats();
    assert_eq!((stats.hits, stats.misses), (20_000, 60_000));
    assert_eq!(stats.hit_ratio, Some(0.25));
    assert!(all().iter().any(|c| c.name == "api-logos"));
}

static STORE: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);

#[monitored_handler(cache = "renders")]
fn render(prompt: &str) -> Lookup<String> {
    let mut store = STORE.lock().unwrap();
    let store = store.get_or_insert_with(HashMap::new);
    if let Some(svg) = store.get(prompt) {
        return Lookup::Hit(svg.clone());
    }
    let svg = format!("<svg>{prompt}</svg>");
    store.insert(prompt.to_owned(), svg.clone());
    Lookup::Miss(svg)
}

#[test]
fn a_return_value_reports_its_lookup() {
    for prompt in ["fox", "owl", "fox", "fox", "owl"] {
        render(prompt).into_inner();
    }
    assert_eq!(site("render").cache(), Some("renders"));
    let stats = cache("renders").stats();
    assert_eq!((stats.hits, stats.misses), (3, 2));
}

#[pipeline_stage(pipeline = "caches", cache = "async-lookups")]
async fn fetch(key: u32) -> Result<Option<u32>, String> {
    if key == 0 {
        Err("bad key".into())
    } else {
        Ok(key.is_multiple_of(2).then_some(key))
    }
}

#[tracks_tokens(model = "caches-model", cache = "prompt-cache")]
fn complete(cached: bool) -> Lookup<Tokens> {
    let usage = Tokens::new(10, 1).cached(if cached { 10 } else { 0 });
    if cached {
        Lookup::Hit(usage)
    } else {
        Lookup::Miss(usage)
    }
}

#[test]
fn every_attribute_and_shape_records_lookups() {
    for key in [0, 1, 2, 3, 4] {
        let _ = block_on(fetch(key));
    }
    let stats = cache("async-lookups").stats();
    assert_eq!(
        (stats.hits, stats.misses),
        (2, 2),
        "an Err reports no lookup"
    );

    complete(true);
    complete(false);
    complete(true);
    let stats = cache("prompt-cache").stats();
    assert_eq!((stats.hits, stats.misses), (2, 1));
    assert_eq!(site("complete").stats().tokens.cached_input, 20);
}
