//! The read model under real threads: while writers record, a reader takes snapshots and ticks
//! as fast as it can, racing every mark and unmark; at the end the snapshot, the ticks and the
//! history each count exactly N threads × M calls.

use monitor_core::history::{Field, Query, TimeRange, query, subscribe};
use monitor_core::{monitored_handler, pipeline_stage};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[monitored_handler]
fn raced(i: u64) -> Result<u64, String> {
    if i.is_multiple_of(97) {
        Err("sometimes".into())
    } else {
        Ok(i)
    }
}

#[pipeline_stage(pipeline = "race")]
fn raced_stage(i: u64) -> u64 {
    i.rotate_left(7)
}

const THREADS: u64 = 6;
const CALLS: u64 = 40_000;

#[test]
fn snapshots_ticks_and_history_count_every_call_made_while_they_ran() {
    let t0 = 1_760_000_000;
    let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
    monitor_core::history::tick_at(at(t0));
    let ticks = subscribe(1 << 16);
    let done = AtomicBool::new(false);
    let secs = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                scope.spawn(move || {
                    for i in 0..CALLS {
                        let _ = raced(t * CALLS + i);
                        raced_stage(i);
                    }
                })
            })
            .collect();
        let reader = scope.spawn(|| {
            // Bounded: the writers finish in well under this many rounds.
            let (mut rounds, mut secs) = (0u64, t0);
            while !done.load(Ordering::Relaxed) && rounds < 1_000_000 {
                rounds += 1;
                secs += 1;
                monitor_core::history::tick_at(at(secs));
                let _ = monitor_core::snapshot();
            }
            secs
        });
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap()
    });
    // Two more ticks: the second reads again what the first may have met mid-write.
    monitor_core::history::tick_at(at(secs + 1));
    monitor_core::history::tick_at(at(secs + 2));
    let total = THREADS * CALLS;
    let errors = (0..total).filter(|i| i.is_multiple_of(97)).count() as u64;

    let snap = monitor_core::snapshot();
    let figures = |name: &str| {
        snap.sites
            .iter()
            .find(|s| s.site.name() == name)
            .unwrap()
            .figures
            .clone()
    };
    assert_eq!(figures("raced").calls(), total);
    assert_eq!(figures("raced").errors, errors);
    assert_eq!(figures("raced_stage").calls(), total);

    let mut ticked = (0, 0);
    while let Some(tick) = ticks.try_recv() {
        for s in &tick.sites {
            match s.site.name() {
                "raced" => ticked.0 += s.figures.calls(),
                "raced_stage" => ticked.1 += s.figures.calls(),
                _ => {}
            }
        }
    }
    assert_eq!(ticks.dropped(), 0);
    assert_eq!(ticked, (total, total));

    let q = Query::new(TimeRange::Between {
        from: at(t0),
        to: at(secs + 3),
    })
    .at(SystemTime::now())
    .group_by(Field::Site);
    let groups = query(&q).unwrap().groups;
    let calls = |name: &str| {
        groups
            .iter()
            .find(|g| g.key.get("site").map(String::as_str) == Some(name))
            .map_or(0, |g| g.figures.calls())
    };
    assert_eq!((calls("raced"), calls("raced_stage")), (total, total));
}
