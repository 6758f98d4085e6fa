//! What reading costs as the number of sites grows: a collector tick when nothing happened, a tick
//! after every site recorded, `Site::stats` of a busy site, and /metrics of every site.
//!
//! `cargo bench -p monitor-benches --bench collector`. The sites are made at run time through the
//! registration route sites use (`SiteBuilder::register`), 1,000 and then 10,000 of them, and
//! recorded into through the entry point generated code calls: the same path an attribute's
//! expansion takes, without compiling 10,000 functions.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use monitor_core::__private::{Outcome, mode, run};
use monitor_core::Site;
use monitor_core::site::SiteKind;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

const SIZES: [usize; 2] = [1_000, 10_000];

/// One call of `site`, recorded as an instrumented handler's is.
fn call(site: &'static Site, x: u64) -> u64 {
    run::<{ SiteKind::Handler.code() }, _>(
        site,
        mode(),
        0,
        || black_box(x).wrapping_mul(3),
        |_| Outcome::OK,
    )
}

/// Registered sites, made as they are needed: `sites(n)` gives the first `n`.
struct Sites(Vec<&'static Site>);

impl Sites {
    fn first(&mut self, n: usize) -> &[&'static Site] {
        while self.0.len() < n {
            let i = self.0.len();
            // Names are `'static` in a site: these live as long as the process, as sites do.
            let name: &'static str = Box::leak(format!("generated_{i}").into_boxed_str());
            let route: &'static str = Box::leak(format!("GET /generated/{i}").into_boxed_str());
            let site = Site::builder(SiteKind::Handler, name)
                .module_path("bench::collector")
                .route(route)
                .register();
            self.0.push(site);
        }
        &self.0[..n]
    }
}

fn call_all(sites: &[&'static Site], round: u64) {
    for (i, site) in sites.iter().enumerate() {
        call(site, round ^ i as u64);
    }
}

/// The time `read` takes, `iters` times, each after one call of every site (not timed).
fn after_every_site_called<R>(
    sites: &[&'static Site],
    iters: u64,
    mut read: impl FnMut() -> R,
) -> Duration {
    let mut spent = Duration::ZERO;
    for round in 0..iters {
        call_all(sites, round);
        let start = Instant::now();
        black_box(read());
        spent += start.elapsed();
    }
    spent
}

fn collector(c: &mut Criterion) {
    let mut clock = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
    let mut tick = move || {
        clock += Duration::from_secs(1);
        monitor_core::history::tick_at(clock)
    };
    let mut all = Sites(Vec::new());
    let mut group = c.benchmark_group("collector");
    for n in SIZES {
        let sites = all.first(n).to_vec();
        call_all(&sites, 0);
        tick();
        tick();
        group.bench_with_input(BenchmarkId::new("idle_tick", n), &n, |b, _| {
            b.iter(|| black_box(tick()))
        });
        group.bench_with_input(BenchmarkId::new("active_tick", n), &n, |b, _| {
            b.iter_custom(|iters| after_every_site_called(&sites, iters, &mut tick))
        });
        group.bench_with_input(BenchmarkId::new("metrics", n), &n, |b, _| {
            b.iter_custom(|iters| {
                after_every_site_called(&sites, iters, || {
                    monitor_export::render(&monitor_core::snapshot())
                })
            })
        });
    }
    // A site with traffic: a thousand calls, in the bands of durations a call of this size takes.
    let busy = all.first(1)[0];
    for round in 0..1_000 {
        call(busy, round);
    }
    group.bench_function("site_stats", |b| b.iter(|| black_box(busy.stats())));
    group.finish();
}

criterion_group! {
    name = benches;
    config = monitor_benches::criterion().sample_size(20);
    targets = collector
}
criterion_main!(benches);
