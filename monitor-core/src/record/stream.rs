//! Streamed calls: a function that returns a stream is measured until the stream ends.
//!
//! The guard made at the call goes on inside [`Metered`], which wraps the stream the function
//! returned. Each poll runs in the site's scope; each item is classified by a closure the macro
//! generates where the item's type is known (an `Err` item makes the call an error; under
//! `#[tracks_tokens]` its usage is added). The call ends when the stream does — or is dropped:
//! then it is a cancelled call, whose tokens are still counted and priced, or a failed one if an
//! item failed (a consumer's `?` drops the stream at its first `Err`).

use super::clock;
use super::guard::{Credit, Guard, Leave, request_model};
use super::outcome::Outcome;
use super::run::{self, Ended, SpanFigures};
use super::scope::{self as context, Scope};
use super::site::Site;
use super::stripes::{Share, StreamEnd};
use crate::usage::Tokens;
use crate::usage::entry::{ModelEntry, Named};
use crate::usage::tokens::Reported;
use futures_core::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};

/// One streamed call in progress. Not public API. Used by generated code.
#[doc(hidden)]
#[derive(Debug)]
pub struct StreamCall {
    guard: Option<Guard>,
    chunks: u64,
    /// Raw clock at the first and the latest item.
    first_at: u64,
    last_at: u64,
    /// The first failed item's outcome (an `Err`, or an item whose usage reports a failure): the
    /// call's.
    error: Option<Outcome>,
    /// Payload bytes of the items whose type tells a size.
    response_bytes: u64,
    /// Usage items reported as their own, added up.
    added: Tokens,
    /// Usage items reported as running totals, kind by kind the largest.
    running: Tokens,
    /// Whether any item reported usage: a `#[tracks_tokens]` stream whose items all failed or
    /// carried none (dropped before its usage chunk) has its usage unknown, not zero.
    reported: bool,
    /// The first model an item named.
    named: Option<&'static ModelEntry>,
    /// What was credited to the enclosing stage and handler so far, poll by poll.
    credited: Tokens,
    credited_cost: [u64; 5],
    credited_call: bool,
    /// Whether the site is a `#[tracks_tokens]` one, whose items' usage is counted.
    tokens_site: bool,
}

impl StreamCall {
    fn new(guard: Guard) -> StreamCall {
        let tokens_site = guard.site().kind() == super::site::SiteKind::Tokens;
        StreamCall {
            tokens_site,
            guard: Some(guard.into_stream()),
            chunks: 0,
            first_at: 0,
            last_at: 0,
            error: None,
            response_bytes: 0,
            added: Tokens::default(),
            running: Tokens::default(),
            reported: false,
            named: None,
            credited: Tokens::default(),
            credited_cost: [0; 5],
            credited_call: false,
        }
    }

    /// One item: what its outcome says and, under `#[tracks_tokens]`, the usage it reports
    /// (`None` for an `Err`). Not public API. Used by generated code.
    #[inline]
    pub fn chunk(&mut self, outcome: Outcome, usage: Option<Reported<'_>>) {
        let Some(guard) = &self.guard else {
            return;
        };
        let (_, mode) = guard.started();
        let now = clock::now(mode);
        if self.chunks == 0 {
            self.first_at = now;
        }
        self.last_at = now;
        self.chunks += 1;
        self.response_bytes = self
            .response_bytes
            .saturating_add(outcome.response_bytes.unwrap_or(0));
        if self.error.is_none() && outcome.is_error() {
            self.error = Some(outcome);
        }
        if let Some(r) = usage {
            if let Some(failure) = r.failure
                && self.error.is_none()
            {
                let mut failed = Outcome::OK;
                failed.fail_with(failure);
                self.error = Some(failed);
            }
            // An item without usage (a chunk before the usage chunk) leaves the call's usage
            // unknown until one has it.
            if let Some(tokens) = r.tokens {
                self.reported = true;
                if r.running_total {
                    self.running = self.running.max_each(tokens);
                } else {
                    self.added = self.added.plus(tokens);
                }
            }
            if self.named.is_none()
                && let Some(name) = r.model
            {
                self.named = Named::Name(name).resolve(guard.site().provider());
            }
        }
    }

    fn tokens(&self) -> Tokens {
        self.added.plus(self.running)
    }

    fn site(&self) -> Option<&'static Site> {
        self.guard.as_ref().map(Guard::site)
    }

    fn named(&self) -> Named<'static> {
        self.named.map_or(Named::Nothing, Named::Entry)
    }

    /// Credits what the call used since the last credit to the stage and handler enclosing the
    /// poll: tokens as they come, and the cost of the call so far less what was credited (so a
    /// call that crosses a long-context threshold is credited the whole call's higher rate).
    fn credit(&mut self, scope: Scope) {
        let (Some(guard), true) = (&self.guard, self.reported) else {
            return;
        };
        let total = self.tokens();
        if total == self.credited && self.credited_call {
            return;
        }
        if scope.stage.is_none() && scope.handler.is_none() {
            return;
        }
        let model = request_model(guard.site(), guard.model(), self.named());
        let mut usage = model.usage(total);
        usage.tokens = minus(total, self.credited);
        if let Some(cost) = &mut usage.cost_picousd {
            for (now, before) in cost.iter_mut().zip(&mut self.credited_cost) {
                let delta = now.saturating_sub(*before);
                *before = (*before).max(*now);
                *now = delta;
            }
        }
        let share = Share {
            calls: u64::from(!self.credited_call),
            per_call: false,
        };
        for site in [scope.stage, scope.handler].into_iter().flatten() {
            site.record_usage(&usage, share);
        }
        self.credited = total;
        self.credited_call = true;
    }

    /// The items and times so far.
    fn end(&self) -> StreamEnd {
        let start = self.guard.as_ref().map_or(0, |g| g.started().0);
        StreamEnd {
            chunks: self.chunks,
            first_chunk_units: (self.chunks > 0).then(|| self.first_at.saturating_sub(start)),
            per_chunk_units: (self.chunks > 1)
                .then(|| self.last_at.saturating_sub(self.first_at) / (self.chunks - 1)),
        }
    }

    /// The stream ended: the call is recorded, with its outcome, tokens and items.
    fn finish(&mut self) {
        let end = self.end();
        let tokens = (self.tokens_site && self.reported).then(|| self.tokens());
        let named = self.named();
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        let mut outcome = self.error.take().unwrap_or(Outcome::OK);
        if self.response_bytes > 0 {
            outcome.response_bytes = Some(self.response_bytes);
        }
        let mut trace = guard.take_trace();
        guard.finish_metered(
            outcome,
            tokens,
            named,
            Credit::AlreadyCredited,
            Some(end),
            trace.as_mut(),
        );
    }
}

impl Drop for StreamCall {
    /// Dropped before its end: a cancelled call (or a panic, if unwinding), whose items and
    /// tokens still count — unless an item failed: a caller that stops at the first `Err` (a `?`
    /// in its loop) ended a failed call, not a cancelled one.
    fn drop(&mut self) {
        if self.guard.is_none() {
            return;
        }
        if self.error.is_some() && !std::thread::panicking() {
            self.finish();
            return;
        }
        let end = self.end();
        let named = self.named();
        let tokens = self.tokens();
        let reported = self.reported;
        let Some(guard) = &mut self.guard else {
            return;
        };
        let site = guard.site();
        let model = || request_model(site, guard.model(), named);
        let usage = reported.then(|| model().usage(tokens));
        let cell = site.models_per_call().then(|| site.model_cell(model()));
        if let Some(trace) = guard.take_trace() {
            // The span keeps what the stream yielded before it was dropped: its tokens too.
            let (start, mode) = guard.started();
            let ended = if std::thread::panicking() {
                Ended::Panicked
            } else {
                Ended::Cancelled
            };
            let figures = SpanFigures {
                usage: usage.as_ref(),
                model: guard
                    .model()
                    .or_else(|| site.literal_model())
                    .or_else(|| named.resolve(site.provider())),
                response_model: named.resolve(site.provider()).map(ModelEntry::name),
                stream: Some(end),
            };
            run::exit(
                &trace,
                site,
                start,
                clock::since(start, mode),
                0,
                ended,
                figures,
            );
        }
        if let Some(usage) = usage {
            let own = Share {
                calls: 1,
                per_call: true,
            };
            site.record_usage(&usage, own);
            if let Some(cell) = cell {
                cell.totals.record_usage(&usage, own);
            }
        }
        site.record_stream(end);
        if let Some(cell) = cell {
            cell.totals.record_stream(end);
        }
        // The guard, dropped unfinished, records the call as cancelled (or panicked).
        self.guard = None;
    }
}

/// Kind by kind, `a - b`, never below 0.
fn minus(a: Tokens, b: Tokens) -> Tokens {
    Tokens {
        input: a.input.saturating_sub(b.input),
        output: a.output.saturating_sub(b.output),
        cached_input: a.cached_input.saturating_sub(b.cached_input),
        cache_write: a.cache_write.saturating_sub(b.cache_write),
        reasoning: a.reasoning.saturating_sub(b.reasoning),
    }
}

pin_project_lite::pin_project! {
    /// A stream measured as one call, from the function's call to the stream's end. Not public
    /// API. Used by generated code.
    #[doc(hidden)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Metered<S, F> {
        #[pin]
        inner: S,
        call: Option<StreamCall>,
        classify: F,
    }
}

impl<S: std::fmt::Debug, F> std::fmt::Debug for Metered<S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metered")
            .field("inner", &self.inner)
            .field("call", &self.call)
            .finish_non_exhaustive()
    }
}

/// Wraps the stream a call returned: the call goes on until it ends. `None` when monitoring was
/// off at the call: the stream is passed through. Not public API. Used by generated code.
#[doc(hidden)]
#[inline]
pub fn meter_stream<S, F>(guard: Option<Guard>, stream: S, classify: F) -> Metered<S, F>
where
    S: Stream,
    F: FnMut(&S::Item, &mut StreamCall),
{
    Metered {
        inner: stream,
        call: guard.map(StreamCall::new),
        classify,
    }
}

impl<S, F> Stream for Metered<S, F>
where
    S: Stream,
    F: FnMut(&S::Item, &mut StreamCall),
{
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let Some(call) = this.call.as_mut() else {
            return this.inner.poll_next(cx);
        };
        let Some(site) = call.site() else {
            return this.inner.poll_next(cx);
        };
        // The scope of whoever polls: the stage and handler the tokens are credited to.
        let scope = context::current();
        let polled = {
            let _leave = Leave(context::enter(site, site.kind()));
            let _trace = run::poll(call.guard.as_ref().and_then(Guard::traced));
            this.inner.poll_next(cx)
        };
        match &polled {
            Poll::Ready(Some(item)) => {
                (this.classify)(item, call);
                if call.tokens_site {
                    call.credit(scope);
                }
            }
            Poll::Ready(None) => {
                call.finish();
                *this.call = None;
            }
            Poll::Pending => {}
        }
        polled
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
