use futures_util::{Stream, stream};
use monitor_core::{Tokens, tracks_tokens};

pub struct Chunk {
    pub text: String,
}

// The usage of a whole response, where the stream yields chunks.
fn chunk_usage(chunks: &Vec<Chunk>) -> Option<Tokens> {
    Some(Tokens::new(chunks.len() as u64, 0))
}

#[tracks_tokens(usage = chunk_usage)]
fn chat(prompt: &str) -> impl Stream<Item = Result<Chunk, String>> + '_ {
    stream::iter(prompt.split(' ').map(|w| Ok(Chunk { text: w.to_owned() })))
}

fn main() {
    let _ = chat("hi there");
}
