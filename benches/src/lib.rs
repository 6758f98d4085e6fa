//! Shared pieces of the overhead benchmarks: the tiny function every variant wraps, the floors, a
//! harness for threads running at once, and a minimal executor.
//!
//! Every benchmarked function is `#[inline(never)]`, bare ones included, so that each variant pays
//! one real call and differs from the bare call only by its instrumentation.

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Barrier;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The work inside every benchmarked function: a few cycles the compiler cannot drop.
#[inline(always)]
pub fn body(x: u64) -> u64 {
    black_box(x)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(17)
}

/// The function without instrumentation.
#[inline(never)]
pub fn bare(x: u64) -> u64 {
    body(x)
}

/// The same, as an `async fn`.
#[inline(never)]
pub async fn bare_async(x: u64) -> u64 {
    body(x)
}

/// The floor every timing instrumentation pays: two `quanta` clock reads.
#[inline(never)]
pub fn quanta_pair(x: u64) -> u64 {
    let start = quanta::Instant::now();
    let y = body(x);
    let end = quanta::Instant::now();
    y ^ (end - start).as_nanos() as u64
}

/// Two `std::time::Instant` reads.
#[inline(never)]
pub fn std_pair(x: u64) -> u64 {
    let start = Instant::now();
    let y = body(x);
    y ^ start.elapsed().as_nanos() as u64
}

/// Polls a future to completion on this thread, with a waker that does nothing.
///
/// Always inlined, so that every variant is measured the same way: once the stream benchmarks
/// made more instances of it, the compiler stopped inlining the instrumented `async fn`'s into
/// criterion's loop, and that row read 32 ns instead of 27 for the same code.
#[inline(always)]
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Runs `call` `iters` times on each of `threads` threads started together; returns the longest
/// time a thread took, so that `elapsed / iters` is the per-call, per-thread cost while all of them
/// run at once.
pub fn on_threads(threads: usize, iters: u64, call: impl Fn(u64) -> u64 + Sync) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    for i in 0..iters {
                        black_box(call(black_box(i)));
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("benchmark thread panicked"))
            .max()
            .unwrap_or_default()
    })
}

/// Short runs: the figures are ratios within one run, and every variant gets the same settings.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(800))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .noise_threshold(0.03)
}

/// The bare call, the clock floor and `#[monitored_handler]` (defined in the calling benchmark), in
/// every peer's group, so that each peer's ratios come from one run. Generic, so the handler is
/// called directly, as in `overhead.rs`.
pub fn baseline(group: &mut BenchmarkGroup<'_, WallTime>, handler: impl Fn(u64) -> u64) {
    group.bench_function("bare call", |b| b.iter(|| bare(black_box(7))));
    group.bench_function("floor: quanta clock pair", |b| {
        b.iter(|| quanta_pair(black_box(7)))
    });
    group.bench_function("#[monitored_handler]", |b| b.iter(|| handler(black_box(7))));
}

/// A tracing layer that does nothing: what a peer benchmark then measures is tracing's own span
/// and event machinery.
struct Noop;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Noop {}

/// Sets a registry with a no-op layer as the global tracing subscriber: `tracing` as a service
/// has it, before any layer of its own does work.
///
/// # Panics
///
/// If the binary already set a global subscriber.
pub fn install_noop_subscriber() {
    use tracing_subscriber::layer::SubscriberExt;
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Noop))
        .expect("no other global subscriber in this binary");
}

/// Installs the `metrics` Prometheus recorder with nobody scraping it, and runs its upkeep every
/// 5 s on a thread of its own, as a service would. Returns the handle that renders it.
///
/// # Panics
///
/// If the binary already installed a recorder.
pub fn install_prometheus_recorder() -> metrics_exporter_prometheus::PrometheusHandle {
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("no other recorder in this binary");
    let upkeep = prometheus.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(5));
            upkeep.run_upkeep();
        }
    });
    prometheus
}
