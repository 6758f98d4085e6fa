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
//!
//! This module is a run's life, from its start to its end; beside it, `sampling` draws runs at
//! their start, `rules` keeps or drops them at their end, `kept` is what a kept run is,
//! `buffers` where it goes, and `counts` what was kept and dropped.

mod buffers;
mod counts;
mod kept;
mod rules;
mod sampling;

pub(crate) use buffers::*;
pub use counts::TraceStats;
pub(crate) use counts::*;
pub use kept::{KeptRun, KeptSpan};
pub use rules::KeepReason;
pub(crate) use rules::*;
pub use sampling::Sampler;
pub(crate) use sampling::*;

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
/// Runs in progress: the bound that keeps a flood of requests from holding unbounded spans.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

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
    set_capacities(settings.recent_runs, settings.export_queue);
    switch::set_traces(on);
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
