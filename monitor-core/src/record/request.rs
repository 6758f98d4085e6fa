//! The HTTP request a service's layer is serving: lets a handler's record wait for what only the
//! layer knows — the status after `IntoResponse`, and the body sizes once the bodies have flowed.
//!
//! The layer makes a [`RequestScope`] per request and runs every poll of the request's future
//! [`in_scope`](RequestScope::in_scope). A `#[monitored_handler]` that finishes inside it leaves its
//! call in the scope instead of recording it; the layer records it once, with the final figures,
//! when the response body ends ([`RequestScope::complete`]). A request no instrumented handler
//! served is recorded on its route's site ([`route_site`](crate::record::route_site)). Without a layer,
//! handlers record as always: the test is one bit of the mode byte each call already reads.

use super::clock;
use super::file;
use super::outcome::Outcome;
use super::run::{Ended, RequestRun};
use super::site::{Site, SiteKind};
use super::switch;
use super::traceparent::TraceParent;
use std::cell::Cell;
use std::ptr;

/// One handler call, measured and classified, waiting for the layer's figures.
#[derive(Debug)]
pub(crate) struct Deferred {
    site: &'static Site,
    units: u64,
    mode: u8,
    outcome: Outcome,
    request_bytes: u64,
}

impl Deferred {
    fn record(self) {
        file::record(
            self.site,
            self.units,
            self.mode,
            &self.outcome,
            self.request_bytes,
        );
    }
}

/// Records the deferred call in `slot`, if there is one, and leaves the slot empty; tested before
/// it is taken, so that an empty slot costs no copy of it.
#[inline]
fn record_deferred(slot: &mut Option<Deferred>) {
    if slot.is_some()
        && let Some(call) = slot.take()
    {
        call.record();
    }
}

thread_local! {
    /// The deferred call of the request being polled on this thread, while
    /// [`RequestScope::in_scope`] runs; null otherwise.
    static CURRENT: Cell<*const Cell<Option<Deferred>>> = const { Cell::new(ptr::null()) };
}

/// One HTTP request, from the point of view of the layer serving it (such as
/// `monitor_dashboard::MonitorLayer`). The layer makes one per request and runs every poll of the
/// request's future [`in_scope`](RequestScope::in_scope); a `#[monitored_handler]` that finishes
/// inside it leaves its call in the scope, and [`complete`](RequestScope::complete) records that
/// call once, with the final status and the body sizes the layer saw. Without a scope, handlers
/// record at once, as always.
///
/// # Examples
///
/// ```
/// use monitor_core::request::RequestScope;
/// use monitor_core::monitored_handler;
///
/// #[monitored_handler(route = "GET /hello")]
/// fn hello() -> &'static str {
///     "hello"
/// }
///
/// let mut scope = RequestScope::new();
/// scope.in_scope(|| hello()); // left in the scope, not recorded yet
/// // The layer saw a 200 and a body of 5 bytes.
/// scope.complete(200, Some(0), Some(5), "GET /hello");
/// # #[cfg(feature = "enabled")] {
/// let stats = monitor_core::sites().find(|s| s.name() == "hello").unwrap().stats();
/// assert_eq!(stats.calls(), 1);
/// assert_eq!(stats.status_classes().success, 1);
/// # }
/// ```
pub struct RequestScope {
    /// Inline rather than shared: handlers reach it through [`CURRENT`] only while
    /// [`in_scope`](RequestScope::in_scope) borrows the scope, so no allocation per request is
    /// needed to keep it alive. A `Cell`, not a lock: only the thread running `in_scope` reaches
    /// it, and the `Cell` keeps the scope from being shared between threads (it is `Send`, not
    /// `Sync`).
    deferred: Cell<Option<Deferred>>,
    start: u64,
    mode: u8,
    /// Completed: the request is recorded, and a later completion finds nothing to do.
    spent: bool,
    /// The request's run, when runs are traced: its root span is the request.
    run: Option<RequestRun>,
}

impl Default for RequestScope {
    fn default() -> Self {
        RequestScope::new()
    }
}

impl std::fmt::Debug for RequestScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestScope")
            .field("served_by_handler", &self.served_by_handler())
            .finish_non_exhaustive()
    }
}

/// Puts the thread's previous request back, on return and on unwind alike.
struct Restore(*const Cell<Option<Deferred>>);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(self.0));
    }
}

impl RequestScope {
    /// A request starting now. From the first scope on, handlers look for one when they finish.
    #[inline]
    pub fn new() -> RequestScope {
        RequestScope::continuing(None)
    }

    /// A request starting now, continuing the trace of the caller's span when its headers
    /// named one ([`TraceParent::parse`] of `traceparent`, with its `tracestate`): when runs are
    /// traced, the request's root span is that span's child and follows its sampled flag.
    ///
    /// ```
    /// use monitor_core::request::RequestScope;
    /// use monitor_core::trace::TraceParent;
    ///
    /// let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    /// let scope = RequestScope::continuing(TraceParent::parse(header));
    /// ```
    #[inline]
    pub fn continuing(parent: Option<TraceParent>) -> RequestScope {
        switch::set_requests();
        let mode = switch::mode();
        let start = clock::now(mode);
        let run = if mode & (switch::ON | switch::TRACES) == switch::ON | switch::TRACES {
            RequestRun::start(start, parent.as_ref())
        } else {
            None
        };
        RequestScope {
            deferred: Cell::new(None),
            start,
            mode,
            spent: false,
            run,
        }
    }

    /// The `traceparent` header of the request's root span, for a call the layer makes on its
    /// behalf; `None` when runs are not traced.
    pub fn traceparent(&self) -> Option<TraceParent> {
        self.run.as_ref().map(RequestRun::traceparent)
    }

    /// Runs `f` with this request as the thread's current one: wrap each poll of the request's
    /// future in it. A handler finishing inside `f` leaves its call here. Scopes nest: the previous
    /// one is current again when `f` returns or unwinds.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let previous = CURRENT
            .try_with(|c| c.replace(&self.deferred))
            .unwrap_or(ptr::null());
        let _restore = Restore(previous);
        let _run = self.run.as_ref().map(RequestRun::enter);
        f()
    }

    /// Whether an instrumented handler has finished inside this request.
    pub fn served_by_handler(&self) -> bool {
        let deferred = self.deferred.take();
        let served = deferred.is_some();
        self.deferred.set(deferred);
        served
    }

    /// Records the request with what the layer saw: the final `status`, and the request and
    /// response body sizes when known. The handler that served it gets them; a request no handler
    /// served is recorded on the site of `route`, timed from [`new`](RequestScope::new). A scope
    /// records one request: once completed, it is spent, and a later call does nothing.
    pub fn complete(
        &mut self,
        status: u16,
        request_bytes: Option<u64>,
        response_bytes: Option<u64>,
        route: &str,
    ) {
        self.complete_with(status, request_bytes, response_bytes, || route);
    }

    /// As [`complete`](RequestScope::complete), naming the route only for a request no handler
    /// served: a layer whose route name must be formatted pays for it only then.
    ///
    /// ```
    /// let mut scope = monitor_core::request::RequestScope::new();
    /// let method = "GET";
    /// // No handler ran: the request is recorded on its route's site.
    /// scope.complete_with(404, None, Some(0), || format!("{method} /missing"));
    /// ```
    #[inline]
    pub fn complete_with<R: AsRef<str>>(
        &mut self,
        status: u16,
        request_bytes: Option<u64>,
        response_bytes: Option<u64>,
        route: impl FnOnce() -> R,
    ) {
        if self.spent {
            return;
        }
        self.spent = true;
        match self.deferred.get_mut() {
            Some(call) => {
                apply_status(&mut call.outcome, status, response_bytes);
                if let Some(bytes) = request_bytes {
                    call.request_bytes = bytes;
                }
                if let Some(run) = self.run.take() {
                    let units = clock::since(self.start, self.mode);
                    run.end(
                        call.site,
                        units,
                        call.request_bytes,
                        Ended::Returned(&call.outcome),
                    );
                }
                record_deferred(self.deferred.get_mut());
            }
            None => self.record_route(status, request_bytes, response_bytes, route().as_ref()),
        }
    }

    #[cold]
    fn record_route(
        &mut self,
        status: u16,
        request_bytes: Option<u64>,
        response_bytes: Option<u64>,
        route: &str,
    ) {
        if self.mode & switch::ON == 0 {
            return;
        }
        let units = clock::since(self.start, self.mode);
        let mut outcome = Outcome::OK;
        apply_status(&mut outcome, status, response_bytes);
        let site = super::registry::route_site(route);
        if let Some(run) = self.run.take() {
            // A handler that entered but never finished (its future was dropped) is still the
            // request's root.
            let site = run.handler().unwrap_or(site);
            run.end(
                site,
                units,
                request_bytes.unwrap_or(0),
                Ended::Returned(&outcome),
            );
        }
        file::record(site, units, self.mode, &outcome, request_bytes.unwrap_or(0));
    }
}

/// A request dropped before [`complete`](RequestScope::complete) — its response future was
/// dropped after the handler had finished — still counts the handler's call, as the handler saw it.
impl Drop for RequestScope {
    fn drop(&mut self) {
        if let (Some(run), Some(call)) = (self.run.take(), self.deferred.get_mut()) {
            let units = clock::since(self.start, self.mode);
            run.end(
                call.site,
                units,
                call.request_bytes,
                Ended::Returned(&call.outcome),
            );
        }
        record_deferred(self.deferred.get_mut());
    }
}

/// The handler's outcome as the response turned out: the final status decides between success,
/// client error and error (an `Err` that became a 4xx is the client's error, as everywhere else).
#[inline]
fn apply_status(outcome: &mut Outcome, status: u16, response_bytes: Option<u64>) {
    if status != 0 {
        outcome.status = status;
        if (400..500).contains(&status) {
            outcome.error_type = None;
            outcome.error_message = None;
        } else if status >= 500 && outcome.error_type.is_none() {
            outcome.error_type = Some("http status");
            outcome.error_message = Some(format!("HTTP {status}"));
        }
    }
    if response_bytes.is_some() {
        outcome.response_bytes = response_bytes;
    }
}

/// Called by a handler's guard as it finishes: leaves the call in the thread's current request,
/// or gives the outcome back when there is none, to be recorded at once. A handler that finishes
/// later in the same request (the outer of two nested handlers, whose value is the response)
/// takes the request's place; the call it displaces is recorded as it was.
#[cold]
pub(crate) fn defer(
    site: &'static Site,
    units: u64,
    mode: u8,
    outcome: Outcome,
    request_bytes: u64,
) -> Option<Outcome> {
    if site.kind() != SiteKind::Handler {
        return Some(outcome);
    }
    let current = CURRENT.try_with(Cell::get).unwrap_or(ptr::null());
    if current.is_null() {
        return Some(outcome);
    }
    // SAFETY: `CURRENT` is non-null only while `RequestScope::in_scope` runs on this thread, and
    // it holds the scope borrowed for that time: the scope cannot move or be dropped meanwhile,
    // and being `!Sync` it is not reached from another thread. `Restore` puts the previous
    // pointer back before `in_scope` returns or unwinds.
    let deferred = unsafe { &*current };
    let displaced = deferred.replace(Some(Deferred {
        site,
        units,
        mode,
        outcome,
        request_bytes,
    }));
    if let Some(call) = displaced {
        call.record();
    }
    None
}
