//! The per-call guard generated code creates: clock reads, scope, and recording on every way out.

use crate::clock;
use crate::context::{self, Scope};
use crate::outcome::Outcome;
use crate::site::Site;
use crate::switch;
use crate::tokens::Tokens;
use crate::usage::{self, ModelEntry, UNKNOWN_MODEL};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Measures one call. Not public API. Used by generated code.
///
/// `finish` records a call that returned. A guard dropped without `finish` records a panic when
/// the thread is unwinding, and a cancelled call otherwise (a future dropped before it finished),
/// so no way out of a function goes unrecorded.
#[doc(hidden)]
#[must_use]
#[derive(Debug)]
pub struct Guard {
    site: &'static Site,
    /// Raw clock at entry; meaningless when inactive.
    start: u64,
    active: bool,
    /// For a synchronous call: the scope to put back on exit.
    restore: Option<RestoreScope>,
    request_bytes: u64,
    /// The model an expression named, resolved at entry.
    model: Option<&'static ModelEntry>,
    /// Dropping without a panic records a call that returned (see [`Guard::finish_on_drop`]).
    finish_on_drop: bool,
}

#[derive(Debug)]
struct RestoreScope(Scope);

impl Drop for RestoreScope {
    #[inline(always)]
    fn drop(&mut self) {
        context::restore(self.0);
    }
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("innermost", &self.innermost.map(Site::name))
            .finish_non_exhaustive()
    }
}

impl Guard {
    #[inline(always)]
    fn inactive(site: &'static Site) -> Guard {
        Guard {
            site,
            start: 0,
            active: false,
            restore: None,
            request_bytes: 0,
            model: None,
            finish_on_drop: false,
        }
    }

    #[inline(always)]
    fn active(site: &'static Site, restore: Option<RestoreScope>) -> Guard {
        Guard {
            start: clock::now(),
            active: true,
            restore,
            ..Guard::inactive(site)
        }
    }

    /// Entry of a synchronous call: the site encloses everything until the guard ends.
    #[inline(always)]
    pub fn enter(site: &'static Site) -> Guard {
        if !switch::is_enabled() {
            return Guard::inactive(site);
        }
        Guard::active(site, Some(RestoreScope(context::enter(site))))
    }

    /// Start of an asynchronous call: the site encloses the future's polls, through
    /// [`Guard::instrument`].
    #[inline(always)]
    pub fn start(site: &'static Site) -> Guard {
        if !switch::is_enabled() {
            return Guard::inactive(site);
        }
        Guard::active(site, None)
    }

    /// Whether this call is being recorded (monitoring was on when it started).
    #[inline(always)]
    pub fn is_active(&self) -> bool {
        self.active
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
        self.model = Some(usage::model(name));
    }

    /// Makes the site enclose every poll of `future`.
    #[inline(always)]
    pub fn instrument<F: Future>(&self, future: F) -> Scoped<F> {
        Scoped {
            site: self.active.then_some(self.site),
            inner: future,
        }
    }

    /// Records a call that returned.
    #[inline(always)]
    pub fn finish(mut self, outcome: Outcome) {
        if self.active {
            let nanos = clock::nanos_between(self.start, clock::now());
            self.active = false;
            // Put the caller's scope back before anything else can observe it.
            self.restore = None;
            self.site
                .aggregates
                .record(nanos, &outcome, self.request_bytes);
        }
    }

    /// Records a call that returned, with the token usage its value reported
    /// ([`ReportsTokens`](crate::tokens::ReportsTokens)).
    pub fn finish_usage(self, outcome: Outcome, reported: Option<(Tokens, Option<&str>)>) {
        if !self.active {
            return;
        }
        let site = self.site;
        let model = self.model;
        self.finish(outcome);
        let Some((tokens, named)) = reported else {
            return;
        };
        let entry = model
            .or_else(|| site.literal_model())
            .unwrap_or_else(|| usage::model(named.unwrap_or(UNKNOWN_MODEL)));
        let usage = entry.record(tokens);
        site.record_usage(usage);
        // Credit the enclosing stage and handler: the scope now is the caller's.
        let scope = context::current();
        for enclosing in [scope.stage, scope.handler].into_iter().flatten() {
            enclosing.record_usage(usage);
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.active {
            return;
        }
        // Restore the caller's scope first: recording must not see this call as enclosing.
        self.restore = None;
        if std::thread::panicking() {
            let nanos = clock::nanos_between(self.start, clock::now());
            self.site.aggregates.record_panic(nanos, self.request_bytes);
        } else if self.finish_on_drop {
            let nanos = clock::nanos_between(self.start, clock::now());
            self.site
                .aggregates
                .record(nanos, &Outcome::OK, self.request_bytes);
        } else {
            self.site.aggregates.record_cancelled();
        }
    }
}

pin_project_lite::pin_project! {
    /// A future whose every poll runs inside a site's scope. Not public API. Used by generated code.
    #[doc(hidden)]
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Scoped<F> {
        site: Option<&'static Site>,
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
                let _restore = RestoreScope(context::enter(site));
                this.inner.poll(cx)
            }
        }
    }
}

/// Runs the body of a synchronous function. Requiring `FnOnce` makes the compiler treat the closure
/// as one, so a body may move out of captured arguments and return borrows of them, as the function
/// itself could. Not public API. Used by generated code.
#[doc(hidden)]
#[inline(always)]
pub fn call_once<R>(body: impl FnOnce() -> R) -> R {
    body()
}
