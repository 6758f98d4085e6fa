//! Token usage: what a metered call reports, and how the macros read it from a return value.

use serde::{Deserialize, Serialize};

/// Tokens one call used.
///
/// `input` counts every input token, cached ones included (as the OpenTelemetry GenAI attribute
/// `gen_ai.usage.input_tokens` does); `cached_input` is the part of `input` read from the
/// provider's prompt cache, which is billed at the cached-input price.
///
/// # Examples
///
/// ```
/// use monitor_core::Tokens;
///
/// let usage = Tokens { input: 1_200, output: 300, cached_input: 1_000 };
/// assert_eq!(usage.total(), 1_500);
/// assert_eq!(Tokens::default().total(), 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tokens {
    /// Input (prompt) tokens, cached ones included.
    pub input: u64,
    /// Output (completion) tokens.
    pub output: u64,
    /// Input tokens served from the provider's cache; a part of `input`.
    pub cached_input: u64,
}

impl Tokens {
    /// Input plus output tokens.
    pub fn total(&self) -> u64 {
        self.input.saturating_add(self.output)
    }
}

/// A value that knows the tokens a metered call used: implement it for your LLM client's response
/// type, and `#[tracks_tokens]` reads it from the function's return value.
///
/// # Examples
///
/// ```
/// use monitor_core::{TokenUsage, Tokens};
///
/// struct Completion {
///     text: String,
///     prompt_tokens: u32,
///     completion_tokens: u32,
///     model: String,
/// }
///
/// impl TokenUsage for Completion {
///     fn token_usage(&self) -> Tokens {
///         Tokens {
///             input: self.prompt_tokens.into(),
///             output: self.completion_tokens.into(),
///             cached_input: 0,
///         }
///     }
///
///     // The model the provider says answered; used when the attribute names none.
///     fn model(&self) -> Option<&str> {
///         Some(&self.model)
///     }
/// }
/// ```
pub trait TokenUsage {
    /// The tokens the call used.
    fn token_usage(&self) -> Tokens;

    /// The model that served the call, if the value knows it. `#[tracks_tokens(model = …)]` takes
    /// precedence.
    fn model(&self) -> Option<&str> {
        None
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
}

impl<T: TokenUsage + ?Sized> TokenUsage for Box<T> {
    fn token_usage(&self) -> Tokens {
        (**self).token_usage()
    }
    fn model(&self) -> Option<&str> {
        (**self).model()
    }
}

/// A return value `#[tracks_tokens]` can read usage from. Not public API. Used by generated code.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[tracks_tokens]` needs a function whose return value reports token usage, and `{Self}` does not",
    label = "this type does not implement `monitor_core::TokenUsage`",
    note = "return `monitor_core::Tokens`, a type that implements `monitor_core::TokenUsage`, or a `Result` of one"
)]
pub trait ReportsTokens {
    /// The usage, and the model the value names; `None` for an `Err`.
    fn __monitor_usage(&self) -> Option<(Tokens, Option<&str>)>;
}

#[diagnostic::do_not_recommend]
impl<T: TokenUsage> ReportsTokens for T {
    fn __monitor_usage(&self) -> Option<(Tokens, Option<&str>)> {
        Some((self.token_usage(), self.model()))
    }
}

#[diagnostic::do_not_recommend]
impl<T: TokenUsage, E> ReportsTokens for Result<T, E> {
    fn __monitor_usage(&self) -> Option<(Tokens, Option<&str>)> {
        self.as_ref()
            .ok()
            .map(|value| (value.token_usage(), value.model()))
    }
}
