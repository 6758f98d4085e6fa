use futures_util::stream::{self, Iter};
use monitor_core::{Tokens, tracks_tokens};

// A stream of a concrete type: it cannot be measured and returned as that type.
#[tracks_tokens(model = "gpt-4o")]
fn chat(prompt: &str) -> Iter<std::vec::IntoIter<Tokens>> {
    stream::iter(vec![Tokens::new(prompt.len() as u64, 1)])
}

fn main() {
    let _ = chat("hi");
}
