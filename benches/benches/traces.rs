//! What following runs as traces costs per call, beside the clock floor and the peers, in one run:
//!
//! - `#[monitored_handler]` with traces off (the record path must be unchanged: ≤ 1.0× the floor);
//! - a call inside a run that is dropped at its end (≤ 1.5× the floor; the run's buffer is reused);
//! - a call inside a run that is kept and exported (the span converted, queued, drained and
//!   encoded as OTLP protobuf by a second thread, as the pusher does);
//! - fastrace 0.7 `#[trace]` with a reporter, and `tracing` `#[instrument]` with
//!   tracing-opentelemetry and the OpenTelemetry SDK's batch processor, both exporting to a sink
//!   that drops what it gets.
//!
//! Each run is a root `#[pipeline_stage]` around 1,000 calls, as fastrace's root span is opened
//! every 1,000 calls: the figures are per call inside a run.

use criterion::{Criterion, criterion_group, criterion_main};
use monitor_benches::body;
use monitor_core::trace::Sampler;
use monitor_core::{Config, monitored_handler, pipeline_stage};
use prost::Message as _;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[monitored_handler]
#[inline(never)]
fn handler(x: u64) -> u64 {
    body(x)
}

/// The root of a run: `n` calls of `handler` inside it.
#[pipeline_stage(pipeline = "bench", stage = "root")]
#[inline(never)]
fn run_of(n: u64) -> u64 {
    let mut acc = 0;
    for i in 0..n {
        acc ^= black_box(handler(black_box(i)));
    }
    acc
}

#[fastrace::trace]
#[inline(never)]
fn fastraced(x: u64) -> u64 {
    body(x)
}

#[tracing::instrument(skip_all)]
#[inline(never)]
fn instrumented(x: u64) -> u64 {
    body(x)
}

/// `iters` calls inside runs of at most 1,000 calls each; the time per call.
fn in_runs(iters: u64, mut one_run: impl FnMut(u64)) -> Duration {
    let start = Instant::now();
    let mut done = 0;
    while done < iters {
        let n = (iters - done).min(1000);
        one_run(n);
        done += n;
    }
    start.elapsed()
}

fn configure(traces: bool, sampler: Sampler) {
    Config::new()
        .traces(traces)
        .trace_sampler(sampler)
        .apply()
        .expect("a valid configuration");
}

struct Discard;

impl fastrace::collector::Reporter for Discard {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        black_box(spans);
    }
}

/// An OpenTelemetry exporter that drops every batch.
#[derive(Debug)]
struct Sink;

impl opentelemetry_sdk::trace::SpanExporter for Sink {
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

fn traces(c: &mut Criterion) {
    let mut g = c.benchmark_group("traces");
    g.bench_function("floor: quanta clock pair", |b| {
        b.iter(|| monitor_benches::quanta_pair(black_box(7)))
    });
    configure(false, Sampler::AlwaysOff);
    g.bench_function("#[monitored_handler], traces off", |b| {
        b.iter(|| handler(black_box(7)))
    });

    configure(true, Sampler::AlwaysOff);
    g.bench_function("#[monitored_handler] inside a run, run dropped", |b| {
        b.iter_custom(|iters| {
            in_runs(iters, |n| {
                black_box(run_of(n));
            })
        })
    });

    // Kept and exported: a second thread drains the queue and encodes each run, as the pusher.
    configure(true, Sampler::AlwaysOn);
    let queue = Arc::new(monitor_core::trace::ExportQueue::new());
    let stop = Arc::new(AtomicBool::new(false));
    let drainer = {
        let (queue, stop) = (queue.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let runs = queue.drain(512);
                if runs.is_empty() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                black_box(monitor_export::otlp_traces::request(&runs, &[]).encode_to_vec());
            }
        })
    };
    g.bench_function(
        "#[monitored_handler] inside a run, run kept and exported",
        |b| {
            b.iter_custom(|iters| {
                in_runs(iters, |n| {
                    black_box(run_of(n));
                })
            })
        },
    );
    stop.store(true, Ordering::Relaxed);
    drainer.join().expect("the drainer ends");
    drop(queue);
    configure(false, Sampler::AlwaysOff);

    fastrace::set_reporter(Discard, fastrace::collector::Config::default());
    g.bench_function("#[fastrace::trace] with a reporter", |b| {
        b.iter_custom(|iters| {
            in_runs(iters, |n| {
                let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
                let _guard = root.set_local_parent();
                for i in 0..n {
                    black_box(fastraced(black_box(i)));
                }
            })
        })
    });
    fastrace::flush();

    {
        use opentelemetry::trace::TracerProvider as _;
        use tracing_subscriber::layer::SubscriberExt;
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(Sink)
            .build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
        tracing::subscriber::with_default(subscriber, || {
            g.bench_function("#[tracing::instrument] with tracing-opentelemetry", |b| {
                b.iter_custom(|iters| {
                    in_runs(iters, |n| {
                        let root = tracing::info_span!("root");
                        let _entered = root.enter();
                        for i in 0..n {
                            black_box(instrumented(black_box(i)));
                        }
                    })
                })
            });
        });
        let _ = provider.shutdown();
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = monitor_benches::criterion();
    targets = traces
}
criterion_main!(benches);
