#![deny(warnings)]

use monitor_core::{Tokens, tracks_tokens};

#[async_trait::async_trait]
trait Llm {
    async fn complete(&self, prompt: &str) -> Result<Tokens, String>;
}

struct Client {
    model: String,
}

#[async_trait::async_trait]
impl Llm for Client {
    #[tracks_tokens(model = self.model.as_str())]
    async fn complete(&self, prompt: &str) -> Result<Tokens, String> {
        tokio::task::yield_now().await;
        Ok(Tokens::new(prompt.len() as u64, 2))
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let client = Client {
        model: "trait-model".to_owned(),
    };
    assert_eq!(runtime.block_on(client.complete("abcd")).unwrap().input, 4);

    let site = monitor_core::sites()
        .find(|s| s.name() == "complete")
        .unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 1);
    assert_eq!(stats.token_calls, 1);
    assert_eq!(stats.tokens.input, 4);

    // The model expression is evaluated for async-trait methods too.
    let models = monitor_core::snapshot::models();
    let model = models.iter().find(|m| m.model == "trait-model").unwrap();
    assert_eq!(model.figures.token_calls, 1);
}
