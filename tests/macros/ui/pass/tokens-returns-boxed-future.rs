#![deny(warnings)]

use monitor_core::{Tokens, tracks_tokens};
use std::future::Future;
use std::pin::Pin;

struct Client {
    model: String,
}

impl Client {
    // The usage is read from the future's output, not from the future.
    #[tracks_tokens(model = self.model.as_str())]
    fn complete(
        &self,
        prompt: String,
    ) -> Pin<Box<dyn Future<Output = Result<Tokens, String>> + Send + '_>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            Ok(Tokens::new(prompt.len() as u64, 3))
        })
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let client = Client {
        model: "boxed-model".to_owned(),
    };
    let usage = runtime.block_on(client.complete("abcde".to_owned()));
    assert_eq!(usage.unwrap().input, 5);

    let site = monitor_core::sites()
        .find(|s| s.name() == "complete")
        .unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 1);
    assert_eq!(stats.token_calls, 1);
    assert_eq!(stats.tokens.input, 5);
    assert_eq!(stats.tokens.output, 3);

    let models = monitor_core::snapshot::models();
    let model = models.iter().find(|m| m.model == "boxed-model").unwrap();
    assert_eq!(model.figures.token_calls, 1);
}
