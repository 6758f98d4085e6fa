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
