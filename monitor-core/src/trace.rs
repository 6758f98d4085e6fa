//! Runs as traces: one request or job followed through every instrumented call it makes.
//!
//! Reach for this module to follow *one* run — the failed or slow request someone reported —
//! rather than the aggregates: which stage was slow, which LLM call was retried, what that one
//! request spent. With tracing on ([`Config::traces`](crate::Config::traces)), the outermost
//! instrumented call starts a run (a handler, or a stage or token call with no handler around
//! it); every instrumented call inside it — on the same task, across `.await`s, across the threads
//! a future moves to — is a span under its enclosing one. Work handed to `tokio::spawn` or another
//! thread joins the run when wrapped with [`InCurrentRun::in_current_run`] (or
//! [`current_run`] and [`RunHandle::in_scope`]); without it, it is a run of its own.
//!
//! When a run ends, the tail rules keep it whole or drop it whole: every run whose root failed,
//! was cancelled, was slower than its site's outlier threshold or spent more than a per-run
//! budget is kept, whatever head sampling ([`Sampler`]) drew; the others are kept as the sampler
//! says. [`KeptRun::kept`] says why. Metrics never depend on it: every call is counted whether its
//! run is kept or not. Every bound (spans per run, runs in flight, kept runs, the export queue)
//! counts what it drops ([`stats`]).
//!
//! Kept runs are read here ([`recent_runs`], [`find_run`]) by the dashboard, and drained by a
//! trace exporter ([`ExportQueue`]) such as `monitor-export`'s OTLP one. A run continues a
//! caller's trace when the HTTP layer hands it the request's `traceparent`
//! ([`RequestScope::continuing`](crate::request::RequestScope::continuing)); [`current_traceparent`]
//! gives the header for calls a run makes to other services.
//!
//! Where kept runs go: the dashboard (`GET /api/runs`, `GET /api/runs/{trace_id}`, the Runs panel
//! and its waterfall; failed and slow [events](crate::events) link to their run), the history
//! file when there is one (read back at start), the exemplars of `/metrics` (OpenMetrics, the
//! protobuf exposition) and of OTLP metrics, which name the newest kept call of a site and its
//! trace, and `monitor-export`'s OTLP/HTTP trace exporter (`otlp_traces`, for Arize Phoenix,
//! Jaeger, Tempo, Langfuse…). The bounds are [`Config`](crate::Config)'s `trace_max_spans`,
//! `trace_max_runs`, `trace_recent_runs` and `trace_export_queue`; what they drop is counted in
//! [`stats`] and exported as `monitor_trace_*`.
//!
//! ```
//! use monitor_core::{monitored_handler, pipeline_stage, trace};
//!
//! #[pipeline_stage(pipeline = "logo", stage = "render")]
//! fn render() -> Result<(), String> {
//!     Err("out of ink".into())
//! }
//!
//! #[monitored_handler(route = "POST /logos")]
//! fn create() -> Result<(), String> {
//!     render()
//! }
//!
//! monitor_core::Config::new().traces(true).apply()?;
//! let _ = create();
//! # #[cfg(feature = "enabled")] {
//! let run = trace::recent_runs().into_iter().next().unwrap();
//! assert_eq!(run.kept, trace::KeepReason::Failed);
//! let spans: Vec<trace::KeptSpan> = run.spans().collect();
//! assert_eq!(spans.len(), 2);
//! assert_eq!(spans[1].parent, Some(run.root().id));
//! # }
//! # Ok::<(), monitor_core::ConfigError>(())
//! ```

use crate::record::run;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pub use crate::record::run::{
    DEFAULT_EXPORT_QUEUE, DEFAULT_MAX_RUNS_IN_FLIGHT, DEFAULT_MAX_SPANS_PER_RUN,
    DEFAULT_RECENT_RUNS, KeepReason, KeptRun, KeptSpan, RunHandle, Sampler, SpanOutcome,
    TraceStats,
};
pub use crate::record::traceparent::{InvalidId, MAX_TRACESTATE_LEN, SpanId, TraceId, TraceParent};

/// Whether runs are traced now.
pub fn is_enabled() -> bool {
    crate::record::switch::mode() & crate::record::switch::TRACES != 0
}

/// The kept runs the buffer of recent runs holds, newest first. With a history file
/// ([`Config::history_path`](crate::Config::history_path)), those kept before a restart too, as
/// far as the buffer's bound lets them.
pub fn recent_runs() -> Vec<Arc<KeptRun>> {
    run::recent()
}

/// The kept run with this trace id, while the buffer of recent runs still holds it.
pub fn find_run(trace_id: TraceId) -> Option<Arc<KeptRun>> {
    run::find(trace_id)
}

/// What tracing kept and dropped so far.
pub fn stats() -> TraceStats {
    run::stats()
}

/// The `traceparent` header naming the span enclosing the code now, for a call this run makes to
/// another service; `None` outside a run (or with tracing off).
///
/// ```
/// // Outside any run there is no span to name.
/// assert_eq!(monitor_core::trace::current_traceparent(), None);
/// ```
pub fn current_traceparent() -> Option<String> {
    let (trace_id, span_id, sampled) = run::current_span()?;
    Some(
        TraceParent {
            trace_id,
            span_id,
            sampled,
            tracestate: None,
        }
        .to_header(),
    )
}

/// The trace id of the run enclosing the code now.
pub fn current_trace_id() -> Option<TraceId> {
    run::current_span().map(|(trace_id, _, _)| trace_id)
}

/// The run enclosing the code now, to hand to other work; `None` outside a run.
///
/// ```
/// use monitor_core::trace;
///
/// // Inside a run, a thread joins it through the handle.
/// if let Some(run) = trace::current_run() {
///     std::thread::spawn(move || run.in_scope(|| { /* instrumented calls here join the run */ }));
/// }
/// ```
pub fn current_run() -> Option<RunHandle> {
    if !is_enabled() {
        return None;
    }
    run::handle()
}

impl RunHandle {
    /// Runs `f` as part of the run: instrumented calls inside are spans under the span that was
    /// current when the handle was taken.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let mut part = run::Part::new(self.clone());
        let _scope = part.enter();
        f()
    }

    /// Makes `future` part of the run: every poll of it runs inside the run.
    pub fn join<F: Future>(&self, future: F) -> InRun<F> {
        InRun {
            part: Some(run::Part::new(self.clone())),
            inner: future,
        }
    }
}

pin_project_lite::pin_project! {
    /// A future that is part of a run ([`InCurrentRun::in_current_run`]).
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct InRun<F> {
        part: Option<run::Part>,
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for InRun<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let polled = {
            let _scope = this.part.as_mut().map(run::Part::enter);
            this.inner.poll(cx)
        };
        if polled.is_ready() {
            // Ended: its spans join the run now, not when the task is dropped.
            *this.part = None;
        }
        polled
    }
}

/// Makes a future part of the run it is made in, like `tracing`'s `.instrument`: for work
/// handed to `tokio::spawn` or another executor.
///
/// ```
/// use monitor_core::trace::InCurrentRun;
///
/// async fn handle() {
///     let work = async { /* instrumented calls */ };
///     // tokio::spawn(work.in_current_run());
///     work.in_current_run().await;
/// }
/// ```
pub trait InCurrentRun: Future + Sized {
    /// This future, joined to the run enclosing the code now (unchanged outside a run).
    fn in_current_run(self) -> InRun<Self> {
        InRun {
            part: current_run().map(run::Part::new),
            inner: self,
        }
    }
}

impl<F: Future> InCurrentRun for F {}

/// The queue of kept runs a trace exporter drains. Kept runs are queued only while one exists
/// (bounded by [`Config::trace_export_queue`](crate::Config::trace_export_queue); what does not
/// fit is counted in [`TraceStats::export_dropped`]).
///
/// ```
/// let queue = monitor_core::trace::ExportQueue::new();
/// assert!(queue.drain(100).is_empty());
/// ```
#[derive(Debug)]
pub struct ExportQueue(());

impl ExportQueue {
    /// Starts queueing kept runs for an exporter.
    pub fn new() -> ExportQueue {
        run::start_exporting();
        ExportQueue(())
    }

    /// Takes up to `max` queued runs, oldest first.
    pub fn drain(&self, max: usize) -> Vec<Arc<KeptRun>> {
        run::drain(max)
    }

    /// Puts back runs an export could not send, to be tried again, as far as the queue has room.
    pub fn requeue(&self, runs: Vec<Arc<KeptRun>>) {
        run::requeue(runs);
    }

    /// Counts `n` runs the exporter gave up on (after its retries).
    pub fn count_dropped(&self, n: u64) {
        run::count_export_dropped(n);
    }
}

impl Default for ExportQueue {
    fn default() -> Self {
        ExportQueue::new()
    }
}

impl Drop for ExportQueue {
    fn drop(&mut self) {
        run::stop_exporting();
    }
}
