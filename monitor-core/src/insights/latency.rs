//! Time: where a pipeline spends it, the slowest handler, and models whose first chunk comes later
//! than it used to.

use super::read::{BASELINE, RECENT, figures, history, subject};
use super::words::{calls_of, finite_or_zero, percent, seconds, span};
use super::{Insight, Severity};
use crate::figures::Figures;
use crate::history::query::{Field, TimeRange};
use crate::record::site::SiteKind;
use crate::snapshot::Snapshot;
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Calls a handler needs in the window before its p99 is compared: a p99 of a handful of calls is
/// its maximum.
const MIN_CALLS_FOR_P99: u64 = 20;

/// Streamed calls a model needs in each of [`RECENT`] and [`BASELINE`] before its time to first
/// chunk p99 is compared: of fewer, the p99 is the slowest call or two.
const MIN_CALLS_FOR_FIRST_CHUNK: u64 = 20;

/// How many times the usual time to first chunk p99 the recent one must be to count as rising: a
/// tail half as long again is what the users of a chat notice, while a provider's p99 wanders by
/// a quarter or so from one stretch to the next.
const FIRST_CHUNK_RISE_FACTOR: f64 = 1.5;

/// How much longer, in absolute terms, the recent p99 must be: 100 ms, about the least delay a
/// person notices before an answer starts. A fast model whose p99 goes from 20 to 60 ms is not
/// worth a warning.
const FIRST_CHUNK_RISE_MIN_SECS: f64 = 0.1;

/// Time spent in the calls, seconds.
fn time(f: &Figures) -> f64 {
    f.durations.sum().as_secs_f64()
}

fn quantile(f: &Figures, q: f64) -> f64 {
    f.durations.quantile(q).as_secs_f64()
}

/// Per pipeline of two stages or more, the stage that takes the largest share of its time.
pub(super) fn slowest_stages(now: SystemTime, snapshot: &Snapshot) -> Vec<Insight> {
    let (stages, when) = figures(
        now,
        snapshot,
        SiteKind::Stage,
        &[Field::Pipeline, Field::Stage],
    );
    let mut pipelines: BTreeMap<String, Vec<(String, Figures)>> = BTreeMap::new();
    for (key, figures) in stages {
        if let (Some(pipeline), Some(stage)) = (key.get("pipeline"), key.get("stage")) {
            pipelines
                .entry(pipeline.clone())
                .or_default()
                .push((stage.clone(), figures));
        }
    }
    pipelines
        .into_iter()
        .filter(|(_, stages)| stages.len() >= 2)
        .filter_map(|(pipeline, stages)| {
            let total: f64 = stages.iter().map(|(_, f)| time(f)).sum();
            let (stage, top) = stages
                .iter()
                .max_by(|a, b| time(&a.1).total_cmp(&time(&b.1)))?;
            let share = time(top) / total;
            // No time at all (calls too fast for the clock) says nothing about which is slowest.
            (total > 0.0 && share.is_finite()).then(|| {
                Insight::new(
                    Severity::Info,
                    "slowest_stage",
                    format!(
                        "Stage `{stage}` takes {} of pipeline `{pipeline}`'s time {when} (p50 {}, \
                         {})",
                        percent(share),
                        seconds(quantile(top, 0.5)),
                        calls_of(top.calls()),
                    ),
                )
            })
        })
        .collect()
}

/// The handler with the highest p99 among those with enough calls.
pub(super) fn slowest_handler(now: SystemTime, snapshot: &Snapshot) -> Option<Insight> {
    let (handlers, when) = figures(
        now,
        snapshot,
        SiteKind::Handler,
        &[Field::Kind, Field::Site, Field::Route],
    );
    let (key, top) = handlers
        .into_iter()
        .filter(|(_, f)| f.calls() >= MIN_CALLS_FOR_P99)
        .max_by(|a, b| quantile(&a.1, 0.99).total_cmp(&quantile(&b.1, 0.99)))?;
    Some(Insight::new(
        Severity::Info,
        "slowest_handler",
        format!(
            "The slowest handler by p99 is {}: p99 {}, p50 {}, over {} {when}",
            subject(&key),
            seconds(quantile(&top, 0.99)),
            seconds(quantile(&top, 0.5)),
            calls_of(top.calls()),
        ),
    ))
}

/// Models whose time to first chunk p99 in the last [`RECENT`] is well above the one in the
/// [`BASELINE`] before: a provider slowing down, or prompts growing.
pub(super) fn rising_first_chunk(now: SystemTime) -> Vec<Insight> {
    let split = now.checked_sub(RECENT).unwrap_or(UNIX_EPOCH);
    let start = split.checked_sub(BASELINE).unwrap_or(UNIX_EPOCH);
    let window = |from, to| -> BTreeMap<String, (u64, f64)> {
        history(
            TimeRange::Between { from, to },
            now,
            Some(SiteKind::Tokens),
            &[Field::Model],
        )
        .map(|r| r.groups)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|g| {
            let model = g.key.get("model")?.clone();
            Some((
                model,
                (
                    g.figures.streamed_calls(),
                    finite_or_zero(g.figures.first_chunk.p99().as_secs_f64()),
                ),
            ))
        })
        .collect()
    };
    let before = window(start, split);
    let mut rising: Vec<(f64, Insight)> = window(split, now)
        .into_iter()
        .filter_map(|(model, recent)| {
            let usual = before.get(&model)?;
            let insight = first_chunk_rise(&model, recent, *usual)?;
            Some((recent.1 / usual.1, insight))
        })
        .collect();
    rising.sort_by(|a, b| b.0.total_cmp(&a.0));
    rising.into_iter().map(|(_, insight)| insight).collect()
}

/// The warning for a model whose time to first chunk p99 rose from `usual` to `recent`, each
/// `(calls, p99 in seconds)`; `None` when it did not rise enough, or too few calls tell.
fn first_chunk_rise(model: &str, recent: (u64, f64), usual: (u64, f64)) -> Option<Insight> {
    let ((recent_calls, now_p99), (usual_calls, usual_p99)) = (recent, usual);
    let rises = recent_calls >= MIN_CALLS_FOR_FIRST_CHUNK
        && usual_calls >= MIN_CALLS_FOR_FIRST_CHUNK
        // Without streams in a window its p99 is 0: nothing to compare.
        && usual_p99 > 0.0
        && now_p99 >= usual_p99 * FIRST_CHUNK_RISE_FACTOR
        && now_p99 - usual_p99 >= FIRST_CHUNK_RISE_MIN_SECS;
    rises.then(|| {
        Insight::new(
            Severity::Warning,
            "rising_first_chunk",
            format!(
                "Time to first chunk is rising for model `{model}`: p99 {} in the last {} ({}), \
                 up from {} in the {} before",
                seconds(now_p99),
                span(RECENT),
                calls_of(recent_calls),
                seconds(usual_p99),
                span(BASELINE),
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_to_first_chunk_half_as_long_again_and_100_ms_longer_is_rising() {
        let insight = first_chunk_rise("m", (40, 0.45), (120, 0.3)).unwrap();
        assert_eq!(insight.severity, Severity::Warning);
        assert_eq!(insight.kind, "rising_first_chunk");
        assert_eq!(
            insight.message,
            "Time to first chunk is rising for model `m`: p99 450 ms in the last 5 min (40 calls), \
             up from 300 ms in the 10 min before"
        );
        // Twice as long, but only 40 ms longer; 90 ms longer but not half as long again; too few
        // calls in either window; nothing streamed before.
        assert_eq!(first_chunk_rise("m", (40, 0.08), (40, 0.04)), None);
        assert_eq!(first_chunk_rise("m", (40, 0.39), (40, 0.3)), None);
        assert_eq!(first_chunk_rise("m", (19, 0.9), (40, 0.3)), None);
        assert_eq!(first_chunk_rise("m", (40, 0.9), (19, 0.3)), None);
        assert_eq!(first_chunk_rise("m", (40, 0.9), (40, 0.0)), None);
        assert!(first_chunk_rise("m", (20, 0.4), (20, 0.3)).is_none());
        assert!(first_chunk_rise("m", (20, 0.45), (20, 0.3)).is_some());
    }
}
