use monitor_core::{Tokens, tracks_tokens};

#[tracks_tokens(model = 5)]
fn complete() -> Tokens {
    Tokens::default()
}

fn main() {
    let _ = complete();
}
