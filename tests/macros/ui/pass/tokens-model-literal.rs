#![deny(warnings)]

use monitor_core::pricing::Price;
use monitor_core::site::SiteKind;
use monitor_core::{Tokens, tracks_tokens};

#[tracks_tokens(model = "gpt-4o", provider = "openai")]
fn complete(prompt: &str) -> Tokens {
    Tokens::new(prompt.len() as u64 * 100, 500)
}

fn main() {
    monitor_core::pricing::set_price("gpt-4o", Price::per_million(2.0, 8.0)).unwrap();
    assert_eq!(complete("0123456789").total(), 1_500);

    let site = monitor_core::sites()
        .find(|s| s.name() == "complete")
        .unwrap();
    assert_eq!(site.kind(), SiteKind::Tokens);
    assert_eq!(site.model(), Some("gpt-4o"));
    assert_eq!(site.model_expr(), None);
    assert_eq!(site.provider(), Some("openai"));
    let stats = site.stats();
    assert_eq!(stats.calls(), 1);
    assert_eq!(stats.token_calls, 1);
    assert_eq!(stats.tokens.input, 1_000);
    assert_eq!(stats.tokens.output, 500);
    assert_eq!(stats.cost_usd(), Some(0.006));

    let models = monitor_core::snapshot::models();
    let model = models.iter().find(|m| m.model == "gpt-4o").unwrap();
    assert_eq!(model.figures.token_calls, 1);
}
