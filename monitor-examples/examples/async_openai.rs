//! async-openai with monitor: `#[tracks_tokens(provider = "openai")]` on functions that return the
//! client's own types — a whole chat completion, and the stream `create_stream` gives — records
//! the tokens of each kind, the model that answered, the cost and, for the stream, its time to
//! first chunk, with no code between the client and monitor (monitor-core's `async-openai`
//! feature).
//!
//! With `OPENAI_BASE_URL` set (and `OPENAI_API_KEY`, `OPENAI_MODEL`, default `gpt-4o-mini`), it
//! calls that endpoint — OpenAI, a local vLLM or Ollama, a LiteLLM proxy. Without it, it starts the
//! OpenAI-compatible server of the repository's test harness on 127.0.0.1, so that it runs
//! anywhere, offline.
//!
//! Run it with `cargo run -p monitor-examples --example async_openai`.

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, ChatCompletionResponseStream, ChatCompletionStreamOptions,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs, CreateChatCompletionResponse,
};
use futures_util::StreamExt;
use monitor_core::pricing::Price;
use monitor_core::tracks_tokens;
use monitor_harness::OpenAiServer;
use monitor_harness::openai::{Reply, Usage};
use std::time::Duration;

/// A whole answer: the value is async-openai's own response type. The call is counted and priced
/// as the model asked for (the response names a dated snapshot, `gpt-4o-mini-2024-07-18`, which
/// monitor keeps as the response model); without `model = …` it would be the response's.
#[tracks_tokens(provider = "openai", model = request.model.as_str())]
async fn ask(
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    client.chat().create(request).await
}

/// A streamed answer: `ChatCompletionResponseStream` is an alias of a boxed stream, which monitor
/// measures by its type until the caller has read it to its end.
#[tracks_tokens(provider = "openai", model = request.model.as_str())]
async fn ask_streamed(
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
) -> Result<ChatCompletionResponseStream, OpenAIError> {
    client.chat().create_stream(request).await
}

fn request(model: &str, streamed: bool) -> Result<CreateChatCompletionRequest, OpenAIError> {
    let mut request = CreateChatCompletionRequestArgs::default();
    request
        .model(model)
        .messages([ChatCompletionRequestUserMessage::from("Name a colour for a logo.").into()]);
    if streamed {
        // Without it, a stream carries no usage, and monitor records its usage as unknown.
        request.stream_options(ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        });
    }
    request.build()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _monitor = monitor_core::init(monitor_core::Config::new())?;
    // Started only when no endpoint is named; kept until the end of `main`.
    let mut local = None;
    let (base_url, key, model) = match std::env::var("OPENAI_BASE_URL") {
        Ok(url) => (
            url,
            std::env::var("OPENAI_API_KEY").unwrap_or_default(),
            std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4o-mini".to_owned()),
        ),
        Err(_) => {
            let server = OpenAiServer::start()?;
            server.set_default(
                Reply::new(Usage {
                    input: 1_200,
                    cached: 800,
                    output: 300,
                    reasoning: 0,
                })
                .model("gpt-4o-mini-2024-07-18")
                .first_after(Duration::from_millis(40)),
            );
            let url = server.base_url().to_owned();
            local = Some(server);
            (url, "sk-example".to_owned(), "gpt-4o-mini".to_owned())
        }
    };
    monitor_core::pricing::set_price(
        &model,
        Price::per_million(0.15, 0.60).with_cached_input(0.075),
    )?;
    let client = Client::with_config(
        OpenAIConfig::new()
            .with_api_base(&base_url)
            .with_api_key(key),
    );

    let answer = ask(&client, request(&model, false)?).await?;
    println!("answered by {}", answer.model);
    let mut stream = ask_streamed(&client, request(&model, true)?).await?;
    let mut chunks = 0;
    while let Some(chunk) = stream.next().await {
        chunk?;
        chunks += 1;
    }
    println!("streamed {chunks} chunks");

    for name in ["ask", "ask_streamed"] {
        let site = monitor_core::sites()
            .find(|s| s.name() == name)
            .ok_or("every tracks_tokens function is a site")?;
        let f = site.stats();
        let cost = f
            .cost_usd()
            .map_or("unknown".to_owned(), |c| format!("${c:.6}"));
        println!(
            "{name:>12}: {} call(s), input {} (cached {}), output {} (reasoning {}), cost {cost}",
            f.calls(),
            f.tokens.input,
            f.tokens.cached_input,
            f.tokens.output,
            f.tokens.reasoning,
        );
        if f.tokens.input == 0 || f.cost_usd().is_none() {
            return Err(format!("{name}: no usage or no cost recorded").into());
        }
    }
    let streamed = monitor_core::sites()
        .find(|s| s.name() == "ask_streamed")
        .map(|s| s.stats())
        .ok_or("ask_streamed is a site")?;
    println!(
        "time to first chunk: {:?} (p50)",
        streamed.first_chunk.p50()
    );
    for m in monitor_core::snapshot::models() {
        println!(
            "model {}: {} call(s), cost {}",
            m.model,
            m.figures.calls(),
            m.figures
                .cost_usd()
                .map_or("unknown".to_owned(), |c| format!("${c:.6}"))
        );
    }
    drop(local);
    Ok(())
}
