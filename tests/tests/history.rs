//! The collector, driven with a clock of the test's own: ticks, subscribers, retention, and memory
//! that stays flat however many calls are made. One test, run in steps: the collector is global.

use monitor_core::history::{bytes, subscribe, tick_at};
use monitor_core::monitored_handler;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[monitored_handler]
fn work(i: u64) -> Result<u64, String> {
    if i % 1000 == 5 {
        Err("now and then".into())
    } else {
        Ok(i)
    }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn site_calls(tick: &monitor_core::history::Tick) -> Option<(u64, u64)> {
    tick.sites
        .iter()
        .find(|s| s.site.name() == "work")
        .map(|s| (s.figures.calls(), s.figures.errors))
}

#[test]
fn the_collector_files_deltas_feeds_subscribers_and_stays_bounded() {
    let t0 = 1_700_000_000;

    // Deltas: each tick carries what happened since the previous one, and nothing else.
    tick_at(at(t0));
    for i in 0..10 {
        let _ = work(i);
    }
    let tick = tick_at(at(t0 + 1));
    assert_eq!(tick.period, Duration::from_secs(1));
    assert_eq!(site_calls(&tick), Some((10, 1)));
    let w = tick.sites.iter().find(|s| s.site.name() == "work").unwrap();
    assert!(w.figures.durations.p50() <= w.figures.durations.p99());
    let quiet = tick_at(at(t0 + 2));
    assert_eq!(site_calls(&quiet), None, "no calls, no entry");
    // Memory is sampled at each tick, stamped with the tick's time.
    let memory = quiet.memory.expect("memory is readable here");
    assert_eq!(memory.at, at(t0 + 2));
    assert!(memory.rss_bytes > 0);
    let samples = monitor_core::history::memory_history();
    assert_eq!(samples.last().map(|s| s.at), Some(at(t0 + 2)));
    assert!(samples.len() >= 3);

    // Subscribers: a bounded buffer; a slow one loses ticks (counted), never blocks the collector.
    let fast = subscribe(16);
    let slow = subscribe(2);
    for s in 3..8 {
        let _ = work(1);
        tick_at(at(t0 + s));
        assert!(fast.try_recv().is_some());
    }
    assert_eq!((0..5).filter_map(|_| slow.try_recv()).count(), 2);
    assert_eq!(slow.dropped(), 3);
    assert_eq!(fast.dropped(), 0);
    drop(slow);
    tick_at(at(t0 + 8)); // a dropped subscription is let go

    // Memory: ten million calls over 30 simulated hours, a tick every ten minutes. The history
    // keeps 24 hours at most, so its size stops growing once a day has passed.
    let start = t0 + 60;
    let (hours, ticks_per_hour) = (30u64, 6u64);
    let calls_per_tick = 10_000_000_u64.div_ceil(hours * ticks_per_hour);
    let mut bytes_by_hour = Vec::new();
    for hour in 0..hours {
        for minute in 0..ticks_per_hour {
            for i in 0..calls_per_tick {
                let _ = std::hint::black_box(work(i));
            }
            tick_at(at(start + hour * 3600 + minute * 600));
        }
        bytes_by_hour.push(bytes());
    }
    let (day, last) = (bytes_by_hour[24], bytes_by_hour[hours as usize - 1]);
    assert!(
        last <= day + day / 10,
        "history grew after a day: {bytes_by_hour:?}"
    );
    assert!(last < 16 << 20, "history takes {last} bytes");
    eprintln!("history bytes by hour: {bytes_by_hour:?}");
    let total = monitor_core::sites()
        .find(|s| s.name() == "work")
        .unwrap()
        .stats()
        .calls();
    assert!(total >= 10_000_000, "{total}");
}
