//! The heap counted by `MonitoredAlloc`, installed as this test binary's global allocator.

use monitor_core::{MonitoredAlloc, heap};

#[global_allocator]
static ALLOC: MonitoredAlloc = MonitoredAlloc::system();

#[test]
fn allocations_frees_and_the_peak_are_counted() {
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
