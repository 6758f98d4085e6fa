//! `#[tracing::instrument]` with `tracing_subscriber::registry()` and a no-op layer as the global
//! default, beside the bare call, the clock floor and `#[monitored_handler]` in the same run.

use criterion::{Criterion, criterion_group, criterion_main};
use monitor_benches::body;
use monitor_core::monitored_handler;
use std::hint::black_box;
use tracing_subscriber::layer::SubscriberExt;

#[monitored_handler]
#[inline(never)]
fn handler(x: u64) -> u64 {
    body(x)
}

#[tracing::instrument(skip_all)]
#[inline(never)]
fn traced(x: u64) -> u64 {
    body(x)
}

/// A layer that does nothing: the cost measured is tracing's own span machinery.
struct Noop;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Noop {}

fn peer(c: &mut Criterion) {
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Noop))
        .expect("no other global subscriber in this binary");
    let mut g = c.benchmark_group("tracing");
    monitor_benches::baseline(&mut g, handler);
    g.bench_function("#[tracing::instrument], registry + no-op layer", |b| {
        b.iter(|| traced(black_box(7)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = monitor_benches::criterion();
    targets = peer
}
criterion_main!(benches);
