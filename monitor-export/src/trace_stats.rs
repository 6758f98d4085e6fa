//! What tracing kept and dropped, as counters: named once here, written by every exporter
//! (Prometheus as `monitor_trace_…_total`, OTLP as `monitor.trace.…` sums).
//!
//! A run that ends is kept whole or dropped whole, a span beyond a run's limit is dropped, a
//! call past the limit of runs in flight is not traced, and a kept run the export queue has no
//! room for (or an exporter gave up on) is lost. Each of these is counted, so that a trace
//! backend missing a run can be told why from the metrics alone.
//!
//! | Prometheus | OTLP | label / attribute |
//! |---|---|---|
//! | `monitor_trace_runs_kept_total` | `monitor.trace.runs.kept` | `reason`: `failed`, `cancelled`, `slow`, `over_budget`, `sampled` |
//! | `monitor_trace_runs_unsampled_total` | `monitor.trace.runs.unsampled` | |
//! | `monitor_trace_spans_dropped_total` | `monitor.trace.spans.dropped` | `reason`: `limit`, `detached` |
//! | `monitor_trace_runs_over_limit_total` | `monitor.trace.runs.over_limit` | |
//! | `monitor_trace_export_dropped_total` | `monitor.trace.export.dropped` | |

use monitor_core::trace::{KeepReason, TraceStats};

/// Runs kept as traces, by [`REASON_LABEL`]: the Prometheus name of the first row.
pub const RUNS_KEPT: &str = "monitor_trace_runs_kept_total";
/// Runs dropped as sampling meant.
pub const RUNS_UNSAMPLED: &str = "monitor_trace_runs_unsampled_total";
/// Spans lost, by [`REASON_LABEL`].
pub const SPANS_DROPPED: &str = "monitor_trace_spans_dropped_total";
/// Calls not traced: too many runs in flight.
pub const RUNS_OVER_LIMIT: &str = "monitor_trace_runs_over_limit_total";
/// Kept runs never exported.
pub const EXPORT_DROPPED: &str = "monitor_trace_export_dropped_total";
/// The label that splits [`RUNS_KEPT`] and [`SPANS_DROPPED`].
pub const REASON_LABEL: &str = "reason";

/// One counter of [`TraceStats`]: its names, unit and help, and its points.
#[derive(Debug)]
pub struct TraceCounter {
    /// The Prometheus name, `_total` included.
    pub prometheus: &'static str,
    /// The OTLP name.
    pub otlp: &'static str,
    /// The OTLP unit.
    pub unit: &'static str,
    /// The help text (Prometheus) and description (OTLP).
    pub help: &'static str,
    /// Its points in `stats`: a label (name and value) when the counter is split, and the count.
    pub points: fn(&TraceStats) -> Vec<TracePoint>,
}

/// One point of a [`TraceCounter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracePoint {
    /// Its label (`reason`), when the counter is split.
    pub label: Option<(&'static str, &'static str)>,
    /// The count since the process started.
    pub value: u64,
}

fn one(value: u64) -> Vec<TracePoint> {
    vec![TracePoint { label: None, value }]
}

/// Every counter of tracing's bookkeeping.
pub const TRACE_COUNTERS: &[TraceCounter] = &[
    TraceCounter {
        prometheus: RUNS_KEPT,
        otlp: "monitor.trace.runs.kept",
        unit: "{run}",
        help: "Runs kept as traces, by the rule that kept them: failed, cancelled, slow, \
               over_budget (the tail rules), or sampled (head sampling).",
        points: |s| {
            KeepReason::ALL
                .iter()
                .zip(s.kept)
                .map(|(reason, value)| TracePoint {
                    label: Some((REASON_LABEL, reason.as_str())),
                    value,
                })
                .collect()
        },
    },
    TraceCounter {
        prometheus: RUNS_UNSAMPLED,
        otlp: "monitor.trace.runs.unsampled",
        unit: "{run}",
        help: "Runs that ended neither drawn by head sampling nor kept by a tail rule: dropped \
               as sampling meant.",
        points: |s| one(s.unsampled),
    },
    TraceCounter {
        prometheus: SPANS_DROPPED,
        otlp: "monitor.trace.spans.dropped",
        unit: "{span}",
        help: "Spans lost: beyond a run's limit of spans (limit), or of work handed to another \
               task without its run that ended outside it (detached).",
        points: |s| {
            vec![
                TracePoint {
                    label: Some((REASON_LABEL, "limit")),
                    value: s.spans_dropped,
                },
                TracePoint {
                    label: Some((REASON_LABEL, "detached")),
                    value: s.spans_detached,
                },
            ]
        },
    },
    TraceCounter {
        prometheus: RUNS_OVER_LIMIT,
        otlp: "monitor.trace.runs.over_limit",
        unit: "{run}",
        help: "Calls not traced because as many runs were in progress as allowed.",
        points: |s| one(s.runs_over_limit),
    },
    TraceCounter {
        prometheus: EXPORT_DROPPED,
        otlp: "monitor.trace.export.dropped",
        unit: "{run}",
        help: "Kept runs never exported: the export queue had no room for them, or a trace \
               exporter gave up on them.",
        points: |s| one(s.export_dropped),
    },
];

#[cfg(test)]
mod tests {
    use super::TRACE_COUNTERS;
    use monitor_core::trace::TraceStats;

    #[test]
    fn every_count_of_trace_stats_is_a_point_once() {
        let mut stats = TraceStats::default();
        stats.kept = [1, 2, 3, 4, 5];
        stats.unsampled = 6;
        stats.spans_dropped = 7;
        stats.spans_detached = 8;
        stats.runs_over_limit = 9;
        stats.export_dropped = 10;
        let mut values: Vec<u64> = TRACE_COUNTERS
            .iter()
            .flat_map(|c| (c.points)(&stats))
            .map(|p| p.value)
            .collect();
        values.sort_unstable();
        assert_eq!(values, (1..=10).collect::<Vec<u64>>());
        for c in TRACE_COUNTERS {
            assert!(c.prometheus.starts_with("monitor_trace_") && c.prometheus.ends_with("_total"));
            assert!(c.otlp.starts_with("monitor.trace."));
        }
    }
}
