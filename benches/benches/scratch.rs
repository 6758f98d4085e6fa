use criterion::{Criterion, criterion_group, criterion_main};
use monitor_benches::{bare, body, quanta_pair};
use monitor_core::monitored_handler;
use std::hint::black_box;

#[monitored_handler]
#[inline(never)]
fn handler(x: u64) -> u64 {
    body(x)
}

#[inline(never)]
fn outlined(x: u64) -> u64 {
    static SITE: monitor_core::__private::Site =
        monitor_core::__private::Site::new(monitor_core::__private::SiteMeta {
            kind: monitor_core::__private::SiteKind::Handler,
            name: "outlined",
            function: "outlined",
            module_path: "x",
            file: "x",
            line: 1,
            route: None,
            pipeline: None,
            stage: None,
            model: None,
            model_expr: None,
            provider: None,
        });
    let mode = monitor_core::__private::mode();
    let b = monitor_core::__private::once(move || -> u64 { body(x) });
    if mode & monitor_core::__private::ON == 0 {
        return b();
    }
    monitor_core::__private::run(
        &SITE,
        monitor_core::__private::SiteKind::Handler,
        mode,
        0,
        b,
        |r| monitor_core::__private::outcome!(r),
    )
}

fn g(c: &mut Criterion) {
    let mut g = c.benchmark_group("scratch");
    g.bench_function("bare", |b| b.iter(|| bare(black_box(7))));
    g.bench_function("quanta", |b| b.iter(|| quanta_pair(black_box(7))));
    g.bench_function("handler", |b| b.iter(|| handler(black_box(7))));
    g.bench_function("outlined", |b| b.iter(|| outlined(black_box(7))));
    monitor_core::set_enabled(false);
    g.bench_function("handler off", |b| b.iter(|| handler(black_box(7))));
    g.bench_function("outlined off", |b| b.iter(|| outlined(black_box(7))));
    g.finish();
}
criterion_group! { name = benches; config = monitor_benches::criterion(); targets = g }
criterion_main!(benches);
