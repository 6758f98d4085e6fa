//! `/api/estimates`: each pipeline's expected duration.

use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct Estimates {
    pub(crate) pipelines: Vec<PipelineEstimate>,
}

#[derive(Serialize)]
pub(crate) struct PipelineEstimate {
    pub(crate) pipeline: &'static str,
    /// `null` when the history has no run of it.
    pub(crate) estimate: Option<Estimate>,
}

#[derive(Serialize)]
pub(crate) struct Estimate {
    total_p50: f64,
    total_p90: f64,
    remaining_p50: f64,
    remaining_p90: f64,
    stages: Vec<StageEstimate>,
}

impl From<&monitor_core::history::Estimate> for Estimate {
    fn from(e: &monitor_core::history::Estimate) -> Estimate {
        Estimate {
            total_p50: e.total_p50,
            total_p90: e.total_p90,
            remaining_p50: e.remaining_p50,
            remaining_p90: e.remaining_p90,
            stages: e
                .stages
                .iter()
                .map(|s| StageEstimate {
                    stage: s.stage.clone(),
                    p50: s.p50,
                    share: s.share,
                    finished: s.finished,
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct StageEstimate {
    stage: String,
    p50: f64,
    share: f64,
    finished: bool,
}
