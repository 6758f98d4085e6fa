//! Real threads, exact counts: no call is lost or counted twice, whatever the contention.

use monitor_core::pricing::{Price, set_price};
use monitor_core::{Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use monitor_tests::support::site;
use std::sync::Barrier;

const THREADS: u64 = 8;
const CALLS: u64 = 100_000;

#[monitored_handler]
fn hot(i: u64) -> Result<u64, String> {
    if i.is_multiple_of(10) {
        Err("every tenth".into())
    } else {
        Ok(i)
    }
}

#[test]
fn eight_threads_times_one_hundred_thousand_calls_are_all_counted() {
    let barrier = Barrier::new(THREADS as usize);
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                barrier.wait();
                for i in 0..CALLS {
                    let _ = std::hint::black_box(hot(i));
                }
            });
        }
    });
    let s = site("hot").stats();
    assert_eq!(s.calls(), THREADS * CALLS);
    assert_eq!(s.errors, THREADS * CALLS / 10);
    assert_eq!(s.durations.count(), THREADS * CALLS);
    assert_eq!(
        s.durations.buckets().map(|(_, n)| n).sum::<u64>(),
        THREADS * CALLS
    );
    assert!(s.durations.p50() <= s.durations.p99() && s.durations.p99() <= s.durations.max());
}

#[tracks_tokens(model = "concurrency-model")]
fn metered(i: u64) -> Tokens {
    Tokens::new(i % 7, 1)
}

#[pipeline_stage(pipeline = "concurrency")]
fn stage(i: u64) -> u64 {
    metered(i).input
}

#[test]
fn token_totals_are_exact_across_threads() {
    set_price("concurrency-model", Price::per_million(1.0, 1.0)).unwrap();
    let per_thread_input: u64 = (0..CALLS / 10).map(|i| i % 7).sum();
    let barrier = Barrier::new(THREADS as usize);
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                barrier.wait();
                for i in 0..CALLS / 10 {
                    std::hint::black_box(stage(i));
                }
            });
        }
    });
    for name in ["metered", "stage"] {
        let s = site(name).stats();
        assert_eq!(s.token_calls, THREADS * CALLS / 10, "{name}");
        assert_eq!(s.tokens.input, THREADS * per_thread_input, "{name}");
        assert_eq!(s.tokens.output, THREADS * CALLS / 10, "{name}");
        let expected = (s.tokens.input + s.tokens.output) as f64 / 1e6;
        assert!(
            (s.cost_usd().unwrap() - expected).abs() < 1e-9,
            "{name}: {:?} vs {expected}",
            s.cost_usd()
        );
    }
}

#[monitored_handler]
fn short_lived(i: u64) -> u64 {
    i
}

#[test]
fn stripes_handed_from_exiting_threads_to_new_ones_lose_nothing() {
    // More threads than owned stripes, one after another and a few at a time: each exiting thread
    // gives its stripe back and a new thread takes it over, counters and all.
    const WAVES: u64 = 25;
    const PER_WAVE: u64 = 3;
    const CALLS: u64 = 2_000;
    for _ in 0..WAVES {
        std::thread::scope(|scope| {
            for _ in 0..PER_WAVE {
                scope.spawn(|| {
                    for i in 0..CALLS {
                        std::hint::black_box(short_lived(i));
                    }
                });
            }
        });
    }
    let s = site("short_lived").stats();
    assert_eq!(s.calls(), WAVES * PER_WAVE * CALLS);
    assert_eq!(s.durations.count(), WAVES * PER_WAVE * CALLS);
}
