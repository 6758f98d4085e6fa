//! Every tier of the history answers with every call, including those of the minute in progress,
//! which the hour tier takes from the minute tier only once that minute is over.

use monitor_core::history::{Field, Query, TimeRange, query, tick_at};
use monitor_core::monitored_handler;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[monitored_handler]
fn tiered() -> u64 {
    7
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Calls of `tiered` over the last `span`, as of `now`, and the width of the points answered.
fn calls(span: Duration, now: u64) -> (u64, f64) {
    let q = Query::new(TimeRange::Last(span))
        .at(at(now))
        .filter(Field::Site, "tiered");
    let result = query(&q).unwrap();
    let calls = result.groups.iter().map(|g| g.figures.calls()).sum();
    (calls, result.resolution_secs)
}

#[test]
fn each_tier_counts_the_latest_calls() {
    // On the hour: minute and hour slots start here.
    let t0 = 1_700_002_800;
    assert_eq!(t0 % 3600, 0);
    let spans = [
        (Duration::from_secs(5 * 60), 1.0),
        (Duration::from_secs(2 * 3600), 60.0),
        (Duration::from_secs(48 * 3600), 3600.0),
    ];
    let check = |now: u64, expected: u64| {
        for (span, width) in spans {
            assert_eq!(
                calls(span, now),
                (expected, width),
                "over {span:?} at {now}"
            );
        }
    };

    tick_at(at(t0));
    for _ in 0..5 {
        tiered();
    }
    tick_at(at(t0 + 1));
    // In the first minute: the hour tier has taken nothing yet, and still answers with all 5.
    check(t0 + 2, 5);

    for _ in 0..3 {
        tiered();
    }
    // The next minute: the first one is finished and filed into the hour tier.
    tick_at(at(t0 + 61));
    check(t0 + 62, 8);

    tiered();
    tick_at(at(t0 + 62));
    check(t0 + 63, 9);

    // The next hour: everything filed, nothing counted twice.
    tick_at(at(t0 + 3_601));
    tiered();
    tick_at(at(t0 + 3_602));
    assert_eq!(
        calls(Duration::from_secs(48 * 3600), t0 + 3_603),
        (10, 3600.0)
    );
    assert_eq!(calls(Duration::from_secs(2 * 3600), t0 + 3_603), (10, 60.0));
}
