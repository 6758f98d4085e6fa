//! fastrace `#[trace]` (feature `enable`) under a root span opened every 1,000 calls, with a reporter
//! that discards, beside the bare call, the clock floor and `#[monitored_handler]`.

use criterion::{Criterion, criterion_group, criterion_main};
use fastrace::collector::{Config, Reporter, SpanContext};
use fastrace::prelude::*;
use monitor_benches::body;
use monitor_core::monitored_handler;
use std::hint::black_box;

#[monitored_handler]
#[inline(never)]
fn handler(x: u64) -> u64 {
    body(x)
}

#[fastrace::trace]
#[inline(never)]
fn traced(x: u64) -> u64 {
    body(x)
}

/// Receives every finished trace and drops it.
struct Discard;

impl Reporter for Discard {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        black_box(spans);
    }
}

fn peer(c: &mut Criterion) {
    fastrace::set_reporter(Discard, Config::default());
    let mut g = c.benchmark_group("fastrace");
    monitor_benches::baseline(&mut g, handler);
    g.bench_function(
        "#[fastrace::trace], root span per 1000 calls, discarding reporter",
        |b| {
            b.iter_custom(|iters| {
                let start = std::time::Instant::now();
                let mut done = 0;
                while done < iters {
                    let root = Span::root("root", SpanContext::random());
                    let _guard = root.set_local_parent();
                    for i in 0..(iters - done).min(1000) {
                        black_box(traced(black_box(i)));
                    }
                    done += (iters - done).min(1000);
                }
                start.elapsed()
            })
        },
    );
    g.finish();
    fastrace::flush();
}

criterion_group! {
    name = benches;
    config = monitor_benches::criterion();
    targets = peer
}
criterion_main!(benches);
