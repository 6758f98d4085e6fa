//! The per-call guard generated code creates: clock reads, scope, and recording on every way out.

use super::clock;
use super::events::{self, EventReason};
use super::file;
use super::outcome::Outcome;
use super::run::{self, Ended, SpanFigures, Traced};
use super::scope::{self as context, Entered};
use super::site::{Site, SiteKind};
use super::stripes::{Share, StreamEnd};
use super::switch;
use crate::usage::Tokens;
use crate::usage::entry::{self as usage, ModelEntry, Named, UNKNOWN_MODEL, Usage};
use crate::usage::tokens::Reported;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Measures one call. Not public API. Used by generated code.
///
/// Generated code holds an `Option<Guard>`: `None` when monitoring was off at the call, so that a
/// switched-off call pays one test. `finish` records a call that returned. A guard dropped without
/// `finish` records a panic when the thread is unwinding, and a cancelled call otherwise (a future
/// dropped before it finished), so no way out of a function goes unrecorded.
#[doc(hidden)]
#[must_use]
#[derive(Debug)]
pub struct Guard {
    site: &'static Site,
    /// Raw clock at entry.
    start: u64,
    /// The switch's mode at entry: which clock source `start` came from.
    mode: u8,
    /// For a synchronous call: what to put back in the thread's scope on exit.
    entered: Entered,
    request_bytes: u64,
    /// The model an expression named, resolved at entry.
    model: Option<&'static ModelEntry>,
    /// Dropping without a panic records a call that returned (see [`Guard::finish_on_drop`]).
    finish_on_drop: bool,
    /// The call's span, when runs are traced.
    trace: Option<Traced>,
    /// For a synchronous call, the thread's allocation counts at entry.
    #[cfg(feature = "alloc")]
    alloc_mark: Option<crate::memory::alloc::Mark>,
}

/// Credits the heap bytes allocated while it lives, less those nested sites claimed, to its site.
/// A guard value, so that a poll or a body that panics still gives back what it claimed.
#[cfg(feature = "alloc")]
struct Claim {
    site: &'static Site,
    mark: crate::memory::alloc::Mark,
}

#[cfg(feature = "alloc")]
impl Claim {
    #[inline]
    fn new(site: &'static Site) -> Claim {
        Claim {
            site,
            mark: crate::memory::alloc::mark(),
        }
    }
}

#[cfg(feature = "alloc")]
impl Drop for Claim {
    #[inline]
    fn drop(&mut self) {
        let bytes = crate::memory::alloc::claim_since(self.mark);
        self.site.record_allocated(bytes);
    }
}

/// Leaves a site when dropped, so a panicking poll leaves the thread's scope as it found it.
pub(crate) struct Leave(pub(crate) Entered);

impl Drop for Leave {
    #[inline(always)]
    fn drop(&mut self) {
        context::leave(self.0);
    }
}

impl Guard {
    #[inline(always)]
    fn new(site: &'static Site, mode: u8, entered: Entered) -> Guard {
        Guard {
            site,
            start: clock::now(mode),
            mode,
            entered,
            request_bytes: 0,
            model: None,
            finish_on_drop: false,
            trace: None,
            #[cfg(feature = "alloc")]
            alloc_mark: None,
        }
    }

    /// Makes the call a span of the run enclosing it (or the root of a new one), when runs are
    /// traced: a test of a bit of the mode byte otherwise.
    #[inline(always)]
    fn trace(mut self, sync: bool) -> Guard {
        if self.mode & switch::TRACES != 0 {
            self.trace = run::enter(self.site, self.start, sync);
        }
        self
    }

    /// Entry of a synchronous call: the site encloses everything until the guard ends. `None`
    /// when monitoring is off. `kind` is the site's, passed as a constant so that entering
    /// compiles to the one store it needs.
    #[inline(always)]
    pub fn enter(site: &'static Site, kind: SiteKind) -> Option<Guard> {
        let mode = switch::mode();
        if mode & switch::ON == 0 {
            return None;
        }
        #[allow(unused_mut)] // used with the `alloc` feature
        let mut guard = Guard::new(site, mode, context::enter(site, kind)).trace(true);
        #[cfg(feature = "alloc")]
        {
            guard.alloc_mark = Some(crate::memory::alloc::mark());
        }
        Some(guard)
    }

    /// Start of an asynchronous call: the site encloses the future's polls, through
    /// [`instrument`]. `None` when monitoring is off.
    #[inline(always)]
    pub fn start(site: &'static Site) -> Option<Guard> {
        let mode = switch::mode();
        if mode & switch::ON == 0 {
            return None;
        }
        Some(Guard::new(site, mode, Entered::Nothing).trace(false))
    }

    /// Adds request payload bytes, from the arguments.
    #[inline(always)]
    pub fn add_request_bytes(&mut self, bytes: u64) {
        self.request_bytes = self.request_bytes.saturating_add(bytes);
    }

    /// For a body that must stay inline (`#[track_caller]` functions, whose caller location a
    /// closure would hide): the guard records the call when it is dropped at the function's end,
    /// without seeing the return value.
    #[inline(always)]
    pub fn finish_on_drop(&mut self) {
        self.finish_on_drop = true;
    }

    /// The model an expression named for this call.
    pub fn set_model(&mut self, name: &str) {
        self.model = Some(usage::model(name, self.site.provider()));
    }

    /// Ends the call without running `Drop`: puts the caller's scope back, returns the duration in
    /// clock units. Every field is `Copy`, so nothing is leaked.
    ///
    /// The span is `trace`, not the guard's own: a guard made after its body (see [`run_as`])
    /// points at the span it left in place rather than carrying a copy.
    #[inline(always)]
    fn end(self, trace: Option<&mut Traced>) -> (ManuallyDrop<Guard>, u64) {
        let this = ManuallyDrop::new(self);
        let units = clock::since(this.start, this.mode);
        context::leave(this.entered);
        if let Some(trace) = trace {
            run::leave(trace);
        }
        #[cfg(feature = "alloc")]
        if let Some(mark) = this.alloc_mark {
            this.site
                .record_allocated(crate::memory::alloc::claim_since(mark));
        }
        (this, units)
    }

    /// Records a call that returned.
    #[inline(always)]
    pub fn finish(mut self, outcome: Outcome) {
        let mut trace = self.trace.take();
        self.finish_in(outcome, trace.as_mut());
    }

    /// [`finish`](Self::finish), the call's span being `trace` (see [`end`](Self::end)).
    #[inline(always)]
    fn finish_in(self, outcome: Outcome, mut trace: Option<&mut Traced>) {
        let (this, units) = self.end(trace.as_deref_mut());
        let mut outcome = outcome;
        if let Some(trace) = trace {
            run::exit(
                trace,
                this.site,
                this.start,
                units,
                this.request_bytes,
                Ended::Returned(&outcome),
                SpanFigures::default(),
            );
        }
        if this.mode & switch::REQUESTS != 0 {
            // An HTTP layer may be waiting to complete this call with the final status.
            match super::request::defer(this.site, units, this.mode, outcome, this.request_bytes) {
                Some(returned) => outcome = returned,
                None => return,
            }
        }
        file::record(this.site, units, this.mode, &outcome, this.request_bytes);
    }

    /// Records a call that returned, with the token usage its value reported
    /// ([`ReportsTokens`](crate::usage::tokens::ReportsTokens)).
    #[inline(always)]
    pub fn finish_usage(mut self, outcome: Outcome, reported: Option<Reported<'_>>) {
        let mut trace = self.trace.take();
        self.finish_usage_beside(outcome, reported, trace.as_mut());
    }

    /// [`finish_usage`](Self::finish_usage) of a call whose span is `trace`, held beside the
    /// guard (see [`run_as`]).
    #[inline(always)]
    fn finish_usage_beside(
        self,
        mut outcome: Outcome,
        reported: Option<Reported<'_>>,
        trace: Option<&mut Traced>,
    ) {
        let (tokens, named) = match reported {
            Some(r) => {
                if let Some(failure) = r.failure {
                    outcome.fail_with(failure);
                }
                (r.tokens, r.model.map_or(Named::Nothing, Named::Name))
            }
            None => (None, Named::Nothing),
        };
        self.finish_metered(outcome, tokens, named, Credit::Enclosing, None, trace);
    }

    /// The guard of a call that goes on as a stream: the scope it entered is left (each poll of
    /// the stream enters it again), the clock goes on.
    pub(crate) fn into_stream(mut self) -> Guard {
        context::leave(self.entered);
        self.entered = Entered::Nothing;
        if let Some(trace) = &mut self.trace {
            run::leave(trace);
        }
        #[cfg(feature = "alloc")]
        if let Some(mark) = self.alloc_mark.take() {
            self.site
                .record_allocated(crate::memory::alloc::claim_since(mark));
        }
        self
    }

    /// The guard's site.
    pub(crate) fn site(&self) -> &'static Site {
        self.site
    }

    /// The raw clock at the call's start, and the clock's mode.
    pub(crate) fn started(&self) -> (u64, u8) {
        (self.start, self.mode)
    }

    /// The model an expression named at entry.
    pub(crate) fn model(&self) -> Option<&'static ModelEntry> {
        self.model
    }

    /// The call's span, when runs are traced.
    pub(crate) fn traced(&self) -> Option<&Traced> {
        self.trace.as_ref()
    }

    /// Takes the call's span out, for a stream that ends it with what it knows
    /// ([`StreamCall`](super::stream::StreamCall)'s drop): the guard then ends no span.
    pub(crate) fn take_trace(&mut self) -> Option<Traced> {
        self.trace.take()
    }

    /// Records a metered call that ended: its outcome, its tokens (`None` when it reported
    /// none), the model its value named, and for a stream, its items.
    #[inline(always)]
    pub(crate) fn finish_metered(
        self,
        outcome: Outcome,
        tokens: Option<Tokens>,
        named: Named<'_>,
        credit: Credit,
        stream: Option<StreamEnd>,
        mut trace: Option<&mut Traced>,
    ) {
        let (this, units) = self.end(trace.as_deref_mut());
        let site = this.site;
        let per_model = site.models_per_call();
        // Resolved once: a model the value names is looked up by name.
        let model = (tokens.is_some() || per_model).then(|| request_model(site, this.model, named));
        let usage = tokens.zip(model).map(|(tokens, model)| model.usage(tokens));
        if let (true, Some(model)) = (per_model, model) {
            let cell = site.model_cell(model);
            cell.totals.record(units, &outcome, this.request_bytes);
            if let Some(usage) = &usage {
                cell.totals.record_usage(usage, OWN_CALL);
            }
            if let Some(end) = stream {
                cell.totals.record_stream(end);
            }
            cell.note_response(named);
        } else if !matches!(named, Named::Nothing) {
            site.note_response(named);
        }
        if let Some(trace) = trace {
            exit_metered(
                trace,
                &this,
                units,
                &outcome,
                usage.as_ref(),
                model,
                named,
                stream,
            );
        }
        file::record_owned(site, units, this.mode, outcome, this.request_bytes);
        if let Some(end) = stream {
            site.record_stream(end);
        }
        let Some(usage) = usage else {
            return;
        };
        site.record_usage(&usage, OWN_CALL);
        if let Credit::Enclosing = credit {
            // Credit the enclosing stage and handler: the scope now is the caller's.
            let share = Share {
                calls: 1,
                per_call: false,
            };
            let scope = context::current();
            for enclosing in [scope.stage, scope.handler].into_iter().flatten() {
                enclosing.record_usage(&usage, share);
            }
        }
    }
}

/// The span of a metered call that ended. Out of line, so that a call that is no span carries
/// none of its code.
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)] // what the call knows when it ends, each from a different place
fn exit_metered(
    trace: &mut Traced,
    guard: &Guard,
    units: u64,
    outcome: &Outcome,
    usage: Option<&Usage>,
    model: Option<&'static ModelEntry>,
    named: Named<'_>,
    stream: Option<StreamEnd>,
) {
    let site = guard.site;
    // Without falling back on the unknown model: a span names only a model it was told.
    let model = model
        .or(guard.model)
        .or_else(|| site.literal_model())
        .or_else(|| named.resolve(site.provider()));
    run::exit(
        trace,
        site,
        guard.start,
        units,
        guard.request_bytes,
        Ended::Returned(outcome),
        SpanFigures {
            usage,
            model,
            response_model: named.resolve(site.provider()).map(ModelEntry::name),
            stream,
        },
    );
}

/// A metered call's own record: one call, its tokens in the per-call buckets.
const OWN_CALL: Share = Share {
    calls: 1,
    per_call: true,
};

/// Whether a metered call's tokens are credited to the enclosing stage and handler when it ends,
/// or were as it went (a stream, poll by poll).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Credit {
    Enclosing,
    AlreadyCredited,
}

/// The model a call is counted and priced as: the expression's, else the literal one, else the
/// one its value named, else [`UNKNOWN_MODEL`].
#[inline(always)]
pub(crate) fn request_model(
    site: &'static Site,
    expression: Option<&'static ModelEntry>,
    named: Named<'_>,
) -> &'static ModelEntry {
    expression
        .or_else(|| site.literal_model())
        .unwrap_or_else(|| {
            named
                .resolve(site.provider())
                .unwrap_or_else(|| usage::model(UNKNOWN_MODEL, site.provider()))
        })
}

impl Drop for Guard {
    /// The function did not return through `finish`: it panicked, its future was dropped, or it
    /// is a `finish_on_drop` call that returned. The fields are passed by value, so the guard's
    /// address never escapes and the hot path keeps it in registers.
    #[inline(always)]
    fn drop(&mut self) {
        // The span by reference: passed by value, it would go through memory, and the whole
        // guard with it, on every call, traced or not.
        unfinished(
            self.site,
            self.start,
            self.mode,
            self.entered,
            self.request_bytes,
            self.finish_on_drop,
            self.model,
            self.trace.as_mut(),
        );
    }
}

#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)] // the guard's fields, passed by value (see `drop`)
fn unfinished(
    site: &'static Site,
    start: u64,
    mode: u8,
    entered: Entered,
    request_bytes: u64,
    finish_on_drop: bool,
    model: Option<&'static ModelEntry>,
    trace: Option<&mut Traced>,
) {
    let units = clock::since(start, mode);
    context::leave(entered);
    if let Some(trace) = trace {
        run::leave(trace);
        let ended = if std::thread::panicking() {
            Ended::Panicked
        } else if finish_on_drop {
            Ended::Returned(&Outcome::OK)
        } else {
            Ended::Cancelled
        };
        let figures = SpanFigures {
            model: model.or_else(|| site.literal_model()),
            ..SpanFigures::default()
        };
        run::exit(trace, site, start, units, request_bytes, ended, figures);
    }
    // A site that names its model per call splits its calls by model; a call that gave no value
    // named none.
    let cell = site.models_per_call().then(|| {
        &site
            .model_cell(model.unwrap_or_else(|| usage::model(UNKNOWN_MODEL, site.provider())))
            .totals
    });
    if std::thread::panicking() {
        site.record_panic(units, request_bytes);
        if let Some(cell) = cell {
            cell.record_panic(units, request_bytes);
        }
        let duration = clock::to_duration(units);
        events::keep(
            site,
            duration,
            EventReason::Failed,
            &Outcome::PANICKED,
            request_bytes,
        );
        file::file_panic(site);
    } else if finish_on_drop {
        site.record(units, &Outcome::OK, request_bytes);
        if let Some(cell) = cell {
            cell.record(units, &Outcome::OK, request_bytes);
        }
    } else {
        site.record_cancelled(units);
        if let Some(cell) = cell {
            cell.record_cancelled(units);
        }
    }
}

/// Makes the guard's site enclose every poll of `future`. Not public API. Used by generated code.
#[doc(hidden)]
#[inline(always)]
pub fn instrument<F: Future>(guard: &Option<Guard>, future: F) -> Scoped<F> {
    Scoped {
        site: guard.as_ref().map(|g| g.site),
        trace: guard.as_ref().and_then(|g| g.trace),
        inner: future,
    }
}

pin_project_lite::pin_project! {
    /// A future whose every poll runs inside a site's scope. Not public API. Used by generated code.
    #[doc(hidden)]
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Scoped<F> {
        site: Option<&'static Site>,
        trace: Option<Traced>,
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        match this.site {
            None => this.inner.poll(cx),
            Some(site) => {
                // Restored on drop, so a panicking poll leaves the thread's scope as it found it.
                let _leave = Leave(context::enter(site, site.kind()));
                let _trace = run::poll(this.trace.as_ref());
                #[cfg(feature = "alloc")]
                let _claim = Claim::new(site);
                this.inner.poll(cx)
            }
        }
    }
}

/// Runs a synchronous body under a new guard and records it. Only the test of the traces bit is
/// inlined into the caller, so that either path is one call; both are out of line, so that the
/// instrumented function's own frame holds only the switch tests and the body: a call made while
/// monitoring is off pays nothing else. Not public API. Used by generated code.
///
/// `KIND` is the site's kind as a constant ([`SiteKind::code`]), so that each instantiation enters
/// its scope with the one store it needs.
#[doc(hidden)]
#[inline(always)]
pub fn run<const KIND: u8, R>(
    site: &'static Site,
    mode: u8,
    request_bytes: u64,
    body: impl FnOnce() -> R,
    classify: impl FnOnce(&R) -> Outcome,
) -> R {
    if mode & switch::TRACES != 0 {
        run_path::<KIND, true, R>(site, mode, request_bytes, body, classify)
    } else {
        run_path::<KIND, false, R>(site, mode, request_bytes, body, classify)
    }
}

/// [`run`]'s path, a span of the enclosing run when `TRACED`. A constant, so that each path is a
/// function of its own and the span's bookkeeping does not weigh on the untraced one.
#[inline(never)]
fn run_path<const KIND: u8, const TRACED: bool, R>(
    site: &'static Site,
    mode: u8,
    request_bytes: u64,
    body: impl FnOnce() -> R,
    classify: impl FnOnce(&R) -> Outcome,
) -> R {
    run_as::<KIND, R, Outcome>(
        TRACED,
        site,
        mode,
        request_bytes,
        None,
        body,
        |ret| classify(ret),
        |guard, outcome, _, trace| guard.finish_in(outcome, trace),
    )
}

/// Runs the synchronous body of a `#[tracks_tokens]` function under a new guard, and hands the
/// guard and the value to `finish`, which measures the value by its type: it records the call
/// with the usage the value reports, or makes the value a stream measured until its end. Inlined
/// up to the test of the traces bit, its two paths out of line, for the reasons of [`run`];
/// `model` is the one an expression named, resolved before the body took the arguments. Not
/// public API. Used by generated code.
#[doc(hidden)]
#[inline(always)]
pub fn run_usage<R>(
    site: &'static Site,
    mode: u8,
    model: Option<NamedModel>,
    body: impl FnOnce() -> R,
    finish: impl FnOnce(Guard, &mut R, &mut dyn FinishUsage),
) -> R {
    let model = model.map(|m| m.0);
    if mode & switch::TRACES != 0 {
        run_usage_path::<true, R>(site, mode, model, body, finish)
    } else {
        run_usage_path::<false, R>(site, mode, model, body, finish)
    }
}

/// [`run_usage`]'s path, a span of the enclosing run when `TRACED` (see [`run_path`]).
#[inline(never)]
fn run_usage_path<const TRACED: bool, R>(
    site: &'static Site,
    mode: u8,
    model: Option<&'static ModelEntry>,
    body: impl FnOnce() -> R,
    finish: impl FnOnce(Guard, &mut R, &mut dyn FinishUsage),
) -> R {
    const TOKENS: u8 = SiteKind::Tokens.code();
    // `finish` reads the value and hands the recording back through `FinishUsage`: a constant
    // of its own type on each path, so the call is direct and the recording inlined, with no
    // span's code in the untraced one.
    run_as::<TOKENS, R, ()>(
        TRACED,
        site,
        mode,
        0,
        model,
        body,
        |_| (),
        |mut guard, (), ret, trace| {
            if TRACED {
                // The value is read inside `finish`, which the guard is handed to, not in a
                // `read` of `run_as`: the guard owns the span first, so that a panic in the
                // value's `TokenUsage` ends the span with the call.
                guard.trace = trace.copied();
                finish(guard, ret, &mut TracedSpan);
            } else {
                finish(guard, ret, &mut GuardSpan);
            }
        },
    )
}

/// How a metered call that returned a plain value is recorded: chosen by the caller of the code that reads the value, so that code is the same whatever the
/// call's span. Not public API. Used by generated code.
#[doc(hidden)]
pub trait FinishUsage {
    /// Records the call with the usage its value reported.
    fn finish_usage(&mut self, guard: Guard, outcome: Outcome, reported: Option<Reported<'_>>);
}

/// The call's span, if any, is the guard's own. Not public API. Used by generated code.
#[doc(hidden)]
#[derive(Debug)]
pub struct GuardSpan;

impl FinishUsage for GuardSpan {
    #[inline(always)]
    fn finish_usage(&mut self, guard: Guard, outcome: Outcome, reported: Option<Reported<'_>>) {
        guard.finish_usage(outcome, reported);
    }
}

/// [`GuardSpan`] on [`run_usage`]'s traced path: a type of its own, so that the caller's closure
/// is handed a different constant on each path and the compiler inlines it into both.
struct TracedSpan;

impl FinishUsage for TracedSpan {
    #[inline(always)]
    fn finish_usage(&mut self, guard: Guard, outcome: Outcome, reported: Option<Reported<'_>>) {
        guard.finish_usage(outcome, reported);
    }
}

/// The synchronous call both `run`s make, a span of the enclosing run when `traced`. No guard
/// lives across the body: its fields do, in registers, with the span in memory beside them, and
/// `Unwinding` records a body that unwinds. A guard held across the body would be kept in memory
/// whole, for its drop on the unwinding path, and moved field by field on every call.
///
/// `read` is the caller's code that reads the value (an error's `Display` among it): it runs
/// while `Unwinding` still answers for the call, so a panic in it ends the call and its span as
/// panicked without the span being copied anywhere. The guard is made after it, for `finish`,
/// which records the call with it.
#[inline(always)]
#[allow(clippy::too_many_arguments)] // the guard's fields, and the three parts of the call
fn run_as<const KIND: u8, R, X>(
    traced: bool,
    site: &'static Site,
    mode: u8,
    request_bytes: u64,
    model: Option<&'static ModelEntry>,
    body: impl FnOnce() -> R,
    read: impl FnOnce(&mut R) -> X,
    finish: impl FnOnce(Guard, X, &mut R, Option<&mut Traced>),
) -> R {
    let entered = context::enter(site, SiteKind::from_code(KIND));
    let start = clock::now(mode);
    let mut trace = if traced {
        run::enter(site, start, true)
    } else {
        None
    };
    let unwinding = Unwinding {
        site,
        start,
        mode,
        entered,
        request_bytes,
        model,
        trace: trace.as_mut(),
    };
    #[cfg(feature = "alloc")]
    let claim = Claim::new(site);
    let mut ret = body();
    #[cfg(feature = "alloc")]
    drop(claim);
    let read = read(&mut ret);
    std::mem::forget(unwinding);
    let guard = Guard {
        site,
        start,
        mode,
        entered,
        request_bytes,
        model,
        finish_on_drop: false,
        trace: None,
        #[cfg(feature = "alloc")]
        alloc_mark: None,
    };
    finish(guard, read, &mut ret, trace.as_mut());
    ret
}

/// The model an expression named for a call, resolved at entry. Not public API. Used by generated
/// code.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct NamedModel(&'static ModelEntry);

/// The model an expression names for a call of `site`, resolved at entry. Not public API. Used by
/// generated code.
#[doc(hidden)]
pub fn model_named(site: &'static Site, name: &str) -> NamedModel {
    NamedModel(usage::model(name, site.provider()))
}

/// Records a synchronous call whose body unwound (see [`run_as`]).
struct Unwinding<'t> {
    site: &'static Site,
    start: u64,
    mode: u8,
    entered: Entered,
    request_bytes: u64,
    model: Option<&'static ModelEntry>,
    trace: Option<&'t mut Traced>,
}

impl Drop for Unwinding<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        unfinished(
            self.site,
            self.start,
            self.mode,
            self.entered,
            self.request_bytes,
            false,
            self.model,
            self.trace.as_deref_mut(),
        );
    }
}

/// Returns the body of a synchronous function as a closure the compiler must treat as `FnOnce`
/// (see [`call_once`]). Not public API. Used by generated code.
#[doc(hidden)]
#[inline(always)]
pub fn once<R, F: FnOnce() -> R>(body: F) -> F {
    body
}

/// Runs the body of a synchronous function. Requiring `FnOnce` makes the compiler treat the closure
/// as one, so a body may move out of captured arguments and return borrows of them, as the function
/// itself could. Not public API. Used by generated code.
#[doc(hidden)]
#[inline(always)]
pub fn call_once<R>(body: impl FnOnce() -> R) -> R {
    body()
}
