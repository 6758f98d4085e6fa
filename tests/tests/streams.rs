//! Functions that return streams: the call lasts until the stream ends, each item's usage is
//! added (or taken as a running total), an `Err` item fails the call, a stream dropped early is a
//! cancelled call whose tokens still count, and tokens reach the enclosing stage poll by poll.

use futures_core::stream::BoxStream;
use futures_util::{Stream, StreamExt, stream};
use monitor_core::pricing::{Price, set_price};
use monitor_core::snapshot::error_patterns;
use monitor_core::{TokenUsage, Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use monitor_tests::support::{block_on, site};
use std::pin::Pin;
use std::time::Duration;

const EPS: f64 = 1e-12;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// An OpenAI-style chunk: text, and usage only in the last one.
#[derive(Debug, Clone)]
struct Chunk {
    text: &'static str,
    usage: Option<Tokens>,
}

impl TokenUsage for Chunk {
    fn token_usage(&self) -> Tokens {
        self.usage.unwrap_or_default()
    }
}

/// Chunks after `first` ms, then one every `gap` ms; usage in the last.
fn timed_chunks(first: u64, gap: u64, n: usize, usage: Tokens) -> impl Stream<Item = Chunk> {
    stream::iter(0..n).then(move |i| async move {
        let wait = if i == 0 { first } else { gap };
        tokio::time::sleep(Duration::from_millis(wait)).await;
        Chunk {
            text: "tok",
            usage: (i + 1 == n).then_some(usage),
        }
    })
}

#[tracks_tokens(model = "stream-openai", provider = "openai")]
fn chat(n: usize) -> impl Stream<Item = Chunk> {
    timed_chunks(40, 10, n, Tokens::new(1_000, 200).cached(600))
}

#[test]
fn a_stream_is_one_call_from_the_call_to_its_end_with_chunk_timings() {
    set_price(
        "stream-openai",
        Price::per_million(2.50, 10.00).with_cached_input(1.25),
    )
    .unwrap();
    let texts: Vec<&str> = runtime().block_on(chat(5).map(|c| c.text).collect());
    assert_eq!(texts.len(), 5);
    let s = site("chat").stats();
    assert_eq!((s.calls(), s.errors, s.cancelled, s.chunks), (1, 0, 0, 5));
    assert_eq!(
        (s.tokens.input, s.tokens.cached_input, s.tokens.output),
        (1_000, 600, 200)
    );
    // 400 fresh input at 2.50, 600 cached at 1.25, 200 output at 10.00.
    let expected = (400.0 * 2.50 + 600.0 * 1.25 + 200.0 * 10.00) / 1e6;
    assert!((s.cost_usd().unwrap() - expected).abs() < EPS, "{s:?}");
    // Timings: sleeps are at least as long as asked, and on a loaded machine up to ~25 ms
    // longer. First chunk after 40 ms; four gaps of 10 ms; the whole call 80 ms.
    let first = s.first_chunk.quantile(0.5);
    assert_eq!(s.first_chunk.count(), 1);
    assert!(
        first >= Duration::from_millis(39) && first < Duration::from_millis(70),
        "{first:?}"
    );
    let per_chunk = s.per_output_chunk.quantile(0.5);
    assert!(
        per_chunk >= Duration::from_millis(9) && per_chunk < Duration::from_millis(30),
        "{per_chunk:?}"
    );
    assert!(
        s.durations.max() >= Duration::from_millis(79)
            && s.durations.max() < Duration::from_millis(200),
        "{:?}",
        s.durations.max()
    );
}

/// Anthropic's events: `message_start` with the input (cache reads and writes apart from
/// `input_tokens`), deltas of text, `message_delta` with the output so far.
#[derive(Debug)]
enum Event {
    MessageStart {
        input_tokens: u64,
        cache_read: u64,
        cache_creation: u64,
        output_tokens: u64,
    },
    Text,
    MessageDelta {
        output_tokens: u64,
    },
}

impl TokenUsage for Event {
    fn token_usage(&self) -> Tokens {
        match *self {
            Event::MessageStart {
                input_tokens,
                cache_read,
                cache_creation,
                output_tokens,
            } => Tokens::new(input_tokens + cache_read + cache_creation, output_tokens)
                .cached(cache_read)
                .cache_write(cache_creation),
            Event::Text => Tokens::default(),
            Event::MessageDelta { output_tokens } => Tokens::new(0, output_tokens),
        }
    }

    fn is_running_total(&self) -> bool {
        true
    }

    fn model(&self) -> Option<&str> {
        match self {
            Event::MessageStart { .. } => Some("claude-stream"),
            _ => None,
        }
    }
}

fn anthropic_events() -> Vec<Event> {
    vec![
        Event::MessageStart {
            input_tokens: 100,
            cache_read: 2_000,
            cache_creation: 500,
            output_tokens: 1,
        },
        Event::Text,
        Event::MessageDelta { output_tokens: 40 },
        Event::Text,
        Event::MessageDelta { output_tokens: 90 },
    ]
}

#[tracks_tokens(provider = "anthropic")]
fn messages() -> Pin<Box<dyn Stream<Item = Event> + Send + 'static>> {
    Box::pin(stream::iter(anthropic_events()))
}

#[test]
fn running_totals_keep_the_latest_count_of_each_kind() {
    set_price(
        "claude-stream",
        Price::per_million(3.00, 15.00)
            .with_cached_input(0.30)
            .with_cache_write(3.75),
    )
    .unwrap();
    let n = block_on(messages().count());
    assert_eq!(n, 5);
    let s = site("messages").stats();
    assert_eq!(
        (
            s.tokens.input,
            s.tokens.cached_input,
            s.tokens.cache_write,
            s.tokens.output
        ),
        (2_600, 2_000, 500, 90),
        "{s:?}"
    );
    let expected = (100.0 * 3.00 + 2_000.0 * 0.30 + 500.0 * 3.75 + 90.0 * 15.00) / 1e6;
    assert!((s.cost_usd().unwrap() - expected).abs() < EPS, "{s:?}");
    // The model is the one the events named.
    let model = monitor_core::snapshot::models()
        .into_iter()
        .find(|m| m.model == "claude-stream")
        .unwrap();
    assert_eq!(
        (model.figures.token_calls, model.figures.tokens.output),
        (1, 90)
    );
}

#[tracks_tokens(model = "stream-cancel")]
fn cut_off() -> BoxStream<'static, Tokens> {
    stream::iter([Tokens::new(50, 0), Tokens::new(0, 7), Tokens::new(0, 9)]).boxed()
}

#[test]
fn a_stream_dropped_before_its_end_is_cancelled_and_its_tokens_are_priced() {
    set_price("stream-cancel", Price::per_million(1.00, 2.00)).unwrap();
    let mut s = cut_off();
    let first_two = block_on(async {
        let a = s.next().await.unwrap();
        let b = s.next().await.unwrap();
        (a, b)
    });
    assert_eq!(first_two.1.output, 7);
    drop(s);
    let stats = site("cut_off").stats();
    assert_eq!(
        (stats.calls(), stats.cancelled, stats.errors, stats.chunks),
        (1, 1, 0, 2)
    );
    assert_eq!((stats.tokens.input, stats.tokens.output), (50, 7));
    let expected = (50.0 * 1.00 + 7.0 * 2.00) / 1e6;
    assert!(
        (stats.cost_usd().unwrap() - expected).abs() < EPS,
        "{stats:?}"
    );
    assert_eq!(
        stats.durations.count(),
        0,
        "a cancelled call has no duration"
    );
}

#[derive(Debug)]
struct Overloaded;

impl std::fmt::Display for Overloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("provider overloaded after 3 chunks")
    }
}

#[tracks_tokens(model = "stream-errors")]
fn flaky() -> impl Stream<Item = Result<Tokens, Overloaded>> + Send {
    stream::iter([
        Ok(Tokens::new(10, 1)),
        Ok(Tokens::new(0, 2)),
        Err(Overloaded),
    ])
}

#[test]
fn an_err_item_makes_the_call_an_error() {
    let items: Vec<_> = block_on(flaky().collect::<Vec<_>>());
    assert_eq!(items.len(), 3);
    let s = site("flaky").stats();
    assert_eq!((s.calls(), s.errors, s.chunks), (1, 1, 3));
    assert_eq!((s.tokens.input, s.tokens.output), (10, 3));
    let pattern = error_patterns()
        .patterns
        .into_iter()
        .find(|p| p.site.name() == "flaky")
        .expect("the error is filed with its pattern");
    assert!(pattern.error_type.ends_with("Overloaded"), "{pattern:?}");
}

/// A provider's event that can report a failure inside a successful item, as the Responses API's
/// `response.failed` does.
#[derive(Debug)]
enum ProviderEvent {
    Delta,
    Usage(Tokens),
    Failed(&'static str),
}

impl TokenUsage for ProviderEvent {
    fn token_usage(&self) -> Tokens {
        match self {
            ProviderEvent::Usage(t) => *t,
            _ => Tokens::default(),
        }
    }
    fn has_usage(&self) -> bool {
        matches!(self, ProviderEvent::Usage(_))
    }
    fn failure(&self) -> Option<monitor_core::usage::Failure<'_>> {
        match self {
            ProviderEvent::Failed(message) => {
                Some(monitor_core::usage::Failure::new("overloaded", *message))
            }
            _ => None,
        }
    }
}

#[tracks_tokens(model = "stream-failure")]
fn failing_events() -> impl Stream<Item = Result<ProviderEvent, Overloaded>> + Send {
    stream::iter([
        Ok(ProviderEvent::Delta),
        Ok(ProviderEvent::Failed("overloaded mid-stream")),
        Ok(ProviderEvent::Usage(Tokens::new(40, 4))),
        // A later `Err` does not replace the first failure.
        Err(Overloaded),
    ])
}

#[tracks_tokens(model = "stream-failure")]
fn failing_events_left() -> impl Stream<Item = ProviderEvent> + Send {
    stream::iter([
        ProviderEvent::Delta,
        ProviderEvent::Failed("gave up"),
        ProviderEvent::Delta,
    ])
}

#[tracks_tokens(model = "stream-failure")]
fn failed_value() -> Option<ProviderEvent> {
    Some(ProviderEvent::Failed("refused the prompt"))
}

#[test]
fn an_item_that_reports_a_failure_makes_the_call_an_error() {
    let items: Vec<_> = block_on(failing_events().collect::<Vec<_>>());
    assert_eq!(items.len(), 4);
    let s = site("failing_events").stats();
    assert_eq!((s.calls(), s.errors, s.cancelled, s.chunks), (1, 1, 0, 4));
    // The usage reported after the failure still counts: those tokens were spent.
    assert_eq!((s.token_calls, s.tokens), (1, Tokens::new(40, 4)));
    let pattern = error_patterns()
        .patterns
        .into_iter()
        .find(|p| p.site.name() == "failing_events")
        .expect("the failure is filed with its pattern");
    assert_eq!(pattern.error_type, "overloaded", "{pattern:?}");

    // A consumer that stops at the failure drops the stream: a failed call, not a cancelled one.
    block_on(async {
        let mut events = std::pin::pin!(failing_events_left());
        while let Some(event) = events.next().await {
            if event.failure().is_some() {
                break;
            }
        }
    });
    let s = site("failing_events_left").stats();
    assert_eq!((s.calls(), s.errors, s.cancelled, s.chunks), (1, 1, 0, 2));
    assert_eq!(s.token_calls, 0);

    // A value that is not a stream, through `Option`'s forwarding.
    assert!(failed_value().is_some());
    let s = site("failed_value").stats();
    assert_eq!((s.calls(), s.errors, s.token_calls), (1, 1, 0));
}

#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection refused")
    }
}

#[tracks_tokens(model = "stream-open")]
async fn open(fail: bool) -> Result<BoxStream<'static, Tokens>, Refused> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    if fail {
        return Err(Refused);
    }
    Ok(stream::iter([Tokens::new(3, 0), Tokens::new(0, 4)]).boxed())
}

#[test]
fn an_async_fn_returning_a_result_of_a_stream_measures_the_stream() {
    let rt = runtime();
    let n = rt.block_on(async { open(false).await.unwrap().count().await });
    assert_eq!(n, 2);
    assert!(rt.block_on(open(true)).is_err());
    let s = site("open").stats();
    assert_eq!((s.calls(), s.errors, s.chunks), (2, 1, 2));
    assert_eq!((s.tokens.input, s.tokens.output, s.token_calls), (3, 4, 1));
    assert!(s.first_chunk.quantile(0.5) >= Duration::from_millis(5));
}

#[tracks_tokens(model = "stream-credit")]
fn credited() -> impl Stream<Item = Tokens> {
    stream::iter([Tokens::new(100, 0), Tokens::new(0, 5), Tokens::new(0, 6)])
}

#[pipeline_stage(pipeline = "streams", stage = "consume")]
async fn consume(take: usize) -> usize {
    credited().take(take).count().await
}

#[test]
fn tokens_reach_the_enclosing_stage_poll_by_poll_even_when_cut_off() {
    set_price("stream-credit", Price::per_million(1.0, 1.0)).unwrap();
    // `take(4)` polls past the third item and sees the end; `take(2)` drops the stream early.
    assert_eq!(block_on(consume(4)), 3);
    assert_eq!(block_on(consume(2)), 2);
    let stage = site("consume").stats();
    let own = site("credited").stats();
    assert_eq!((own.calls(), own.cancelled, own.token_calls), (2, 1, 2));
    assert_eq!(
        (stage.token_calls, stage.tokens.input, stage.tokens.output),
        (2, 200, 11 + 5)
    );
    assert!((stage.known_cost_usd() - own.known_cost_usd()).abs() < EPS);
    assert_eq!((own.tokens.input, own.tokens.output), (200, 16));
}

#[monitored_handler(route = "GET /stream")]
fn events_handler() -> impl Stream<Item = Result<&'static str, Overloaded>> {
    stream::iter([Ok("a"), Ok("bc")])
}

#[pipeline_stage(pipeline = "streams")]
fn produce() -> BoxStream<'static, u32> {
    stream::iter([1, 2, 3]).boxed()
}

#[test]
fn handlers_and_stages_measure_streams_too() {
    let n = block_on(events_handler().count());
    let m = block_on(produce().count());
    assert_eq!((n, m), (2, 3));
    let h = site("events_handler").stats();
    assert_eq!((h.calls(), h.chunks, h.errors, h.token_calls), (1, 2, 0, 0));
    let p = site("produce").stats();
    assert_eq!((p.calls(), p.chunks), (1, 3));
}

/// A boxed stream behind an alias, as a client crate names its streams
/// (`ChatCompletionResponseStream`): the signature shows no stream.
type Events = Pin<Box<dyn Stream<Item = Result<u32, Overloaded>> + Send>>;

/// Three events, 10 ms apart, the last an `Err`.
fn slow_events() -> Events {
    Box::pin(
        stream::iter([Ok(1), Ok(2), Err(Overloaded)]).then(|event| async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            event
        }),
    )
}

#[pipeline_stage(pipeline = "aliased")]
async fn aliased_stage() -> Events {
    slow_events()
}

#[monitored_handler(route = "GET /aliased")]
async fn aliased_handler(open: bool) -> Result<Events, Refused> {
    if open {
        Ok(slow_events())
    } else {
        Err(Refused)
    }
}

#[pipeline_stage(pipeline = "aliased")]
fn aliased_sync_stage() -> Events {
    slow_events()
}

#[monitored_handler(route = "GET /aliased-sync")]
fn aliased_sync_handler(open: bool, body: String) -> Result<Events, Refused> {
    if open && !body.is_empty() {
        Ok(slow_events())
    } else {
        Err(Refused)
    }
}

#[test]
fn sync_handlers_and_stages_measure_a_stream_behind_an_alias_until_it_ends() {
    let rt = runtime();
    let items: Vec<_> = rt.block_on(aliased_sync_stage().collect());
    assert_eq!(items.len(), 3);
    let s = site("aliased_sync_stage").stats();
    assert_eq!((s.calls(), s.chunks, s.errors), (1, 3, 1));
    assert!(
        s.durations.quantile(0.5) >= Duration::from_millis(29),
        "{s:?}"
    );

    let stream = aliased_sync_handler(true, "x".repeat(100)).unwrap();
    assert_eq!(rt.block_on(stream.count()), 3);
    assert!(aliased_sync_handler(false, String::new()).is_err());
    let h = site("aliased_sync_handler").stats();
    // The stream's `Err` event failed the first call; the `Err` instead of a stream the second.
    assert_eq!((h.calls(), h.chunks, h.cancelled, h.errors), (2, 3, 0, 2));
    // The arguments' sizes, as for any handler: the 100-byte body, then an empty one.
    assert_eq!(h.request_bytes, 100);
}

/// A stream of a concrete type cannot be measured and returned as itself: a handler that returns
/// one still compiles, and its call ends when it returns.
#[monitored_handler(route = "GET /concrete")]
async fn concrete_handler() -> stream::Iter<std::vec::IntoIter<u32>> {
    stream::iter(vec![1, 2])
}

#[test]
fn async_handlers_and_stages_measure_a_stream_behind_an_alias_until_it_ends() {
    let rt = runtime();
    let items: Vec<_> = rt.block_on(async { aliased_stage().await.collect().await });
    assert_eq!(items.len(), 3);
    let s = site("aliased_stage").stats();
    assert_eq!((s.calls(), s.chunks, s.errors), (1, 3, 1));
    // Until the last event, 30 ms after the call, not until the stream was returned.
    assert!(
        s.durations.quantile(0.5) >= Duration::from_millis(29),
        "{s:?}"
    );
    assert!(
        s.first_chunk.quantile(0.5) >= Duration::from_millis(9),
        "{s:?}"
    );

    let read = rt.block_on(async { aliased_handler(true).await.unwrap().take(2).count().await });
    assert_eq!(read, 2);
    assert!(rt.block_on(aliased_handler(false)).is_err());
    let h = site("aliased_handler").stats();
    // The stream dropped after two events is cancelled; the `Err` instead of a stream failed.
    assert_eq!((h.calls(), h.chunks, h.cancelled, h.errors), (2, 2, 1, 1));

    assert_eq!(
        rt.block_on(async { concrete_handler().await.count().await }),
        2
    );
    let c = site("concrete_handler").stats();
    assert_eq!((c.calls(), c.chunks, c.errors), (1, 0, 0));
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn measured_streams_stay_send() {
    assert_send(&flaky());
    assert_send(&open(false));
    assert_send(&messages());
}

/// Items per thread × threads: every chunk and every token counted exactly.
#[tracks_tokens(model = "stream-threads")]
fn threaded(i: u64) -> impl Stream<Item = Tokens> {
    stream::iter([Tokens::new(i, 0), Tokens::new(0, 1)])
}

#[test]
fn streams_on_many_threads_are_counted_exactly() {
    const THREADS: u64 = 4;
    const CALLS: u64 = 250;
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                for i in 0..CALLS {
                    let n = block_on(threaded(i).count());
                    assert_eq!(n, 2);
                }
            });
        }
    });
    let s = site("threaded").stats();
    assert_eq!(s.calls(), THREADS * CALLS);
    assert_eq!(s.chunks, 2 * THREADS * CALLS);
    assert_eq!(s.tokens.output, THREADS * CALLS);
    assert_eq!(s.tokens.input, THREADS * (0..CALLS).sum::<u64>());
}

/// A long-context call whose input arrives over two chunks and crosses the tier's threshold on
/// the second: the whole call is billed at the tier's rates, and the enclosing stage, credited
/// poll by poll, ends with the same cost.
#[tracks_tokens(model = "stream-tiered")]
fn long_context() -> impl Stream<Item = Tokens> {
    stream::iter([
        Tokens::new(150_000, 0),
        Tokens::new(100_000, 0),
        Tokens::new(0, 1_000),
    ])
}

#[pipeline_stage(pipeline = "streams", stage = "summarise")]
async fn summarise() -> usize {
    long_context().count().await
}

#[test]
fn a_stream_crossing_a_long_context_threshold_is_billed_at_the_tier_for_every_token() {
    set_price(
        "stream-tiered",
        Price::per_million(1.25, 10.00).with_tier(200_000, Price::per_million(2.50, 15.00)),
    )
    .unwrap();
    assert_eq!(block_on(summarise()), 3);
    let own = site("long_context").stats();
    let stage = site("summarise").stats();
    // 250k input > 200k: every token at the tier's rates.
    let expected = (250_000.0 * 2.50 + 1_000.0 * 15.00) / 1e6;
    assert!((own.cost_usd().unwrap() - expected).abs() < 1e-9, "{own:?}");
    assert!(
        (stage.cost_usd().unwrap() - expected).abs() < 1e-9,
        "{stage:?}"
    );
    assert_eq!((stage.tokens.input, stage.tokens.output), (250_000, 1_000));
}

/// The provider answers a request for `gpt-5` with a dated model.
#[derive(Debug)]
struct Answer;

impl TokenUsage for Answer {
    fn token_usage(&self) -> Tokens {
        Tokens::new(5, 5)
    }
    fn model(&self) -> Option<&str> {
        Some("gpt-5-2025-08-07")
    }
}

#[tracks_tokens(model = "gpt-5", provider = "openai", operation = "text_completion")]
fn answered() -> Answer {
    Answer
}

#[test]
fn the_model_a_response_names_is_its_response_model() {
    answered();
    let snapshot = monitor_core::snapshot();
    let s = snapshot
        .sites
        .iter()
        .find(|s| s.site.name() == "answered")
        .unwrap();
    assert_eq!(s.response_model("gpt-5"), "gpt-5-2025-08-07");
    assert_eq!(s.site.operation(), "text_completion");
    let text = monitor_export::render(&snapshot);
    assert!(
        text.contains(
            "gen_ai_client_token_usage_count{gen_ai_operation_name=\"text_completion\",gen_ai_provider_name=\"openai\",gen_ai_request_model=\"gpt-5\",gen_ai_response_model=\"gpt-5-2025-08-07\",gen_ai_token_type=\"input\"} 1\n"
        ),
        "{text}"
    );
}

#[tracks_tokens(model = "stream-question-mark")]
fn failing_midway() -> impl Stream<Item = Result<Tokens, Overloaded>> {
    stream::iter([
        Ok(Tokens::new(20, 2)),
        Err(Overloaded),
        Ok(Tokens::new(0, 5)),
    ])
}

/// The natural consumer: `?` on each item, so the stream is dropped at the first `Err`.
async fn read_all() -> Result<u64, Overloaded> {
    let mut s = std::pin::pin!(failing_midway());
    let mut output = 0;
    while let Some(item) = s.next().await {
        output += item?.output;
    }
    Ok(output)
}

#[test]
fn a_stream_dropped_at_its_first_err_is_a_failed_call_not_a_cancelled_one() {
    assert!(block_on(read_all()).is_err());
    let s = site("failing_midway").stats();
    assert_eq!((s.calls(), s.errors, s.cancelled, s.chunks), (1, 1, 0, 2));
    assert_eq!((s.tokens.input, s.tokens.output), (20, 2));
    assert_eq!(s.durations.count(), 1, "a failed call has its duration");
}

#[async_trait::async_trait]
trait Provider {
    async fn stream(&self) -> BoxStream<'static, Tokens>;
}

struct Remote;

#[async_trait::async_trait]
impl Provider for Remote {
    #[tracks_tokens(model = "stream-async-trait")]
    async fn stream(&self) -> BoxStream<'static, Tokens> {
        tokio::time::sleep(Duration::from_millis(3)).await;
        stream::iter([Tokens::new(4, 0), Tokens::new(0, 6)]).boxed()
    }
}

#[test]
fn an_async_trait_method_returning_a_stream_is_measured_to_the_stream_end() {
    let rt = runtime();
    let n = rt.block_on(async { Remote.stream().await.count().await });
    assert_eq!(n, 2);
    let s = site("stream").stats();
    assert_eq!(
        (s.calls(), s.chunks, s.tokens.input, s.tokens.output),
        (1, 2, 4, 6)
    );
    assert!(s.first_chunk.quantile(0.5) >= Duration::from_millis(3));
}
