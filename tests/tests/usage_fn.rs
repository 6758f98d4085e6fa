//! `#[tracks_tokens(usage = f)]`: the usage of a type that implements no `TokenUsage` (another
//! crate's), read by a function: from a value, from a `Result`'s `Ok` (an `Err` reports none),
//! from each item of a stream, with the model the function names; a stream cut off before the
//! item with usage has its usage unknown.

use futures_util::{Stream, StreamExt, stream};
use monitor_core::pricing::{Price, set_price};
use monitor_core::{Tokens, tracks_tokens};
use monitor_tests::support::{block_on, site};
use std::pin::Pin;

/// A client's types, as another crate would define them (genai's `ChatResponse` has this shape:
/// optional counts, the model the provider reported).
#[allow(unreachable_pub)] // public, as another crate's are
mod client {
    pub struct Usage {
        pub prompt_tokens: Option<i32>,
        pub completion_tokens: Option<i32>,
        pub cached_tokens: Option<i32>,
    }

    pub struct ChatResponse {
        pub text: String,
        pub model: String,
        pub usage: Usage,
    }

    pub enum Event {
        Text(#[allow(dead_code)] String),
        End { usage: Usage, model: String },
    }

    #[derive(Debug)]
    pub struct Error(pub &'static str);

    impl std::fmt::Display for Error {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
}

use client::{ChatResponse, Error, Event, Usage};

fn tokens_of(u: &Usage) -> Tokens {
    let n = |v: Option<i32>| v.map_or(0, |v| u64::try_from(v).unwrap_or(0));
    Tokens::new(n(u.prompt_tokens), n(u.completion_tokens)).cached(n(u.cached_tokens))
}

/// The usage and the model that answered.
fn chat_usage(response: &ChatResponse) -> (Tokens, &str) {
    (tokens_of(&response.usage), &response.model)
}

/// Only the last event has usage: the others say they have none.
fn event_usage(event: &Event) -> Option<(Tokens, &str)> {
    match event {
        Event::Text(_) => None,
        Event::End { usage, model } => Some((tokens_of(usage), model)),
    }
}

fn response(prompt: &str) -> ChatResponse {
    ChatResponse {
        text: prompt.to_uppercase(),
        model: "usage-fn-model-2025".to_owned(),
        usage: Usage {
            prompt_tokens: Some(1_000),
            completion_tokens: Some(50),
            cached_tokens: Some(800),
        },
    }
}

fn priced() {
    set_price(
        "usage-fn-model-2025",
        Price::per_million(2.0, 8.0).with_cached_input(0.5),
    )
    .unwrap();
}

#[tracks_tokens(usage = chat_usage, provider = "openai")]
fn plain_chat(prompt: &str) -> ChatResponse {
    response(prompt)
}

#[test]
fn a_value_reports_what_the_function_reads_off_it() {
    priced();
    assert_eq!(plain_chat("a fox").text, "A FOX");
    let s = site("plain_chat").stats();
    assert_eq!((s.calls(), s.token_calls), (1, 1));
    assert_eq!(s.tokens, Tokens::new(1_000, 50).cached(800));
    // 200 fresh at 2.00, 800 cached at 0.50, 50 out at 8.00: priced as the model it named.
    let expected = (200.0 * 2.0 + 800.0 * 0.5 + 50.0 * 8.0) / 1e6;
    assert!((s.cost_usd().unwrap() - expected).abs() < 1e-12, "{s:?}");
    let models = monitor_core::snapshot::models();
    let model = models
        .iter()
        .find(|m| m.model == "usage-fn-model-2025")
        .unwrap();
    assert!(model.figures.token_calls >= 1);
}

#[tracks_tokens(usage = chat_usage, model = "usage-fn-asked")]
async fn result_chat(prompt: &'static str) -> Result<ChatResponse, Error> {
    if prompt.is_empty() {
        return Err(Error("empty prompt"));
    }
    Ok(response(prompt))
}

#[test]
fn a_result_reports_its_ok_and_an_err_reports_nothing() {
    assert!(block_on(result_chat("hi")).is_ok());
    assert!(block_on(result_chat("")).is_err());
    let s = site("result_chat").stats();
    assert_eq!((s.calls(), s.errors, s.token_calls), (2, 1, 1));
    assert_eq!(s.tokens, Tokens::new(1_000, 50).cached(800));
    // `model = …` says what the call is priced as; the model the response named is noted.
    let site = site("result_chat");
    assert_eq!(site.model(), Some("usage-fn-asked"));
}

type Events = Pin<Box<dyn Stream<Item = Result<Event, Error>> + Send>>;

fn events(fail: bool) -> Events {
    let end = Event::End {
        usage: Usage {
            prompt_tokens: Some(300),
            completion_tokens: Some(20),
            cached_tokens: None,
        },
        model: "usage-fn-model-2025".to_owned(),
    };
    let items = [
        Ok(Event::Text("a".into())),
        if fail {
            Err(Error("connection reset"))
        } else {
            Ok(Event::Text("b".into()))
        },
        Ok(end),
    ];
    Box::pin(stream::iter(items))
}

#[tracks_tokens(usage = event_usage, provider = "openai")]
fn stream_chat(fail: bool) -> Result<Events, Error> {
    Ok(events(fail))
}

#[test]
fn a_stream_reports_what_the_function_reads_off_each_item() {
    priced();
    let items: Vec<_> = block_on(stream_chat(false).unwrap().collect());
    assert_eq!(items.len(), 3);
    let s = site("stream_chat").stats();
    assert_eq!((s.calls(), s.chunks, s.token_calls), (1, 3, 1));
    assert_eq!(s.tokens, Tokens::new(300, 20));
    assert!(s.cost_usd().is_some_and(|c| c > 0.0), "{s:?}");
}

#[tracks_tokens(usage = event_usage, provider = "openai")]
fn stream_chat_cut_off() -> impl Stream<Item = Result<Event, Error>> {
    events(false)
}

#[test]
fn a_stream_cut_off_before_its_usage_item_has_its_usage_unknown() {
    block_on(async {
        let mut items = Box::pin(stream_chat_cut_off());
        assert!(items.next().await.is_some_and(|i| i.is_ok()));
    });
    let s = site("stream_chat_cut_off").stats();
    assert_eq!((s.calls(), s.cancelled, s.chunks), (1, 1, 1));
    assert_eq!((s.token_calls, s.tokens), (0, Tokens::default()));
}

#[tracks_tokens(usage = event_usage)]
fn stream_chat_failing() -> Result<Events, Error> {
    Ok(events(true))
}

#[test]
fn an_err_item_reports_nothing_and_fails_the_call() {
    let items: Vec<_> = block_on(stream_chat_failing().unwrap().collect());
    assert_eq!(items.len(), 3);
    let s = site("stream_chat_failing").stats();
    assert_eq!((s.calls(), s.errors, s.chunks), (1, 1, 3));
    // The item after the error still had its usage.
    assert_eq!((s.token_calls, s.tokens), (1, Tokens::new(300, 20)));
}
