#![deny(warnings)]

use monitor_core::{Tokens, tracks_tokens};

struct Client {
    model: String,
}

impl Client {
    // The expression is evaluated at each call, against that call's `self`.
    #[tracks_tokens(model = self.model.as_str())]
    fn complete(&self, prompt: &str) -> Tokens {
        Tokens::new(prompt.len() as u64, 1)
    }
}

fn calls_of(model: &str) -> u64 {
    monitor_core::snapshot::models()
        .into_iter()
        .find(|m| m.model == model)
        .map_or(0, |m| m.figures.token_calls)
}

fn main() {
    let mut client = Client {
        model: "model-a".to_owned(),
    };
    assert_eq!(client.complete("abc").input, 3);
    assert_eq!(client.complete("abcd").input, 4);
    client.model = "model-b".to_owned();
    assert_eq!(client.complete("ab").input, 2);

    assert_eq!(calls_of("model-a"), 2);
    assert_eq!(calls_of("model-b"), 1);

    let site = monitor_core::sites()
        .find(|s| s.name() == "complete")
        .unwrap();
    assert_eq!(site.model(), None);
    assert!(site.model_expr().is_some());
    let stats = site.stats();
    assert_eq!(stats.calls(), 3);
    assert_eq!(stats.token_calls, 3);
    assert_eq!(stats.tokens.input, 9);
    assert_eq!(stats.tokens.output, 3);
    // Neither model has a price.
    assert_eq!(stats.unpriced_calls, 3);
    assert_eq!(stats.cost_usd(), None);
}
