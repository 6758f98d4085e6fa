//! Leak checks over the memory the collector sampled at each tick.

use super::state::memory_history;
use crate::memory::{LeakDetector, LeakVerdict};

/// Whether the heap in use has kept rising over the ticks kept, assessed by `detector`; `None`
/// when the heap is not counted (`MonitoredAlloc` is not the global allocator).
pub fn heap_leak_check(detector: &LeakDetector) -> Option<LeakVerdict> {
    let samples = memory_history();
    let first = samples.first()?.at;
    let points: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|s| {
            let t = s.at.duration_since(first).unwrap_or_default();
            Some((t.as_secs_f64(), s.heap_bytes? as f64))
        })
        .collect();
    (!points.is_empty()).then(|| detector.assess(&points))
}

/// Whether memory has kept rising over the ticks kept: resident size against tick time, assessed
/// by `detector`. [`heap_leak_check`] does the same for the heap.
///
/// # Examples
///
/// ```
/// let verdict = monitor_core::history::leak_check(&monitor_core::memory::LeakDetector::new(1024.0 * 1024.0));
/// assert!(!verdict.suspected || verdict.samples >= 10);
/// ```
pub fn leak_check(detector: &LeakDetector) -> LeakVerdict {
    let samples = memory_history();
    let first = samples.first().map(|s| s.at);
    let points: Vec<(f64, f64)> = samples
        .iter()
        .map(|s| {
            let t = first
                .and_then(|f| s.at.duration_since(f).ok())
                .unwrap_or_default();
            (t.as_secs_f64(), s.rss_bytes as f64)
        })
        .collect();
    detector.assess(&points)
}
