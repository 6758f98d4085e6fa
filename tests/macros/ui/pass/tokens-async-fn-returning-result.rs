#![deny(warnings)]

use monitor_core::{Tokens, tracks_tokens};

struct Client {
    model: String,
}

impl Client {
    #[tracks_tokens(model = self.model.as_str(), provider = "openai")]
    async fn complete(&self, prompt: &str) -> Result<Tokens, std::io::Error> {
        tokio::task::yield_now().await;
        if prompt.is_empty() {
            return Err(std::io::Error::other("empty prompt"));
        }
        Ok(Tokens::new(prompt.len() as u64, 10))
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let client = Client {
        model: "gpt-async".to_owned(),
    };
    assert_eq!(runtime.block_on(client.complete("abc")).unwrap().input, 3);
    assert!(runtime.block_on(client.complete("")).is_err());

    let site = monitor_core::sites()
        .find(|s| s.name() == "complete")
        .unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 2);
    assert_eq!(stats.errors, 1);
    assert_eq!(stats.token_calls, 1);
    assert_eq!(stats.tokens.input, 3);
    assert_eq!(stats.tokens.output, 10);

    let models = monitor_core::snapshot::models();
    let model = models.iter().find(|m| m.model == "gpt-async").unwrap();
    assert_eq!(model.figures.token_calls, 1);
}
