//! Runs: one request (or job) followed through every instrumented call it makes, as a trace.
//!
//! The outermost instrumented call starts a run; every instrumented call inside it is a span
//! under its enclosing one. The thread's current place in a run — which run, which span encloses
//! the code — sits in one thread-local ([`Ctx`]), set for a synchronous call from entry to exit
//! and around every poll of a future or stream, as the enclosing stage and handler are (see
//! `scope.rs`).
//!
//! A run's spans go to its *fragment*: a buffer owned by whoever started the run (the root
//! call's guard, or the HTTP layer's request scope) and written only by the thread polling it, so
//! recording a span takes no lock. Fragments come from a per-thread pool and go back to it when
//! the run ends, so a run that is dropped allocates nothing in steady state. Work handed to
//! another task or thread with [`RunHandle`] writes a fragment of its own, merged into the run's
//! when it ends; the last part of a run to end decides it.
//!
//! When a run ends, the tail rules keep it or drop it whole: failed, cancelled, slower than its
//! root site's outlier threshold, over a per-run budget, or drawn by head sampling. A kept run
//! becomes a [`KeptRun`], put in a bounded buffer of recent runs and, when a trace exporter
//! drains them, in the bounded export queue. Every limit that drops something counts it
//! ([`TraceStats`]). Metrics never depend on any of it: the calls are recorded as always.
//!
//! Guards own fragments through raw pointers (a guard's fields must be `Copy`, see
//! `guard.rs`); every way a guard ends ([`exit`]) gives its fragment back.

use super::clock;
use super::outcome::Outcome;
use super::site::Site;
use super::stripes::StreamEnd;
use super::switch;
use super::traceparent::{SpanId, TraceId, TraceParent, next_u64, random_nonzero};
use crate::usage::Tokens;
use crate::usage::entry::{ModelEntry, Usage};
use parking_lot::Mutex;
use std::cell::{Cell, RefCell};
use std::collections::{HashSet, VecDeque};
use std::num::NonZeroU64;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, SystemTime};

// ---------------------------------------------------------------------------------------------
// Limits and settings

/// Spans one run keeps by default; later ones are counted as dropped.
pub const DEFAULT_MAX_SPANS_PER_RUN: usize = 1024;
/// Runs in progress at once by default; a call that would start one more is not traced.
pub const DEFAULT_MAX_RUNS_IN_FLIGHT: usize = 4096;
/// Kept runs the buffer of recent runs holds by default.
pub const DEFAULT_RECENT_RUNS: usize = 512;
/// Kept runs waiting for a trace exporter, at most, by default.
pub const DEFAULT_EXPORT_QUEUE: usize = 2048;

static MAX_SPANS: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_SPANS_PER_RUN);
static MAX_IN_FLIGHT: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_RUNS_IN_FLIGHT);
static RECENT_CAPACITY: AtomicUsize = AtomicUsize::new(DEFAULT_RECENT_RUNS);
static EXPORT_CAPACITY: AtomicUsize = AtomicUsize::new(DEFAULT_EXPORT_QUEUE);
/// Runs in progress: the bound that keeps a flood of requests from holding unbounded spans.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// How runs are drawn for keeping before they end ("head sampling"), as OpenTelemetry's
/// `OTEL_TRACES_SAMPLER` names them. Whatever it says, the tail rules keep every run that failed,
/// was cancelled, was slow or went over a budget.
///
/// ```
/// use monitor_core::trace::Sampler;
///
/// assert_eq!(Sampler::parse("parentbased_traceidratio", Some("0.1")), Ok(Sampler::ParentBasedTraceIdRatio(0.1)));
/// assert!(Sampler::parse("sometimes", None).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Sampler {
    /// Every run (`always_on`).
    AlwaysOn,
    /// No run: only the tail rules keep any (`always_off`).
    AlwaysOff,
    /// A share of runs, 0 to 1, drawn from the trace id (`traceidratio`).
    TraceIdRatio(f64),
    /// As the caller decided when a `traceparent` came in, else every run
    /// (`parentbased_always_on`, OpenTelemetry's default).
    #[default]
    ParentBasedAlwaysOn,
    /// As the caller decided, else none (`parentbased_always_off`).
    ParentBasedAlwaysOff,
    /// As the caller decided, else a share of runs (`parentbased_traceidratio`).
    ParentBasedTraceIdRatio(f64),
}

impl Sampler {
    /// The sampler `OTEL_TRACES_SAMPLER` names, with its `OTEL_TRACES_SAMPLER_ARG` (a ratio from 0
    /// to 1, 1 when absent). `Err` says what was expected.
    pub fn parse(name: &str, arg: Option<&str>) -> Result<Sampler, &'static str> {
        let ratio = || -> Result<f64, &'static str> {
            match arg.map(str::trim) {
                None | Some("") => Ok(1.0),
                Some(a) => a
                    .parse::<f64>()
                    .ok()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or("a ratio from 0 to 1"),
            }
        };
        Ok(match name.trim() {
            "always_on" => Sampler::AlwaysOn,
            "always_off" => Sampler::AlwaysOff,
            "traceidratio" => Sampler::TraceIdRatio(ratio()?),
            "parentbased_always_on" => Sampler::ParentBasedAlwaysOn,
            "parentbased_always_off" => Sampler::ParentBasedAlwaysOff,
            "parentbased_traceidratio" => Sampler::ParentBasedTraceIdRatio(ratio()?),
            _ => {
                return Err(
                    "always_on, always_off, traceidratio, parentbased_always_on, \
                            parentbased_always_off or parentbased_traceidratio",
                );
            }
        })
    }

    /// Whether a run is drawn: `parent` is the caller's decision when a `traceparent` came in.
    pub fn decide(self, trace_id: TraceId, parent: Option<bool>) -> bool {
        let by_ratio = |ratio: f64| {
            // The top 53 bits of the random part, as a fraction: exact for any f64 ratio.
            ((trace_id.low() >> 11) as f64) < ratio * (1u64 << 53) as f64
        };
        match (self, parent) {
            (Sampler::AlwaysOn, _) => true,
            (Sampler::AlwaysOff, _) => false,
            (Sampler::TraceIdRatio(r), _) => by_ratio(r),
            (
                Sampler::ParentBasedAlwaysOn
                | Sampler::ParentBasedAlwaysOff
                | Sampler::ParentBasedTraceIdRatio(_),
                Some(sampled),
            ) => sampled,
            (Sampler::ParentBasedAlwaysOn, None) => true,
            (Sampler::ParentBasedAlwaysOff, None) => false,
            (Sampler::ParentBasedTraceIdRatio(r), None) => by_ratio(r),
        }
    }
}

/// The head sampler, read by every run's start: in atomics rather than behind a lock, which every
/// thread starting a run would take. Its kind ([`Sampler::code`]) and its ratio's bits; a run
/// starting while the sampler changes may see the old kind with the new ratio, which is a valid
/// sampler too.
static SAMPLER_KIND: AtomicU64 = AtomicU64::new(4);
static SAMPLER_RATIO: AtomicU64 = AtomicU64::new(0x3ff0_0000_0000_0000); // 1.0

impl Sampler {
    fn code(self) -> (u64, f64) {
        match self {
            Sampler::AlwaysOn => (0, 1.0),
            Sampler::AlwaysOff => (1, 0.0),
            Sampler::TraceIdRatio(r) => (2, r),
            Sampler::ParentBasedAlwaysOn => (4, 1.0),
            Sampler::ParentBasedAlwaysOff => (5, 0.0),
            Sampler::ParentBasedTraceIdRatio(r) => (6, r),
        }
    }

    fn from_code(kind: u64, ratio: f64) -> Sampler {
        match kind {
            0 => Sampler::AlwaysOn,
            1 => Sampler::AlwaysOff,
            2 => Sampler::TraceIdRatio(ratio),
            5 => Sampler::ParentBasedAlwaysOff,
            6 => Sampler::ParentBasedTraceIdRatio(ratio),
            _ => Sampler::ParentBasedAlwaysOn,
        }
    }
}

fn set_sampler(sampler: Sampler) {
    let (kind, ratio) = sampler.code();
    SAMPLER_RATIO.store(ratio.to_bits(), Relaxed);
    SAMPLER_KIND.store(kind, Relaxed);
}

fn sampler() -> Sampler {
    Sampler::from_code(
        SAMPLER_KIND.load(Relaxed),
        f64::from_bits(SAMPLER_RATIO.load(Relaxed)),
    )
}

/// The limits runs are held to, and the head sampler. Set by the configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Settings {
    pub(crate) sampler: Sampler,
    pub(crate) max_spans_per_run: usize,
    pub(crate) max_runs_in_flight: usize,
    pub(crate) recent_runs: usize,
    pub(crate) export_queue: usize,
}

/// Turns tracing on or off and sets how runs are sampled and bounded.
pub(crate) fn configure(on: bool, settings: Settings) {
    set_sampler(settings.sampler);
    MAX_SPANS.store(settings.max_spans_per_run.max(1), Relaxed);
    MAX_IN_FLIGHT.store(settings.max_runs_in_flight, Relaxed);
    RECENT_CAPACITY.store(settings.recent_runs, Relaxed);
    EXPORT_CAPACITY.store(settings.export_queue, Relaxed);
    trim(&mut RECENT.lock().runs, settings.recent_runs);
    let evicted = trim(&mut EXPORT.lock(), settings.export_queue);
    STATS.export_dropped.fetch_add(evicted, Relaxed);
    switch::set_traces(on);
}

fn trim<T>(q: &mut VecDeque<T>, capacity: usize) -> u64 {
    let mut evicted = 0;
    while q.len() > capacity {
        q.pop_front();
        evicted += 1;
    }
    evicted
}

// ---------------------------------------------------------------------------------------------
// What a run holds while it goes on

/// How a call ended, as its span says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanOutcome {
    /// Returned a value that is not an error.
    Ok,
    /// Answered with a 4xx status: the caller's error.
    ClientError,
    /// Returned an error, or a 5xx status.
    Error,
    /// Panicked.
    Panicked,
    /// Dropped before it finished: a future or stream its caller gave up on.
    Cancelled,
}

/// One call of a run, as it ended; raw clock units until the run is kept. Small and without a
/// destructor, so that pushing one is a few stores and a buffer is cleared at once: what only
/// some calls have (a message, tokens, a stream's figures) is an [`Extra`] beside it.
#[derive(Debug, Clone, Copy)]
struct SpanRecord {
    site: &'static Site,
    id: u64,
    /// 0 for the root, whose parent is the remote span when there is one.
    parent: u64,
    start: u64,
    units: u64,
    request_bytes: u64,
    /// [`NO_BYTES`] when unknown.
    response_bytes: u64,
    error_type: Option<&'static str>,
    model: Option<&'static ModelEntry>,
    /// 1 + its extra's position in the fragment's `extras`; 0 for none.
    extra: u32,
    status: u16,
    outcome: SpanOutcome,
}

const NO_BYTES: u64 = u64::MAX;

/// What only some calls' spans have.
#[derive(Debug, Default)]
struct Extra {
    /// Redacted only if the run is kept.
    message: Option<String>,
    response_model: Option<&'static str>,
    usage: Option<Usage>,
    stream: Option<StreamEnd>,
}

impl Extra {
    fn is_empty(&self) -> bool {
        self.message.is_none()
            && self.response_model.is_none()
            && self.usage.is_none()
            && self.stream.is_none()
    }
}

/// A run's buffer of spans, and what it knows of the run.
#[derive(Debug)]
pub(crate) struct Fragment {
    serial: u64,
    trace_id: TraceId,
    remote_parent: Option<SpanId>,
    tracestate: Option<String>,
    head_sampled: bool,
    /// The root span's id, made when the run starts: a request's root is written when the
    /// request completes, after its children.
    root_span: u64,
    /// The handler a request scope's root is: the first to enter in the scope claims it.
    root_site: Option<&'static Site>,
    start_units: u64,
    start_wall: SystemTime,
    spans: Vec<SpanRecord>,
    extras: Vec<Extra>,
    dropped_spans: u64,
    /// The id the next span takes: a Weyl sequence from a random start, so that ids are distinct
    /// within the run without a random number per call.
    next_id: u64,
    /// Made when the run is first handed to other work ([`RunHandle`]).
    shared: Option<Arc<Shared>>,
    /// For a fragment of handed-over work: the run it belongs to.
    part_of: Option<Arc<Shared>>,
    /// The run of an HTTP request, whose root span the serving handler claims.
    request: bool,
}

/// What the parts of a run handed to other tasks or threads share.
#[derive(Debug)]
struct Shared {
    trace_id: TraceId,
    serial: u64,
    head_sampled: bool,
    /// Spans of the parts that ended, and the root's fragment once the root ended.
    merged: Mutex<Merged>,
}

#[derive(Debug, Default)]
struct Merged {
    spans: Vec<SpanRecord>,
    extras: Vec<Extra>,
    dropped_spans: u64,
    root: Option<Box<Fragment>>,
}

/// Moves `spans` and their `extras` to the end of `to_spans` and `to_extras`, renumbering the
/// extras.
fn append(
    to_spans: &mut Vec<SpanRecord>,
    to_extras: &mut Vec<Extra>,
    spans: &mut Vec<SpanRecord>,
    extras: &mut Vec<Extra>,
) {
    let offset = to_extras.len() as u32;
    to_spans.extend(spans.drain(..).map(|mut s| {
        if s.extra != 0 {
            s.extra += offset;
        }
        s
    }));
    to_extras.append(extras);
}

/// The odd step of the span ids' Weyl sequence (2^64 / φ).
const ID_STEP: u64 = 0x9e37_79b9_7f4a_7c15;

/// The thread's place in a run: the fragment spans go to, the run's serial (so a guard can tell
/// its run from another), and the span enclosing the code.
#[derive(Clone, Copy)]
struct Ctx {
    run: *mut Fragment,
    serial: u64,
    span: u64,
}

impl Ctx {
    const NONE: Ctx = Ctx {
        run: std::ptr::null_mut(),
        serial: 0,
        span: 0,
    };
}

thread_local! {
    static CTX: Cell<Ctx> = const { Cell::new(Ctx::NONE) };
    /// The trace of the run whose root just ended on this thread: a root's call is filed after
    /// its run ended, and its raw event names the run.
    static ENDED: Cell<Option<TraceId>> = const { Cell::new(None) };
    /// Fragments of ended runs, ready for the next: their buffers keep their capacity. Boxed,
    /// because a guard owns its fragment by pointer, which must not move.
    #[allow(clippy::vec_box)]
    static POOL: RefCell<Vec<Box<Fragment>>> = const { RefCell::new(Vec::new()) };
}

/// Fragments a thread keeps for reuse: as many runs as a thread usually has going at once (a
/// request, and the runs of futures it polls that belong to none). A buffer keeps the capacity
/// its largest run gave it, at most the limit of spans per run: a thread that runs runs of 1,000
/// spans holds at most this many buffers of 1,000 records.
const POOL_SIZE: usize = 4;

#[inline(always)]
fn current() -> Ctx {
    CTX.try_with(Cell::get).unwrap_or(Ctx::NONE)
}

#[inline(always)]
fn set_current(ctx: Ctx) {
    let _ = CTX.try_with(|c| c.set(ctx));
}

/// A fragment for a new run (or a part of one), from the pool when it has one.
fn fragment(serial: u64, trace_id: TraceId, head_sampled: bool, start_units: u64) -> Box<Fragment> {
    let pooled = POOL.try_with(|p| p.borrow_mut().pop()).ok().flatten();
    let mut f = pooled.unwrap_or_else(|| {
        Box::new(Fragment {
            serial: 0,
            trace_id,
            remote_parent: None,
            tracestate: None,
            head_sampled: false,
            root_span: 0,
            root_site: None,
            start_units: 0,
            start_wall: SystemTime::UNIX_EPOCH,
            spans: Vec::new(),
            extras: Vec::new(),
            dropped_spans: 0,
            next_id: 0,
            shared: None,
            part_of: None,
            request: false,
        })
    });
    f.serial = serial;
    f.trace_id = trace_id;
    f.head_sampled = head_sampled;
    f.start_units = start_units;
    f.root_span = random_nonzero().get();
    f.next_id = next_u64();
    f
}

impl Fragment {
    fn extra(&self, span: &SpanRecord) -> Option<&Extra> {
        span.extra
            .checked_sub(1)
            .and_then(|i| self.extras.get(i as usize))
    }

    #[inline(always)]
    fn next_span_id(&mut self) -> NonZeroU64 {
        loop {
            self.next_id = self.next_id.wrapping_add(ID_STEP);
            if let Some(id) = NonZeroU64::new(self.next_id)
                && id.get() != self.root_span
            {
                return id;
            }
        }
    }
}

fn recycle(mut f: Box<Fragment>) {
    if f.spans.capacity() > MAX_SPANS.load(Relaxed) {
        return;
    }
    f.spans.clear();
    f.extras.clear();
    f.remote_parent = None;
    f.tracestate = None;
    f.root_site = None;
    f.dropped_spans = 0;
    f.shared = None;
    f.part_of = None;
    f.request = false;
    let _ = POOL.try_with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < POOL_SIZE {
            p.push(f);
        }
    });
}

/// Starts a run, unless as many are in progress as allowed (counted).
fn start_run(start_units: u64, parent: Option<&TraceParent>) -> Option<Box<Fragment>> {
    if IN_FLIGHT.fetch_add(1, Relaxed) >= MAX_IN_FLIGHT.load(Relaxed) {
        IN_FLIGHT.fetch_sub(1, Relaxed);
        STATS.runs_over_limit.fetch_add(1, Relaxed);
        return None;
    }
    let _ = ENDED.try_with(|e| e.set(None));
    let trace_id = parent.map_or_else(TraceId::random, |p| p.trace_id);
    let sampled = sampler().decide(trace_id, parent.map(|p| p.sampled));
    let mut f = fragment(next_u64() | 1, trace_id, sampled, start_units);
    f.start_wall = SystemTime::now();
    if let Some(p) = parent {
        f.remote_parent = Some(p.span_id);
        f.tracestate.clone_from(&p.tracestate);
    }
    Some(f)
}

// ---------------------------------------------------------------------------------------------
// The guard's part

/// A call's place in a run, kept in its guard: its span, the span it is under, its run's serial,
/// and the run's fragment when this call owns it (the run's root).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Traced {
    id: NonZeroU64,
    parent: u64,
    serial: u64,
    owned: *mut Fragment,
    /// The root span of a request scope's run, claimed by the handler: written by the scope.
    claimed_root: bool,
    /// Entered as a synchronous call: the thread's place is this span until [`leave`].
    sync: bool,
}

// SAFETY: `owned` is the one pointer to a fragment this call owns; it is dereferenced only by
// the thread that runs the call's exit or the poll of its future, never by two threads at once
// (a future is polled by one thread at a time, and `&Guard` gives no access to it).
unsafe impl Send for Traced {}
// SAFETY: as above: shared references to a guard never reach the fragment.
unsafe impl Sync for Traced {}

/// A call enters: the span it makes, under the enclosing one, or the root of a new run when no
/// run encloses it. `sync` calls set the thread's place at once; a future's (`sync == false`)
/// is set around each of its polls ([`PollScope`]). A call inside a run — nearly every call —
/// takes the inlined path: a thread-local read, the next id, a thread-local write.
#[inline(always)]
pub(crate) fn enter(site: &'static Site, start: u64, sync: bool) -> Option<Traced> {
    let ctx = current();
    if !ctx.run.is_null() {
        // SAFETY: a non-null `CTX.run` is a live fragment: it is set only while its owner runs
        // the code on this thread (a call, a poll, a request scope), and put back before.
        let f = unsafe { &mut *ctx.run };
        if !f.request || f.root_site.is_some() || ctx.span != f.root_span {
            let id = f.next_span_id();
            if sync {
                set_current(Ctx {
                    span: id.get(),
                    ..ctx
                });
            }
            return Some(Traced {
                id,
                parent: ctx.span,
                serial: ctx.serial,
                owned: std::ptr::null_mut(),
                claimed_root: false,
                sync,
            });
        }
    }
    enter_cold(site, start, sync, ctx)
}

/// A call that starts a run, or the first call directly under a request's root.
#[cold]
#[inline(never)]
fn enter_cold(site: &'static Site, start: u64, sync: bool, ctx: Ctx) -> Option<Traced> {
    let traced = if ctx.run.is_null() {
        let f = start_run(start, None)?;
        let id = NonZeroU64::new(f.root_span)?;
        Traced {
            id,
            parent: 0,
            serial: f.serial,
            owned: Box::into_raw(f),
            claimed_root: false,
            sync,
        }
    } else {
        // SAFETY: as in `enter`.
        let f = unsafe { &mut *ctx.run };
        if is_handler(site) {
            // The request's root span is the handler serving it.
            f.root_site = Some(site);
            Traced {
                id: NonZeroU64::new(f.root_span)?,
                parent: 0,
                serial: ctx.serial,
                owned: std::ptr::null_mut(),
                claimed_root: true,
                sync,
            }
        } else {
            Traced {
                id: f.next_span_id(),
                parent: ctx.span,
                serial: ctx.serial,
                owned: std::ptr::null_mut(),
                claimed_root: false,
                sync,
            }
        }
    };
    if sync {
        set_current(Ctx {
            run: if traced.owned.is_null() {
                ctx.run
            } else {
                traced.owned
            },
            serial: traced.serial,
            span: traced.id.get(),
        });
    }
    Some(traced)
}

fn is_handler(site: &Site) -> bool {
    site.kind() == super::site::SiteKind::Handler
}

/// A synchronous call leaves (or goes on as a stream): the thread's place is the enclosing span
/// again (or none, after a root). Nothing for a future's span, which only its polls entered.
#[inline]
pub(crate) fn leave(traced: &mut Traced) {
    if !std::mem::take(&mut traced.sync) {
        return;
    }
    let ctx = current();
    if !traced.owned.is_null() {
        set_current(Ctx::NONE);
    } else if ctx.serial == traced.serial {
        set_current(Ctx {
            span: traced.parent,
            ..ctx
        });
    }
}

/// Puts the thread's place back when a poll ends, on return and on unwind alike.
pub(crate) struct PollScope(Option<Ctx>);

impl Drop for PollScope {
    #[inline]
    fn drop(&mut self) {
        if let Some(previous) = self.0 {
            set_current(previous);
        }
    }
}

/// Makes `traced`'s span enclose a poll of its future or stream. A future polled outside its run
/// (handed to another task without [`RunHandle`]) leaves the thread's place as it is.
#[inline]
pub(crate) fn poll(traced: Option<&Traced>) -> PollScope {
    let Some(t) = traced else {
        return PollScope(None);
    };
    let previous = current();
    let run = if !t.owned.is_null() {
        t.owned
    } else if previous.serial == t.serial && !previous.run.is_null() {
        previous.run
    } else {
        return PollScope(None);
    };
    set_current(Ctx {
        run,
        serial: t.serial,
        span: t.id.get(),
    });
    PollScope(Some(previous))
}

/// What a call's span says beyond its outcome: its tokens and their cost, its model, its stream.
#[derive(Debug, Default)]
pub(crate) struct SpanFigures<'a> {
    pub(crate) usage: Option<&'a Usage>,
    pub(crate) model: Option<&'static ModelEntry>,
    pub(crate) response_model: Option<&'static str>,
    pub(crate) stream: Option<StreamEnd>,
}

impl SpanFigures<'_> {
    #[inline(always)]
    fn is_plain(&self) -> bool {
        self.usage.is_none() && self.response_model.is_none() && self.stream.is_none()
    }
}

/// How a call ended, for its span.
pub(crate) enum Ended<'a> {
    Returned(&'a Outcome),
    Panicked,
    Cancelled,
}

/// A call ends: its span goes to its run, and a run whose root this is ends with it. A call
/// inside a run that returned plainly (no error message, tokens or stream) takes the inlined
/// path: a thread-local read and one record pushed.
#[inline(always)]
pub(crate) fn exit(
    traced: &Traced,
    site: &'static Site,
    start: u64,
    units: u64,
    request_bytes: u64,
    ended: Ended<'_>,
    figures: SpanFigures<'_>,
) {
    if let (Ended::Returned(o), false, true) = (&ended, traced.claimed_root, figures.is_plain())
        && o.error_message.is_none()
        && traced.owned.is_null()
    {
        let ctx = current();
        if ctx.serial == traced.serial && !ctx.run.is_null() {
            let record = SpanRecord {
                site,
                id: traced.id.get(),
                parent: traced.parent,
                start,
                units,
                request_bytes,
                response_bytes: o.response_bytes.unwrap_or(NO_BYTES),
                error_type: o.error_type,
                model: figures.model,
                extra: 0,
                status: o.status,
                outcome: classify(o),
            };
            // SAFETY: as in `enter`.
            push(unsafe { &mut *ctx.run }, record, None);
            return;
        }
    }
    exit_cold(traced, site, start, units, request_bytes, ended, figures);
}

#[cold]
#[inline(never)]
fn exit_cold(
    traced: &Traced,
    site: &'static Site,
    start: u64,
    units: u64,
    request_bytes: u64,
    ended: Ended<'_>,
    figures: SpanFigures<'_>,
) {
    if traced.claimed_root {
        // The request scope writes the root span when the request completes.
        return;
    }
    let (record, extra) = span_record(
        site,
        traced.id.get(),
        traced.parent,
        start,
        units,
        request_bytes,
        ended,
        figures,
    );
    if !traced.owned.is_null() {
        // SAFETY: the root's guard owns its fragment (made by `Box::into_raw` in `enter`), and
        // this is its one exit.
        let mut f = unsafe { Box::from_raw(traced.owned) };
        push(&mut f, record, extra);
        end_root(f);
        return;
    }
    let ctx = current();
    if ctx.serial == traced.serial && !ctx.run.is_null() {
        // SAFETY: as in `enter`.
        push(unsafe { &mut *ctx.run }, record, extra);
    } else {
        // Its future was handed to other work without `RunHandle`, and ended there.
        STATS.spans_detached.fetch_add(1, Relaxed);
    }
}

#[allow(clippy::too_many_arguments)] // the fields of one record, each from a different place
fn span_record(
    site: &'static Site,
    id: u64,
    parent: u64,
    start: u64,
    units: u64,
    request_bytes: u64,
    ended: Ended<'_>,
    figures: SpanFigures<'_>,
) -> (SpanRecord, Option<Extra>) {
    let (outcome, status, error_type, message, response_bytes) = match ended {
        Ended::Returned(o) => (
            classify(o),
            o.status,
            o.error_type,
            o.error_message.clone(),
            o.response_bytes,
        ),
        Ended::Panicked => (SpanOutcome::Panicked, 0, Some("panic"), None, None),
        Ended::Cancelled => (SpanOutcome::Cancelled, 0, None, None, None),
    };
    let extra = Extra {
        message,
        response_model: figures.response_model,
        usage: figures.usage.copied(),
        stream: figures.stream,
    };
    let record = SpanRecord {
        site,
        id,
        parent,
        start,
        units,
        request_bytes,
        response_bytes: response_bytes.unwrap_or(NO_BYTES),
        error_type,
        model: figures.model,
        extra: 0,
        status,
        outcome,
    };
    (record, (!extra.is_empty()).then_some(extra))
}

#[inline(always)]
fn classify(o: &Outcome) -> SpanOutcome {
    if o.panicked {
        SpanOutcome::Panicked
    } else if o.status >= 500 || (o.error_type.is_some() && !(400..500).contains(&o.status)) {
        SpanOutcome::Error
    } else if (400..500).contains(&o.status) {
        SpanOutcome::ClientError
    } else {
        SpanOutcome::Ok
    }
}

#[inline(always)]
fn push(f: &mut Fragment, mut record: SpanRecord, extra: Option<Extra>) {
    // The root ends last and always has a place: the rules read it, and a run is its tree.
    let room = MAX_SPANS.load(Relaxed) - usize::from(record.id != f.root_span);
    if f.spans.len() < room {
        if let Some(extra) = extra {
            f.extras.push(extra);
            record.extra = f.extras.len() as u32;
        }
        f.spans.push(record);
    } else {
        f.dropped_spans += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// Request scopes: the HTTP layer owns the run of each request

/// The run of one HTTP request, owned by its [`RequestScope`](super::request::RequestScope).
/// A pointer rather than a `Box`, so that the scope's `in_scope(&self)` can make it the thread's
/// current run without a `&mut`.
#[derive(Debug)]
pub(crate) struct RequestRun(NonNull<Fragment>);

// SAFETY: the fragment is owned by the scope alone; it is reached through `CTX` only while the
// scope runs code on this thread, and a `RequestScope` is not `Sync`.
unsafe impl Send for RequestRun {}

impl RequestRun {
    /// Starts the run of a request, continuing `parent` when the request came with one.
    pub(crate) fn start(start_units: u64, parent: Option<&TraceParent>) -> Option<RequestRun> {
        let mut f = start_run(start_units, parent)?;
        f.request = true;
        Some(RequestRun(NonNull::from(Box::leak(f))))
    }

    /// Makes the request's root span enclose the code until the scope drops.
    pub(crate) fn enter(&self) -> PollScope {
        let previous = current();
        // SAFETY: the scope owns the fragment; no `&mut` to it lives outside a poll.
        let (serial, span) = unsafe {
            let f = self.0.as_ref();
            (f.serial, f.root_span)
        };
        set_current(Ctx {
            run: self.0.as_ptr(),
            serial,
            span,
        });
        PollScope(Some(previous))
    }

    /// The `traceparent` of the request's root span.
    pub(crate) fn traceparent(&self) -> TraceParent {
        // SAFETY: as in `enter`.
        let f = unsafe { self.0.as_ref() };
        TraceParent {
            trace_id: f.trace_id,
            span_id: SpanId::from_raw(f.root_span).unwrap_or_else(SpanId::random),
            sampled: f.head_sampled,
            tracestate: f.tracestate.clone(),
        }
    }

    /// The handler that serves the request, once one entered.
    pub(crate) fn handler(&self) -> Option<&'static Site> {
        // SAFETY: as in `enter`.
        unsafe { self.0.as_ref().root_site }
    }

    fn take(self) -> Box<Fragment> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: made by `Box::leak` in `start`; `ManuallyDrop` keeps `Drop` from freeing it
        // again.
        unsafe { Box::from_raw(this.0.as_ptr()) }
    }

    /// The request ended: its root span, with what the layer saw, and the run's end.
    pub(crate) fn end(self, site: &'static Site, units: u64, request_bytes: u64, ended: Ended<'_>) {
        let mut f = self.take();
        let (record, extra) = span_record(
            site,
            f.root_span,
            0,
            f.start_units,
            units,
            request_bytes,
            ended,
            SpanFigures::default(),
        );
        f.root_site = Some(site);
        push(&mut f, record, extra);
        end_root(f);
    }
}

impl Drop for RequestRun {
    /// A request that ended without an answer the layer saw and no handler served: nothing to
    /// tell of it but that it began, so the run is dropped (the request is counted nowhere
    /// either).
    fn drop(&mut self) {
        // SAFETY: as in `take`; `end` and `take` forget `self`, so this runs only for a run that
        // did not end.
        let f = unsafe { Box::from_raw(self.0.as_ptr()) };
        IN_FLIGHT.fetch_sub(1, Relaxed);
        recycle(f);
    }
}

// ---------------------------------------------------------------------------------------------
// Handing a run to other work

/// The current run, to be joined by work handed to another task or thread: the spans that work
/// makes are children of the span that was current when the handle was taken
/// ([`current_run`](crate::trace::current_run)). Cheap to clone; the run ends when its root and
/// every part handed out have ended.
#[derive(Debug, Clone)]
pub struct RunHandle {
    shared: Arc<Shared>,
    parent: u64,
}

/// The run enclosing the code now, to hand to other work; `None` outside a run.
pub(crate) fn handle() -> Option<RunHandle> {
    let ctx = current();
    if ctx.run.is_null() {
        return None;
    }
    // SAFETY: as in `enter`.
    let f = unsafe { &mut *ctx.run };
    let shared = match (&f.part_of, &f.shared) {
        (Some(run), _) | (None, Some(run)) => run.clone(),
        (None, None) => {
            let run = Arc::new(Shared {
                trace_id: f.trace_id,
                serial: f.serial,
                head_sampled: f.head_sampled,
                merged: Mutex::new(Merged::default()),
            });
            f.shared = Some(run.clone());
            run
        }
    };
    Some(RunHandle {
        shared,
        parent: ctx.span,
    })
}

/// One part of a run, done by other work: its fragment, merged into the run when it ends.
#[derive(Debug)]
pub(crate) struct Part {
    fragment: Option<Box<Fragment>>,
    handle: Option<RunHandle>,
}

// SAFETY: a part's fragment is a plain owned buffer; it is reached through `CTX` only while the
// part runs code on this thread (`Part::enter`).
unsafe impl Send for Part {}

impl Part {
    pub(crate) fn new(handle: RunHandle) -> Part {
        Part {
            fragment: None,
            handle: Some(handle),
        }
    }

    /// Makes the run's span enclose code the part runs, until the returned scope drops.
    pub(crate) fn enter(&mut self) -> PollScope {
        let Some(handle) = &self.handle else {
            return PollScope(None);
        };
        if switch::mode() & switch::TRACES == 0 {
            return PollScope(None);
        }
        let shared = &handle.shared;
        let f = self.fragment.get_or_insert_with(|| {
            let mut f = fragment(shared.serial, shared.trace_id, shared.head_sampled, 0);
            f.part_of = Some(shared.clone());
            f
        });
        let previous = current();
        set_current(Ctx {
            run: &mut **f,
            serial: shared.serial,
            span: handle.parent,
        });
        PollScope(Some(previous))
    }
}

impl Drop for Part {
    /// The part ended (or was dropped): its spans join the run's, and the last part of a run to
    /// end decides it.
    fn drop(&mut self) {
        let Some(handle) = self.handle.take() else {
            return;
        };
        if let Some(mut f) = self.fragment.take() {
            {
                let mut guard = handle.shared.merged.lock();
                let merged = &mut *guard;
                append(
                    &mut merged.spans,
                    &mut merged.extras,
                    &mut f.spans,
                    &mut f.extras,
                );
                merged.dropped_spans += f.dropped_spans;
            }
            recycle(f);
        }
        if let Some(shared) = Arc::into_inner(handle.shared) {
            end_shared(shared);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The end of a run: the tail rules

/// Why a run was kept, as the root's `monitor.kept` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepReason {
    /// Its root failed: an error, a 5xx, a panic.
    Failed,
    /// Its root was dropped before it finished.
    Cancelled,
    /// Its root took longer than its site's outlier threshold.
    Slow,
    /// It spent more tokens or money than a per-run budget allows.
    OverBudget,
    /// Head sampling drew it.
    Sampled,
}

impl KeepReason {
    /// Every reason, in the order the rules test them.
    pub const ALL: [KeepReason; 5] = [
        KeepReason::Failed,
        KeepReason::Cancelled,
        KeepReason::Slow,
        KeepReason::OverBudget,
        KeepReason::Sampled,
    ];

    /// The name the root's `monitor.kept` attribute and the dashboard use.
    pub fn as_str(self) -> &'static str {
        match self {
            KeepReason::Failed => "failed",
            KeepReason::Cancelled => "cancelled",
            KeepReason::Slow => "slow",
            KeepReason::OverBudget => "over_budget",
            KeepReason::Sampled => "sampled",
        }
    }

    /// The reason named `name`.
    pub fn parse(name: &str) -> Option<KeepReason> {
        KeepReason::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// The trace a raw event being kept names: the run enclosing the call, or the one its root just
/// ended.
pub(crate) fn event_trace() -> Option<TraceId> {
    current_span()
        .map(|(trace_id, _, _)| trace_id)
        .or_else(|| ENDED.try_with(Cell::take).ok().flatten())
}

/// The root of a run ended. With parts handed out still going, the last of them decides.
fn end_root(mut f: Box<Fragment>) {
    let _ = ENDED.try_with(|e| e.set(Some(f.trace_id)));
    match f.shared.take() {
        None => decide(f, Vec::new(), Vec::new(), 0),
        Some(shared) => {
            shared.merged.lock().root = Some(f);
            if let Some(shared) = Arc::into_inner(shared) {
                end_shared(shared);
            }
        }
    }
}

fn end_shared(shared: Shared) {
    let merged = shared.merged.into_inner();
    // Without a root, its fragment was dropped without ending (a thread exiting mid-run).
    if let Some(root) = merged.root {
        decide(root, merged.spans, merged.extras, merged.dropped_spans);
    }
}

/// Keeps the run or drops it, whole.
fn decide(
    mut f: Box<Fragment>,
    mut parts: Vec<SpanRecord>,
    mut part_extras: Vec<Extra>,
    parts_dropped: u64,
) {
    IN_FLIGHT.fetch_sub(1, Relaxed);
    let max = MAX_SPANS.load(Relaxed);
    let room = max.saturating_sub(f.spans.len());
    if parts.len() > room {
        f.dropped_spans += (parts.len() - room) as u64;
        parts.truncate(room);
    }
    let f_ref = &mut *f;
    append(
        &mut f_ref.spans,
        &mut f_ref.extras,
        &mut parts,
        &mut part_extras,
    );
    f.dropped_spans += parts_dropped;
    let counts = &RUN_COUNTS[super::thread::stripe()];
    if f.dropped_spans > 0 {
        counts.spans_dropped.fetch_add(f.dropped_spans, Relaxed);
    }
    // The root ends last: found from the end.
    let reason = f
        .spans
        .iter()
        .rev()
        .find(|s| s.id == f.root_span)
        .and_then(|root| reason(root, &f));
    match reason {
        Some(reason) => {
            counts.kept[reason as usize].fetch_add(1, Relaxed);
            keep(&f, reason);
        }
        None => {
            counts.unsampled.fetch_add(1, Relaxed);
        }
    }
    recycle(f);
}

fn reason(root: &SpanRecord, f: &Fragment) -> Option<KeepReason> {
    match root.outcome {
        SpanOutcome::Error | SpanOutcome::Panicked => return Some(KeepReason::Failed),
        SpanOutcome::Cancelled => return Some(KeepReason::Cancelled),
        SpanOutcome::Ok | SpanOutcome::ClientError => {}
    }
    if root.units > root.site.outlier_units() {
        return Some(KeepReason::Slow);
    }
    if BUDGETS.load(Relaxed) && over_budget(f) {
        return Some(KeepReason::OverBudget);
    }
    f.head_sampled.then_some(KeepReason::Sampled)
}

/// Whether any site has a token or cost budget: without one, a run's spans need not be read.
static BUDGETS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Records whether any site has a budget (set when objectives are put in force).
pub(crate) fn set_budgets_in_force(any: bool) {
    BUDGETS.store(any, Relaxed);
}

/// Whether a call spent more than its site's per-call budget, or the run more than the per-run
/// budget of a site it passed through.
fn over_budget(f: &Fragment) -> bool {
    let spend = |usage: &Usage| {
        let tokens = usage.tokens.input.saturating_add(usage.tokens.output);
        let picousd = usage
            .cost_picousd
            .map_or(0, |c| c.iter().fold(0u64, |a, b| a.saturating_add(*b)));
        (tokens, picousd)
    };
    let (mut tokens, mut picousd) = (0u64, 0u64);
    let mut run_budget = super::site::Budgets::NONE;
    let mut any = false;
    for span in &f.spans {
        let b = span.site.budgets();
        let usage = f.extra(span).and_then(|e| e.usage.as_ref());
        if b == super::site::Budgets::NONE && usage.is_none() {
            continue;
        }
        if let Some(usage) = usage {
            let (t, p) = spend(usage);
            if t > b.call_tokens || p > b.call_picousd {
                return true;
            }
            tokens = tokens.saturating_add(t);
            picousd = picousd.saturating_add(p);
        }
        any |= b.run_tokens != u64::MAX || b.run_picousd != u64::MAX;
        run_budget.run_tokens = run_budget.run_tokens.min(b.run_tokens);
        run_budget.run_picousd = run_budget.run_picousd.min(b.run_picousd);
    }
    any && (tokens > run_budget.run_tokens || picousd > run_budget.run_picousd)
}

// ---------------------------------------------------------------------------------------------
// Kept runs

/// One run kept as a trace: its spans, root first, each with its parent, its times and the
/// figures of its call.
///
/// Held compactly — a kept span is about 100 bytes, plus the message, tokens and stream figures
/// of the calls that have them — and read as [`KeptSpan`]s ([`spans`](Self::spans)), made on
/// each read: keeping a run costs its thread a copy of its spans, not a conversion of each.
#[derive(Clone)]
#[non_exhaustive]
pub struct KeptRun {
    /// The trace.
    pub trace_id: TraceId,
    /// The span in another process the run continued, when a `traceparent` came in.
    pub remote_parent: Option<SpanId>,
    /// The `tracestate` that came with it.
    pub tracestate: Option<String>,
    /// Why it was kept.
    pub kept: KeepReason,
    /// Whether head sampling drew it (a run kept by the tail rules alone was not).
    pub head_sampled: bool,
    /// When its root started.
    pub start: SystemTime,
    /// Spans beyond the per-run limit, not kept.
    pub dropped_spans: u64,
    /// The root first, then by start. Never empty.
    spans: Box<[KeptRecord]>,
    /// What only some spans have, by [`KeptRecord::extra`].
    extras: Box<[KeptExtra]>,
}

/// A kept span as a run holds it: times in nanoseconds, what only some spans have beside it.
#[derive(Debug, Clone, Copy)]
struct KeptRecord {
    site: &'static Site,
    id: SpanId,
    /// 0 for the root.
    parent: u64,
    offset_ns: u64,
    duration_ns: u64,
    request_bytes: u64,
    /// [`NO_BYTES`] when unknown.
    response_bytes: u64,
    error_type: Option<&'static str>,
    model: Option<&'static str>,
    /// 1 + its extra's position in the run's `extras`; 0 for none.
    extra: u32,
    status: u16,
    outcome: SpanOutcome,
}

/// What only some kept spans have: the fields of [`KeptSpan`] they fill.
#[derive(Debug, Clone, Default)]
struct KeptExtra {
    error_message: Option<String>,
    response_model: Option<&'static str>,
    tokens: Option<Tokens>,
    cost_by_kind_usd: Option<[f64; 5]>,
    chunks: Option<u64>,
    first_chunk: Option<Duration>,
}

impl KeptExtra {
    fn is_empty(&self) -> bool {
        self.error_message.is_none()
            && self.response_model.is_none()
            && self.tokens.is_none()
            && self.cost_by_kind_usd.is_none()
            && self.chunks.is_none()
            && self.first_chunk.is_none()
    }
}

/// One call of a kept run.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct KeptSpan {
    /// Its id.
    pub id: SpanId,
    /// The span it ran under: `None` for the root (whose parent is the run's remote parent).
    pub parent: Option<SpanId>,
    /// The instrumented function (or the route, for a request no handler served).
    #[serde(serialize_with = "site_name")]
    pub site: &'static Site,
    /// From the run's start to this call's.
    pub offset: Duration,
    /// How long it took.
    pub duration: Duration,
    /// How it ended.
    pub outcome: SpanOutcome,
    /// Its HTTP status, when its value or the layer told one.
    pub status: Option<u16>,
    /// The error's type, for a failed call.
    pub error_type: Option<&'static str>,
    /// The error's message, redacted.
    pub error_message: Option<String>,
    /// Request payload bytes.
    pub request_bytes: u64,
    /// Response payload bytes, when known.
    pub response_bytes: Option<u64>,
    /// The model a metered call asked for.
    pub model: Option<&'static str>,
    /// The model the response named, when it named one.
    pub response_model: Option<&'static str>,
    /// The tokens a metered call reported.
    pub tokens: Option<Tokens>,
    /// What they cost, in US dollars, by kind ([`TokenKind::ALL`](crate::usage::TokenKind::ALL)
    /// order); `None` when the model has no price.
    pub cost_by_kind_usd: Option<[f64; 5]>,
    /// For a streamed call: its chunks.
    pub chunks: Option<u64>,
    /// For a streamed call that yielded anything: the time to its first chunk.
    pub first_chunk: Option<Duration>,
}

fn site_name<S: serde::Serializer>(site: &&'static Site, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(site.qualified_name())
}

impl KeptSpan {
    /// What its tokens cost, in US dollars; `None` when unpriced or not metered.
    pub fn cost_usd(&self) -> Option<f64> {
        self.cost_by_kind_usd.map(|c| c.iter().sum())
    }

    /// Whether it is a failed call (an error, a 5xx, a panic).
    pub fn failed(&self) -> bool {
        matches!(self.outcome, SpanOutcome::Error | SpanOutcome::Panicked)
    }
}

impl KeptRun {
    /// A run of these spans, the root first: how a run read back from elsewhere (the history
    /// file) is made. `None` without a root.
    #[cfg_attr(not(feature = "persist"), allow(dead_code))]
    #[allow(clippy::too_many_arguments)] // the run's fields, each read from a different place
    pub(crate) fn from_spans(
        trace_id: TraceId,
        remote_parent: Option<SpanId>,
        tracestate: Option<String>,
        kept: KeepReason,
        head_sampled: bool,
        start: SystemTime,
        spans: Vec<KeptSpan>,
        dropped_spans: u64,
    ) -> Option<KeptRun> {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let mut extras = Vec::new();
        let records: Box<[KeptRecord]> = spans
            .into_iter()
            .map(|s| {
                let extra = KeptExtra {
                    error_message: s.error_message,
                    response_model: s.response_model,
                    tokens: s.tokens,
                    cost_by_kind_usd: s.cost_by_kind_usd,
                    chunks: s.chunks,
                    first_chunk: s.first_chunk,
                };
                KeptRecord {
                    site: s.site,
                    id: s.id,
                    parent: s.parent.map_or(0, SpanId::get),
                    offset_ns: nanos(s.offset),
                    duration_ns: nanos(s.duration),
                    request_bytes: s.request_bytes,
                    response_bytes: s.response_bytes.unwrap_or(NO_BYTES),
                    error_type: s.error_type,
                    model: s.model,
                    extra: if extra.is_empty() {
                        0
                    } else {
                        extras.push(extra);
                        extras.len() as u32
                    },
                    status: s.status.unwrap_or(0),
                    outcome: s.outcome,
                }
            })
            .collect();
        if records.first().is_none_or(|root| root.parent != 0) {
            return None;
        }
        Some(KeptRun {
            trace_id,
            remote_parent,
            tracestate,
            kept,
            head_sampled,
            start,
            dropped_spans,
            spans: records,
            extras: extras.into_boxed_slice(),
        })
    }

    /// Its spans, the root first, then by start (a parent starts before its children). Each is
    /// made as it is read.
    pub fn spans(&self) -> impl DoubleEndedIterator<Item = KeptSpan> + ExactSizeIterator + '_ {
        self.spans.iter().map(|r| self.view(r))
    }

    /// How many spans it kept.
    pub fn span_count(&self) -> usize {
        self.spans.len()
    }

    /// The site of each span, in the order of [`spans`](Self::spans): what a filter by site,
    /// route or pipeline reads, without making the spans.
    pub fn sites(&self) -> impl Iterator<Item = &'static Site> + '_ {
        self.spans.iter().map(|r| r.site)
    }

    fn view(&self, r: &KeptRecord) -> KeptSpan {
        let x = r
            .extra
            .checked_sub(1)
            .and_then(|i| self.extras.get(i as usize));
        KeptSpan {
            id: r.id,
            parent: SpanId::from_raw(r.parent),
            site: r.site,
            offset: Duration::from_nanos(r.offset_ns),
            duration: Duration::from_nanos(r.duration_ns),
            outcome: r.outcome,
            status: (r.status != 0).then_some(r.status),
            error_type: r.error_type,
            error_message: x.and_then(|x| x.error_message.clone()),
            request_bytes: r.request_bytes,
            response_bytes: (r.response_bytes != NO_BYTES).then_some(r.response_bytes),
            model: r.model,
            response_model: x.and_then(|x| x.response_model),
            tokens: x.and_then(|x| x.tokens),
            cost_by_kind_usd: x.and_then(|x| x.cost_by_kind_usd),
            chunks: x.and_then(|x| x.chunks),
            first_chunk: x.and_then(|x| x.first_chunk),
        }
    }

    /// The root span.
    pub fn root(&self) -> KeptSpan {
        self.view(&self.spans[0])
    }

    /// How long the run took: its root's duration.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.spans[0].duration_ns)
    }

    /// The tokens of the spans under `span` (itself included), added; each metered call counted
    /// once, where it happened. `root().id` gives the run's.
    pub fn tokens_under(&self, span: SpanId) -> Tokens {
        self.under(span)
            .filter_map(|s| s.tokens)
            .fold(Tokens::default(), Tokens::plus)
    }

    /// What the spans under `span` (itself included) cost, in US dollars, and whether any of
    /// them was unpriced (then the sum is of the priced ones).
    pub fn cost_under(&self, span: SpanId) -> (f64, bool) {
        let mut unpriced = false;
        let mut usd = 0.0;
        for s in self.under(span).filter(|s| s.tokens.is_some()) {
            match s.cost_usd() {
                Some(c) => usd += c,
                None => unpriced = true,
            }
        }
        (usd, unpriced)
    }

    /// `span` and every span below it.
    pub fn under(&self, span: SpanId) -> impl Iterator<Item = KeptSpan> + '_ {
        // A set, not a list: the dashboard reads every listed run's totals through this, and a
        // run may hold a thousand spans.
        let mut inside = HashSet::from([span.get()]);
        // Spans are sorted by start, so a parent comes before its children.
        self.spans
            .iter()
            .filter(move |s| {
                let below = s.id == span || (s.parent != 0 && inside.contains(&s.parent));
                if below && s.id != span {
                    inside.insert(s.id.get());
                }
                below
            })
            .map(|r| self.view(r))
    }

    /// The span with this id.
    pub fn span(&self, id: SpanId) -> Option<KeptSpan> {
        self.spans.iter().find(|s| s.id == id).map(|r| self.view(r))
    }
}

/// Its fields, and its spans as [`KeptSpan`]s.
impl std::fmt::Debug for KeptRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Spans<'a>(&'a KeptRun);
        impl std::fmt::Debug for Spans<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_list().entries(self.0.spans()).finish()
            }
        }
        f.debug_struct("KeptRun")
            .field("trace_id", &self.trace_id)
            .field("remote_parent", &self.remote_parent)
            .field("tracestate", &self.tracestate)
            .field("kept", &self.kept)
            .field("head_sampled", &self.head_sampled)
            .field("start", &self.start)
            .field("spans", &Spans(self))
            .field("dropped_spans", &self.dropped_spans)
            .finish()
    }
}

/// As the dashboard and the history file's tests read a run: its fields, and its spans as
/// [`KeptSpan`]s.
impl serde::Serialize for KeptRun {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Spans<'a>(&'a KeptRun);
        impl serde::Serialize for Spans<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.spans())
            }
        }
        let mut run = s.serialize_struct("KeptRun", 8)?;
        run.serialize_field("trace_id", &self.trace_id)?;
        run.serialize_field("remote_parent", &self.remote_parent)?;
        run.serialize_field("tracestate", &self.tracestate)?;
        run.serialize_field("kept", &self.kept)?;
        run.serialize_field("head_sampled", &self.head_sampled)?;
        run.serialize_field("start", &self.start)?;
        run.serialize_field("spans", &Spans(self))?;
        run.serialize_field("dropped_spans", &self.dropped_spans)?;
        run.end()
    }
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

fn keep(f: &Fragment, reason: KeepReason) {
    // A copy of each record, not a conversion to `KeptSpan`: this runs on the thread that ended
    // the run, and a run may hold a thousand spans.
    let scale = clock::scale();
    let nanos = |units: u64| clock::nanos(units, scale);
    let mut extras = Vec::new();
    let mut spans: Vec<KeptRecord> = Vec::with_capacity(f.spans.len());
    let mut counted: Option<(&'static Site, u64)> = None;
    // The root first, then the others as they ended: in a run of plain calls one after another,
    // that is by start already, and the sort below only checks it.
    let root = f.spans.iter().rposition(|s| s.id == f.root_span);
    let (before, after) = match root {
        Some(i) => (&f.spans[..i], &f.spans[i..]),
        None => (&f.spans[..], &[][..]),
    };
    for s in after
        .iter()
        .take(1)
        .chain(before)
        .chain(after.iter().skip(1))
    {
        // Counted per site, once for each stretch of its spans.
        match &mut counted {
            Some((site, n)) if std::ptr::eq(*site, s.site) => *n += 1,
            _ => {
                if let Some((site, n)) = counted {
                    site.record_kept(n);
                }
                counted = Some((s.site, 1));
            }
        }
        let extra = match f.extra(s) {
            None => 0,
            Some(x) => {
                let usage = x.usage;
                extras.push(KeptExtra {
                    error_message: x
                        .message
                        .as_deref()
                        .map(crate::errors::redact::redact_cached),
                    response_model: x.response_model,
                    tokens: usage.map(|u| u.tokens),
                    cost_by_kind_usd: usage
                        .and_then(|u| u.cost_picousd)
                        .map(|c| c.map(|p| p as f64 / 1e12)),
                    chunks: x.stream.map(|e| e.chunks),
                    first_chunk: x
                        .stream
                        .and_then(|e| e.first_chunk_units)
                        .map(clock::to_duration),
                });
                extras.len() as u32
            }
        };
        spans.push(KeptRecord {
            site: s.site,
            id: SpanId::from_raw(s.id).unwrap_or_else(SpanId::random),
            parent: s.parent,
            offset_ns: nanos(s.start.saturating_sub(f.start_units)),
            duration_ns: nanos(s.units),
            request_bytes: s.request_bytes,
            response_bytes: s.response_bytes,
            error_type: s.error_type,
            model: s.model.map(ModelEntry::name),
            extra,
            status: s.status,
            outcome: s.outcome,
        });
    }
    if let Some((site, n)) = counted {
        site.record_kept(n);
    }
    // The root first, then by start (a parent starts before its children).
    if !spans.is_sorted_by_key(|s| (s.parent != 0, s.offset_ns)) {
        spans.sort_by_key(|s| (s.parent != 0, s.offset_ns));
    }
    let run = Arc::new(KeptRun {
        trace_id: f.trace_id,
        remote_parent: f.remote_parent,
        tracestate: f.tracestate.clone(),
        kept: reason,
        head_sampled: f.head_sampled,
        start: f.start_wall,
        dropped_spans: f.dropped_spans,
        spans: spans.into_boxed_slice(),
        extras: extras.into_boxed_slice(),
    });
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
        let root = |r: &KeptRun| r.spans.first().map(|s| s.id);
        a.trace_id == b.trace_id && a.start == b.start && root(a) == root(b)
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

// ---------------------------------------------------------------------------------------------
// What was kept and dropped

/// What every run's end counts, in one line per stripe of threads (`thread.rs`): counters all
/// threads added to would bounce one cache line between the cores ending runs.
#[repr(align(128))]
struct RunCounts {
    kept: [AtomicU64; 5],
    unsampled: AtomicU64,
    spans_dropped: AtomicU64,
}

static RUN_COUNTS: [RunCounts; super::thread::STRIPES] = [const {
    RunCounts {
        kept: [const { AtomicU64::new(0) }; 5],
        unsampled: AtomicU64::new(0),
        spans_dropped: AtomicU64::new(0),
    }
}; super::thread::STRIPES];

/// What only some runs count.
struct Stats {
    spans_detached: AtomicU64,
    runs_over_limit: AtomicU64,
    export_dropped: AtomicU64,
}

static STATS: Stats = Stats {
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
