//! Raw events: every failed call, a sample of the rest, and outliers. One test in steps: sampling
//! and the event buffer are process-wide.

use monitor_core::events::{EventReason, recent, set_sampling};
use monitor_core::history::tick_at;
use monitor_core::monitored_handler;
use std::time::{Duration, UNIX_EPOCH};

#[monitored_handler]
fn maybe_fail(i: u64) -> Result<u64, String> {
    if i.is_multiple_of(100) {
        Err(format!("failed with token=abc{i}"))
    } else {
        Ok(i)
    }
}

#[monitored_handler]
fn sometimes_slow(slow: bool) -> u64 {
    if slow {
        std::thread::sleep(Duration::from_millis(30));
    }
    1
}

fn kept(name: &str, reason: EventReason) -> usize {
    recent()
        .0
        .iter()
        .filter(|e| e.site.name() == name && e.reason == reason)
        .count()
}

#[test]
fn failures_samples_and_outliers_are_kept_and_nothing_else() {
    // Sampling off: only the failures.
    for i in 0..1_000 {
        let _ = maybe_fail(i);
    }
    assert_eq!(kept("maybe_fail", EventReason::Failed), 10);
    assert_eq!(kept("maybe_fail", EventReason::Sampled), 0);
    let failed = recent()
        .0
        .into_iter()
        .find(|e| e.site.name() == "maybe_fail")
        .unwrap();
    assert_eq!(
        failed.error_message.as_deref(),
        Some("failed with token=<redacted>")
    );

    // One call in ten, per thread.
    set_sampling(0.1);
    for i in 1..=1_000 {
        let _ = maybe_fail(i * 100 + 1); // none of these fail
    }
    set_sampling(0.0);
    assert_eq!(kept("maybe_fail", EventReason::Sampled), 100);

    // Outliers: once the collector has seen a site's p99, calls far beyond it are kept. (Which
    // fast calls cross twice their p99 depends on the scheduler, so only the slow one is checked.)
    for _ in 0..200 {
        sometimes_slow(false);
    }
    sometimes_slow(true);
    assert_eq!(
        kept("sometimes_slow", EventReason::Outlier),
        0,
        "no threshold before a tick"
    );
    tick_at(UNIX_EPOCH + Duration::from_secs(1_900_000_000));
    sometimes_slow(true);
    let slow_outliers = recent()
        .0
        .into_iter()
        .filter(|e| e.site.name() == "sometimes_slow" && e.reason == EventReason::Outlier)
        .filter(|e| e.duration >= Duration::from_millis(30))
        .count();
    assert_eq!(slow_outliers, 1);

    // The same message again and again is redacted once and remembered; a rule added meanwhile
    // applies to the next one all the same.
    for _ in 0..3 {
        let _ = same_failure();
    }
    monitor_core::errors::add_redaction("db-[0-9]+").unwrap();
    let _ = same_failure();
    let messages: Vec<String> = recent()
        .0
        .into_iter()
        .filter(|e| e.site.name() == "same_failure")
        .filter_map(|e| e.error_message)
        .collect();
    assert_eq!(
        messages,
        [
            "db-7 refused token=<redacted>",
            "db-7 refused token=<redacted>",
            "db-7 refused token=<redacted>",
            "<redacted> refused token=<redacted>",
        ]
    );
}

#[monitored_handler]
fn same_failure() -> Result<u64, String> {
    Err("db-7 refused token=hunter2".to_owned())
}
