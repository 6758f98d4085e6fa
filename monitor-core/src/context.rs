//! Which instrumented calls enclose the code running on this thread right now.
//!
//! Tokens spent by a `#[tracks_tokens]` call are credited to the enclosing stage and handler. For
//! synchronous calls the scope is set on entry and put back on exit; for futures it is set around
//! every poll (see [`Scoped`](crate::guard::Scoped)), so a future that moves between threads, or
//! two futures interleaved on one thread, each see only their own enclosing calls.

use crate::site::{Site, SiteKind};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The instrumented calls enclosing the current code.
#[derive(Clone, Copy, Default)]
pub(crate) struct Scope {
    pub(crate) innermost: Option<&'static Site>,
    pub(crate) stage: Option<&'static Site>,
    pub(crate) handler: Option<&'static Site>,
}

impl Scope {
    const EMPTY: Scope = Scope {
        innermost: None,
        stage: None,
        handler: None,
    };

    fn with(self, site: &'static Site) -> Scope {
        let mut scope = self;
        scope.innermost = Some(site);
        match site.kind() {
            SiteKind::Stage => scope.stage = Some(site),
            SiteKind::Handler => scope.handler = Some(site),
            SiteKind::Tokens => {}
        }
        scope
    }
}

const NO_STRIPE: usize = usize::MAX;

struct ThreadState {
    scope: Cell<Scope>,
    stripe: Cell<usize>,
}

thread_local! {
    // Const-initialised and without `Drop`: access is a plain TLS offset, and it never fails,
    // even while the thread is being torn down.
    static STATE: ThreadState = const {
        ThreadState { scope: Cell::new(Scope::EMPTY), stripe: Cell::new(NO_STRIPE) }
    };
}

/// Enters `site`; returns the scope to put back with [`restore`].
#[inline(always)]
pub(crate) fn enter(site: &'static Site) -> Scope {
    STATE.with(|s| {
        let previous = s.scope.get();
        s.scope.set(previous.with(site));
        previous
    })
}

#[inline(always)]
pub(crate) fn restore(scope: Scope) {
    STATE.with(|s| s.scope.set(scope));
}

pub(crate) fn current() -> Scope {
    STATE.with(|s| s.scope.get())
}

/// This thread's stripe of every site's aggregates. Threads are dealt stripes round-robin, so up to
/// `stripes` threads never write a cache line another one writes.
#[inline(always)]
pub(crate) fn stripe(stripes: usize) -> usize {
    STATE.with(|s| {
        let mut stripe = s.stripe.get();
        if stripe == NO_STRIPE {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            stripe = NEXT.fetch_add(1, Ordering::Relaxed);
            s.stripe.set(stripe);
        }
        stripe % stripes
    })
}
