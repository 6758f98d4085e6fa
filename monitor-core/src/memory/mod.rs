//! Memory: the process's resident and virtual size, the heap as [`MonitoredAlloc`] counts it
//! (feature `alloc`), and leak detection. Knows nothing of sites: the record path asks the
//! allocator what a call allocated.

#[cfg(feature = "alloc")]
pub(crate) mod alloc;
mod leak;
mod process;

#[cfg(feature = "alloc")]
pub use alloc::{HeapStats, MonitoredAlloc, heap};
pub use leak::{DEFAULT_LEAK_THRESHOLD, DEFAULT_LEAK_WINDOW, LeakDetector, LeakVerdict};
pub use process::{MemoryError, MemorySample, memory};
