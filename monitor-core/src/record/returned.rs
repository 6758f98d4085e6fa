//! A `#[tracks_tokens]` function's return value, measured by its type rather than by how the
//! signature spells it.
//!
//! A signature can hide a stream behind an alias (async-openai's `ChatCompletionResponseStream`
//! is a `Pin<Box<dyn Stream<…> + Send>>`, and exists only with its client's features), so the
//! macro cannot tell a stream from a response by reading it. Generated code asks [`Returned`]
//! instead, with autoderef specialisation at the call site, where the type is concrete:
//!
//! 1. a boxed `dyn Stream` ([`BoxedStream`]), or a `Result` of one: the stream is re-boxed, into
//!    the same type, with [`Metered`](super::stream::Metered) inside, and the call goes on until
//!    it ends;
//! 2. any other stream, or a `Result` of one: a compile error ([`RewrapStream`]), since it cannot
//!    be measured and returned as its own type;
//! 3. anything else: the value is recorded as it always was, by the closure the expansion wrote
//!    for it — inlined, with no work or branch added to that path.
//!
//! Each level hands the closures the values it will call them with; a closure it will not call is
//! handed [`Never`], which every check in its body accepts, so that one mistake makes one error.

use super::caches::CacheLookup;
use super::guard::{FinishUsage, Guard};
use super::stream::{StreamCall, meter_stream};
use crate::usage::tokens::Never;
use futures_core::Stream;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

impl CacheLookup for Never {
    fn cache_hit(&self) -> Option<bool> {
        match *self {}
    }
}

/// The type of a returned value, for dispatch. Not public API. Used by generated code.
#[doc(hidden)]
pub struct Returned<T>(PhantomData<fn() -> T>);

impl<T> std::fmt::Debug for Returned<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Returned")
    }
}

impl<T> Returned<T> {
    /// The type of `value`.
    #[inline(always)]
    pub fn of(_value: &T) -> Returned<T> {
        Returned(PhantomData)
    }

    /// The type `body` returns, before it runs.
    #[inline(always)]
    pub fn of_body<F: FnOnce() -> T>(_body: &F) -> Returned<T> {
        Returned(PhantomData)
    }
}

/// Whether a type is a boxed stream (or a `Result` of one), asked before the body runs: a
/// synchronous handler or stage takes the stream's path only then, and the answer is a constant,
/// so the other path is compiled out. Not public API. Used by generated code.
#[doc(hidden)]
pub trait IsBoxedStream {
    fn __monitor_is_boxed(&self) -> bool;
}

impl<X: BoxedStream> IsBoxedStream for &Returned<X> {
    #[inline(always)]
    fn __monitor_is_boxed(&self) -> bool {
        true
    }
}

/// Any other type. Not public API. Used by generated code.
#[doc(hidden)]
pub trait IsPlainValue {
    fn __monitor_is_boxed(&self) -> bool;
}

impl<T> IsPlainValue for Returned<T> {
    #[inline(always)]
    fn __monitor_is_boxed(&self) -> bool {
        false
    }
}

/// A boxed stream a call can be measured as and still returned as itself. Not public API. Used
/// by generated code.
#[doc(hidden)]
pub trait BoxedStream: Sized {
    /// The stream's item.
    type Item;
    /// The error of a `Result` of a stream; [`Never`] for a stream.
    type Error;

    /// Replaces `value` with the same stream measured until its end; an `Err` ends the call.
    fn __monitor_meter<C, F>(value: &mut Self, guard: Guard, chunk: C, failed: F)
    where
        C: FnMut(&Self::Item, &mut StreamCall) + Send + Sync + 'static,
        F: FnOnce(Guard, &Result<Never, Self::Error>);

    /// A stream that has ended, to stand in for a value taken out while it is re-boxed.
    fn __monitor_ended() -> Self;
}

/// A stream without items: what stands in while the stream it replaces is re-boxed. Boxing it
/// allocates nothing.
struct Ended<I>(PhantomData<fn() -> I>);

impl<I> Stream for Ended<I> {
    type Item = I;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<I>> {
        Poll::Ready(None)
    }
}

/// `BoxedStream` for a box of `dyn Stream` with the given auto traits: `$pin` says whether the
/// box is pinned (an unpinned one is a stream only when `Unpin`).
macro_rules! boxed_streams {
    ($(($($pin:ident)?; $($auto:path),*)),* $(,)?) => {$(
        impl<'a, I: 'a> BoxedStream for boxed_streams!(@type $($pin)?; I; $($auto),*) {
            type Item = I;
            type Error = Never;

            #[inline]
            fn __monitor_meter<C, F>(value: &mut Self, guard: Guard, chunk: C, _failed: F)
            where
                C: FnMut(&I, &mut StreamCall) + Send + Sync + 'static,
                F: FnOnce(Guard, &Result<Never, Never>),
            {
                let stream = std::mem::replace(value, Self::__monitor_ended());
                *value = boxed_streams!(@new $($pin)?; meter_stream(Some(guard), stream, chunk));
            }

            fn __monitor_ended() -> Self {
                boxed_streams!(@new $($pin)?; Ended::<I>(PhantomData))
            }
        }
    )*};
    (@type Pin; $item:ident; $($auto:path),*) => {
        Pin<Box<dyn Stream<Item = $item> $(+ $auto)* + 'a>>
    };
    (@type ; $item:ident; $($auto:path),*) => {
        Box<dyn Stream<Item = $item> + Unpin $(+ $auto)* + 'a>
    };
    (@new Pin; $value:expr) => { Box::pin($value) };
    (@new ; $value:expr) => { Box::new($value) };
}

boxed_streams!(
    (Pin;),
    (Pin; Send),
    (Pin; Send, Sync),
    (Pin; Sync),
    (;),
    (; Send),
    (; Send, Sync),
    (; Sync),
);

/// A `Result` of a boxed stream: the `Ok` stream is measured; an `Err` ends the call there,
/// classified as a `Result` whose error is the function's.
impl<X: BoxedStream<Error = Never>, E> BoxedStream for Result<X, E> {
    type Item = X::Item;
    type Error = E;

    #[inline]
    fn __monitor_meter<C, F>(value: &mut Self, guard: Guard, chunk: C, failed: F)
    where
        C: FnMut(&X::Item, &mut StreamCall) + Send + Sync + 'static,
        F: FnOnce(Guard, &Result<Never, E>),
    {
        if let Ok(stream) = value {
            X::__monitor_meter(stream, guard, chunk, |_, never| match never {
                Ok(never) | Err(never) => match *never {},
            });
            return;
        }
        if let Err(error) = std::mem::replace(value, Self::__monitor_ended()) {
            let ended: Result<Never, E> = Err(error);
            failed(guard, &ended);
            let Err(error) = ended;
            *value = Err(error);
        }
    }

    fn __monitor_ended() -> Self {
        Ok(X::__monitor_ended())
    }
}

/// Level 1: a boxed stream, or a `Result` of one. Not public API. Used by generated code.
#[doc(hidden)]
pub trait ReturnedBoxed {
    type Value: BoxedStream;

    fn __monitor_returned<P, C, F>(
        &self,
        value: &mut Self::Value,
        guard: Guard,
        finish: &mut dyn FinishUsage,
        plain: P,
        chunk: C,
        failed: F,
    ) where
        P: FnOnce(Guard, &Never, &mut dyn FinishUsage),
        C: FnMut(&<Self::Value as BoxedStream>::Item, &mut StreamCall) + Send + Sync + 'static,
        F: FnOnce(Guard, &Result<Never, <Self::Value as BoxedStream>::Error>);
}

impl<X: BoxedStream> ReturnedBoxed for &&&Returned<X> {
    type Value = X;

    #[inline(always)]
    fn __monitor_returned<P, C, F>(
        &self,
        value: &mut X,
        guard: Guard,
        _: &mut dyn FinishUsage,
        _: P,
        chunk: C,
        failed: F,
    ) where
        P: FnOnce(Guard, &Never, &mut dyn FinishUsage),
        C: FnMut(&X::Item, &mut StreamCall) + Send + Sync + 'static,
        F: FnOnce(Guard, &Result<Never, X::Error>),
    {
        // The guard owns the call's span already: the stream ends it when it ends.
        X::__monitor_meter(value, guard, chunk, failed);
    }
}

/// What no type implements: a stream of a concrete type, which cannot be measured and returned
/// as that type. Not public API. Used by generated code.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[tracks_tokens]` cannot measure the stream `{Self}` and return it as its own type",
    label = "a stream of a concrete type",
    note = "declare the function to return `impl Stream<Item = …>` or a boxed stream, like `Pin<Box<dyn Stream<Item = …> + Send>>`, and it is measured until the stream ends"
)]
pub trait RewrapStream {}

/// Level 2: a stream of another type. Not public API. Used by generated code.
#[doc(hidden)]
pub trait ReturnedStream {
    type Value;
    type Stream;

    fn __monitor_returned<P, C, F>(
        &self,
        value: &mut Self::Value,
        guard: Guard,
        finish: &mut dyn FinishUsage,
        plain: P,
        chunk: C,
        failed: F,
    ) where
        Self::Stream: RewrapStream,
        P: FnOnce(Guard, &Never, &mut dyn FinishUsage),
        C: FnMut(&Never, &mut StreamCall),
        F: FnOnce(Guard, &Result<Never, Never>);
}

impl<S: Stream> ReturnedStream for &&Returned<S> {
    type Value = S;
    type Stream = S;

    fn __monitor_returned<P, C, F>(
        &self,
        _: &mut S,
        _: Guard,
        _: &mut dyn FinishUsage,
        _: P,
        _: C,
        _: F,
    ) where
        S: RewrapStream,
        P: FnOnce(Guard, &Never, &mut dyn FinishUsage),
        C: FnMut(&Never, &mut StreamCall),
        F: FnOnce(Guard, &Result<Never, Never>),
    {
        // Never called: no type is `RewrapStream`.
    }
}

/// Level 3: a `Result` of a stream of another type. Not public API. Used by generated code.
#[doc(hidden)]
pub trait ReturnedStreamInResult {
    type Value;
    type Stream;

    fn __monitor_returned<P, C, F>(
        &self,
        value: &mut Self::Value,
        guard: Guard,
        finish: &mut dyn FinishUsage,
        plain: P,
        chunk: C,
        failed: F,
    ) where
        Self::Stream: RewrapStream,
        P: FnOnce(Guard, &Never, &mut dyn FinishUsage),
        C: FnMut(&Never, &mut StreamCall),
        F: FnOnce(Guard, &Result<Never, Never>);
}

impl<S: Stream, E> ReturnedStreamInResult for &Returned<Result<S, E>> {
    type Value = Result<S, E>;
    type Stream = S;

    fn __monitor_returned<P, C, F>(
        &self,
        _: &mut Result<S, E>,
        _: Guard,
        _: &mut dyn FinishUsage,
        _: P,
        _: C,
        _: F,
    ) where
        S: RewrapStream,
        P: FnOnce(Guard, &Never, &mut dyn FinishUsage),
        C: FnMut(&Never, &mut StreamCall),
        F: FnOnce(Guard, &Result<Never, Never>),
    {
        // Never called: no type is `RewrapStream`.
    }
}

/// Level 4: any other value, recorded by `plain`. Not public API. Used by generated code.
#[doc(hidden)]
pub trait ReturnedValue<T> {
    fn __monitor_returned<P, C, F>(
        &self,
        value: &mut T,
        guard: Guard,
        finish: &mut dyn FinishUsage,
        plain: P,
        chunk: C,
        failed: F,
    ) where
        P: FnOnce(Guard, &T, &mut dyn FinishUsage),
        C: FnMut(&Never, &mut StreamCall),
        F: FnOnce(Guard, &Result<Never, Never>);
}

impl<T> ReturnedValue<T> for Returned<T> {
    #[inline(always)]
    fn __monitor_returned<P, C, F>(
        &self,
        value: &mut T,
        guard: Guard,
        finish: &mut dyn FinishUsage,
        plain: P,
        _: C,
        _: F,
    ) where
        P: FnOnce(Guard, &T, &mut dyn FinishUsage),
        C: FnMut(&Never, &mut StreamCall),
        F: FnOnce(Guard, &Result<Never, Never>),
    {
        plain(guard, value, finish);
    }
}
