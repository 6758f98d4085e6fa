#![deny(warnings)]

use monitor_core::{TokenUsage, Tokens, tracks_tokens};

struct Completion {
    text: String,
}

impl TokenUsage for Completion {
    fn token_usage(&self) -> Tokens {
        Tokens::new(2, self.text.len() as u64)
    }
}

#[derive(Debug)]
struct RateLimited;

#[tracks_tokens(model = "claude", provider = "anthropic", name = "llm")]
fn complete(prompt: &str) -> Result<Completion, RateLimited> {
    if prompt.is_empty() {
        return Err(RateLimited);
    }
    Ok(Completion {
        text: prompt.repeat(2),
    })
}

fn main() {
    assert_eq!(complete("ab").unwrap().text, "abab");
    assert!(complete("").is_err());

    let site = monitor_core::sites().find(|s| s.name() == "llm").unwrap();
    assert_eq!(site.function(), "complete");
    let stats = site.stats();
    assert_eq!(stats.calls(), 2);
    assert_eq!(stats.errors, 1);
    // An `Err` reports no usage.
    assert_eq!(stats.token_calls, 1);
    assert_eq!(stats.tokens.input, 2);
    assert_eq!(stats.tokens.output, 4);
}
