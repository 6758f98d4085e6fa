#![deny(warnings)]

use monitor_core::{Tokens, pipeline_stage, tracks_tokens};

struct Pipeline {
    model: String,
}

impl Pipeline {
    #[tracks_tokens(model = self.model.as_str())]
    fn complete(&self, prompt: &str) -> Tokens {
        Tokens::new(prompt.len() as u64, 7)
    }

    #[pipeline_stage(pipeline = "sync", stage = "draft")]
    fn draft(&mut self, prompt: &str) -> Result<u64, String> {
        let first = self.complete(prompt);
        self.model = "other".to_owned();
        let second = self.complete(prompt);
        Ok(first.output + second.output)
    }
}

fn main() {
    let mut pipeline = Pipeline {
        model: "first".to_owned(),
    };
    assert_eq!(pipeline.draft("xyz"), Ok(14));

    let stage = monitor_core::sites()
        .find(|s| s.stage() == Some("draft"))
        .unwrap();
    let stats = stage.stats();
    assert_eq!(stats.calls(), 1);
    assert_eq!(stats.token_calls, 2);
    assert_eq!(stats.tokens.input, 6);
    assert_eq!(stats.tokens.output, 14);
    assert_eq!(stats.unpriced_calls, 2);
    assert_eq!(stats.cost_usd(), None);

    let models = monitor_core::snapshot::models();
    for name in ["first", "other"] {
        assert_eq!(models.iter().find(|m| m.model == name).unwrap().figures.token_calls, 1);
    }
}
