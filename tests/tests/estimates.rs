//! Pipeline estimates against the truth of a synthetic workload with known stage distributions.

use monitor_core::figures::Histogram;
use monitor_core::history::{StageModel, estimate_stages};
use std::time::Duration;

struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) + 1) as f64 / ((1u64 << 53) + 1) as f64
    }
    fn normal(&mut self) -> f64 {
        (-2.0 * self.unit().ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos()
    }
}

/// Three stages: a log-normal LLM call (median 800 ms), a uniform render (40–60 ms), and an
/// exponential upload (mean 100 ms) that only half the runs make. Durations in seconds.
fn draw(rng: &mut Rng) -> [Option<f64>; 3] {
    let llm = 0.8 * (0.5 * rng.normal()).exp();
    let render = 0.04 + 0.02 * rng.unit();
    let upload = (rng.unit() < 0.5).then(|| -0.1 * rng.unit().ln());
    [Some(llm), Some(render), upload]
}

fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1]
}

#[test]
fn estimates_match_the_distribution_of_whole_runs() {
    let mut rng = Rng(42);
    // What the stages recorded: 20,000 runs.
    let mut histograms = [
        Histogram::default(),
        Histogram::default(),
        Histogram::default(),
    ];
    for _ in 0..20_000 {
        for (h, d) in histograms.iter_mut().zip(draw(&mut rng)) {
            if let Some(d) = d {
                h.record(Duration::from_secs_f64(d));
            }
        }
    }
    let runs_fraction = |h: &Histogram| h.count() as f64 / 20_000.0;
    let stages: Vec<StageModel> = ["concepts", "render", "upload"]
        .into_iter()
        .zip(histograms)
        .map(|(name, h)| {
            let f = runs_fraction(&h);
            StageModel::new(name, h, f)
        })
        .collect();
    let estimate = estimate_stages(&stages, &["concepts"]);

    // The truth: 200,000 fresh runs.
    let (mut totals, mut remaining) = (Vec::new(), Vec::new());
    for _ in 0..200_000 {
        let [llm, render, upload] = draw(&mut rng);
        let rest = render.unwrap() + upload.unwrap_or(0.0);
        totals.push(llm.unwrap() + rest);
        remaining.push(rest);
    }
    let errors = [
        ("total p50", estimate.total_p50, quantile(&mut totals, 0.5)),
        ("total p90", estimate.total_p90, quantile(&mut totals, 0.9)),
        (
            "remaining p50",
            estimate.remaining_p50,
            quantile(&mut remaining, 0.5),
        ),
        (
            "remaining p90",
            estimate.remaining_p90,
            quantile(&mut remaining, 0.9),
        ),
    ];
    for (what, estimated, truth) in errors {
        let error = (estimated - truth).abs() / truth;
        eprintln!(
            "{what}: estimated {estimated:.4} s, true {truth:.4} s, error {:.2} %",
            error * 100.0
        );
        assert!(error < 0.03, "{what}: estimated {estimated}, true {truth}");
    }
    let shares: f64 = estimate.stages.iter().map(|s| s.share).sum();
    assert!((shares - 1.0).abs() < 1e-9);
    assert!(
        estimate.stages[0].share > 0.8,
        "the LLM call takes most of a run"
    );
    assert!(estimate.stages[0].finished && !estimate.stages[1].finished);
}
