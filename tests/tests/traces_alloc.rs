//! A run that is dropped at its end allocates nothing once the thread's buffers are warm: its
//! fragment comes from the thread's pool and goes back to it. Its own binary, with the counting
//! allocator, and one test, so that no other test's allocations land in the count.

use monitor_core::memory::{MonitoredAlloc, heap};
use monitor_core::trace::Sampler;
use monitor_core::{Config, Tokens, monitored_handler, pipeline_stage, tracks_tokens};

#[global_allocator]
static ALLOC: MonitoredAlloc = MonitoredAlloc::system();

#[tracks_tokens(model = "alloc-model")]
fn call(x: u64) -> Tokens {
    Tokens::new(x, 1)
}

#[pipeline_stage(pipeline = "alloc", stage = "inner")]
fn inner(x: u64) -> u64 {
    (0..4).map(|i| call(x + i).input).sum()
}

#[monitored_handler(route = "POST /alloc")]
fn root(x: u64) -> Result<u64, String> {
    Ok(inner(x) + inner(x + 1))
}

#[test]
fn a_dropped_run_allocates_nothing_in_steady_state() {
    Config::new()
        .traces(true)
        .trace_sampler(Sampler::AlwaysOff)
        .apply()
        .unwrap();
    // Warm: the thread's stripes, its pool of fragments, the model's entry.
    for x in 0..1_000 {
        root(x).unwrap();
    }
    let unsampled = monitor_core::trace::stats().unsampled;
    let before = heap().allocations;
    for x in 0..10_000 {
        root(x).unwrap();
    }
    let allocations = heap().allocations - before;
    // Every run ended and was dropped, none kept.
    assert_eq!(monitor_core::trace::stats().unsampled, unsampled + 10_000);
    assert!(monitor_core::trace::recent_runs().is_empty());
    assert_eq!(allocations, 0, "10,000 dropped runs of 11 spans allocated");
}
