//! A global allocator wrapper that counts the heap: bytes in use, their peak, and allocations.
//! Opt in with the `alloc` feature and one `#[global_allocator]` line; it wraps any allocator.
//!
//! Counting costs a few relaxed adds per allocation, on counters striped by thread so that threads
//! allocating at once do not share a cache line.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Wraps an allocator and counts what passes through it.
///
/// # Examples
///
/// ```
/// use monitor_core::memory::MonitoredAlloc;
///
/// #[global_allocator]
/// static ALLOC: MonitoredAlloc = MonitoredAlloc::system();
///
/// let before = monitor_core::memory::heap();
/// let buffer = vec![0u8; 1 << 20];
/// let during = monitor_core::memory::heap();
/// assert!(during.in_use_bytes >= before.in_use_bytes + (1 << 20));
/// assert!(during.allocations > before.allocations);
/// drop(buffer);
/// ```
#[derive(Debug, Default)]
pub struct MonitoredAlloc<A = System> {
    inner: A,
}

impl MonitoredAlloc<System> {
    /// The system allocator, counted.
    pub const fn system() -> MonitoredAlloc<System> {
        MonitoredAlloc { inner: System }
    }
}

impl<A> MonitoredAlloc<A> {
    /// `inner`, counted.
    pub const fn new(inner: A) -> MonitoredAlloc<A> {
        MonitoredAlloc { inner }
    }
}

const STRIPES: usize = 8;

#[repr(align(128))]
struct Stripe {
    allocated: AtomicU64,
    freed: AtomicU64,
    allocations: AtomicU64,
}

#[allow(clippy::declare_interior_mutable_const)] // a template for array repetition, never shared
const STRIPE: Stripe = Stripe {
    allocated: AtomicU64::new(0),
    freed: AtomicU64::new(0),
    allocations: AtomicU64::new(0),
};

static COUNTERS: [Stripe; STRIPES] = [STRIPE; STRIPES];
static PEAK: AtomicU64 = AtomicU64::new(0);
static NEXT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Const and without `Drop`: safe to touch from inside the allocator, even at thread exit.
    static STRIPE_OF_THREAD: Cell<usize> = const { Cell::new(usize::MAX) };
    // What this thread allocated, and how much of it instrumented calls have claimed: the
    // difference over a call, less what calls nested in it claimed, is the call's own.
    static THREAD: ThreadCount = const {
        ThreadCount { allocated: Cell::new(0), claimed: Cell::new(0) }
    };
}

struct ThreadCount {
    allocated: Cell<u64>,
    claimed: Cell<u64>,
}

/// Where a stretch of this thread's work began, for [`claim_since`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    allocated: u64,
    claimed: u64,
}

/// The thread's counts now.
#[inline]
pub(crate) fn mark() -> Mark {
    THREAD
        .try_with(|t| Mark {
            allocated: t.allocated.get(),
            claimed: t.claimed.get(),
        })
        .unwrap_or(Mark {
            allocated: 0,
            claimed: 0,
        })
}

/// Bytes this thread allocated since `mark` that no stretch nested in it claimed; claims them, so
/// that the stretch enclosing this one does not count them again. Stretches nest (a call inside a
/// call, a poll inside a poll), so each byte goes to the innermost instrumented site.
#[inline]
pub(crate) fn claim_since(mark: Mark) -> u64 {
    THREAD
        .try_with(|t| {
            let inclusive = t.allocated.get().wrapping_sub(mark.allocated);
            let nested = t.claimed.get().wrapping_sub(mark.claimed);
            t.claimed.set(mark.claimed.wrapping_add(inclusive));
            inclusive.saturating_sub(nested)
        })
        .unwrap_or(0)
}

#[inline]
fn stripe() -> &'static Stripe {
    let index = STRIPE_OF_THREAD
        .try_with(|s| {
            let mut index = s.get();
            if index == usize::MAX {
                index = NEXT.fetch_add(1, Relaxed) % STRIPES;
                s.set(index);
            }
            index
        })
        .unwrap_or(0);
    &COUNTERS[index]
}

fn totals() -> (u64, u64, u64) {
    COUNTERS.iter().fold((0, 0, 0), |(a, f, n), s| {
        (
            a + s.allocated.load(Relaxed),
            f + s.freed.load(Relaxed),
            n + s.allocations.load(Relaxed),
        )
    })
}

#[inline]
fn on_alloc(size: usize) {
    let s = stripe();
    s.allocated.fetch_add(size as u64, Relaxed);
    s.allocations.fetch_add(1, Relaxed);
    let _ = THREAD.try_with(|t| t.allocated.set(t.allocated.get().wrapping_add(size as u64)));
}

#[inline]
fn on_free(size: usize) {
    stripe().freed.fetch_add(size as u64, Relaxed);
}

// SAFETY: every method forwards to the inner allocator with the caller's arguments unchanged and
// returns its result; the counting only reads sizes and touches atomics and a const thread-local,
// which never allocate.
unsafe impl<A: GlobalAlloc> GlobalAlloc for MonitoredAlloc<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from our caller, who upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            on_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            on_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from our caller, who upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { self.inner.dealloc(ptr, layout) };
        on_free(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from our caller, who upholds `GlobalAlloc::realloc`'s contract.
        let new = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            on_free(layout.size());
            on_alloc(new_size);
        }
        new
    }
}

/// The heap as counted by [`MonitoredAlloc`]; all zero when it is not the global allocator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeapStats {
    /// Bytes allocated and not yet freed.
    pub in_use_bytes: u64,
    /// The most `in_use_bytes` seen by a call to [`heap`] (read at each collector tick).
    pub peak_bytes: u64,
    /// Allocations made (including reallocations) since the start.
    pub allocations: u64,
    /// Bytes allocated since the start.
    pub allocated_bytes: u64,
}

/// The heap now.
pub fn heap() -> HeapStats {
    let (allocated, freed, allocations) = totals();
    let in_use = allocated.saturating_sub(freed);
    let peak = PEAK.fetch_max(in_use, Relaxed).max(in_use);
    HeapStats {
        in_use_bytes: in_use,
        peak_bytes: peak,
        allocations,
        allocated_bytes: allocated,
    }
}
