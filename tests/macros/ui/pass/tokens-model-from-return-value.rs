#![deny(warnings)]

use monitor_core::{TokenUsage, Tokens, tracks_tokens};

struct Completion {
    text: String,
    model: String,
}

impl TokenUsage for Completion {
    fn token_usage(&self) -> Tokens {
        Tokens::new(10, self.text.len() as u64).cached(4)
    }

    fn model(&self) -> Option<&str> {
        Some(&self.model)
    }
}

// No `model` argument: the model the response names is used.
#[tracks_tokens]
fn complete(model: &str) -> Completion {
    Completion {
        text: "hello".to_owned(),
        model: model.to_owned(),
    }
}

fn main() {
    assert_eq!(complete("served-by-x").text, "hello");
    assert_eq!(complete("served-by-y").text, "hello");

    let models = monitor_core::snapshot::models();
    for name in ["served-by-x", "served-by-y"] {
        let model = models.iter().find(|m| m.model == name).unwrap();
        assert_eq!(model.figures.token_calls, 1);
        assert_eq!(model.figures.tokens.output, 5);
    }

    let site = monitor_core::sites()
        .find(|s| s.name() == "complete")
        .unwrap();
    assert_eq!(site.model(), None);
    assert_eq!(site.model_expr(), None);
    let stats = site.stats();
    assert_eq!(stats.calls(), 2);
    assert_eq!(stats.token_calls, 2);
    assert_eq!(stats.tokens.input, 20);
    assert_eq!(stats.tokens.cached_input, 8);
    assert_eq!(stats.tokens.output, 10);
}
