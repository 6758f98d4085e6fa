//! Where kept runs go: the bounded buffer of recent runs and the export queue.

use super::*;

static RECENT_CAPACITY: AtomicUsize = AtomicUsize::new(DEFAULT_RECENT_RUNS);
static EXPORT_CAPACITY: AtomicUsize = AtomicUsize::new(DEFAULT_EXPORT_QUEUE);

/// Bounds the buffer of recent runs and the export queue, evicting the oldest runs over them
/// (counted as dropped from the queue).
pub(super) fn set_capacities(recent: usize, export: usize) {
    RECENT_CAPACITY.store(recent, Relaxed);
    EXPORT_CAPACITY.store(export, Relaxed);
    trim(&mut RECENT.lock().runs, recent);
    let evicted = trim(&mut EXPORT.lock(), export);
    STATS.export_dropped.fetch_add(evicted, Relaxed);
}

fn trim<T>(q: &mut VecDeque<T>, capacity: usize) -> u64 {
    let mut evicted = 0;
    while q.len() > capacity {
        q.pop_front();
        evicted += 1;
    }
    evicted
}

/// The buffer of recent runs, oldest first, each tagged with its sequence number.
static RECENT: Mutex<Recent> = Mutex::new(Recent {
    runs: VecDeque::new(),
    seq: 0,
});

struct Recent {
    /// A run kept by this process has the number [`Recent::seq`] gave it, from 1 up, so that the
    /// history file can take the runs kept since it last wrote ([`kept_since`]); a run read from
    /// the file, or found in it, has 0: it is written already.
    runs: VecDeque<(u64, Arc<KeptRun>)>,
    /// The number of the latest run kept.
    seq: u64,
}

static EXPORT: Mutex<VecDeque<Arc<KeptRun>>> = Mutex::new(VecDeque::new());
/// Whether a trace exporter drains [`EXPORT`]: without one, nothing is queued.
static EXPORTING: AtomicUsize = AtomicUsize::new(0);

/// Keeps the run of fragment `f`: in the buffer of recent runs and, when an exporter drains them,
/// in the export queue.
pub(super) fn keep(f: &Fragment, reason: KeepReason) {
    let run = Arc::new(KeptRun::from_fragment(f, reason));
    push_recent(run.clone());
    if EXPORTING.load(Relaxed) > 0 && push_bounded(&EXPORT, run, EXPORT_CAPACITY.load(Relaxed)) {
        STATS.export_dropped.fetch_add(1, Relaxed);
    }
}

/// Pushes `run`, making room by the oldest; whether one was evicted.
fn push_bounded(queue: &Mutex<VecDeque<Arc<KeptRun>>>, run: Arc<KeptRun>, capacity: usize) -> bool {
    if capacity == 0 {
        return true;
    }
    let mut q = queue.lock();
    let evicted = q.len() >= capacity;
    if evicted {
        q.pop_front();
    }
    q.push_back(run);
    evicted
}

/// Puts `run` in the buffer of recent runs, numbered, making room by the oldest.
fn push_recent(run: Arc<KeptRun>) {
    let capacity = RECENT_CAPACITY.load(Relaxed);
    if capacity == 0 {
        return;
    }
    // Numbered under the lock, so that the buffer's order is the numbers' order and no run is
    // numbered below one [`kept_since`] has reported.
    let mut recent = RECENT.lock();
    recent.seq += 1;
    let seq = recent.seq;
    if recent.runs.len() >= capacity {
        recent.runs.pop_front();
    }
    recent.runs.push_back((seq, run));
}

/// The kept runs in the buffer of recent runs, newest first.
pub(crate) fn recent() -> Vec<Arc<KeptRun>> {
    RECENT
        .lock()
        .runs
        .iter()
        .rev()
        .map(|(_, run)| run.clone())
        .collect()
}

/// The kept run with this trace id, if the buffer still has it.
pub(crate) fn find(trace_id: TraceId) -> Option<Arc<KeptRun>> {
    RECENT
        .lock()
        .runs
        .iter()
        .rev()
        .find(|(_, r)| r.trace_id == trace_id)
        .map(|(_, run)| run.clone())
}

/// The runs the buffer holds that were kept after the run numbered `seq`, oldest first, and the
/// number of the latest run kept: what to pass next time. Runs kept and pushed out of the buffer
/// in between are not among them: the buffer's bound is the history file's too.
// Read by the history file, which only the `persist` feature builds.
#[cfg_attr(not(feature = "persist"), allow(dead_code))]
pub(crate) fn kept_since(seq: u64) -> (Vec<Arc<KeptRun>>, u64) {
    let recent = RECENT.lock();
    let runs = recent
        .runs
        .iter()
        .filter(|(n, _)| *n > seq)
        .map(|(_, run)| run.clone())
        .collect();
    (runs, recent.seq)
}

/// Kept runs the buffer of recent runs holds at most, as configured.
// Read by the history file, which only the `persist` feature builds.
#[cfg_attr(not(feature = "persist"), allow(dead_code))]
pub(crate) fn recent_capacity() -> usize {
    RECENT_CAPACITY.load(Relaxed)
}

/// Puts runs an earlier process kept — read from the history file, oldest first — in the buffer
/// of recent runs, before those this process kept: as many of the newest as there is room for.
/// A run the buffer holds already (the file closed and opened again) is not put in twice, and
/// is marked as written, like the runs put in: none is written to the file again.
// Read by the history file, which only the `persist` feature builds.
#[cfg_attr(not(feature = "persist"), allow(dead_code))]
pub(crate) fn restore(runs: Vec<KeptRun>) {
    let capacity = RECENT_CAPACITY.load(Relaxed);
    let same = |a: &KeptRun, b: &KeptRun| {
        a.trace_id == b.trace_id && a.start == b.start && a.root_id() == b.root_id()
    };
    let mut recent = RECENT.lock();
    let mut fresh = Vec::with_capacity(runs.len());
    for run in runs {
        match recent.runs.iter_mut().find(|(_, held)| same(held, &run)) {
            Some((seq, _)) => *seq = 0,
            None => fresh.push(run),
        }
    }
    let room = capacity.saturating_sub(recent.runs.len());
    let skip = fresh.len().saturating_sub(room);
    for run in fresh.into_iter().skip(skip).rev() {
        recent.runs.push_front((0, Arc::new(run)));
    }
}

/// Registers a trace exporter: kept runs are queued for it from now on.
pub(crate) fn start_exporting() {
    EXPORTING.fetch_add(1, Relaxed);
}

/// Unregisters one.
pub(crate) fn stop_exporting() {
    let _ = EXPORTING.fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1));
}

/// Takes up to `max` kept runs from the export queue, oldest first.
pub(crate) fn drain(max: usize) -> Vec<Arc<KeptRun>> {
    let mut q = EXPORT.lock();
    let n = max.min(q.len());
    q.drain(..n).collect()
}

/// Puts runs an export could not send back at the front of the queue, as far as there is room.
pub(crate) fn requeue(runs: Vec<Arc<KeptRun>>) {
    let capacity = EXPORT_CAPACITY.load(Relaxed);
    let mut q = EXPORT.lock();
    let mut dropped = 0;
    for run in runs.into_iter().rev() {
        if q.len() < capacity {
            q.push_front(run);
        } else {
            dropped += 1;
        }
    }
    STATS.export_dropped.fetch_add(dropped, Relaxed);
}

/// Counts runs an exporter gave up on.
pub(crate) fn count_export_dropped(n: u64) {
    STATS.export_dropped.fetch_add(n, Relaxed);
}

/// The trace id of the run enclosing the code now, with the current span, and whether head
/// sampling drew the run.
pub(crate) fn current_span() -> Option<(TraceId, SpanId, bool)> {
    let ctx = current();
    if ctx.run.is_null() {
        return None;
    }
    // SAFETY: as in `enter`.
    let f = unsafe { &*ctx.run };
    Some((f.trace_id, SpanId::from_raw(ctx.span)?, f.head_sampled))
}
