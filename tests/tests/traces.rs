//! Runs as traces: nesting (sync, async, across threads, handed-over work), the tail rules over
//! head sampling, what a span holds, the bounds, propagation through a request scope, and metrics
//! that stay exact whatever is sampled.
//!
//! Its own binary: tracing and its sampler are process-wide. Head sampling is off for the whole
//! binary (`always_off`, parent-based), so a run is kept only by a tail rule or by a sampled
//! `traceparent`; each test reads back only the runs of its own sites.

use futures_util::{Stream, StreamExt, stream};
use monitor_core::request::RequestScope;
use monitor_core::trace::{
    self, InCurrentRun, KeepReason, KeptRun, Sampler, SpanOutcome, TraceParent,
};
use monitor_core::{Config, TokenUsage, Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use monitor_tests::support::site;
use std::sync::{Arc, Once};
use std::time::Duration;

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        Config::new()
            .traces(true)
            .trace_sampler(Sampler::ParentBasedAlwaysOff)
            .apply()
            .unwrap();
        monitor_core::pricing::set_price(
            "trace-model",
            monitor_core::pricing::Price::per_million(2.0, 8.0),
        )
        .unwrap();
    });
}

/// The kept runs whose root is the site named `root`, newest first.
fn runs_of(root: &str) -> Vec<Arc<KeptRun>> {
    trace::recent_runs()
        .into_iter()
        .filter(|r| r.root().site.name() == root)
        .collect()
}

fn only_run_of(root: &str) -> Arc<KeptRun> {
    let runs = runs_of(root);
    assert_eq!(runs.len(), 1, "runs of {root}: {runs:#?}");
    runs[0].clone()
}

// --- synchronous nesting -----------------------------------------------------------------------

#[tracks_tokens(model = "trace-model", provider = "openai")]
fn sync_llm(fail: bool) -> Result<Tokens, String> {
    if fail {
        Err("rate limited: retry after 1s".into())
    } else {
        Ok(Tokens::new(1_000, 100).cached(400))
    }
}

#[pipeline_stage(pipeline = "trace-sync", stage = "concepts")]
fn sync_concepts(fail_first: bool) -> Result<(), String> {
    // A retried call: the failed attempt and the retry are siblings.
    if sync_llm(fail_first).is_err() {
        sync_llm(false)?;
    }
    Ok(())
}

#[monitored_handler(route = "POST /trace-sync")]
fn sync_handler(fail_first: bool, fail: bool) -> Result<(), String> {
    sync_concepts(fail_first)?;
    if fail {
        return Err("render failed".into());
    }
    Ok(())
}

#[test]
fn a_failed_run_is_kept_whole_with_its_tree_and_figures() {
    setup();
    // Dropped: succeeded and not drawn.
    sync_handler(false, false).unwrap();
    assert!(runs_of("sync_handler").is_empty());
    let unsampled_before = trace::stats().unsampled;
    sync_handler(true, true).unwrap_err();
    assert!(trace::stats().unsampled >= unsampled_before);

    let run = only_run_of("sync_handler");
    assert_eq!(run.kept, KeepReason::Failed);
    assert!(!run.head_sampled);
    assert_eq!(run.span_count(), 4, "{run:#?}");
    let root = run.root();
    assert_eq!(root.parent, None);
    assert_eq!(root.outcome, SpanOutcome::Error);
    assert_eq!(root.error_message.as_deref(), Some("render failed"));
    let stage = run.spans().nth(1).unwrap();
    assert_eq!(stage.site.name(), "sync_concepts");
    assert_eq!(stage.parent, Some(root.id));
    let calls: Vec<_> = run.spans().skip(2).collect();
    for call in &calls {
        assert_eq!(call.site.name(), "sync_llm");
        // Retries are siblings under the stage.
        assert_eq!(call.parent, Some(stage.id));
        assert!(call.offset >= stage.offset);
        assert!(call.offset + call.duration <= stage.offset + stage.duration);
        assert_eq!(call.model, Some("trace-model"));
    }
    assert_eq!(calls[0].outcome, SpanOutcome::Error);
    assert_eq!(calls[0].tokens, None);
    assert_eq!(calls[1].outcome, SpanOutcome::Ok);
    let tokens = calls[1].tokens.unwrap();
    assert_eq!(
        (tokens.input, tokens.cached_input, tokens.output),
        (1_000, 400, 100)
    );
    // 600 fresh input at 2.0, 400 cached at 2.0 (no cached price), 100 output at 8.0.
    let cost = calls[1].cost_usd().unwrap();
    assert!(
        (cost - (1_000.0 * 2.0 + 100.0 * 8.0) / 1e6).abs() < 1e-12,
        "{cost}"
    );
    // Tokens sit on the LLM span only; the run's totals are read, not stored twice.
    assert_eq!(stage.tokens, None);
    assert_eq!(root.tokens, None);
    assert_eq!(run.tokens_under(root.id), tokens);
    assert_eq!(run.tokens_under(stage.id), tokens);
    // Ids are unique.
    let mut ids: Vec<_> = run.spans().map(|s| s.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
    // Kept spans are counted on their sites.
    assert!(site("sync_handler").stats().traces_kept >= 1);
    assert!(site("sync_llm").stats().traces_kept >= 2);
    assert!(trace::find_run(run.trace_id).is_some());
}

// --- a synchronous call that panics ------------------------------------------------------------

#[tracks_tokens(model = "trace-model", provider = "openai")]
fn panicking_llm(panic: bool) -> Tokens {
    assert!(!panic, "the client panicked");
    Tokens::new(10, 1)
}

#[pipeline_stage(pipeline = "trace-panic", stage = "draft")]
fn panicking_stage(panic: bool) -> u32 {
    panicking_llm(panic);
    1
}

#[monitored_handler(route = "POST /trace-panic")]
fn panic_handler() -> Result<u32, String> {
    // The stage unwinds through the call and itself; the handler catches it and goes on, so the
    // spans after it must hang under the handler again, not under the unwound stage. It fails at
    // the end, so that the run is kept.
    let caught = std::panic::catch_unwind(|| panicking_stage(true));
    assert!(caught.is_err());
    Err(format!("drafted {} after a panic", panicking_stage(false)))
}

#[test]
fn calls_that_unwind_end_their_spans_and_give_the_place_back() {
    setup();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let calls_before = site("panicking_llm").stats().calls();
    let result = panic_handler();
    std::panic::set_hook(hook);
    assert_eq!(result, Err("drafted 1 after a panic".to_owned()));
    // Both the panicking call and the one after it are counted.
    assert_eq!(site("panicking_llm").stats().calls(), calls_before + 2);

    let run = only_run_of("panic_handler");
    assert_eq!(run.kept, KeepReason::Failed, "{run:#?}");
    assert_eq!(run.span_count(), 5, "{run:#?}");
    let root = run.root();
    assert_eq!(root.outcome, SpanOutcome::Error);
    let stages: Vec<_> = run
        .spans()
        .filter(|s| s.site.name() == "panicking_stage")
        .collect();
    let llms: Vec<_> = run
        .spans()
        .filter(|s| s.site.name() == "panicking_llm")
        .collect();
    assert_eq!((stages.len(), llms.len()), (2, 2), "{run:#?}");
    for stage in &stages {
        assert_eq!(stage.parent, Some(root.id));
    }
    assert_eq!(stages[0].outcome, SpanOutcome::Panicked);
    assert_eq!(stages[0].error_type, Some("panic"));
    assert_eq!(llms[0].parent, Some(stages[0].id));
    assert_eq!(llms[0].outcome, SpanOutcome::Panicked);
    assert_eq!(llms[0].model, Some("trace-model"));
    assert_eq!(llms[0].tokens, None);
    assert_eq!(stages[1].outcome, SpanOutcome::Ok);
    assert_eq!(llms[1].parent, Some(stages[1].id));
    assert_eq!(llms[1].tokens, Some(Tokens::new(10, 1)));
}

/// An error whose `Display` panics: monitor reads it after the body returned, to file the error.
#[derive(Debug)]
struct PanickyError;

impl std::fmt::Display for PanickyError {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("Display of PanickyError")
    }
}

#[monitored_handler(route = "POST /trace-panicky-error")]
fn panicky_error_handler() -> Result<(), PanickyError> {
    Err(PanickyError)
}

#[test]
fn a_panic_while_the_value_is_read_still_ends_the_run() {
    setup();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(panicky_error_handler);
    std::panic::set_hook(hook);
    assert!(caught.is_err());
    // The run ended with the call (a run is kept only when it ends, and is no longer counted in
    // flight then), its root panicked. Other tests' runs may be in flight meanwhile, so the count
    // itself is not compared.
    let run = only_run_of("panicky_error_handler");
    assert_eq!(run.root().outcome, SpanOutcome::Panicked);
}

// --- async nesting, across threads -------------------------------------------------------------

#[tracks_tokens(model = "trace-model", provider = "openai")]
async fn async_llm() -> Tokens {
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(2)).await;
    Tokens::new(10, 5)
}

#[pipeline_stage(pipeline = "trace-async", stage = "analyse")]
async fn async_stage() -> Result<(), String> {
    for _ in 0..3 {
        async_llm().await;
        tokio::task::yield_now().await;
    }
    Ok(())
}

#[pipeline_stage(pipeline = "trace-async", stage = "helper")]
fn spawned_stage() -> u32 {
    7
}

#[monitored_handler(route = "GET /trace-async")]
async fn async_handler(join: bool) -> Result<(), String> {
    async_stage().await?;
    // Work handed to another task: joins the run only with the adapter.
    let work = async { spawned_stage() };
    let handle = if join {
        tokio::spawn(work.in_current_run())
    } else {
        tokio::spawn(work)
    };
    handle.await.map_err(|e| e.to_string())?;
    Err("async failure".into())
}

#[test]
fn async_calls_nest_across_awaits_threads_and_joined_tasks() {
    setup();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(3)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::spawn(async_handler(true))
            .await
            .unwrap()
            .unwrap_err();
    });
    let run = only_run_of("async_handler");
    assert_eq!(run.kept, KeepReason::Failed);
    let root = run.root();
    let stage = run
        .spans()
        .find(|s| s.site.name() == "async_stage")
        .unwrap();
    assert_eq!(stage.parent, Some(root.id));
    let llm: Vec<_> = run
        .spans()
        .filter(|s| s.site.name() == "async_llm")
        .collect();
    assert_eq!(llm.len(), 3);
    assert!(llm.iter().all(|s| s.parent == Some(stage.id)));
    let joined = run
        .spans()
        .find(|s| s.site.name() == "spawned_stage")
        .unwrap();
    assert_eq!(joined.parent, Some(root.id));
    assert_eq!(run.tokens_under(root.id), Tokens::new(30, 15));

    // Without the adapter, the spawned work is a run of its own (not kept: it succeeded).
    let before = trace::stats().unsampled;
    rt.block_on(async {
        tokio::spawn(async_handler(false))
            .await
            .unwrap()
            .unwrap_err();
    });
    let run = runs_of("async_handler")[0].clone();
    assert!(run.spans().all(|s| s.site.name() != "spawned_stage"));
    assert!(trace::stats().unsampled > before);
}

#[pipeline_stage(pipeline = "trace-thread", stage = "worker")]
fn thread_work() -> Result<(), String> {
    Err("worker failed".into())
}

#[monitored_handler(route = "POST /trace-thread")]
fn thread_handler() -> Result<(), String> {
    let run = trace::current_run().expect("inside a run");
    std::thread::spawn(move || run.in_scope(thread_work))
        .join()
        .unwrap()
}

#[test]
fn a_thread_joins_the_run_through_its_handle() {
    setup();
    thread_handler().unwrap_err();
    let run = only_run_of("thread_handler");
    assert_eq!(run.span_count(), 2);
    assert_eq!(run.spans().nth(1).unwrap().site.name(), "thread_work");
    assert_eq!(run.spans().nth(1).unwrap().parent, Some(run.root().id));
}

// --- cancellation and streams ------------------------------------------------------------------

#[pipeline_stage(pipeline = "trace-cancel", stage = "slow")]
async fn never_finishes() {
    std::future::pending::<()>().await;
}

#[test]
fn a_dropped_root_is_kept_as_cancelled() {
    setup();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_millis(5), never_finishes()).await;
    });
    let run = only_run_of("never_finishes");
    assert_eq!(run.kept, KeepReason::Cancelled);
    assert_eq!(run.root().outcome, SpanOutcome::Cancelled);
}

#[derive(Debug, Clone)]
struct Chunk(Option<Tokens>);

impl TokenUsage for Chunk {
    fn token_usage(&self) -> Tokens {
        self.0.unwrap_or_default()
    }

    fn has_usage(&self) -> bool {
        self.0.is_some()
    }
}

#[tracks_tokens(model = "trace-model", provider = "openai")]
fn streamed(n: usize) -> impl Stream<Item = Chunk> {
    stream::iter(0..n).then(move |i| async move {
        tokio::time::sleep(Duration::from_millis(if i == 0 { 20 } else { 1 })).await;
        Chunk(Some(Tokens::new(if i == 0 { 50 } else { 0 }, 10)))
    })
}

#[monitored_handler(route = "POST /trace-stream")]
async fn stream_handler(take: usize) -> Result<usize, String> {
    let n = streamed(4).take(take).count().await;
    Err(format!("took {n}"))
}

#[test]
fn a_streamed_call_carries_its_first_chunk_chunks_and_tokens_even_when_cut() {
    setup();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(stream_handler(10)).unwrap_err();
    rt.block_on(stream_handler(2)).unwrap_err();
    let runs = runs_of("stream_handler");
    assert_eq!(runs.len(), 2);
    // Newest first: the cut stream.
    let cut = runs[0]
        .spans()
        .find(|s| s.site.name() == "streamed")
        .unwrap();
    let whole = runs[1]
        .spans()
        .find(|s| s.site.name() == "streamed")
        .unwrap();
    assert_eq!(whole.outcome, SpanOutcome::Ok);
    assert_eq!(whole.chunks, Some(4));
    assert_eq!(whole.tokens, Some(Tokens::new(50, 40)));
    let first = whole.first_chunk.unwrap();
    assert!(
        first >= Duration::from_millis(19) && first < whole.duration,
        "{first:?}"
    );
    // Cut after two chunks: cancelled, with the tokens it yielded.
    assert_eq!(cut.outcome, SpanOutcome::Cancelled);
    assert_eq!(cut.chunks, Some(2));
    assert_eq!(cut.tokens, Some(Tokens::new(50, 20)));
    assert!(cut.cost_usd().unwrap() > 0.0);
}

/// A boxed stream behind an alias, as async-openai's `ChatCompletionResponseStream` is: measured
/// by its type, and its span goes on with it.
type BoxedChunks = std::pin::Pin<Box<dyn Stream<Item = Result<Chunk, String>> + Send>>;

#[tracks_tokens(model = "trace-model", provider = "openai")]
fn boxed_streamed(n: usize) -> Result<BoxedChunks, String> {
    Ok(Box::pin(stream::iter(0..n).map(move |i| {
        Ok(Chunk(
            (i + 1 == n).then(|| Tokens::new(30, 6)), // usage in the last chunk, as OpenAI's
        ))
    })))
}

#[monitored_handler(route = "POST /trace-boxed-stream")]
async fn boxed_stream_handler(take: usize) -> Result<usize, String> {
    let stream = boxed_streamed(3)?;
    let n = stream.take(take).count().await;
    Err(format!("read {n}"))
}

#[test]
fn a_stream_behind_an_alias_takes_its_span_along_whole_or_cut() {
    setup();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(boxed_stream_handler(10)).unwrap_err();
    rt.block_on(boxed_stream_handler(1)).unwrap_err();
    let runs = runs_of("boxed_stream_handler");
    assert_eq!(runs.len(), 2, "{runs:#?}");
    let span = |run: &KeptRun| {
        run.spans()
            .find(|s| s.site.name() == "boxed_streamed")
            .unwrap_or_else(|| panic!("no stream span: {run:#?}"))
    };
    // Newest first: cut after one chunk, before its usage.
    let (cut, whole) = (span(&runs[0]), span(&runs[1]));
    assert_eq!(whole.parent, Some(runs[1].root().id));
    assert_eq!(whole.outcome, SpanOutcome::Ok);
    assert_eq!(whole.chunks, Some(3));
    assert_eq!(whole.tokens, Some(Tokens::new(30, 6)));
    assert!(whole.first_chunk.is_some());
    assert_eq!(cut.parent, Some(runs[0].root().id));
    assert_eq!(cut.outcome, SpanOutcome::Cancelled);
    assert_eq!(cut.chunks, Some(1));
    // Its usage never came: unknown, not zero.
    assert_eq!(cut.tokens, None);
}

// --- request scopes and propagation ------------------------------------------------------------

#[pipeline_stage(pipeline = "trace-request", stage = "inner")]
fn request_inner() -> Option<String> {
    trace::current_traceparent()
}

#[monitored_handler(route = "GET /trace-request")]
fn request_handler() -> Result<Option<String>, String> {
    Ok(request_inner())
}

#[test]
fn a_request_continues_the_callers_trace_and_its_handler_is_the_root() {
    setup();
    let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let parent = TraceParent::parse(header)
        .unwrap()
        .with_tracestate(Some("vendor=abc"));
    let mut scope = RequestScope::continuing(Some(parent.clone()));
    let outgoing = scope.in_scope(request_handler).unwrap();
    scope.complete(200, Some(0), Some(10), "GET /trace-request");

    // Sampled by the caller: kept though it succeeded.
    let run = only_run_of("request_handler");
    assert_eq!(run.kept, KeepReason::Sampled);
    assert!(run.head_sampled);
    assert_eq!(run.trace_id, parent.trace_id);
    assert_eq!(run.remote_parent, Some(parent.span_id));
    assert_eq!(run.tracestate.as_deref(), Some("vendor=abc"));
    assert_eq!(run.span_count(), 2);
    let root = run.root();
    assert_eq!(root.status, Some(200));
    assert_eq!(root.response_bytes, Some(10));
    let inner = run.spans().nth(1).unwrap();
    assert_eq!(inner.parent, Some(root.id));
    // The header an outgoing call would carry names the inner span, in the same trace.
    let outgoing = TraceParent::parse(&outgoing.unwrap()).unwrap();
    assert_eq!(outgoing.trace_id, parent.trace_id);
    assert_eq!(outgoing.span_id, inner.id);
    assert!(outgoing.sampled);

    // The caller did not sample, and the request succeeded: dropped.
    let unsampled = TraceParent::parse(&header.replace("-01", "-00")).unwrap();
    let mut scope = RequestScope::continuing(Some(unsampled));
    scope.in_scope(request_handler).unwrap();
    scope.complete(200, None, None, "GET /trace-request");
    assert_eq!(runs_of("request_handler").len(), 1);

    // A 5xx the layer saw is a failure, kept whatever the caller said.
    let unsampled = TraceParent::parse(&header.replace("-01", "-00")).unwrap();
    let mut scope = RequestScope::continuing(Some(unsampled));
    scope.in_scope(request_handler).unwrap();
    scope.complete(503, None, None, "GET /trace-request");
    let runs = runs_of("request_handler");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].kept, KeepReason::Failed);
    assert_eq!(runs[0].root().status, Some(503));
}

#[test]
fn a_request_no_handler_served_is_rooted_at_its_route() {
    setup();
    let mut scope = RequestScope::new();
    scope.in_scope(|| ());
    scope.complete(500, None, None, "GET /trace-no-handler");
    let run = trace::recent_runs()
        .into_iter()
        .find(|r| r.root().site.route() == Some("GET /trace-no-handler"))
        .expect("kept");
    assert_eq!(run.kept, KeepReason::Failed);
    assert_eq!(run.span_count(), 1);
}

// --- bounds ------------------------------------------------------------------------------------

#[tracks_tokens(model = "trace-model")]
fn tiny_call() -> Tokens {
    Tokens::new(1, 1)
}

#[pipeline_stage(pipeline = "trace-bounds", stage = "many")]
fn many_calls(n: usize) -> Result<(), String> {
    for _ in 0..n {
        tiny_call();
    }
    Err("after many calls".into())
}

#[test]
fn spans_beyond_the_limit_are_counted_not_kept() {
    setup();
    let before = trace::stats().spans_dropped;
    many_calls(trace::DEFAULT_MAX_SPANS_PER_RUN + 10).unwrap_err();
    let run = only_run_of("many_calls");
    assert_eq!(run.span_count(), trace::DEFAULT_MAX_SPANS_PER_RUN);
    assert_eq!(run.dropped_spans, 11);
    assert!(trace::stats().spans_dropped >= before + 11);
    // The metrics count every call, kept as a span or not.
    assert_eq!(
        site("tiny_call").stats().calls(),
        trace::DEFAULT_MAX_SPANS_PER_RUN as u64 + 10
    );
}

// --- metrics stay exact --------------------------------------------------------------------------

#[tracks_tokens(model = "trace-model")]
fn counted_call() -> Tokens {
    Tokens::new(3, 2)
}

#[pipeline_stage(pipeline = "trace-exact", stage = "root")]
fn counted_root(fail: bool) -> Result<(), String> {
    counted_call();
    if fail { Err("x".into()) } else { Ok(()) }
}

#[test]
fn metrics_are_exact_whatever_is_kept() {
    setup();
    const THREADS: usize = 4;
    const CALLS: usize = 2_000;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            s.spawn(move || {
                for i in 0..CALLS {
                    let _ = counted_root((t * CALLS + i).is_multiple_of(100));
                }
            });
        }
    });
    let n = (THREADS * CALLS) as u64;
    let root = site("counted_root").stats();
    assert_eq!(root.calls(), n);
    assert_eq!(root.errors, n / 100);
    let call = site("counted_call").stats();
    assert_eq!(call.calls(), n);
    assert_eq!(call.tokens, Tokens::new(3 * n, 2 * n));
    // Only the failed runs were kept, and each kept span counted once.
    assert_eq!(root.traces_kept, n / 100);
    assert_eq!(call.traces_kept, n / 100);
    assert!(
        runs_of("counted_root")
            .iter()
            .all(|r| r.kept == KeepReason::Failed)
    );
}

// --- the sampler's configuration -------------------------------------------------------------------

#[test]
fn the_sampler_is_read_from_the_standard_variables() {
    let config = Config::from_vars([
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ("MONITOR_TRACES", "on"),
    ])
    .unwrap();
    assert!(config.traces);
    assert_eq!(config.trace_sampler, Sampler::ParentBasedTraceIdRatio(0.25));
    let e = Config::from_vars([("OTEL_TRACES_SAMPLER", "sometimes")]).unwrap_err();
    assert!(e.to_string().contains("OTEL_TRACES_SAMPLER"), "{e}");
    let e = Config::from_vars([
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "2"),
    ])
    .unwrap_err();
    assert!(
        e.to_string().contains("OTEL_TRACES_SAMPLER_ARG=\"2\""),
        "{e}"
    );
    // By ratio: about a quarter of random ids.
    let drawn = (0..10_000)
        .filter(|_| Sampler::TraceIdRatio(0.25).decide(trace::TraceId::random(), None))
        .count();
    assert!((2_200..2_800).contains(&drawn), "{drawn}");
    assert!(Sampler::ParentBasedAlwaysOff.decide(trace::TraceId::random(), Some(true)));
    assert!(!Sampler::ParentBasedAlwaysOn.decide(trace::TraceId::random(), Some(false)));
}
