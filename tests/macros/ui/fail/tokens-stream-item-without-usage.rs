use futures_util::{Stream, stream};
use monitor_core::tracks_tokens;

#[tracks_tokens(model = "gpt-4o")]
fn chat(prompt: &str) -> impl Stream<Item = String> + '_ {
    stream::iter(prompt.split(' ').map(str::to_owned))
}

fn main() {
    let _ = chat("hi there");
}
