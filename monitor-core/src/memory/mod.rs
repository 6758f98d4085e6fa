//! Memory: the process's resident and virtual size ([`sample`]), the heap as [`MonitoredAlloc`]
//! counts it (feature `alloc`), and leak detection over samples ([`LeakDetector`]).
//!
//! Reach for it to install the counting allocator, or to judge a series of samples of your own;
//! the collector samples memory at each tick into the [`history`](crate::history).
//!
//! ```
//! if let Ok(now) = monitor_core::memory::sample() {
//!     println!("resident: {} bytes", now.rss_bytes);
//! }
//! ```
//!
//! # The heap
//!
//! With the `alloc` feature, install the counting allocator —
//! `#[global_allocator] static A: MonitoredAlloc = MonitoredAlloc::system();` (or
//! `MonitoredAlloc::new(any_allocator)`) — and `heap()` gives the bytes in use, their peak, the
//! allocations and the bytes allocated, counted on per-thread stripes. Each site counts the bytes
//! its own code allocated (`Figures::allocated_bytes`, also in query results): a byte goes to the
//! innermost instrumented call running on the thread when it was allocated — a stage's figure
//! leaves out what the stages it calls allocated — and an async call counts what each of its
//! polls allocated, whichever thread ran it.
//!
//! # Over time, and leaks
//!
//! Each collector tick samples memory too (`Tick::memory`): resident and virtual size, and with
//! `MonitoredAlloc` the heap in use, its peak, allocations and allocations per second since the
//! previous tick. [`history::memory_history`](crate::history::memory_history) gives the last
//! 3,600 samples; [`history::leak_check`](crate::history::leak_check) assesses the resident size
//! and [`history::heap_leak_check`](crate::history::heap_leak_check) the heap.
//!
//! [`LeakDetector::new`]`(bytes_per_sec).window(d).assess(&samples)` (or
//! `LeakDetector::default()`: 64 KiB/s over ten minutes) fits a least-squares line through the
//! `(seconds, bytes)` samples of the latest window. A leak is suspected when the samples cover at
//! least half the window, the slope is above the threshold, the line fits (R² ≥ 0.8), and the
//! later half of the window still rises at half the threshold: one big allocation, noise around a
//! flat level, or a cache that fills and then stays full is not flagged. The dashboard's detector
//! takes `DashboardConfig::leak_threshold` / `leak_window`, or
//! `MONITOR_DASHBOARD_LEAK_BYTES_PER_SEC` and `MONITOR_DASHBOARD_LEAK_WINDOW_SECS`.
//!
//! The thresholds come from data: the repository's `tests/tests/leaks.rs` runs two real workloads
//! for a minute each, in processes of their own, sampled by the collector every 100 ms, with the
//! minute as the window (the threshold is a rate; a minute at the rate is the same test of it).
//! One keeps 2,560 bytes every 10 ms — 256 KB/s, the rate at which the demo's store grew when it
//! kept every logo; the other pushes the same bytes through a cache that fills in 15 s and then
//! evicts. Measured (`cargo test -p monitor-tests --test leaks -- --nocapture`):
//!
//! | workload | heap slope | fit | later half | flagged | resident size slope | flagged |
//! |---|---:|---:|---:|---|---:|---|
//! | growing 256 KB/s | 261 KB/s | 0.99998 | 263 KB/s | yes | 262 KB/s | yes |
//! | steady (a cache filling, then full) | 42 KB/s | 0.50 | 2 KB/s | no | 42 KB/s | no |
//!
//! 64 KiB/s sits a factor of four below the leak and the later-half rule ignores the warm-up
//! whatever its size. At 64 KiB/s a leak is 37.5 MiB per ten minutes: slower growth is not
//! flagged by default (set a lower threshold, or a longer window, for a service that must stay
//! flat).

// Memory: the process's resident and virtual size, the heap as [`MonitoredAlloc`] counts it
// (feature `alloc`), and leak detection. Knows nothing of sites: the record path asks the
// allocator what a call allocated.
#[cfg(feature = "alloc")]
pub(crate) mod alloc;
mod leak;
mod process;

#[cfg(feature = "alloc")]
pub use alloc::{HeapStats, MonitoredAlloc, heap};
pub use leak::{DEFAULT_LEAK_THRESHOLD, DEFAULT_LEAK_WINDOW, LeakDetector, LeakVerdict};
pub use process::{MemoryError, MemorySample, sample};
