//! Reading the usage off async-openai's `CreateChatCompletionResponse` (feature `async-openai`)
//! allocates nothing: not the impl, and not a `#[tracks_tokens]` call that records it, priced,
//! with the model the response names looked up by name. Its own binary, with the counting
//! allocator, and one test, so that no other test's allocations land in the count.

use async_openai::types::chat::CreateChatCompletionResponse;
use monitor_core::memory::{MonitoredAlloc, heap};
use monitor_core::pricing::{Price, set_price};
use monitor_core::{TokenUsage, Tokens, tracks_tokens};

#[global_allocator]
static ALLOC: MonitoredAlloc = MonitoredAlloc::system();

/// A chat completion by a reasoning model, as OpenAI documents it.
const CHAT_COMPLETION: &str = include_str!("../fixtures/openai_chat_completion.json");

/// The response is handed in and out, so that the call itself makes nothing.
#[tracks_tokens(provider = "openai")]
fn chat(response: CreateChatCompletionResponse) -> CreateChatCompletionResponse {
    response
}

#[test]
fn reading_and_recording_a_chat_completion_allocates_nothing() {
    set_price(
        "o3-mini-2025-01-31",
        Price::per_million(1.10, 4.40).with_cached_input(0.55),
    )
    .unwrap();
    let mut response: CreateChatCompletionResponse = serde_json::from_str(CHAT_COMPLETION).unwrap();
    let expected = Tokens::new(1117, 346).cached(1024).reasoning(256);

    // Warm: the thread's stripes, the model's entry.
    for _ in 0..100 {
        response = chat(response);
    }
    // The count is the process's: the test harness's own thread allocates now and then (a few
    // times in a run of half a second on a loaded machine, an idle loop alike). So: rounds, and
    // the fewest allocations of any — a read or a call that allocated would make every round do.
    let mut read = Tokens::default();
    let mut fewest = u64::MAX;
    for _ in 0..5 {
        let before = heap().allocations;
        for _ in 0..2_000 {
            read = read.plus(response.token_usage());
            assert_eq!(response.model(), Some("o3-mini-2025-01-31"));
            response = chat(response);
        }
        fewest = fewest.min(heap().allocations - before);
    }
    assert_eq!(fewest, 0, "every round of 2,000 reads and calls allocated");
    assert_eq!(read.input, 10_000 * expected.input);

    let stats = monitor_core::sites()
        .find(|s| s.name() == "chat")
        .unwrap()
        .stats();
    assert_eq!(stats.token_calls, 10_100);
    assert_eq!(stats.tokens.reasoning, 10_100 * 256);
    assert!(stats.cost_usd().is_some_and(|c| c > 0.0));
}
