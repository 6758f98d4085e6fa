use monitor_core::{Tokens, tracks_tokens};

#[tracks_tokens(model = "gpt-4o", stage = "complete")]
fn complete() -> Tokens {
    Tokens::new(1, 1)
}

fn main() {
    let _ = complete();
}
