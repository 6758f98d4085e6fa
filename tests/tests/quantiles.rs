//! Quantiles from the duration histogram against the exact quantiles of the same samples.

use monitor_core::figures::Histogram;
use std::time::Duration;

/// xorshift64*: deterministic, and enough for shaping test distributions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        (-2.0 * self.unit().ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos()
    }
}

fn distributions() -> Vec<(&'static str, Vec<u64>)> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let n = 200_000;
    let mut out = Vec::new();
    // Handler-like latencies: log-normal around 2 ms.
    out.push((
        "lognormal",
        (0..n)
            .map(|_| (2e6 * (0.8 * rng.normal()).exp()) as u64)
            .collect(),
    ));
    // Fast functions: tens of nanoseconds, where buckets are narrowest in absolute terms.
    out.push((
        "uniform-ns",
        (0..n).map(|_| 10 + rng.next() % 500).collect(),
    ));
    // Waits: exponential with a 50 ms mean.
    out.push((
        "exponential",
        (0..n).map(|_| (-5e7 * rng.unit().ln()) as u64).collect(),
    ));
    // A cache: 90 % hits at ~40 µs, 10 % misses at ~300 ms.
    out.push((
        "bimodal",
        (0..n)
            .map(|_| {
                if rng.next().is_multiple_of(10) {
                    (3e8 * (0.2 * rng.normal()).exp()) as u64
                } else {
                    (4e4 * (0.1 * rng.normal()).exp()) as u64
                }
            })
            .collect(),
    ));
    // LLM calls: seconds to minutes.
    out.push((
        "long",
        (0..n)
            .map(|_| (5e9 * (1.0 * rng.normal()).exp()) as u64)
            .collect(),
    ));
    out
}

#[test]
fn quantiles_are_within_two_percent_of_the_sorted_samples() {
    let mut worst: f64 = 0.0;
    for (name, mut samples) in distributions() {
        let mut h = Histogram::default();
        for &s in &samples {
            h.record(Duration::from_nanos(s));
        }
        samples.sort_unstable();
        assert_eq!(h.count(), samples.len() as u64);
        assert_eq!(
            h.max(),
            Duration::from_nanos(*samples.last().unwrap()),
            "{name}: max is exact"
        );
        for q in [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0] {
            // Rank ⌈q·n⌉, 1-based: the definition `Histogram::quantile` documents.
            let rank = ((q * samples.len() as f64).ceil() as usize).max(1);
            let exact = samples[rank - 1] as f64;
            let estimate = h.quantile(q).as_nanos() as f64;
            let error = (estimate - exact).abs() / exact;
            worst = worst.max(error);
            assert!(
                error <= 0.02,
                "{name} q={q}: exact {exact} ns, histogram {estimate} ns, error {:.3} %",
                error * 100.0
            );
        }
        let mean_error = (h.mean().as_nanos() as f64
            - samples.iter().map(|&s| s as f64).sum::<f64>() / samples.len() as f64)
            .abs();
        assert!(
            mean_error <= 1.0,
            "{name}: the sum is exact, so the mean is too"
        );
    }
    eprintln!(
        "worst quantile error over 5 distributions x 10 quantiles: {:.3} %",
        worst * 100.0
    );
}

#[test]
fn merged_histograms_answer_like_one() {
    let (_, samples) = distributions().remove(0);
    let (mut a, mut b, mut whole) = (
        Histogram::default(),
        Histogram::default(),
        Histogram::default(),
    );
    for (i, &s) in samples.iter().enumerate() {
        let d = Duration::from_nanos(s);
        if i % 2 == 0 {
            a.record(d)
        } else {
            b.record(d)
        }
        whole.record(d);
    }
    a.merge(&b);
    assert_eq!(a, whole);
}
