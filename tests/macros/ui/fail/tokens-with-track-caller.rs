use monitor_core::{Tokens, tracks_tokens};

#[tracks_tokens(model = "m")]
#[track_caller]
fn complete() -> Tokens {
    Tokens::default()
}

fn main() {
    complete();
}
