//! Native histograms against the real Prometheus (Debian's 2.42, started with
//! `--enable-feature=native-histograms`): it scrapes `/metrics` in the protobuf format, and
//! `histogram_quantile(0.99, …)` over the native series is within 2 % of the p99 monitor reports
//! for the same site. The classic buckets' estimate is printed beside it.

use monitor_core::pipeline_stage;
use monitor_dashboard::DashboardConfig;
use monitor_harness::{PROMETHEUS, Prometheus, single_value};
use std::time::{Duration, Instant};

/// Busy for `micros` µs: a duration the test chooses, without the scheduler's say.
#[pipeline_stage(pipeline = "nh_pipe", stage = "nh_spin")]
fn nh_spin(micros: u64) -> u64 {
    let until = Instant::now() + Duration::from_micros(micros);
    let mut spins = 0u64;
    while Instant::now() < until {
        spins = spins.wrapping_add(1);
    }
    spins
}

/// The p`q` Prometheus's `histogram_quantile` makes of classic buckets: linear within the bucket.
fn classic_quantile(q: f64, buckets: &[(f64, f64)]) -> f64 {
    let total = buckets.last().map_or(0.0, |b| b.1);
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(bound, count) in buckets {
        if count >= rank {
            if !bound.is_finite() {
                return lower.0;
            }
            return lower.0 + (bound - lower.0) * (rank - lower.1) / (count - lower.1);
        }
        lower = (bound, count);
    }
    lower.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_histograms_give_the_p99_monitor_gives() {
    if !std::path::Path::new(PROMETHEUS).exists() {
        assert!(!monitor_harness::in_ci(), "CI needs Debian's prometheus");
        eprintln!("skipped: no {PROMETHEUS}");
        return;
    }
    // 1,500 calls from 50 µs to 15 ms, most of them short: a tail for the p99.
    for i in 0..1_500u64 {
        let micros = if i % 50 == 0 {
            2_000 + i * 8
        } else {
            50 + (i * 37) % 700
        };
        nh_spin(micros);
    }
    let site = monitor_core::sites()
        .find(|s| s.name() == "nh_spin")
        .expect("the site");
    let p99 = site.stats().durations.quantile(0.99).as_secs_f64();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, monitor_dashboard::router(DashboardConfig::new())).await
    });
    let client = reqwest::Client::new();

    // What a scraper that asks for protobuf gets.
    let answer = client
        .get(format!("http://{target}/metrics"))
        .header(
            "accept",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.headers()["content-type"],
        monitor_export::protobuf::PROTOBUF_CONTENT_TYPE
    );
    assert!(!answer.bytes().await.unwrap().is_empty());

    let mut prometheus =
        Prometheus::start_with(target, "/metrics", &["--enable-feature=native-histograms"])
            .unwrap();
    prometheus.wait_ready(&client).await.unwrap();
    let native = r#"histogram_quantile(0.99, monitor_call_duration_seconds{site="nh_spin"})"#;
    let result = prometheus
        .poll(&client, native, |r| {
            single_value(r).is_some_and(f64::is_finite)
        })
        .await
        .unwrap();
    let from_native = single_value(&result).unwrap();

    // The classic buckets, from the text a plain scrape reads.
    let text = monitor_dashboard::render();
    let mut classic: Vec<(f64, f64)> = text
        .lines()
        .filter(|l| l.starts_with("monitor_call_duration_seconds_bucket{site=\"nh_spin\""))
        .filter_map(|l| {
            // `,le="`: `module="…"` ends in `le="` too.
            let le = l.split(",le=\"").nth(1)?.split('"').next()?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((bound, l.rsplit_once(' ')?.1.parse().ok()?))
        })
        .collect();
    classic.sort_by(|a, b| a.0.total_cmp(&b.0));
    let from_classic = classic_quantile(0.99, &classic);

    let error = (from_native / p99 - 1.0).abs();
    eprintln!(
        "p99: monitor {:.3} ms; native histogram {:.3} ms ({:+.2} %); classic buckets {:.3} ms ({:+.2} %)",
        p99 * 1e3,
        from_native * 1e3,
        (from_native / p99 - 1.0) * 100.0,
        from_classic * 1e3,
        (from_classic / p99 - 1.0) * 100.0,
    );
    assert!(
        error <= 0.02,
        "native p99 {from_native} against monitor's {p99}"
    );
}
