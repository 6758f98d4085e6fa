use monitor_core::{Tokens, tracks_tokens};

#[tracks_tokens(model = "gpt-4o")]
async fn complete(prompt: &str) -> Tokens {
    Tokens {
        input: prompt.len(),
        output: 0,
        ..Tokens::default()
    }
}

fn main() {
    let _ = complete("hi");
}
