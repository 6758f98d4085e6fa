use monitor_core::{Tokens, tracks_tokens};

#[tracks_tokens(model = "gpt-4o")]
async fn complete(prompt: &str) -> Tokens {
    Tokens::new(prompt.len(), 0)
}

fn main() {
    let _ = complete("hi");
}
