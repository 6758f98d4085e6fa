//! `#[tracks_tokens]` on a function returning async-openai's `CreateChatCompletionResponse`
//! (monitor-core's feature `async-openai`): the usage, the cached and reasoning tokens and the model
//! read off the response, priced and recorded, beside the floor every timing pays.
//!
//! `cargo bench -p monitor-benches --bench async_openai`. The response is handed in and out by
//! value, as a client's call returns it; it is made before and dropped after the timed loop
//! (`iter_batched`), so only the call and its instrumentation are timed.

use async_openai::types::chat::CreateChatCompletionResponse;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use monitor_benches::quanta_pair;
use monitor_core::pricing::Price;
use monitor_core::tracks_tokens;
use std::hint::black_box;

/// A chat completion as OpenAI documents it, with cached and reasoning tokens.
const CHAT_COMPLETION: &str = include_str!("../../tests/fixtures/openai_chat_completion.json");

#[inline(never)]
fn bare_chat(response: CreateChatCompletionResponse) -> CreateChatCompletionResponse {
    black_box(response)
}

// No `model` argument: the model is the one the response names, looked up by name per call.
#[tracks_tokens(provider = "openai")]
#[inline(never)]
fn chat(response: CreateChatCompletionResponse) -> CreateChatCompletionResponse {
    black_box(response)
}

#[tracks_tokens(model = "o3-mini", provider = "openai")]
#[inline(never)]
fn chat_with_model(response: CreateChatCompletionResponse) -> CreateChatCompletionResponse {
    black_box(response)
}

fn chat_completion(c: &mut Criterion) {
    for model in ["o3-mini-2025-01-31", "o3-mini"] {
        monitor_core::pricing::set_price(
            model,
            Price::per_million(1.10, 4.40).with_cached_input(0.55),
        )
        .expect("a valid price");
    }
    let response: CreateChatCompletionResponse =
        serde_json::from_str(CHAT_COMPLETION).expect("OpenAI's documented JSON");
    let mut g = c.benchmark_group("a CreateChatCompletionResponse (async-openai)");
    g.bench_function("floor: quanta clock pair", |b| {
        b.iter(|| quanta_pair(black_box(7)))
    });
    g.bench_function("bare call returning it", |b| {
        b.iter_batched(|| response.clone(), bare_chat, BatchSize::SmallInput)
    });
    g.bench_function("#[tracks_tokens], model from the response", |b| {
        b.iter_batched(|| response.clone(), chat, BatchSize::SmallInput)
    });
    g.bench_function("#[tracks_tokens(model = \"…\")]", |b| {
        b.iter_batched(|| response.clone(), chat_with_model, BatchSize::SmallInput)
    });
    g.finish();
}

criterion_group!(benches, chat_completion);
criterion_main!(benches);
