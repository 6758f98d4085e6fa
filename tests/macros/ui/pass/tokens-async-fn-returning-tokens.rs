#![deny(warnings)]

use monitor_core::{Tokens, tracks_tokens};

#[tracks_tokens(model = "small")]
async fn embed(text: &str) -> Tokens {
    tokio::task::yield_now().await;
    Tokens::new(text.len() as u64, 0)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(embed("four")).input, 4);
    assert_eq!(runtime.block_on(embed("five!")).input, 5);

    let site = monitor_core::sites().find(|s| s.name() == "embed").unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 2);
    assert_eq!(stats.token_calls, 2);
    assert_eq!(stats.tokens.input, 9);
    assert_eq!(stats.cancelled, 0);
}
