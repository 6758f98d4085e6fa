//! What was kept and dropped: the counts every run's end adds to.

use super::*;

/// What every run's end counts, in one line per stripe of threads (`thread.rs`): counters all
/// threads added to would bounce one cache line between the cores ending runs.
#[repr(align(128))]
pub(super) struct RunCounts {
    pub(super) kept: [AtomicU64; 5],
    pub(super) unsampled: AtomicU64,
    pub(super) spans_dropped: AtomicU64,
}

pub(super) static RUN_COUNTS: [RunCounts; crate::record::thread::STRIPES] = [const {
    RunCounts {
        kept: [const { AtomicU64::new(0) }; 5],
        unsampled: AtomicU64::new(0),
        spans_dropped: AtomicU64::new(0),
    }
};
    crate::record::thread::STRIPES];

/// What only some runs count.
pub(super) struct Stats {
    pub(super) spans_detached: AtomicU64,
    pub(super) runs_over_limit: AtomicU64,
    pub(super) export_dropped: AtomicU64,
}

pub(super) static STATS: Stats = Stats {
    spans_detached: AtomicU64::new(0),
    runs_over_limit: AtomicU64::new(0),
    export_dropped: AtomicU64::new(0),
};

/// What tracing kept and dropped since the process started: every count only grows.
///
/// ```
/// let stats = monitor_core::trace::stats();
/// assert!(stats.spans_dropped <= stats.spans_dropped + 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[non_exhaustive]
pub struct TraceStats {
    /// Runs kept, by reason ([`KeepReason::ALL`] order).
    pub kept: [u64; 5],
    /// Runs that ended, neither drawn nor kept by a tail rule: dropped as sampling meant.
    pub unsampled: u64,
    /// Spans beyond a run's limit of spans.
    pub spans_dropped: u64,
    /// Spans of futures handed to other work without a run handle, that ended outside their run.
    pub spans_detached: u64,
    /// Calls not traced because as many runs were in progress as allowed.
    pub runs_over_limit: u64,
    /// Kept runs the export queue had no room for, or an exporter gave up on.
    pub export_dropped: u64,
    /// Runs in progress now.
    pub in_flight: u64,
}

/// What tracing kept and dropped so far.
pub(crate) fn stats() -> TraceStats {
    let c = |a: &AtomicU64| a.load(Relaxed);
    TraceStats {
        kept: std::array::from_fn(|i| RUN_COUNTS.iter().map(|r| c(&r.kept[i])).sum()),
        unsampled: RUN_COUNTS.iter().map(|r| c(&r.unsampled)).sum(),
        spans_dropped: RUN_COUNTS.iter().map(|r| c(&r.spans_dropped)).sum(),
        spans_detached: c(&STATS.spans_detached),
        runs_over_limit: c(&STATS.runs_over_limit),
        export_dropped: c(&STATS.export_dropped),
        in_flight: IN_FLIGHT.load(Relaxed) as u64,
    }
}
