//! monitor's own costs: each macro, the switches, threads, async. Peers are in `peer_*.rs`.
//!
//! `cargo bench -p monitor-benches --bench overhead`; with `--no-default-features` the attributes
//! compile out, and the instrumented variants must then cost what `bare` costs.

use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::{Stream, StreamExt, stream};
use monitor_benches::{bare, bare_async, block_on, body, on_threads, quanta_pair, std_pair};
use monitor_core::pricing::Price;
use monitor_core::{Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use std::hint::black_box;

#[monitored_handler]
#[inline(never)]
fn handler(x: u64) -> u64 {
    body(x)
}

#[pipeline_stage(pipeline = "bench")]
#[inline(never)]
fn stage(x: u64) -> u64 {
    body(x)
}

#[tracks_tokens(model = "bench-model")]
#[inline(never)]
fn tokens(x: u64) -> Tokens {
    Tokens::new(body(x) & 0xff, 1)
}

#[inline(never)]
fn bare_tokens(x: u64) -> Tokens {
    Tokens::new(body(x) & 0xff, 1)
}

/// Chunks of a streamed response: usage in the last one, as OpenAI sends it.
const CHUNKS: u64 = 64;

fn chunks(x: u64) -> impl Stream<Item = Tokens> {
    stream::iter(0..CHUNKS).map(move |i| {
        if i + 1 == CHUNKS {
            Tokens::new(body(x) & 0xff, CHUNKS)
        } else {
            Tokens::default()
        }
    })
}

#[tracks_tokens(model = "bench-model")]
fn metered_stream(x: u64) -> impl Stream<Item = Tokens> {
    chunks(x)
}

/// Drains a stream, as a client reading a response does.
fn drain(s: impl Stream<Item = Tokens>) -> u64 {
    block_on(s.fold(0, |n, t| async move { n + t.output }))
}

/// A failure as a service sees one while a dependency is down: the same words each time.
#[inline(never)]
fn bare_failing(x: u64) -> Result<u64, String> {
    if black_box(x) > 0 {
        return Err("upstream timed out: connection to 10.0.0.7:5432 refused".to_owned());
    }
    Ok(body(x))
}

#[monitored_handler]
#[inline(never)]
fn failing_handler(x: u64) -> Result<u64, String> {
    bare_failing(x)
}

/// A failure whose message names what failed, different each time: no cache holds it.
#[inline(never)]
fn bare_failing_anew(x: u64) -> Result<u64, String> {
    Err(format!("no logo {x} for user {}", x / 3))
}

#[monitored_handler]
#[inline(never)]
fn failing_handler_anew(x: u64) -> Result<u64, String> {
    bare_failing_anew(x)
}

#[monitored_handler]
#[inline(never)]
async fn handler_async(x: u64) -> u64 {
    body(x)
}

fn suffix() -> &'static str {
    if cfg!(feature = "enabled") {
        ""
    } else {
        " (compiled out)"
    }
}

fn single_thread(c: &mut Criterion) {
    // Priced, as a metered call in production is: the cost is worked out on every call.
    monitor_core::pricing::set_price(
        "bench-model",
        Price::per_million(2.50, 10.00).with_cached_input(1.25),
    )
    .expect("a valid price");
    let mut g = c.benchmark_group("one thread");
    let s = suffix();
    g.bench_function("bare call", |b| b.iter(|| bare(black_box(7))));
    g.bench_function("floor: quanta clock pair", |b| {
        b.iter(|| quanta_pair(black_box(7)))
    });
    g.bench_function("floor: std Instant pair", |b| {
        b.iter(|| std_pair(black_box(7)))
    });
    g.bench_function(format!("#[monitored_handler]{s}"), |b| {
        b.iter(|| handler(black_box(7)))
    });
    g.bench_function(format!("#[pipeline_stage]{s}"), |b| {
        b.iter(|| stage(black_box(7)))
    });
    g.bench_function("bare call returning Tokens", |b| {
        b.iter(|| bare_tokens(black_box(7)))
    });
    g.bench_function(format!("#[tracks_tokens]{s}"), |b| {
        b.iter(|| tokens(black_box(7)))
    });
    monitor_core::set_enabled(false);
    g.bench_function(format!("#[monitored_handler] switched off{s}"), |b| {
        b.iter(|| handler(black_box(7)))
    });
    monitor_core::set_enabled(true);
    g.finish();
}

/// A failed call: its message is read, redacted and grouped into its error pattern, and the call
/// kept as an event. A message seen lately is not run through the redaction rules again; a new
/// one runs only the rules that could match it.
fn failures(c: &mut Criterion) {
    let mut g = c.benchmark_group("a failed call");
    let s = suffix();
    g.bench_function("bare call returning Err", |b| {
        b.iter(|| bare_failing(black_box(7)))
    });
    g.bench_function(format!("#[monitored_handler] returning Err{s}"), |b| {
        b.iter(|| failing_handler(black_box(7)))
    });
    let mut n = 0;
    g.bench_function("bare call returning Err, a new message each time", |b| {
        b.iter(|| {
            n += 1;
            bare_failing_anew(black_box(n))
        })
    });
    g.bench_function(
        format!("#[monitored_handler] returning Err, a new message each time{s}"),
        |b| {
            b.iter(|| {
                n += 1;
                failing_handler_anew(black_box(n))
            })
        },
    );
    g.finish();
}

fn asynchronous(c: &mut Criterion) {
    let mut g = c.benchmark_group("async fn, polled once");
    let s = suffix();
    g.bench_function("bare async fn", |b| {
        b.iter(|| block_on(bare_async(black_box(7))))
    });
    g.bench_function(format!("#[monitored_handler] async fn{s}"), |b| {
        b.iter(|| block_on(handler_async(black_box(7))))
    });
    g.finish();
}

fn streams(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("a stream of {CHUNKS} chunks"));
    let s = suffix();
    g.bench_function("bare stream", |b| b.iter(|| drain(chunks(black_box(7)))));
    g.bench_function(format!("#[tracks_tokens] stream{s}"), |b| {
        b.iter(|| drain(metered_stream(black_box(7))))
    });
    g.finish();
}

fn two_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("per call, per thread");
    let s = suffix();
    for threads in [1, 2] {
        g.bench_function(
            format!("floor: quanta clock pair, {threads} thread(s)"),
            |b| b.iter_custom(|iters| on_threads(threads, iters, quanta_pair)),
        );
        g.bench_function(
            format!("#[monitored_handler] one site, {threads} thread(s){s}"),
            |b| b.iter_custom(|iters| on_threads(threads, iters, handler)),
        );
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = monitor_benches::criterion();
    targets = single_thread, failures, asynchronous, streams, two_threads
}
criterion_main!(benches);
