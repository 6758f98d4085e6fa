//! `#[tracing::instrument]` with `tracing_subscriber::registry()` and a no-op layer as the global
//! default, beside the bare call, the clock floor and `#[monitored_handler]` in the same run.

use criterion::{Criterion, criterion_group, criterion_main};
use monitor_benches::body;
use monitor_core::monitored_handler;
use std::hint::black_box;

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

fn peer(c: &mut Criterion) {
    monitor_benches::install_noop_subscriber();
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
