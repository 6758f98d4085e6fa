//! The process's memory now: resident and virtual size, and the heap when it is counted.

use parking_lot::Mutex;
use std::time::SystemTime;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// The process's memory at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct MemorySample {
    /// When it was taken.
    pub at: SystemTime,
    /// Resident set size: memory the process holds in RAM, in bytes.
    pub rss_bytes: u64,
    /// Virtual size: address space the process has mapped, in bytes.
    pub virtual_bytes: u64,
    /// Heap bytes in use, when `MonitoredAlloc` counts the heap (feature `alloc`).
    pub heap_bytes: Option<u64>,
    /// The most heap bytes in use seen so far, when the heap is counted.
    pub heap_peak_bytes: Option<u64>,
    /// Allocations since the start, when the heap is counted.
    pub allocations: Option<u64>,
    /// Allocations per second since the previous tick, when the heap is counted (set by the
    /// collector, which knows the previous tick).
    pub allocations_per_sec: Option<f64>,
}

/// Why memory could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryError {
    /// What the operating system interface said.
    pub reason: String,
}

impl std::fmt::Display for MemoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read the process's memory: {}", self.reason)
    }
}

impl std::error::Error for MemoryError {}

/// Reuses one `System` between samples: building it is the expensive part.
// sysinfo's handle on this process, made once: `memory::sample` is a free function, called by the
// collector and by anyone who wants a sample.
static SYSTEM: Mutex<Option<(System, Pid)>> = Mutex::new(None);

/// Reads the process's resident and virtual size now (via `sysinfo`; a few microseconds after the
/// first call).
///
/// # Examples
///
/// ```
/// let sample = monitor_core::memory::sample()?;
/// assert!(sample.rss_bytes > 0);
/// assert!(sample.virtual_bytes >= sample.rss_bytes);
/// # Ok::<(), monitor_core::memory::MemoryError>(())
/// ```
pub fn sample() -> Result<MemorySample, MemoryError> {
    let error = |reason: &dyn std::fmt::Display| MemoryError {
        reason: reason.to_string(),
    };
    let mut guard = SYSTEM.lock();
    if guard.is_none() {
        let system = System::new().map_err(|e| error(&e))?;
        let pid = sysinfo::get_current_pid().map_err(|e| error(&e))?;
        *guard = Some((system, pid));
    }
    let Some((system, pid)) = guard.as_mut() else {
        unreachable!("set just above")
    };
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[*pid]),
        false,
        ProcessRefreshKind::nothing().with_memory(),
    );
    let process = system
        .process(*pid)
        .ok_or_else(|| error(&"the process is not listed"))?;
    let heap = heap_now();
    Ok(MemorySample {
        at: SystemTime::now(),
        rss_bytes: process.memory(),
        virtual_bytes: process.virtual_memory(),
        heap_bytes: heap.map(|h| h.0),
        heap_peak_bytes: heap.map(|h| h.1),
        allocations: heap.map(|h| h.2),
        allocations_per_sec: None,
    })
}

/// In use, peak and allocations, when `MonitoredAlloc` is the global allocator: without it nothing
/// was ever counted, and zeros would read as an empty heap.
fn heap_now() -> Option<(u64, u64, u64)> {
    #[cfg(feature = "alloc")]
    {
        let h = super::alloc::heap();
        if h.allocations > 0 {
            return Some((h.in_use_bytes, h.peak_bytes, h.allocations));
        }
    }
    None
}
