//! The run-time switch and `Config`. Their own test binary: they change process-wide state, so the
//! tests here take a lock to run one at a time.

use monitor_core::pricing::price_of;
use monitor_core::{Config, ConfigError, is_enabled, monitored_handler, set_enabled};
use monitor_tests::support::{block_on, site};
use std::sync::Mutex;

/// The on/off switch and the configuration in force are the process's (truly process-wide, like
/// the allocator): the tests that change them take turns.
static SERIAL: Mutex<()> = Mutex::new(());

#[monitored_handler]
fn switched(x: u32) -> u32 {
    x * 3
}

#[monitored_handler]
async fn switched_async(x: u32) -> u32 {
    x * 3
}

#[test]
fn switched_off_nothing_is_recorded_and_functions_still_work() {
    let _serial = SERIAL.lock().unwrap();
    set_enabled(false);
    assert!(!is_enabled());
    assert_eq!(switched(2), 6);
    assert_eq!(block_on(switched_async(2)), 6);
    assert_eq!(site("switched").stats().calls(), 0);
    assert_eq!(site("switched_async").stats().calls(), 0);

    set_enabled(true);
    assert_eq!(switched(2), 6);
    assert_eq!(block_on(switched_async(2)), 6);
    assert_eq!(site("switched").stats().calls(), 1);
    assert_eq!(site("switched_async").stats().calls(), 1);
}

#[test]
fn a_call_finishes_as_it_started() {
    #[monitored_handler]
    fn turns_it_off() {
        set_enabled(false);
    }
    #[monitored_handler]
    fn turns_it_on() {
        set_enabled(true);
    }
    let _serial = SERIAL.lock().unwrap();
    turns_it_off();
    turns_it_on();
    assert_eq!(site("turns_it_off").stats().calls(), 1, "started while on");
    assert_eq!(site("turns_it_on").stats().calls(), 0, "started while off");
    set_enabled(true);
}

#[test]
fn config_reads_the_environment_and_names_bad_values() {
    let _serial = SERIAL.lock().unwrap();
    let config = Config::from_vars([
        ("MONITOR_ENABLED", "no"),
        ("PATH", "/bin"),
        ("MONITOR_PRICING_FILE", "/p.json"),
    ])
    .unwrap();
    assert!(!config.enabled);
    assert_eq!(
        config.pricing_file.as_deref(),
        Some(std::path::Path::new("/p.json"))
    );
    assert_eq!(
        Config::from_vars([("MONITOR_ENABLED", " On ")]).unwrap(),
        Config::new().enabled(true)
    );

    let err = Config::from_vars([("MONITOR_ENABLED", "maybe")]).unwrap_err();
    assert!(
        matches!(&err, ConfigError::InvalidValue { key: "MONITOR_ENABLED", value, .. } if value == "maybe")
    );
    let err = Config::from_vars([("MONITOR_PRICING_FILE", "")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "MONITOR_PRICING_FILE=\"\" is not valid: expected a path to a JSON price table"
    );
    // Set but empty is a mistake for every path, not "unset".
    for (key, expected) in [
        (
            "MONITOR_OBJECTIVES_FILE",
            "a path to a JSON file of objectives",
        ),
        ("MONITOR_HISTORY_PATH", "a path to a history file"),
    ] {
        let err = Config::from_vars([(key, "")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{key}=\"\" is not valid: expected {expected}")
        );
    }
}

#[test]
fn applying_a_config_loads_prices_or_changes_nothing() {
    let _serial = SERIAL.lock().unwrap();
    let dir = std::env::temp_dir().join(format!("monitor-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    std::fs::write(
        &good,
        r#"{ "models": { "config-model": { "input": 3, "output": 4 } } }"#,
    )
    .unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{ "models": { "config-model": { "input": "three" } } }"#,
    )
    .unwrap();

    let err = Config::new()
        .enabled(false)
        .pricing_file(&bad)
        .apply()
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Pricing {
                key: "pricing_file",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("bad.json"), "{err}");
    assert!(is_enabled(), "a failed apply changes nothing");

    Config::new()
        .enabled(false)
        .pricing_file(&good)
        .apply()
        .unwrap();
    assert!(!is_enabled());
    assert_eq!(
        price_of("config-model").map(|p| (p.input, p.output)),
        Some((3.0, 4.0))
    );
    Config::new().apply().unwrap();
    assert!(is_enabled());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn config_sets_history_limits_and_redactions_and_rejects_bad_ones() {
    let _serial = SERIAL.lock().unwrap();
    let config = Config::from_vars([
        ("MONITOR_TICK_MS", "250"),
        ("MONITOR_RETENTION_SECS", "3600"),
        ("MONITOR_HISTORY_MAX_BYTES", "1048576"),
        ("MONITOR_REDACT", "order-\\d+\ninvoice-[a-z]+"),
    ])
    .unwrap();
    assert_eq!(config.tick, std::time::Duration::from_millis(250));
    assert_eq!(config.retention, std::time::Duration::from_secs(3600));
    assert_eq!(config.max_history_bytes, 1 << 20);
    assert_eq!(config.redactions, ["order-\\d+", "invoice-[a-z]+"]);
    config.apply().unwrap();
    assert_eq!(
        monitor_core::errors::redact("lost order-1234 and invoice-abc"),
        "lost <redacted> and <redacted>"
    );

    let sampled = Config::from_vars([
        ("MONITOR_SAMPLE_RATE", "0.25"),
        ("MONITOR_OUTLIER_FACTOR", "3"),
    ])
    .unwrap();
    assert_eq!((sampled.sample_rate, sampled.outlier_factor), (0.25, 3.0));
    let budget = Config::from_vars([("MONITOR_MAX_ROUTE_SITES", "16")]).unwrap();
    assert_eq!(budget.max_route_sites, 16);
    budget.apply().unwrap();
    assert_eq!(monitor_core::site::max_route_sites(), 16);
    Config::new().apply().unwrap();
    assert_eq!(
        monitor_core::site::max_route_sites(),
        monitor_core::site::DEFAULT_MAX_ROUTE_SITES
    );
    for (key, value) in [
        ("MONITOR_SAMPLE_RATE", "1.5"),
        ("MONITOR_OUTLIER_FACTOR", "0.5"),
        ("MONITOR_TICK_MS", "5"),
        ("MONITOR_TICK_MS", "soon"),
        ("MONITOR_RETENTION_SECS", "10"),
        ("MONITOR_HISTORY_MAX_BYTES", "-1"),
        ("MONITOR_MAX_ROUTE_SITES", "4097"),
        ("MONITOR_MAX_ROUTE_SITES", "-1"),
        ("MONITOR_MAX_ROUTE_SITES", "many"),
    ] {
        let err = Config::from_vars([(key, value)]).unwrap_err();
        assert!(
            matches!(&err, ConfigError::InvalidValue { key: k, value: v, .. } if *k == key && v == value),
            "{err}"
        );
    }
    assert_eq!(
        Config::new()
            .max_route_sites(5000)
            .apply()
            .unwrap_err()
            .to_string(),
        "max_route_sites=\"5000\" is not valid: expected 4096 or fewer"
    );
    let bad = Config::new().enabled(false).redactions(["(unclosed"]);
    let err = bad.apply().unwrap_err();
    assert_eq!(
        err.to_string(),
        "redactions=\"(unclosed\" is not valid: expected a regular expression"
    );
    assert!(is_enabled(), "a failed apply changes nothing");
}
