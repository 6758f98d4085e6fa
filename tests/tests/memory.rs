//! The process's real memory, read through `sysinfo`, and the leak detector on real workloads.
//! One test: RSS is process-wide, so the workloads must not run at the same time.

use monitor_core::memory::{LeakDetector, sample};

const STEP: usize = 2 << 20; // 2 MiB per step
const STEPS: usize = 25;

/// Runs `step` `STEPS` times, sampling RSS after each; the step number stands in for seconds.
fn samples(mut step: impl FnMut()) -> Vec<(f64, f64)> {
    (0..STEPS)
        .map(|i| {
            step();
            (
                i as f64,
                sample().expect("memory is readable").rss_bytes as f64,
            )
        })
        .collect()
}

#[test]
fn a_leaking_workload_is_flagged_and_a_steady_one_is_not() {
    let first = sample().unwrap();
    assert!(
        first.rss_bytes > 0 && first.virtual_bytes >= first.rss_bytes,
        "{first:?}"
    );
    // Growth above 512 KiB per step, steadily, is a leak.
    let detector =
        LeakDetector::new(512.0 * 1024.0).window(std::time::Duration::from_secs(STEPS as u64));

    let steady = samples(|| {
        let buffer = vec![1u8; STEP];
        std::hint::black_box(&buffer);
    });
    let verdict = detector.assess(&steady);
    assert!(!verdict.suspected, "steady workload flagged: {verdict:?}");

    let mut leaked = Vec::new();
    let leaking = samples(|| {
        let buffer: &'static mut [u8] = vec![1u8; STEP].leak();
        leaked.push(std::hint::black_box(buffer.as_ptr()));
    });
    let verdict = detector.assess(&leaking);
    assert!(
        verdict.suspected,
        "leaking workload not flagged: {verdict:?}"
    );
    let per_step = verdict.slope_bytes_per_sec / STEP as f64;
    assert!(
        (0.8..1.2).contains(&per_step),
        "slope {per_step:.2} × the leak per step"
    );
    eprintln!("leak: {verdict:?}");
}
