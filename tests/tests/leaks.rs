//! The leak detector's default thresholds on two real workloads, each in a process of its own
//! (memory is process-wide), sampled by the real collector from the real heap and resident size:
//! one that really grows 256 KB/s — the rate of the demo's unbounded store — and one that really is
//! steady, churning the same bytes through a bounded cache that fills for the first quarter of
//! the run and then evicts. The growing one must be flagged on both the heap and the resident
//! size; the steady one on neither. Both print their verdicts: the data the thresholds come from.
//!
//! The window is the run (a minute, so that CI stays short) rather than the default ten minutes:
//! the threshold is a rate, so a minute at 256 KB/s is the same test of it, with fewer samples.

use monitor_core::memory::{LeakDetector, LeakVerdict, MonitoredAlloc};
use std::collections::VecDeque;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: MonitoredAlloc = MonitoredAlloc::system();

const RUN: Duration = Duration::from_secs(60);
const TICK: Duration = Duration::from_millis(100);
/// Every 10 ms: 256 KB/s.
const STEP: Duration = Duration::from_millis(10);
const BYTES_PER_STEP: usize = 2_560;
const WORKLOAD: &str = "MONITOR_LEAK_WORKLOAD";

/// The child's side: runs the workload named in the environment and prints its verdicts. Does
/// nothing when run as a plain test.
#[test]
fn workload() {
    let Ok(kind) = std::env::var(WORKLOAD) else {
        return;
    };
    monitor_core::Config::new().apply().expect("defaults apply");
    let collector = monitor_core::history::start_collector(TICK);
    let steps = (RUN.as_millis() / STEP.as_millis()) as usize;
    // The steady cache holds a quarter of the run's bytes: full after 15 s, then flat.
    let capacity = steps / 4;
    let mut kept: VecDeque<Vec<u8>> = VecDeque::new();
    let started = Instant::now();
    for step in 0..steps {
        // A request's worth of churn: allocated, touched, freed.
        let churn: Vec<Vec<u8>> = (0..16).map(|i| vec![i as u8; 512 + 64 * i]).collect();
        std::hint::black_box(&churn);
        drop(churn);
        // Touched, so that the resident size grows with the heap.
        kept.push_back(vec![(step % 251) as u8 + 1; BYTES_PER_STEP]);
        if kind == "steady" && kept.len() > capacity {
            kept.pop_front();
        }
        let next = STEP * (step as u32 + 1);
        if let Some(wait) = next.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    std::hint::black_box(&kept);
    collector.stop();
    let detector = LeakDetector::default().window(RUN);
    let heap = monitor_core::history::heap_leak_check(&detector).expect("the heap is counted");
    let rss = monitor_core::history::leak_check(&detector);
    println!("VERDICT heap {}", verdict_line(&heap));
    println!("VERDICT rss {}", verdict_line(&rss));
}

fn verdict_line(v: &LeakVerdict) -> String {
    format!(
        "{} {} {} {} {} {}",
        v.suspected,
        v.slope_bytes_per_sec,
        v.recent_slope_bytes_per_sec,
        v.fit,
        v.samples,
        v.span_secs
    )
}

/// Runs this test binary's `workload` test in a child with `kind` in the environment.
fn spawn(kind: &str) -> std::process::Child {
    Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "workload", "--nocapture", "--test-threads", "1"])
        .env(WORKLOAD, kind)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the workload starts")
}

/// `(suspected, slope, recent slope, fit)` of the heap and of the resident size.
fn verdicts(child: std::process::Child, kind: &str) -> [(bool, f64, f64, f64); 2] {
    let out = child.wait_with_output().expect("the workload ends");
    assert!(out.status.success(), "{kind} workload failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let parse = |measure: &str| {
        let line = text
            .lines()
            // libtest may print its own "test workload ... " ahead on the same line.
            .find_map(|l| l.split_once(&format!("VERDICT {measure} ")).map(|(_, v)| v))
            .unwrap_or_else(|| panic!("no {measure} verdict from {kind}: {text}"));
        eprintln!("{kind:>7} {measure:>4}: suspected slope recent fit samples span = {line}");
        let f: Vec<&str> = line.split(' ').collect();
        let num = |i: usize| f[i].parse::<f64>().unwrap();
        (f[0] == "true", num(1), num(2), num(3))
    };
    [parse("heap"), parse("rss")]
}

#[test]
fn a_real_leak_of_256_kb_a_second_is_flagged_and_a_steady_service_is_not() {
    if std::env::var_os(WORKLOAD).is_some() {
        return;
    }
    // At once: each has a core's worth of sleep between its steps.
    let growing = spawn("growing");
    let steady = spawn("steady");
    let [heap, rss] = verdicts(growing, "growing");
    let [steady_heap, steady_rss] = verdicts(steady, "steady");

    assert!(heap.0, "the heap's growth not flagged: {heap:?}");
    assert!(rss.0, "the resident size's growth not flagged: {rss:?}");
    // The heap's slope is the leak's rate, within the churn's noise.
    let rate = BYTES_PER_STEP as f64 / STEP.as_secs_f64();
    assert!(
        (0.9..1.1).contains(&(heap.1 / rate)),
        "heap slope {} for a leak of {rate}",
        heap.1
    );
    assert!(!steady_heap.0, "a steady heap flagged: {steady_heap:?}");
    assert!(
        !steady_rss.0,
        "a steady resident size flagged: {steady_rss:?}"
    );
}
