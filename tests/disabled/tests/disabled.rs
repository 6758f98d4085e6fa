//! Without the `enabled` feature nothing is instrumented and the API is inert.

use monitor_core::pricing::{Price, set_price};
use monitor_core::snapshot::models;
use monitor_core::{Config, set_enabled, sites};
use monitor_tests_disabled::{
    Client, Pipeline, async_handler, bare_async_handler, handler, stage, typed_stream,
};

#[test]
fn functions_run_unchanged_and_no_site_exists() {
    assert_eq!(handler(2), Ok(2));
    assert!(handler(0).is_err());
    assert_eq!(stage(), 7);
    assert_eq!(Client { model: "m".into() }.complete().output, 2);
    let stream = typed_stream();
    assert_eq!(futures_util::Stream::size_hint(&stream), (1, Some(1)));
    assert_eq!(
        (Pipeline.render(), Pipeline.optimise(8), Pipeline.helper()),
        (3, 4, 1)
    );
    assert_eq!(sites().len(), 0);
}

#[test]
fn the_runtime_api_compiles_and_does_nothing() {
    set_enabled(true);
    assert!(!monitor_core::is_enabled(), "there is nothing to switch on");
    Config::from_vars([("MONITOR_ENABLED", "true")])
        .unwrap()
        .apply()
        .unwrap();
    set_price("m", Price::per_million(1.0, 1.0)).unwrap();
    Client { model: "m".into() }.complete();
    assert!(models().is_empty(), "no usage is recorded");
}

#[test]
fn an_attributed_future_is_exactly_the_bare_future() {
    // With the feature on the attribute adds a guard to the future; off, it adds nothing at all.
    let attributed = std::mem::size_of_val(&async_handler([1; 64]));
    let bare = std::mem::size_of_val(&bare_async_handler([1; 64]));
    assert_eq!(attributed, bare);
}

#[test]
fn misuse_is_still_rejected() {
    trybuild::TestCases::new().compile_fail("ui/*.rs");
}

#[test]
fn a_history_file_without_the_persist_feature_is_a_typed_error_naming_it() {
    let error = Config::new()
        .history_path("/var/lib/app/history.db")
        .apply()
        .unwrap_err();
    let monitor_core::ConfigError::History(error) = error else {
        panic!("{error}");
    };
    assert_eq!(
        error.problem,
        monitor_core::history::HistoryFileProblem::FeatureOff
    );
    assert_eq!(
        error.to_string(),
        "history file /var/lib/app/history.db needs monitor-core's `persist` feature, which this \
         build does not have"
    );
    assert!(!std::path::Path::new("/var/lib/app/history.db").exists());
}
