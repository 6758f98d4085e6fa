//! The OpenTelemetry GenAI conventions: which series a snapshot's metered calls make, with which
//! attributes, and the conventions' histograms. Shared by every exporter, so that Prometheus and a
//! push exporter name the same calls the same way.
//!
//! A series is one operation of one provider's model: `gen_ai.operation.name` (the attribute's
//! `operation = "…"`, `chat` by default), `gen_ai.provider.name` (`provider = "…"`),
//! `gen_ai.request.model` (the model asked for) and `gen_ai.response.model` (the model the latest
//! response named, else the one asked for). Token sites that share all four are one series.
//!
//! Each GenAI histogram is named once, for every exporter, in [`GEN_AI_HISTOGRAMS`]: its
//! OpenTelemetry and Prometheus names, unit, help, bounds, and the points a series makes of it.
//! Prometheus writes the attributes with their dots as underscores (`error.type` is
//! `error_type`).
//!
//! On `/metrics` they are real histograms with the conventions' explicit boundaries:
//! `gen_ai_client_operation_duration_seconds` and, for streams,
//! `gen_ai_client_operation_time_to_first_chunk_seconds` and
//! `gen_ai_client_operation_time_per_output_chunk_seconds` (0.01, 0.02, 0.04 … 81.92 s; the
//! site's histogram folded onto them, so a call within 3 % below a bound may count under the
//! next), and `gen_ai_client_token_usage{gen_ai_token_type="input"|"output"}` (1, 4, 16 …
//! 67,108,864 tokens, from each call's counts, kept on the record path). `gen_ai.provider.name` is
//! `_OTHER` when the site names none ([`UNKNOWN_PROVIDER`]); `gen_ai.response.model` is the model
//! the latest response named (`gpt-4o-2024-08-06` for a request for `gpt-4o`), else the model asked
//! for; `error.type`, on failed calls, is the Rust type of their error, or `_OTHER` when they had
//! several ([`OTHER_ERROR`]).
//!
//! How monitor's five kinds of tokens map to the conventions' names:
//!
//! | monitor | legacy: `gen_ai.usage.*` attributes | newer: `gen_ai.client.inference.usage.*` counters (under `OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`) | on `/metrics` |
//! |---|---|---|---|
//! | `input` (all input) | `input_tokens` | `input_tokens` | `gen_ai_client_token_usage{gen_ai_token_type="input"}`, `monitor_*tokens_total{…="input"}` |
//! | `cached_input` (part of input) | `cache_read.input_tokens` | `cache_read.input_tokens` | `monitor_*tokens_total{…="cached_input"}` |
//! | `cache_write` (part of input) | `cache_creation.input_tokens` | `cache_write.input_tokens` | `monitor_*tokens_total{…="cache_write"}` |
//! | `output` (all output) | `output_tokens` | `output_tokens` | `gen_ai_client_token_usage{gen_ai_token_type="output"}`, `monitor_*tokens_total{…="output"}` |
//! | `reasoning` (part of output) | — (none) | `reasoning.output_tokens` | `monitor_*tokens_total{…="reasoning"}` |

use monitor_core::figures::Histogram;
use monitor_core::figures::OutcomeFilter;
use monitor_core::site::SiteKind;
use monitor_core::{Figures, Snapshot};
use std::collections::BTreeMap;
use std::time::Duration;

/// Boundaries of `gen_ai.client.operation.duration`, `…time_to_first_chunk` and
/// `…time_per_output_chunk`, in seconds: 0.01 doubling to 81.92, as the conventions give them.
pub const DURATION_BOUNDS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// Boundaries of `gen_ai.client.token.usage`: 1, 4, 16 … 67,108,864 tokens.
pub const TOKEN_BOUNDS: [u64; 14] = monitor_core::figures::TOKEN_BOUNDS;

/// [`TOKEN_BOUNDS`] as a histogram's bounds are given to [`GenAiHistogram::bounds`].
const TOKEN_BOUNDS_F64: [f64; 14] = {
    let mut bounds = [0.0; 14];
    let mut k = 0;
    while k < bounds.len() {
        bounds[k] = TOKEN_BOUNDS[k] as f64;
        k += 1;
    }
    bounds
};

/// `gen_ai.provider.name` of a site that names none.
pub const UNKNOWN_PROVIDER: &str = "_OTHER";

/// `error.type` when the failed calls of a series had several error types, or none known (a 5xx
/// status without an `Err`): the conventions' fallback value.
pub const OTHER_ERROR: &str = "_OTHER";

/// The attribute of a failed call's error type (`error_type` in Prometheus).
pub const ERROR_TYPE: &str = "error.type";

/// The attributes of one series.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GenAiKey {
    /// `gen_ai.operation.name`.
    pub operation: &'static str,
    /// `gen_ai.provider.name`.
    pub provider: &'static str,
    /// `gen_ai.request.model`.
    pub request_model: String,
    /// `gen_ai.response.model`.
    pub response_model: String,
}

/// The names of a series' attributes ([`GenAiKey::attributes`]), in the order exporters write
/// them.
pub const KEY_ATTRIBUTES: [&str; 4] = [
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
];

impl GenAiKey {
    /// Each of [`KEY_ATTRIBUTES`] with its value.
    pub fn attributes(&self) -> [(&'static str, &str); 4] {
        let [operation, provider, request, response] = KEY_ATTRIBUTES;
        [
            (operation, self.operation),
            (provider, self.provider),
            (request, &self.request_model),
            (response, &self.response_model),
        ]
    }
}

/// One series: its attributes, its calls' figures, and the `error.type` of its failures.
#[derive(Debug, Clone)]
pub struct GenAiSeries {
    /// Its attributes.
    pub key: GenAiKey,
    /// The figures of its calls.
    pub figures: Figures,
    /// `error.type` of its failed calls, when it had any.
    pub error_type: Option<&'static str>,
}

impl GenAiSeries {
    /// Durations of the calls that did not fail.
    pub fn ok_durations(&self) -> Histogram {
        self.figures.with_outcome(OutcomeFilter::Ok).durations
    }

    /// Durations of the calls that failed: errors, and answers with a 4xx status.
    pub fn failed_durations(&self) -> Histogram {
        let mut failed = self.figures.error_durations.clone();
        failed.merge(&self.figures.client_error_durations);
        failed
    }
}

/// A GenAI histogram, as every exporter names it: a row of [`GEN_AI_HISTOGRAMS`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct GenAiHistogram {
    /// The OpenTelemetry name (`gen_ai.client.operation.duration`).
    pub otlp: &'static str,
    /// The Prometheus family's name (`gen_ai_client_operation_duration_seconds`).
    pub prometheus: &'static str,
    /// The unit, as OTLP writes it (UCUM: `s`, `{token}`).
    pub unit: &'static str,
    /// The Prometheus help text. It names the labels as Prometheus writes them, so OTLP has a
    /// description of its own.
    pub help: &'static str,
    /// The OTLP description.
    pub description: &'static str,
    /// The upper bounds of the buckets, in [`unit`](GenAiHistogram::unit), `+Inf` left out.
    pub bounds: &'static [f64],
    /// The points of one series: none where it has nothing to say (a series without streams has
    /// no time to first chunk).
    pub points: fn(&GenAiSeries) -> Vec<GenAiPoint>,
}

/// One point of a [`GenAiHistogram`] for one series.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GenAiPoint {
    /// The attribute the point adds to the series' own, by its OpenTelemetry name, and its value:
    /// `("error.type", "app::Error")`, `("gen_ai.token.type", "input")`.
    pub attribute: Option<(&'static str, &'static str)>,
    /// The values at or below each of the row's bounds, then all of them (`+Inf`).
    pub cumulative: Vec<u64>,
    /// The sum of the values, in the row's unit.
    pub sum: f64,
    /// The durations the buckets were folded from, for an exporter that writes exponential
    /// (native) buckets; `None` for token counts, which are kept only on the bounds.
    pub source: Option<Histogram>,
}

impl GenAiPoint {
    /// Durations folded onto [`DURATION_BOUNDS`], `h` kept for exponential buckets.
    fn seconds(attribute: Option<(&'static str, &'static str)>, h: Histogram) -> GenAiPoint {
        GenAiPoint {
            attribute,
            cumulative: fold_seconds(&h, &DURATION_BOUNDS),
            sum: h.sum().as_secs_f64(),
            source: Some(h),
        }
    }

    /// How many values the point holds.
    pub fn count(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }
}

/// `gen_ai_client_operation_duration_seconds`: the Prometheus name of the first row of
/// [`GEN_AI_HISTOGRAMS`].
pub const OPERATION_DURATION: &str = "gen_ai_client_operation_duration_seconds";
/// `gen_ai_client_operation_time_to_first_chunk_seconds`: a streamed call's time to its first
/// chunk.
pub const TIME_TO_FIRST_CHUNK: &str = "gen_ai_client_operation_time_to_first_chunk_seconds";

/// The GenAI client histograms, each with its name in every exporter: Prometheus writes each row
/// as a histogram family with the GenAI labels, OTLP as a histogram with the GenAI attributes
/// (durations exponential unless explicit buckets are asked for). A new GenAI histogram is
/// exported by a row here.
pub const GEN_AI_HISTOGRAMS: &[GenAiHistogram] = &[
    GenAiHistogram {
        otlp: "gen_ai.client.operation.duration",
        prometheus: OPERATION_DURATION,
        unit: "s",
        help: "GenAI operation duration (OpenTelemetry gen_ai.client.operation.duration): from the \
               call to its value, or to a stream's end; failed calls carry error_type.",
        description: "GenAI operation duration.",
        bounds: &DURATION_BOUNDS,
        points: operation_duration,
    },
    GenAiHistogram {
        otlp: "gen_ai.client.token.usage",
        prometheus: "gen_ai_client_token_usage",
        unit: "{token}",
        help: "Tokens per metered call (OpenTelemetry gen_ai.client.token.usage), by \
               gen_ai_token_type: input (cached included) or output.",
        description: "Number of input and output tokens used.",
        bounds: &TOKEN_BOUNDS_F64,
        points: token_usage,
    },
    GenAiHistogram {
        otlp: "gen_ai.client.operation.time_to_first_chunk",
        prometheus: TIME_TO_FIRST_CHUNK,
        unit: "s",
        help: "Time from a streamed call to its first chunk \
               (OpenTelemetry gen_ai.client.operation.time_to_first_chunk).",
        description: "Time from a streamed call to its first chunk.",
        bounds: &DURATION_BOUNDS,
        points: |s| streamed(&s.figures.first_chunk),
    },
    GenAiHistogram {
        otlp: "gen_ai.client.operation.time_per_output_chunk",
        prometheus: "gen_ai_client_operation_time_per_output_chunk_seconds",
        unit: "s",
        help: "Time per output chunk of a streamed call after its first, from the first chunk to \
               the last (OpenTelemetry gen_ai.client.operation.time_per_output_chunk).",
        description: "Time per output chunk of a streamed call after its first, from the first \
                      chunk to the last.",
        bounds: &DURATION_BOUNDS,
        points: |s| streamed(&s.figures.per_output_chunk),
    },
];

/// The calls that did not fail — a point even when there were none, so that every series has
/// one — and those that failed, with their `error.type`.
fn operation_duration(s: &GenAiSeries) -> Vec<GenAiPoint> {
    let mut points = vec![GenAiPoint::seconds(None, s.ok_durations())];
    if let Some(error_type) = s.error_type {
        points.push(GenAiPoint::seconds(
            Some((ERROR_TYPE, error_type)),
            s.failed_durations(),
        ));
    }
    points
}

/// Input and output tokens per call, once the series metered any call.
fn token_usage(s: &GenAiSeries) -> Vec<GenAiPoint> {
    let f = &s.figures;
    if f.token_calls == 0 {
        return Vec::new();
    }
    [
        ("input", &f.tokens_per_call[0], f.tokens.input),
        ("output", &f.tokens_per_call[1], f.tokens.output),
    ]
    .into_iter()
    .map(|(token_type, per_call, sum)| GenAiPoint {
        attribute: Some(("gen_ai.token.type", token_type)),
        cumulative: token_buckets(per_call),
        sum: sum as f64,
        source: None,
    })
    .collect()
}

/// A stream timing, once the series streamed.
fn streamed(h: &Histogram) -> Vec<GenAiPoint> {
    if h.count() == 0 {
        return Vec::new();
    }
    vec![GenAiPoint::seconds(None, h.clone())]
}

/// The GenAI series of `snapshot`'s token sites, sorted by attributes.
pub fn series(snapshot: &Snapshot) -> Vec<GenAiSeries> {
    let mut error_types: BTreeMap<*const monitor_core::Site, Vec<&'static str>> = BTreeMap::new();
    for p in &snapshot.errors.patterns {
        let types = error_types.entry(std::ptr::from_ref(p.site)).or_default();
        if !types.contains(&p.error_type) {
            types.push(p.error_type);
        }
    }
    let mut by_key: BTreeMap<GenAiKey, (Figures, Vec<&'static str>)> = BTreeMap::new();
    for s in snapshot
        .sites
        .iter()
        .filter(|s| s.site.kind() == SiteKind::Tokens)
    {
        let site = s.site;
        for (model, figures) in s.model_parts() {
            if figures.calls() == 0 {
                continue;
            }
            let request = model.unwrap_or(monitor_core::usage::UNKNOWN_MODEL);
            let key = GenAiKey {
                operation: site.operation(),
                provider: site.provider().unwrap_or(UNKNOWN_PROVIDER),
                request_model: request.to_owned(),
                response_model: s.response_model(request).to_owned(),
            };
            let (sum, types) = by_key.entry(key).or_default();
            sum.add(figures);
            if figures.errors + figures.client_errors > 0 {
                for t in error_types
                    .get(&std::ptr::from_ref(site))
                    .into_iter()
                    .flatten()
                {
                    if !types.contains(t) {
                        types.push(t);
                    }
                }
            }
        }
    }
    by_key
        .into_iter()
        .map(|(key, (figures, types))| {
            let failed = figures.errors + figures.client_errors > 0;
            let error_type = failed.then_some(match types.as_slice() {
                [one] => *one,
                _ => OTHER_ERROR,
            });
            GenAiSeries {
                key,
                figures,
                error_type,
            }
        })
        .collect()
}

/// `h` folded onto `bounds` (seconds), cumulative, with `+Inf` last.
///
/// A bucket of `h` is counted under the first bound at or above its upper end, so no call is
/// counted under a bound it may exceed; a call within the histogram's bucket width (≤ 3 %) below
/// a bound may be counted under the next.
pub fn fold_seconds(h: &Histogram, bounds: &[f64]) -> Vec<u64> {
    let bounds: Vec<Duration> = bounds.iter().map(|&s| Duration::from_secs_f64(s)).collect();
    let mut buckets = vec![0u64; bounds.len() + 1];
    for (upper, n) in h.buckets() {
        let index = bounds
            .iter()
            .position(|&bound| upper <= bound)
            .unwrap_or(bounds.len());
        buckets[index] = buckets[index].saturating_add(n);
    }
    cumulate(&mut buckets);
    buckets
}

/// Per-call token counts ([`Figures::tokens_per_call`]) made cumulative, with `+Inf` last.
pub fn token_buckets(per_call: &[u64]) -> Vec<u64> {
    let mut buckets = per_call.to_vec();
    cumulate(&mut buckets);
    buckets
}

fn cumulate(buckets: &mut [u64]) {
    let mut seen = 0u64;
    for bucket in buckets {
        seen = seen.saturating_add(*bucket);
        *bucket = seen;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boundaries_are_the_conventions() {
        assert_eq!(DURATION_BOUNDS[0], 0.01);
        for w in DURATION_BOUNDS.windows(2) {
            assert!((w[1] / w[0] - 2.0).abs() < 1e-9);
        }
        assert_eq!(TOKEN_BOUNDS[13], 67_108_864);
        let as_f64: Vec<f64> = TOKEN_BOUNDS.iter().map(|&b| b as f64).collect();
        assert_eq!(TOKEN_BOUNDS_F64.as_slice(), as_f64);
    }

    #[test]
    fn folding_never_counts_a_call_under_a_bound_it_exceeds() {
        let mut h = Histogram::default();
        h.record(Duration::from_millis(9));
        h.record(Duration::from_millis(11));
        h.record(Duration::from_secs(100));
        let folded = fold_seconds(&h, &DURATION_BOUNDS);
        assert_eq!(folded.len(), 15);
        assert_eq!((folded[0], folded[1], folded[13], folded[14]), (1, 2, 2, 3));
    }
}
