use monitor_core::{Tokens, pipeline_stage, tracks_tokens};

struct Logo;

// The method is a token call, not one of the block's stages, so it takes none of the stage
// arguments, even those the block gives.
#[pipeline_stage(pipeline = "logo")]
impl Logo {
    fn render(&self) -> u32 {
        1
    }

    #[tracks_tokens(model = "gpt-4o", pipeline = "logo")]
    fn describe(&self) -> Tokens {
        Tokens::new(1, 1)
    }
}

fn main() {
    let _ = (Logo.render(), Logo.describe());
}
