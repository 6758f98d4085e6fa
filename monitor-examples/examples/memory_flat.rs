//! Memory stays flat however many calls are recorded: 20 million calls of a handler, a stage and a
//! metered call, on two threads, with the runtime's collector ticking every 100 ms, and the
//! process's resident size printed every 2 million calls.
//!
//! With `--traces`, every call is also a span of its run (each handler call is a run of three
//! spans): the failed runs and 1 in 10 of the others are kept, into buffers that are bounded.
//!
//! ```text
//! cargo run --release -p monitor-examples --example memory_flat
//! cargo run --release -p monitor-examples --example memory_flat -- --traces
//! ```

use monitor_core::{Config, Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use std::time::{Duration, Instant};

#[tracks_tokens(model = "gpt-4o-mini", provider = "openai")]
fn complete(n: u64) -> Tokens {
    Tokens::new(n % 512, n % 64)
}

#[pipeline_stage(pipeline = "flat", stage = "draft")]
fn draft(n: u64) -> u64 {
    complete(n).output
}

#[monitored_handler(route = "POST /flat")]
fn handle(n: u64) -> Result<u64, String> {
    if n.is_multiple_of(97) {
        return Err("every 97th fails".to_owned());
    }
    Ok(draft(n))
}

const CALLS: u64 = 20_000_000;
const THREADS: u64 = 2;
const STEP: u64 = 2_000_000;

fn rss_mib() -> f64 {
    monitor_core::memory::sample().map_or(f64::NAN, |s| s.rss_bytes as f64 / (1 << 20) as f64)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config::new();
    config.tick = Duration::from_millis(100);
    if std::env::args().any(|a| a == "--traces") {
        config.traces = true;
        config.trace_sampler = monitor_core::trace::Sampler::TraceIdRatio(0.1);
    }
    let monitor = monitor_core::init(config)?;
    let started = Instant::now();
    println!("{:>12} {:>10} {:>10}", "calls", "RSS MiB", "history KiB");
    println!(
        "{:>12} {:>10.1} {:>10}",
        0,
        rss_mib(),
        monitor_core::history::bytes() / 1024
    );
    let mut done = 0;
    while done < CALLS {
        std::thread::scope(|s| {
            for t in 0..THREADS {
                s.spawn(move || {
                    let mut sum = 0u64;
                    for n in 0..STEP / THREADS {
                        sum = sum.wrapping_add(handle(n * THREADS + t).unwrap_or(1));
                    }
                    std::hint::black_box(sum);
                });
            }
        });
        done += STEP;
        println!(
            "{:>12} {:>10.1} {:>10}",
            done,
            rss_mib(),
            monitor_core::history::bytes() / 1024
        );
    }
    let report = monitor.shutdown();
    let calls = monitor_core::sites()
        .find(|s| s.name() == "handle")
        .map_or(0, |s| s.stats().calls());
    println!(
        "{calls} handler calls recorded in {:.1} s; shutdown: last tick {}, took {:?}",
        started.elapsed().as_secs_f64(),
        report.last_tick,
        report.took
    );
    if monitor_core::trace::is_enabled() {
        let t = monitor_core::trace::stats();
        println!(
            "runs kept {} (by reason {:?}), dropped {}, held for the dashboard {}",
            t.kept.iter().sum::<u64>(),
            t.kept,
            t.unsampled,
            monitor_core::trace::recent_runs().len()
        );
    }
    assert_eq!(calls, CALLS);
    Ok(())
}
