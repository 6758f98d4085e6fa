//! The heap counted by `MonitoredAlloc`, installed as this test binary's global allocator.

use monitor_core::memory::{MonitoredAlloc, heap};
use monitor_tests::support;

#[global_allocator]
static ALLOC: MonitoredAlloc = MonitoredAlloc::system();

/// The heap's counts are the process's: tests that read them take turns, or one test's
/// allocations land in another's figures.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn allocations_frees_and_the_peak_are_counted() {
    let _serial = serial();
    let before = heap();
    let big: Vec<Vec<u8>> = (0..8).map(|_| vec![1u8; 1 << 20]).collect();
    let during = heap();
    assert!(
        during.in_use_bytes >= before.in_use_bytes + 8 * (1 << 20),
        "{before:?} {during:?}"
    );
    assert!(during.allocations >= before.allocations + 9);
    assert!(during.allocated_bytes >= before.allocated_bytes + 8 * (1 << 20));
    drop(big);
    let after = heap();
    assert!(
        after.in_use_bytes + 8 * (1 << 20) <= during.in_use_bytes + (1 << 16),
        "{during:?} {after:?}"
    );
    assert!(after.peak_bytes >= during.in_use_bytes, "the peak stays");

    // Threads allocating at once are all counted.
    let start = heap().allocations;
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for i in 0..10_000u32 {
                    std::hint::black_box(Box::new(i));
                }
            });
        }
    });
    assert!(heap().allocations >= start + 40_000);
}

#[monitor_core::pipeline_stage(pipeline = "heap_pipe", stage = "outer")]
fn outer_stage() -> usize {
    // 10 000 bytes of its own, and an inner stage that allocates 50 000 of its own.
    let own = std::hint::black_box(vec![0u8; 10_000]);
    own.len() + inner_stage()
}

#[monitor_core::pipeline_stage(pipeline = "heap_pipe", stage = "inner")]
fn inner_stage() -> usize {
    std::hint::black_box(vec![0u8; 50_000]).len()
}

#[monitor_core::pipeline_stage(pipeline = "heap_pipe", stage = "async")]
async fn async_stage() -> usize {
    let first = std::hint::black_box(vec![0u8; 3_000]);
    support::yield_once().await;
    // Allocated in the second poll, which may run on another thread: still this call's.
    let second = std::hint::black_box(vec![0u8; 4_000]);
    first.len() + second.len() + inner_stage()
}

fn allocated(stage: &str) -> u64 {
    monitor_core::sites()
        .find(|s| s.stage() == Some(stage) && s.pipeline() == Some("heap_pipe"))
        .unwrap()
        .stats()
        .allocated_bytes
}

/// Bytes allocated are attributed to the innermost instrumented call: the outer stage counts its
/// own 10 000 bytes per call, not the inner stage's 50 000. Allocations outside the test's
/// vectors (the histogram's none, the error path's none) would only add; the bounds allow a little.
#[test]
fn bytes_allocated_go_to_the_innermost_site() {
    let _serial = serial();
    const CALLS: u64 = 20;
    for _ in 0..CALLS {
        outer_stage();
    }
    let outer = allocated("outer");
    assert!(
        (CALLS * 10_000..CALLS * 10_000 + CALLS * 512).contains(&outer),
        "outer stage: {outer} bytes"
    );
    let inner_sync = allocated("inner");
    assert!(
        (CALLS * 50_000..CALLS * 50_000 + CALLS * 512).contains(&inner_sync),
        "inner stage: {inner_sync} bytes"
    );

    for _ in 0..CALLS {
        support::block_on(async_stage());
    }
    let own = allocated("async");
    assert!(
        (CALLS * 7_000..CALLS * 7_000 + CALLS * 1024).contains(&own),
        "async stage: {own} bytes"
    );
    assert!(allocated("inner") >= inner_sync + CALLS * 50_000);
}

/// Each tick samples the heap with the process's memory, and the rate of allocations between
/// ticks; the heap's own leak check reads those samples.
#[test]
fn ticks_sample_the_heap() {
    let _serial = serial();
    let t0 = std::time::SystemTime::now();
    monitor_core::history::tick_at(t0);
    let kept: Vec<Vec<u8>> = (0..100).map(|_| vec![0u8; 1000]).collect();
    let tick = monitor_core::history::tick_at(t0 + std::time::Duration::from_secs(2));
    let sample = tick.memory.expect("memory is readable here");
    assert!(sample.heap_bytes.unwrap() >= 100 * 1000);
    assert!(sample.heap_peak_bytes.unwrap() >= sample.heap_bytes.unwrap());
    assert!(sample.allocations.unwrap() >= 100);
    // At least the 100 vectors, made within the 2 s between the ticks.
    let rate = sample.allocations_per_sec.unwrap();
    assert!(rate >= 50.0, "{rate}");
    drop(kept);
    let verdict =
        monitor_core::history::heap_leak_check(&monitor_core::memory::LeakDetector::new(1e9))
            .unwrap();
    assert!(verdict.samples >= 2);
    assert!(!verdict.suspected);
}
