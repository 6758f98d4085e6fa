//! Token usage: what a metered call reports, and how the macros read it from a return value.

use serde::{Deserialize, Serialize};

/// Tokens one call used, of the five kinds providers bill.
///
/// `input` counts every input token (as the OpenTelemetry GenAI attribute
/// `gen_ai.usage.input_tokens` does); `cached_input` (read from the provider's prompt cache) and
/// `cache_write` (written to it) are parts of `input`, billed at their own rates. `reasoning` is
/// the part of `output` a reasoning model spent thinking. Providers that report these apart
/// (Anthropic's `input_tokens` excludes cache reads and writes) are converted when the value is
/// built: see [`TokenUsage`]. Parts larger than their whole are capped, never billed twice.
///
/// Build it with `Tokens::new(input, output).cached(n).cache_write(n).reasoning(n)`; code that
/// writes `Tokens { input, output, ..Tokens::default() }` keeps compiling as kinds are added.
///
/// # Examples
///
/// ```
/// use monitor_core::Tokens;
///
/// let usage = Tokens::new(1_200, 300).cached(1_000).reasoning(120);
/// assert_eq!(usage.total(), 1_500);
/// assert_eq!(usage.fresh_input(), 200);
/// assert_eq!(usage.visible_output(), 180);
/// // Code that names the fields keeps compiling as kinds are added.
/// let same = Tokens { input: 1_200, output: 300, ..Tokens::default() };
/// assert_eq!(same.total(), 1_500);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tokens {
    /// Input (prompt) tokens, cached and cache-written ones included.
    pub input: u64,
    /// Output (completion) tokens, reasoning ones included.
    pub output: u64,
    /// Input tokens read from the provider's cache; a part of `input`.
    #[serde(default)]
    pub cached_input: u64,
    /// Input tokens written to the provider's cache (Anthropic's `cache_creation_input_tokens`);
    /// a part of `input`.
    #[serde(default)]
    pub cache_write: u64,
    /// Output tokens spent reasoning; a part of `output`.
    #[serde(default)]
    pub reasoning: u64,
}

impl Tokens {
    /// `input` tokens in and `output` tokens out, none cached, none reasoning.
    pub const fn new(input: u64, output: u64) -> Tokens {
        Tokens {
            input,
            output,
            cached_input: 0,
            cache_write: 0,
            reasoning: 0,
        }
    }

    /// The same usage with `n` of its input tokens read from the provider's cache.
    #[must_use]
    pub const fn cached(self, n: u64) -> Tokens {
        Tokens {
            cached_input: n,
            ..self
        }
    }

    /// The same usage with `n` of its input tokens written to the provider's cache.
    #[must_use]
    pub const fn cache_write(self, n: u64) -> Tokens {
        Tokens {
            cache_write: n,
            ..self
        }
    }

    /// The same usage with `n` of its output tokens spent reasoning.
    #[must_use]
    pub const fn reasoning(self, n: u64) -> Tokens {
        Tokens {
            reasoning: n,
            ..self
        }
    }

    /// Input plus output tokens.
    pub const fn total(&self) -> u64 {
        self.input.saturating_add(self.output)
    }

    /// Input tokens neither read from nor written to the cache. The parts are capped at the whole,
    /// so a value whose parts exceed it (a provider's rounding, a conversion mistake) is never
    /// counted twice.
    pub const fn fresh_input(&self) -> u64 {
        self.input
            .saturating_sub(self.cached_input_part())
            .saturating_sub(self.cache_write_part())
    }

    /// Output tokens that were not reasoning.
    pub const fn visible_output(&self) -> u64 {
        self.output.saturating_sub(self.reasoning_part())
    }

    /// `cached_input`, at most `input`.
    pub(crate) const fn cached_input_part(&self) -> u64 {
        if self.cached_input < self.input {
            self.cached_input
        } else {
            self.input
        }
    }

    /// `cache_write`, at most what `input` leaves after the cached part.
    pub(crate) const fn cache_write_part(&self) -> u64 {
        let room = self.input - self.cached_input_part();
        if self.cache_write < room {
            self.cache_write
        } else {
            room
        }
    }

    /// `reasoning`, at most `output`.
    pub(crate) const fn reasoning_part(&self) -> u64 {
        if self.reasoning < self.output {
            self.reasoning
        } else {
            self.output
        }
    }

    /// Kind by kind, the sum of two usages.
    #[must_use]
    pub const fn plus(self, other: Tokens) -> Tokens {
        Tokens {
            input: self.input.saturating_add(other.input),
            output: self.output.saturating_add(other.output),
            cached_input: self.cached_input.saturating_add(other.cached_input),
            cache_write: self.cache_write.saturating_add(other.cache_write),
            reasoning: self.reasoning.saturating_add(other.reasoning),
        }
    }

    /// Kind by kind, the larger of two usages: how a running total takes in a later one.
    #[must_use]
    pub const fn max_each(self, other: Tokens) -> Tokens {
        const fn max(a: u64, b: u64) -> u64 {
            if a > b { a } else { b }
        }
        Tokens {
            input: max(self.input, other.input),
            output: max(self.output, other.output),
            cached_input: max(self.cached_input, other.cached_input),
            cache_write: max(self.cache_write, other.cache_write),
            reasoning: max(self.reasoning, other.reasoning),
        }
    }
}

/// A value that knows the tokens a metered call used: implement it for your LLM client's response
/// type, and `#[tracks_tokens]` reads it from the function's return value — or, for a function
/// that returns a stream, from every item the stream yields.
///
/// monitor implements it for async-openai's responses, chunks and events (feature `async-openai`).
/// Another crate's type you cannot implement it for — the orphan rule — takes a function instead:
/// `#[tracks_tokens(usage = f)]`, with `f` from `&T` to [`Tokens`] (see
/// [`tracks_tokens`](crate::tracks_tokens)).
///
/// # Examples
///
/// A whole response (OpenAI's `usage`: `prompt_tokens` include the cached ones):
///
/// ```
/// use monitor_core::{TokenUsage, Tokens};
///
/// struct Completion {
///     text: String,
///     prompt_tokens: u32,
///     cached_tokens: u32,
///     completion_tokens: u32,
///     reasoning_tokens: u32,
///     model: String,
/// }
///
/// impl TokenUsage for Completion {
///     fn token_usage(&self) -> Tokens {
///         Tokens::new(self.prompt_tokens.into(), self.completion_tokens.into())
///             .cached(self.cached_tokens.into())
///             .reasoning(self.reasoning_tokens.into())
///     }
///
///     // The model the provider says answered (`gen_ai.response.model`).
///     fn model(&self) -> Option<&str> {
///         Some(&self.model)
///     }
/// }
/// ```
///
/// Streamed chunks whose usage comes once, in the last chunk (OpenAI with
/// `stream_options.include_usage`): every other chunk reports nothing, and the chunks' usages add
/// up.
///
/// ```
/// use monitor_core::{TokenUsage, Tokens};
///
/// struct Chunk {
///     delta: String,
///     usage: Option<(u64, u64)>, // prompt_tokens, completion_tokens
/// }
///
/// impl TokenUsage for Chunk {
///     fn token_usage(&self) -> Tokens {
///         self.usage.map_or(Tokens::default(), |(i, o)| Tokens::new(i, o))
///     }
///
///     // A chunk without usage says so: a stream dropped before its last chunk then has its
///     // usage unknown (no tokens, no cost), not zero.
///     fn has_usage(&self) -> bool {
///         self.usage.is_some()
///     }
/// }
/// ```
///
/// Streamed events whose usage is a running total (Anthropic: `message_start` carries the input
/// and a first output count, each `message_delta` the output so far). Saying so makes the stream
/// keep, kind by kind, the latest total rather than adding the totals up. Anthropic counts cache
/// reads and writes apart from `input_tokens`; monitor counts them as parts of the input.
///
/// ```
/// use monitor_core::{TokenUsage, Tokens};
///
/// enum Event {
///     MessageStart { input_tokens: u64, cache_read_input_tokens: u64, cache_creation_input_tokens: u64, output_tokens: u64 },
///     ContentBlockDelta { text: String },
///     MessageDelta { output_tokens: u64 },
/// }
///
/// impl TokenUsage for Event {
///     fn token_usage(&self) -> Tokens {
///         match self {
///             Event::MessageStart { input_tokens, cache_read_input_tokens, cache_creation_input_tokens, output_tokens } => {
///                 Tokens::new(input_tokens + cache_read_input_tokens + cache_creation_input_tokens, *output_tokens)
///                     .cached(*cache_read_input_tokens)
///                     .cache_write(*cache_creation_input_tokens)
///             }
///             Event::ContentBlockDelta { .. } => Tokens::default(),
///             Event::MessageDelta { output_tokens } => Tokens::new(0, *output_tokens),
///         }
///     }
///
///     fn is_running_total(&self) -> bool {
///         true
///     }
/// }
/// ```
pub trait TokenUsage {
    /// The tokens the call used; for a stream's item, the tokens this item reports (none for most
    /// chunks).
    fn token_usage(&self) -> Tokens;

    /// The model that served the call, if the value knows it (`gen_ai.response.model`). With no
    /// `#[tracks_tokens(model = …)]`, it is the model the call is priced and counted as.
    fn model(&self) -> Option<&str> {
        None
    }

    /// Whether [`token_usage`](Self::token_usage) is the stream's usage so far rather than this
    /// item's own. A stream keeps, kind by kind, the largest running total its items reported and
    /// adds the items that report their own usage. Irrelevant for a value that is not a stream
    /// item.
    fn is_running_total(&self) -> bool {
        false
    }

    /// Whether the value carries usage at all: `false` for a streamed chunk that reports none
    /// (OpenAI's chunks before the last) or a response whose provider sent none. A value without
    /// usage counts no tokens and no cost, and a call none of whose values had usage — a stream
    /// dropped before its usage chunk, a request that did not ask for it — has its usage unknown:
    /// its span's `tokens` are `None`, and it is not in its site's `token_calls` (a token site's
    /// `calls() - token_calls` are its calls of unknown usage). Unknown is never zero.
    fn has_usage(&self) -> bool {
        true
    }

    /// A failure the value reports though the call returned it as a success: a Responses API
    /// stream's `response.failed` or `error` event, a response whose `status` is `failed`. The
    /// call then counts as failed, with this error type and message, as if it had returned an
    /// `Err`; the usage the value reports is still counted and priced, since the tokens were
    /// spent. A stream's call takes the first failure among its items (or its first `Err` item,
    /// whichever comes first).
    ///
    /// A value that finished short of what was asked but did not fail (OpenAI's `incomplete`,
    /// cut at `max_output_tokens`) is no failure.
    ///
    /// ```
    /// use monitor_core::{TokenUsage, Tokens};
    /// use monitor_core::usage::Failure;
    ///
    /// enum Event {
    ///     Delta(String),
    ///     Done { input: u64, output: u64 },
    ///     Failed { code: &'static str, message: String },
    /// }
    ///
    /// impl TokenUsage for Event {
    ///     fn token_usage(&self) -> Tokens {
    ///         match self {
    ///             Event::Done { input, output } => Tokens::new(*input, *output),
    ///             _ => Tokens::default(),
    ///         }
    ///     }
    ///     fn has_usage(&self) -> bool {
    ///         matches!(self, Event::Done { .. })
    ///     }
    ///     fn failure(&self) -> Option<Failure<'_>> {
    ///         match self {
    ///             // A code from the provider's small fixed set: it is the error type.
    ///             Event::Failed { code, message } => Some(Failure::new(code, message.as_str())),
    ///             _ => None,
    ///         }
    ///     }
    /// }
    /// ```
    fn failure(&self) -> Option<Failure<'_>> {
        None
    }
}

/// What [`TokenUsage::failure`] reports: the error type (the error's kind, from a small fixed
/// set, as [`ErrorType`](crate::errors::ErrorType) says) and its message, which is redacted and
/// grouped as any error's message is.
///
/// ```
/// use monitor_core::usage::Failure;
///
/// let failure = Failure::new("server_error", "The model failed to generate a response.");
/// assert_eq!(failure.error_type, "server_error");
/// // A message made for the occasion is owned.
/// let code = 529;
/// let owned = Failure::new("overloaded", format!("http {code}"));
/// assert_eq!(owned.message, "http 529");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure<'a> {
    /// The error type, as the call's error patterns, events and spans are labelled
    /// (`error.type`): no ids, no counts, no messages.
    pub error_type: &'static str,
    /// What went wrong, in the provider's words.
    pub message: std::borrow::Cow<'a, str>,
}

impl<'a> Failure<'a> {
    /// A failure of type `error_type` (from a small fixed set) with `message`.
    pub fn new(error_type: &'static str, message: impl Into<std::borrow::Cow<'a, str>>) -> Self {
        Failure {
            error_type,
            message: message.into(),
        }
    }
}

impl TokenUsage for Tokens {
    fn token_usage(&self) -> Tokens {
        *self
    }
}

impl<T: TokenUsage + ?Sized> TokenUsage for &T {
    fn token_usage(&self) -> Tokens {
        (**self).token_usage()
    }
    fn model(&self) -> Option<&str> {
        (**self).model()
    }
    fn is_running_total(&self) -> bool {
        (**self).is_running_total()
    }
    fn has_usage(&self) -> bool {
        (**self).has_usage()
    }
    fn failure(&self) -> Option<Failure<'_>> {
        (**self).failure()
    }
}

impl<T: TokenUsage + ?Sized> TokenUsage for Box<T> {
    fn token_usage(&self) -> Tokens {
        (**self).token_usage()
    }
    fn model(&self) -> Option<&str> {
        (**self).model()
    }
    fn is_running_total(&self) -> bool {
        (**self).is_running_total()
    }
    fn has_usage(&self) -> bool {
        (**self).has_usage()
    }
    fn failure(&self) -> Option<Failure<'_>> {
        (**self).failure()
    }
}

/// `None` reports no usage (`Option::has_usage` is `false`): a chunk before the stream's usage
/// chunk, a response whose provider sent none, a value a `usage = f` function found none in.
impl<T: TokenUsage> TokenUsage for Option<T> {
    fn token_usage(&self) -> Tokens {
        self.as_ref().map_or(Tokens::default(), T::token_usage)
    }
    fn model(&self) -> Option<&str> {
        self.as_ref().and_then(T::model)
    }
    fn is_running_total(&self) -> bool {
        self.as_ref().is_some_and(T::is_running_total)
    }
    fn has_usage(&self) -> bool {
        self.as_ref().is_some_and(T::has_usage)
    }
    fn failure(&self) -> Option<Failure<'_>> {
        self.as_ref().and_then(T::failure)
    }
}

/// A usage and the model that answered: what a `#[tracks_tokens(usage = f)]` function returns to
/// name the model, as in `(tokens, response.model.as_str())`.
impl<T: TokenUsage> TokenUsage for (T, &str) {
    fn token_usage(&self) -> Tokens {
        self.0.token_usage()
    }
    fn model(&self) -> Option<&str> {
        Some(self.1)
    }
    fn is_running_total(&self) -> bool {
        self.0.is_running_total()
    }
    fn has_usage(&self) -> bool {
        self.0.has_usage()
    }
    fn failure(&self) -> Option<Failure<'_>> {
        self.0.failure()
    }
}

/// What a value reports: its usage (`None` when it carries none, [`TokenUsage::has_usage`]), the
/// model it names, whether the usage is a running total, and the failure it reports. Not public
/// API. Used by generated code.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Reported<'a> {
    pub tokens: Option<Tokens>,
    pub model: Option<&'a str>,
    pub running_total: bool,
    pub failure: Option<Failure<'a>>,
}

impl<'a> Reported<'a> {
    #[inline(always)]
    pub(crate) fn of<T: TokenUsage + ?Sized>(value: &'a T) -> Reported<'a> {
        Reported {
            tokens: value.has_usage().then(|| value.token_usage()),
            model: value.model(),
            running_total: value.is_running_total(),
            failure: value.failure(),
        }
    }
}

/// A return value `#[tracks_tokens]` can read usage from. Not public API. Used by generated code.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[tracks_tokens]` needs a function whose return value reports token usage, and `{Self}` does not",
    label = "this type does not implement `monitor_core::TokenUsage`",
    note = "return `monitor_core::Tokens`, a type that implements `monitor_core::TokenUsage`, a `Result` of one, or a stream of them; for another crate's type, name a function with `usage = …`"
)]
pub trait ReportsTokens {
    /// The usage, and the model the value names; `None` for an `Err`.
    fn __monitor_usage(&self) -> Option<Reported<'_>>;
}

#[diagnostic::do_not_recommend]
impl<T: TokenUsage> ReportsTokens for T {
    fn __monitor_usage(&self) -> Option<Reported<'_>> {
        Some(Reported::of(self))
    }
}

#[diagnostic::do_not_recommend]
impl<T: TokenUsage, E> ReportsTokens for Result<T, E> {
    fn __monitor_usage(&self) -> Option<Reported<'_>> {
        self.as_ref().ok().map(Reported::of)
    }
}

/// An item of a stream `#[tracks_tokens]` can read usage from. Not public API. Used by generated
/// code.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[tracks_tokens]` needs a stream whose items report token usage, and `{Self}` does not",
    label = "this item type does not implement `monitor_core::TokenUsage`",
    note = "yield `monitor_core::Tokens`, a type that implements `monitor_core::TokenUsage`, or a `Result` of one; a chunk without usage says so with `has_usage`, or name a function with `usage = …`"
)]
pub trait ChunkReportsTokens {
    /// The usage the item reports; `None` for an `Err`.
    fn __monitor_chunk_usage(&self) -> Option<Reported<'_>>;
}

#[diagnostic::do_not_recommend]
impl<T: TokenUsage> ChunkReportsTokens for T {
    fn __monitor_chunk_usage(&self) -> Option<Reported<'_>> {
        Some(Reported::of(self))
    }
}

#[diagnostic::do_not_recommend]
impl<T: TokenUsage, E> ChunkReportsTokens for Result<T, E> {
    fn __monitor_chunk_usage(&self) -> Option<Reported<'_>> {
        self.as_ref().ok().map(Reported::of)
    }
}

/// The type of a value generated code never has: what a closure of the expansion is handed when
/// the return value's type says it will not be called (a plain value's per-item closure, a
/// stream's whole-value one). Not public API. Used by generated code.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum Never {}

impl TokenUsage for Never {
    fn token_usage(&self) -> Tokens {
        match *self {}
    }
}

/// What `#[tracks_tokens(usage = f)]` may name: a function from `&T` (the value, the `Ok` of a
/// `Result`, a stream's item) to a [`TokenUsage`]. Not public API. Used by generated code.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`usage` must name a function from `&{T}` to `monitor_core::Tokens` or another `monitor_core::TokenUsage`",
    label = "not a function from `&{T}` to a `TokenUsage`",
    note = "write it as `fn(&{T}) -> monitor_core::Tokens`; return `Option<Tokens>` for values that may carry no usage, `(Tokens, &str)` to name the model too"
)]
pub trait UsageFn<'v, T: ?Sized> {
    /// What the function returns.
    type Usage: TokenUsage;
    /// Applies the function.
    fn __monitor_call(&self, value: &'v T) -> Self::Usage;
}

#[diagnostic::do_not_recommend]
impl<'v, T: ?Sized + 'v, F, U> UsageFn<'v, T> for F
where
    F: Fn(&'v T) -> U,
    U: TokenUsage,
{
    type Usage = U;
    #[inline(always)]
    fn __monitor_call(&self, value: &'v T) -> U {
        self(value)
    }
}

/// A value a `usage = f` function is applied to, for autoref-specialised dispatch on its type:
/// the `Ok` of a `Result` (an `Err` reports nothing), nothing for [`Never`], else the value
/// itself. What the function reports is handed to a continuation, so that a function of the wrong
/// type is one error, at the bound, and not a second one at a type made of its result. Not public
/// API. Used by generated code.
#[doc(hidden)]
#[derive(Debug)]
pub struct UsageOf<'v, T: ?Sized>(pub &'v T);

/// `Result`: the function sees the `Ok` value. Not public API. Used by generated code.
#[doc(hidden)]
pub trait UsageOfResult<'v, T> {
    fn __monitor_with<F: UsageFn<'v, T>, R>(
        &self,
        f: &F,
        then: impl FnOnce(Option<Reported<'_>>) -> R,
    ) -> R;
}

impl<'v, T, E> UsageOfResult<'v, T> for &UsageOf<'v, Result<T, E>> {
    #[inline(always)]
    fn __monitor_with<F: UsageFn<'v, T>, R>(
        &self,
        f: &F,
        then: impl FnOnce(Option<Reported<'_>>) -> R,
    ) -> R {
        let usage = self.0.as_ref().ok().map(|ok| f.__monitor_call(ok));
        then(usage.as_ref().map(Reported::of))
    }
}

/// [`Never`]: the function is not called (and its type is not asked). Not public API. Used by
/// generated code.
#[doc(hidden)]
pub trait UsageOfNever {
    fn __monitor_with<F, R>(&self, f: &F, then: impl FnOnce(Option<Reported<'_>>) -> R) -> R;
}

impl UsageOfNever for &UsageOf<'_, Never> {
    #[inline(always)]
    fn __monitor_with<F, R>(&self, _: &F, then: impl FnOnce(Option<Reported<'_>>) -> R) -> R {
        then(None)
    }
}

/// Any other value: the function sees it. Not public API. Used by generated code.
#[doc(hidden)]
pub trait UsageOfValue<'v, T: ?Sized> {
    fn __monitor_with<F: UsageFn<'v, T>, R>(
        &self,
        f: &F,
        then: impl FnOnce(Option<Reported<'_>>) -> R,
    ) -> R;
}

impl<'v, T: ?Sized> UsageOfValue<'v, T> for UsageOf<'v, T> {
    #[inline(always)]
    fn __monitor_with<F: UsageFn<'v, T>, R>(
        &self,
        f: &F,
        then: impl FnOnce(Option<Reported<'_>>) -> R,
    ) -> R {
        let usage = f.__monitor_call(self.0);
        then(Some(Reported::of(&usage)))
    }
}

#[cfg(test)]
mod tests {
    use super::Tokens;

    #[test]
    fn parts_never_exceed_the_whole() {
        let t = Tokens::new(100, 10)
            .cached(80)
            .cache_write(50)
            .reasoning(30);
        assert_eq!((t.cached_input_part(), t.cache_write_part()), (80, 20));
        assert_eq!(
            (t.fresh_input(), t.visible_output(), t.reasoning_part()),
            (0, 0, 10)
        );
        let running = Tokens::new(25, 1).max_each(Tokens::new(0, 15));
        assert_eq!(running, Tokens::new(25, 15));
    }
}
