#![deny(warnings)]

use monitor_core::site::SiteKind;
use monitor_core::{Tokens, pipeline_stage, tracks_tokens};

struct Pipeline {
    model: String,
}

/// A method with an attribute of another kind is that kind of site, with its own arguments
/// only; the tokens it reports are credited to the stage that calls it.
#[pipeline_stage(pipeline = "mixed")]
impl Pipeline {
    fn concepts(&self, prompt: &str) -> Result<usize, String> {
        let usage = self.complete(prompt)?;
        Ok(usage.output as usize)
    }

    #[tracks_tokens(model = self.model.as_str(), provider = "openai")]
    fn complete(&self, prompt: &str) -> Result<Tokens, String> {
        Ok(Tokens::new(prompt.len() as u64, 3))
    }
}

fn main() {
    let pipeline = Pipeline {
        model: "gpt-4o".to_owned(),
    };
    assert_eq!(pipeline.concepts("abcd"), Ok(3));

    let complete = monitor_core::sites()
        .find(|s| s.qualified_name() == "Pipeline::complete")
        .unwrap();
    assert_eq!(complete.kind(), SiteKind::Tokens);
    assert_eq!((complete.pipeline(), complete.stage()), (None, None));
    assert_eq!(complete.provider(), Some("openai"));
    assert_eq!(complete.stats().tokens.input, 4);

    let concepts = monitor_core::sites()
        .find(|s| s.qualified_name() == "Pipeline::concepts")
        .unwrap();
    assert_eq!(concepts.kind(), SiteKind::Stage);
    assert_eq!(concepts.stage(), Some("concepts"));
    let stats = concepts.stats();
    assert_eq!((stats.calls(), stats.tokens.input, stats.tokens.output), (1, 4, 3));
}
