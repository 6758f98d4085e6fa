//! `metrics::histogram!` recording a call's duration into `metrics-exporter-prometheus`'s recorder
//! (no HTTP listener, upkeep running), beside the bare call, the clock floor and
//! `#[monitored_handler]`.

use criterion::{Criterion, criterion_group, criterion_main};
use monitor_benches::body;
use monitor_core::monitored_handler;
use std::hint::black_box;
use std::time::Instant;

#[monitored_handler]
#[inline(never)]
fn handler(x: u64) -> u64 {
    body(x)
}

/// What a user writes by hand with `metrics`: time the call, record it by name.
#[inline(never)]
fn histogram_macro(x: u64) -> u64 {
    let start = Instant::now();
    let y = body(x);
    metrics::histogram!("call_duration_seconds", "function" => "histogram_macro")
        .record(start.elapsed());
    y
}

/// The same with the handle looked up once.
#[inline(never)]
fn histogram_cached(handle: &metrics::Histogram, x: u64) -> u64 {
    let start = Instant::now();
    let y = body(x);
    handle.record(start.elapsed());
    y
}

fn peer(c: &mut Criterion) {
    let prometheus = monitor_benches::install_prometheus_recorder();
    let cached = metrics::histogram!("call_duration_seconds", "function" => "histogram_cached");

    let mut g = c.benchmark_group("metrics");
    monitor_benches::baseline(&mut g, handler);
    g.bench_function("metrics::histogram! + Prometheus recorder", |b| {
        b.iter(|| histogram_macro(black_box(7)))
    });
    g.bench_function("metrics histogram, handle cached", |b| {
        b.iter(|| histogram_cached(&cached, black_box(7)))
    });
    g.finish();
    black_box(prometheus.render());
}

criterion_group! {
    name = benches;
    config = monitor_benches::criterion();
    targets = peer
}
criterion_main!(benches);
