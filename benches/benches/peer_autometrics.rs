//! `#[autometrics]` with its Prometheus exporter, beside the bare call, the clock floor and
//! `#[monitored_handler]`. Behind the `autometrics` feature: it is heavy to build.

use criterion::{Criterion, criterion_group, criterion_main};
use monitor_benches::body;
use monitor_core::monitored_handler;
use std::hint::black_box;

#[monitored_handler]
#[inline(never)]
fn handler(x: u64) -> u64 {
    body(x)
}

#[autometrics::autometrics]
#[inline(never)]
fn auto(x: u64) -> u64 {
    body(x)
}

fn peer(c: &mut Criterion) {
    autometrics::prometheus_exporter::init();
    let mut g = c.benchmark_group("autometrics");
    monitor_benches::baseline(&mut g, handler);
    g.bench_function("#[autometrics] + Prometheus exporter", |b| {
        b.iter(|| auto(black_box(7)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = monitor_benches::criterion();
    targets = peer
}
criterion_main!(benches);
