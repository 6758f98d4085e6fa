//! Ticking: one tick by hand ([`tick_at`]: the history's tick, then its write to the history file),
//! and the background collector, a thread that ticks at the configured interval.

use super::persist;
use super::state::with_state;
use super::tick::Tick;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

/// The background collector: a thread that ticks until stopped or dropped.
#[derive(Debug)]
#[must_use = "the collector stops when this handle is dropped"]
pub struct Collector {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts a thread that calls [`tick_at`] with the system clock every `every`.
/// Without the `enabled` feature there is nothing to collect, and no thread is started.
pub fn start_collector(every: Duration) -> Collector {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if !cfg!(feature = "enabled") {
        return Collector { stop, thread: None };
    }
    let flag = Arc::clone(&stop);
    let every = every.max(Duration::from_millis(10));
    let thread = std::thread::Builder::new()
        .name("monitor-collector".into())
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::park_timeout(every);
                if !flag.load(Ordering::Relaxed) {
                    tick_at(SystemTime::now());
                }
            }
        })
        .ok();
    Collector { stop, thread }
}

impl Collector {
    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Runs one tick now, as of `at`: reads every site that recorded anything, files what each added
/// since the previous tick, and hands the tick to the subscribers. The background collector
/// ([`start_collector`](crate::history::start_collector)) calls it every tick; tests and hosts with a
/// scheduler of their own can call it with a clock of their own.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
///
/// let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// monitor_core::history::tick_at(t0);
/// let tick = monitor_core::history::tick_at(t0 + Duration::from_secs(1));
/// assert_eq!(tick.period, Duration::from_secs(1));
/// ```
pub fn tick_at(at: SystemTime) -> Arc<Tick> {
    let (tick, writes) = with_state(|state| {
        let tick = state.tick(at);
        (tick, persist::batch(state))
    });
    // After the history's lock is let go: queries do not wait for the disk.
    if let Some(writes) = writes {
        writes.write();
    }
    tick
}
