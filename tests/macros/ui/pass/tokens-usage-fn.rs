//! `usage = f` for types that implement no `TokenUsage`: values, `Result`s, stream items, a whole
//! impl block; `f` returns `Tokens`, `Option<Tokens>` or `(Tokens, &str)`.
#![deny(warnings)]

use futures_util::{Stream, StreamExt, stream};
use monitor_core::{Tokens, tracks_tokens};
use std::pin::Pin;

// A client's types, as another crate defines them.
mod client {
    pub struct ChatResponse {
        pub model: String,
        pub prompt_tokens: Option<i32>,
        pub completion_tokens: Option<i32>,
    }

    pub struct Chunk {
        pub text: String,
        pub usage: Option<(u32, u32)>,
    }
}

use client::{ChatResponse, Chunk};

fn chat_usage(response: &ChatResponse) -> (Tokens, &str) {
    let n = |v: Option<i32>| v.map_or(0, |v| u64::try_from(v).unwrap_or(0));
    let tokens = Tokens::new(n(response.prompt_tokens), n(response.completion_tokens));
    (tokens, response.model.as_str())
}

fn chunk_usage(chunk: &Chunk) -> Option<Tokens> {
    chunk.usage.map(|(i, o)| Tokens::new(i.into(), o.into()))
}

mod usage {
    pub fn words(text: &String) -> monitor_core::Tokens {
        monitor_core::Tokens::new(text.split(' ').count() as u64, 0)
    }
}

#[tracks_tokens(usage = chat_usage)]
fn chat(prompt: &str) -> ChatResponse {
    ChatResponse {
        model: "gpt-4o".to_owned(),
        prompt_tokens: Some(prompt.len() as i32),
        completion_tokens: Some(3),
    }
}

#[tracks_tokens(usage = chat_usage, provider = "openai")]
async fn chat_async(prompt: &str) -> Result<ChatResponse, String> {
    Ok(chat(prompt))
}

#[tracks_tokens(usage = chunk_usage)]
fn chat_stream(prompt: &str) -> impl Stream<Item = Result<Chunk, String>> + '_ {
    stream::iter([
        Ok(Chunk { text: prompt.to_owned(), usage: None }),
        Ok(Chunk { text: String::new(), usage: Some((4, 2)) }),
    ])
}

type Chunks = Pin<Box<dyn Stream<Item = Chunk> + Send>>;

#[tracks_tokens(usage = chunk_usage)]
fn chat_boxed() -> Result<Chunks, String> {
    Ok(Box::pin(stream::iter([Chunk { text: String::new(), usage: Some((1, 1)) }])))
}

struct Embedder;

#[tracks_tokens(usage = usage::words, model = "text-embedding-3-small")]
impl Embedder {
    fn embed(&self, text: &str) -> String {
        text.to_owned()
    }

    #[tracks_tokens(usage = crate::usage::words, name = "embed_twice")]
    fn embed_again(&self, text: &str) -> Result<String, String> {
        Ok(format!("{text} {text}"))
    }
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn main() {
    assert_eq!(chat("hi").model, "gpt-4o");
    assert!(block_on(chat_async("hey")).is_ok());
    let chunks: Vec<_> = block_on(chat_stream("yo").collect());
    assert_eq!(chunks.len(), 2);
    let boxed: Vec<_> = block_on(chat_boxed().unwrap().collect());
    assert_eq!(boxed[0].text, "");
    assert_eq!(Embedder.embed("a b c"), "a b c");
    assert!(Embedder.embed_again("a b").is_ok());

    let stats = |name: &str| monitor_core::sites().find(|s| s.name() == name).unwrap().stats();
    assert_eq!(stats("chat").tokens, Tokens::new(5, 6)); // itself, and inside `chat_async`
    assert_eq!(stats("chat_async").tokens, Tokens::new(3, 3));
    assert_eq!(stats("chat_stream").tokens, Tokens::new(4, 2));
    assert_eq!(stats("chat_boxed").tokens, Tokens::new(1, 1));
    assert_eq!(stats("embed").tokens, Tokens::new(3, 0));
    assert_eq!(stats("embed_twice").tokens, Tokens::new(4, 0));
    let models = monitor_core::snapshot::models();
    assert!(models.iter().any(|m| m.model == "gpt-4o" && m.figures.token_calls == 3));
}
