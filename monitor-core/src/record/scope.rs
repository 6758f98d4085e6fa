//! Which instrumented calls enclose the code running on this thread right now.
//!
//! Tokens spent by a `#[tracks_tokens]` call are credited to the enclosing stage and handler. For
//! synchronous calls the scope is set on entry and put back on exit; for futures it is set around
//! every poll (see [`Scoped`](super::guard::Scoped)), so a future that moves between threads, or
//! two futures interleaved on one thread, each see only their own enclosing calls.

use super::site::{Site, SiteKind};
use std::cell::Cell;

/// The stage and the handler enclosing the current code.
#[derive(Clone, Copy, Default)]
pub(crate) struct Scope {
    pub(crate) stage: Option<&'static Site>,
    pub(crate) handler: Option<&'static Site>,
}

/// What entering a site changed, for [`leave`] to undo: the enclosing site of the same kind.
/// Token-tracking sites enclose nothing, so entering them costs nothing.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Entered {
    Stage(Option<&'static Site>),
    Handler(Option<&'static Site>),
    Nothing,
}

struct ThreadScope {
    stage: Cell<Option<&'static Site>>,
    handler: Cell<Option<&'static Site>>,
}

thread_local! {
    // Const-initialised and without `Drop`, as the stripe's: a plain TLS offset.
    static STATE: ThreadScope = const {
        ThreadScope { stage: Cell::new(None), handler: Cell::new(None) }
    };
}

/// Makes `site`, of the given kind, enclose the code that runs until [`leave`].
#[inline(always)]
pub(crate) fn enter(site: &'static Site, kind: SiteKind) -> Entered {
    match kind {
        SiteKind::Stage => Entered::Stage(STATE.with(|s| s.stage.replace(Some(site)))),
        SiteKind::Handler => Entered::Handler(STATE.with(|s| s.handler.replace(Some(site)))),
        SiteKind::Tokens => Entered::Nothing,
    }
}

#[inline(always)]
pub(crate) fn leave(entered: Entered) {
    match entered {
        Entered::Stage(previous) => STATE.with(|s| s.stage.set(previous)),
        Entered::Handler(previous) => STATE.with(|s| s.handler.set(previous)),
        Entered::Nothing => {}
    }
}

#[inline(always)]
pub(crate) fn current() -> Scope {
    STATE.with(|s| Scope {
        stage: s.stage.get(),
        handler: s.handler.get(),
    })
}
