//! Every stream shape the three attributes take, and that the streams stay `Send`.

use futures_core::stream::BoxStream;
use futures_util::{Stream, StreamExt, stream};
use monitor_core::{Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use std::future::Future;
use std::pin::Pin;

#[derive(Debug)]
struct Failed;

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed")
    }
}

struct Client {
    model: String,
}

impl Client {
    #[tracks_tokens(model = self.model.as_str(), provider = "openai")]
    fn chat(&self, prompt: &str) -> impl Stream<Item = Tokens> + Send + '_ {
        stream::iter([Tokens::new(prompt.len() as u64, 0), Tokens::new(0, 3)])
    }

    #[tracks_tokens(provider = "anthropic")]
    fn messages(&self) -> Pin<Box<dyn Stream<Item = Result<Tokens, Failed>> + Send + '_>> {
        Box::pin(stream::iter([Ok(Tokens::new(1, 1))]))
    }

    #[tracks_tokens(model = "m")]
    async fn open(&self) -> Result<BoxStream<'_, Tokens>, Failed> {
        Ok(stream::iter([Tokens::new(1, 1)]).boxed())
    }

    #[tracks_tokens(model = "m")]
    fn later(&self) -> impl Future<Output = impl Stream<Item = Tokens>> + '_ {
        async move { stream::iter([Tokens::new(self.model.len() as u64, 1)]) }
    }

    #[tracks_tokens(model = "m")]
    async fn generated(&self) -> impl Stream<Item = Tokens> {
        stream::iter([Tokens::new(1, 1)])
    }
}

#[tracks_tokens(model = "m")]
fn boxed_future() -> Pin<Box<dyn Future<Output = Result<BoxStream<'static, Tokens>, Failed>> + Send>> {
    Box::pin(async { Ok(stream::iter([Tokens::new(1, 1)]).boxed()) })
}

#[monitored_handler(route = "GET /events")]
fn events() -> impl Stream<Item = Result<String, Failed>> {
    stream::iter([Ok("a".to_owned())])
}

#[pipeline_stage(pipeline = "p")]
async fn chunks(n: u32) -> BoxStream<'static, u32> {
    stream::iter(0..n).boxed()
}

#[async_trait::async_trait]
trait Provider {
    async fn stream(&self) -> BoxStream<'static, Result<Tokens, Failed>>;
}

#[async_trait::async_trait]
impl Provider for Client {
    #[tracks_tokens(model = "m")]
    async fn stream(&self) -> BoxStream<'static, Result<Tokens, Failed>> {
        stream::iter([Ok(Tokens::new(1, 1))]).boxed()
    }
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    let client = Client {
        model: "gpt-4o".to_owned(),
    };
    assert_send(client.chat("hi"));
    assert_send(client.messages());
    assert_send(client.open());
    assert_send(client.later());
    assert_send(client.generated());
    assert_send(boxed_future());
    assert_send(events());
    assert_send(chunks(3));
    assert_send(Provider::stream(&client));
}
