//! Streams whose signature names no stream — aliases, as an HTTP client's types are — are
//! measured by the value's type; plain values of every shape keep compiling; everything stays
//! `Send` where it was.
#![deny(warnings)]

use futures_util::{Stream, StreamExt, stream};
use monitor_core::{TokenUsage, Tokens, tracks_tokens};
use std::future::Future;
use std::pin::Pin;

#[derive(Debug)]
struct Failed;

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed")
    }
}

// As a client crate names its streams.
type ChunkStream = Pin<Box<dyn Stream<Item = Result<Tokens, Failed>> + Send>>;
type LocalChunks<'a> = Pin<Box<dyn Stream<Item = Tokens> + 'a>>;
type UnpinnedChunks = Box<dyn Stream<Item = Tokens> + Unpin + Send + Sync>;
type Reply<T> = Result<T, Failed>;

struct Client {
    prefix: String,
}

impl Client {
    #[tracks_tokens(model = "m")]
    fn chat(&self) -> Reply<ChunkStream> {
        Ok(Box::pin(stream::iter([Ok(Tokens::new(1, 0)), Ok(Tokens::new(0, 2))])))
    }

    #[tracks_tokens(model = "m")]
    async fn chat_later(&self) -> Reply<ChunkStream> {
        self.chat()
    }

    #[tracks_tokens(model = "m")]
    fn local(&self) -> LocalChunks<'_> {
        Box::pin(stream::iter([Tokens::new(self.prefix.len() as u64, 1)]))
    }

    #[tracks_tokens(model = "m")]
    fn unpinned(&self) -> UnpinnedChunks {
        Box::new(stream::iter([Tokens::new(1, 1)]))
    }

    #[tracks_tokens(model = "m")]
    fn later(&self) -> impl Future<Output = Reply<ChunkStream>> + Send + '_ {
        async move { self.chat() }
    }

    // Plain values: generic, opaque, borrowed.
    #[tracks_tokens(model = "m")]
    fn generic<T: TokenUsage>(&self, value: T) -> T {
        value
    }

    #[tracks_tokens(model = "m")]
    fn opaque(&self) -> impl TokenUsage {
        Tokens::new(self.prefix.len() as u64, 1)
    }

    #[tracks_tokens(model = "m")]
    fn borrowed<'a>(&self, tokens: &'a Tokens) -> &'a Tokens {
        tokens
    }
}

#[async_trait::async_trait]
trait Provider {
    async fn stream(&self) -> Reply<ChunkStream>;
}

#[async_trait::async_trait]
impl Provider for Client {
    #[tracks_tokens(model = "m")]
    async fn stream(&self) -> Reply<ChunkStream> {
        self.chat()
    }
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    let client = Client {
        prefix: "p".to_owned(),
    };
    assert_send(client.chat());
    assert_send(client.chat_later());
    assert_send(client.unpinned());
    assert_send(client.later());
    assert_send(Provider::stream(&client));
    let _: LocalChunks<'_> = client.local();
    assert_eq!(client.generic(Tokens::new(2, 2)), Tokens::new(2, 2));
    assert_eq!(client.opaque().token_usage(), Tokens::new(1, 1));
    assert_eq!(client.borrowed(&Tokens::new(3, 3)).input, 3);

    let chunks: Vec<_> = futures_executor_block_on(client.chat().unwrap().collect());
    assert_eq!(chunks.len(), 2);
    let site = monitor_core::sites().find(|s| s.name() == "chat").unwrap();
    let stats = site.stats();
    // Every call to `chat` above; only the one consumed to its end is finished.
    assert_eq!((stats.chunks, stats.tokens), (2, Tokens::new(1, 2)));
}

/// Polls a future that never waits to completion.
fn futures_executor_block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
