//! How long a pipeline run takes, from the durations its stages have had: the expected total, and
//! what remains once some stages are done.
//!
//! Each stage's recorded durations are taken as its distribution; a stage seen in fewer runs than
//! the pipeline's most frequent stage is taken to run in that fraction of runs (a cache that skips
//! it, say). The distribution of a run is then the sum of its stages', estimated by drawing
//! 20,000 runs from the stages' histograms with a fixed seed: deterministic, and a few milliseconds.

use crate::figures::Histogram;
use crate::record::site::SiteKind;
use crate::snapshot::snapshot;

/// What is known of one stage.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StageModel {
    /// The stage's name.
    pub stage: String,
    /// Its durations.
    pub durations: Histogram,
    /// The fraction of runs it takes part in, 0 to 1.
    pub runs_fraction: f64,
}

impl StageModel {
    /// A stage with these durations that runs in `runs_fraction` of runs.
    pub fn new(stage: impl Into<String>, durations: Histogram, runs_fraction: f64) -> StageModel {
        StageModel {
            stage: stage.into(),
            durations,
            runs_fraction: runs_fraction.clamp(0.0, 1.0),
        }
    }
}

/// The expected duration of a run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Estimate {
    /// Median duration of a whole run, seconds.
    pub total_p50: f64,
    /// 90th percentile of a whole run, seconds.
    pub total_p90: f64,
    /// Median of what remains after the finished stages, seconds.
    pub remaining_p50: f64,
    /// 90th percentile of what remains, seconds.
    pub remaining_p90: f64,
    /// Each stage's median and share of the total, in the order given.
    pub stages: Vec<StageEstimate>,
}

/// One stage's part of an [`Estimate`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StageEstimate {
    /// The stage.
    pub stage: String,
    /// Its median duration, seconds.
    pub p50: f64,
    /// Its mean duration times the fraction of runs it is in, over the same for all stages.
    pub share: f64,
    /// Whether the run has finished it.
    pub finished: bool,
}

const DRAWS: usize = 20_000;

/// xorshift64*: fixed seed, so the same history gives the same estimate.
struct Rng(u64);

impl Rng {
    fn next_unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Estimates a run of `stages` (in any order), given the names of those already finished.
///
/// # Examples
///
/// ```
/// use monitor_core::figures::Histogram;
/// use monitor_core::history::{StageModel, estimate_stages};
/// use std::time::Duration;
///
/// let mut fetch = Histogram::default();
/// let mut render = Histogram::default();
/// for ms in 1..=100 {
///     fetch.record(Duration::from_millis(ms));
///     render.record(Duration::from_millis(10));
/// }
/// let stages = [StageModel::new("fetch", fetch, 1.0), StageModel::new("render", render, 1.0)];
/// let e = estimate_stages(&stages, &["fetch"]);
/// assert!((e.total_p50 - 0.060).abs() < 0.003);
/// assert!((e.remaining_p50 - 0.010).abs() < 0.001);
/// ```
pub fn estimate_stages(stages: &[StageModel], finished: &[&str]) -> Estimate {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let cdfs: Vec<Vec<(u64, f64)>> = stages.iter().map(|s| s.durations.cdf()).collect();
    let mut totals = Vec::with_capacity(DRAWS);
    let mut remaining = Vec::with_capacity(DRAWS);
    for _ in 0..DRAWS {
        let (mut total, mut left) = (0.0, 0.0);
        for (stage, cdf) in stages.iter().zip(&cdfs) {
            let Some(&(count, _)) = cdf.last() else {
                continue;
            };
            if rng.next_unit() >= stage.runs_fraction {
                continue;
            }
            // The value of a uniformly drawn rank.
            let rank = (rng.next_unit() * count as f64) as u64;
            let d = cdf[cdf
                .partition_point(|(seen, _)| *seen <= rank)
                .min(cdf.len() - 1)]
            .1;
            total += d;
            if !finished.contains(&stage.stage.as_str()) {
                left += d;
            }
        }
        totals.push(total);
        remaining.push(left);
    }
    let quantile = |values: &mut Vec<f64>, q: f64| {
        values.sort_by(f64::total_cmp);
        values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1]
    };
    let weights: Vec<f64> = stages
        .iter()
        .map(|s| s.durations.mean().as_secs_f64() * s.runs_fraction)
        .collect();
    let sum: f64 = weights.iter().sum();
    Estimate {
        total_p50: quantile(&mut totals, 0.5),
        total_p90: quantile(&mut totals, 0.9),
        remaining_p50: quantile(&mut remaining, 0.5),
        remaining_p90: quantile(&mut remaining, 0.9),
        stages: stages
            .iter()
            .zip(weights)
            .map(|(s, w)| StageEstimate {
                stage: s.stage.clone(),
                p50: s.durations.quantile(0.5).as_secs_f64(),
                share: if sum > 0.0 { w / sum } else { 0.0 },
                finished: finished.contains(&s.stage.as_str()),
            })
            .collect(),
    }
}

/// Estimates a run of `pipeline` from what its `#[pipeline_stage]` sites recorded so far, given
/// the stages already finished; `None` before any stage of it has finished a call.
pub fn estimate(pipeline: &str, finished: &[&str]) -> Option<Estimate> {
    let stages: Vec<(String, Histogram)> = snapshot()
        .sites
        .into_iter()
        .filter(|s| s.site.kind() == SiteKind::Stage && s.site.pipeline() == Some(pipeline))
        .map(|s| {
            (
                s.site.stage().unwrap_or(s.site.name()).to_owned(),
                s.figures.durations.clone(),
            )
        })
        .collect();
    let most = stages
        .iter()
        .map(|(_, h)| h.count())
        .max()
        .filter(|n| *n > 0)?;
    let models: Vec<StageModel> = stages
        .into_iter()
        .map(|(stage, h)| {
            let fraction = h.count() as f64 / most as f64;
            StageModel::new(stage, h, fraction)
        })
        .collect();
    Some(estimate_stages(&models, finished))
}
