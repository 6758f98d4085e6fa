//! The Prometheus protobuf exposition format — varint-length-delimited `io.prometheus.client.
//! MetricFamily` messages — with native histograms beside the classic buckets: what a Prometheus
//! started with `--enable-feature=native-histograms` asks for
//! (`Accept: application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`).
//! The families, names and labels are the text exposition's ([`Exposition::series`]); each
//! duration histogram also carries its calls on the exponential schema at
//! [`SCALE`](crate::exponential::SCALE) (see [`exponential`](crate::exponential) for the error).
//! A site's duration bucket carries the exemplar of the site's newest call in a kept run, as the
//! OpenMetrics text does ([`crate::exemplars`]); Prometheus reads it from the classic bucket for
//! native histograms too.
//!
//! `/metrics` of the dashboard answers a scraper that asks for this format with the same families
//! as the text, each duration histogram (`monitor_call_duration_seconds`,
//! `gen_ai_client_operation_duration_seconds` and the two streaming ones) carrying native buckets
//! at schema 6 beside its classic ones; the text format stays the default
//! ([`Exposition::render_protobuf`], feature `protobuf`, on in the dashboard). The native buckets
//! are filled as OTLP's exponential ones are: each of monitor's buckets whole in the one holding
//! its midpoint.
//!
//! # Against the real Prometheus
//!
//! Against the real Prometheus 2.42 (`monitor-dashboard/tests/native_histograms.rs`: 1,500 calls
//! of 50 µs to 15 ms, scraped with native histograms on), `histogram_quantile(0.99, …)` over the
//! native series against the p99 monitor reports for the site, three runs (`cargo test -p
//! monitor-dashboard --test native_histograms -- --nocapture`):
//!
//! | p99 | run 1 | run 2 | run 3 |
//! |---|---:|---:|---:|
//! | monitor | 7.613 ms | 7.612 ms | 7.612 ms |
//! | native histogram | 7.645 ms (+0.42 %) | 7.645 ms (+0.44 %) | 7.645 ms (+0.43 %) |
//! | classic buckets (linear between 5 ms and 10 ms) | 7.917 ms (+3.99 %) | 7.917 ms (+4.01 %) | 7.917 ms (+4.00 %) |
//!
//! The test fails above 2 %.
//!
//! The messages are those of `io/prometheus/client/metrics.proto`, declared with prost.

use crate::exemplars::Exemplars;
use crate::exponential::Exponential;
use crate::prometheus::{Exposition, Series};
use monitor_core::Snapshot;

/// The content type of the delimited protobuf exposition.
pub const PROTOBUF_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// Whether an `Accept` header asks for the protobuf exposition.
///
/// # Examples
///
/// ```
/// use monitor_export::protobuf::accepts_protobuf;
///
/// assert!(accepts_protobuf("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3"));
/// assert!(!accepts_protobuf("text/plain;version=0.0.4"));
/// ```
pub fn accepts_protobuf(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let part = part.trim();
        part.starts_with("application/vnd.google.protobuf")
            && part.contains("proto=io.prometheus.client.MetricFamily")
            && !part.replace(' ', "").contains("q=0;")
            && !part.replace(' ', "").ends_with("q=0")
    })
}

/// `io.prometheus.client.MetricFamily`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricFamily {
    /// The name.
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// The help.
    #[prost(string, optional, tag = "2")]
    pub help: Option<String>,
    /// `MetricType`: 0 counter, 1 gauge, 3 untyped, 4 histogram.
    #[prost(int32, optional, tag = "3")]
    pub r#type: Option<i32>,
    /// The metrics.
    #[prost(message, repeated, tag = "4")]
    pub metric: Vec<Metric>,
}

/// `io.prometheus.client.Metric`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    /// The labels.
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    /// A gauge's value.
    #[prost(message, optional, tag = "2")]
    pub gauge: Option<Value>,
    /// A counter's value.
    #[prost(message, optional, tag = "3")]
    pub counter: Option<Value>,
    /// An untyped value.
    #[prost(message, optional, tag = "5")]
    pub untyped: Option<Value>,
    /// A histogram.
    #[prost(message, optional, tag = "7")]
    pub histogram: Option<Histogram>,
}

/// `io.prometheus.client.LabelPair`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPair {
    /// The name.
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// The value.
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// `io.prometheus.client.Counter`, `Gauge` and `Untyped`: a value in field 1.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Value {
    /// The value.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// `io.prometheus.client.Histogram`: classic buckets and native ones.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    /// Calls counted.
    #[prost(uint64, optional, tag = "1")]
    pub sample_count: Option<u64>,
    /// Their sum.
    #[prost(double, optional, tag = "2")]
    pub sample_sum: Option<f64>,
    /// The classic buckets, cumulative.
    #[prost(message, repeated, tag = "3")]
    pub bucket: Vec<Bucket>,
    /// The native schema.
    #[prost(sint32, optional, tag = "5")]
    pub schema: Option<i32>,
    /// The zero bucket's width.
    #[prost(double, optional, tag = "6")]
    pub zero_threshold: Option<f64>,
    /// Its count.
    #[prost(uint64, optional, tag = "7")]
    pub zero_count: Option<u64>,
    /// Runs of positive buckets.
    #[prost(message, repeated, tag = "12")]
    pub positive_span: Vec<BucketSpan>,
    /// Each positive bucket's count less the previous one's.
    #[prost(sint64, repeated, tag = "13")]
    pub positive_delta: Vec<i64>,
}

/// `io.prometheus.client.Bucket`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Bucket {
    /// Calls at or below the bound.
    #[prost(uint64, optional, tag = "1")]
    pub cumulative_count: Option<u64>,
    /// The bound, inclusive.
    #[prost(double, optional, tag = "2")]
    pub upper_bound: Option<f64>,
    /// A call counted in the bucket, and its trace.
    #[prost(message, optional, tag = "3")]
    pub exemplar: Option<Exemplar>,
}

/// `io.prometheus.client.Exemplar`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
    /// `trace_id` and `span_id`.
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    /// The call's duration, in seconds.
    #[prost(double, optional, tag = "2")]
    pub value: Option<f64>,
    /// When it ended.
    #[prost(message, optional, tag = "3")]
    pub timestamp: Option<Timestamp>,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// And nanoseconds, 0 to 999,999,999.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Exemplar {
    fn of(e: &crate::exemplars::Exemplar) -> Exemplar {
        let ended = e.ended_unix_nanos();
        let label = |name: &str, value: String| LabelPair {
            name: Some(name.to_owned()),
            value: Some(value),
        };
        Exemplar {
            label: vec![
                label("trace_id", e.trace_id.to_string()),
                label("span_id", e.span_id.to_string()),
            ],
            value: Some(e.seconds()),
            timestamp: Some(Timestamp {
                seconds: i64::try_from(ended / 1_000_000_000).unwrap_or(i64::MAX),
                nanos: i32::try_from(ended % 1_000_000_000).unwrap_or(0),
            }),
        }
    }
}

/// `io.prometheus.client.BucketSpan`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BucketSpan {
    /// Gap from the previous span's end, or the first bucket's index.
    #[prost(sint32, optional, tag = "1")]
    pub offset: Option<i32>,
    /// Buckets in the run.
    #[prost(uint32, optional, tag = "2")]
    pub length: Option<u32>,
}

impl Exposition {
    /// Every metric of `snapshot` as the delimited protobuf exposition ([`PROTOBUF_CONTENT_TYPE`]),
    /// duration histograms with native buckets beside the classic ones.
    pub fn render_protobuf(&mut self, snapshot: &Snapshot) -> Vec<u8> {
        self.render_protobuf_with(snapshot, &Exemplars::default())
    }

    /// As [`render_protobuf`](Exposition::render_protobuf), each site's duration histogram with
    /// the exemplar of the site's in `exemplars` on the bucket its value falls in.
    pub fn render_protobuf_with(&mut self, snapshot: &Snapshot, exemplars: &Exemplars) -> Vec<u8> {
        let mut out = Vec::new();
        for family in families(self.series_with(snapshot, exemplars)) {
            // Writing to a Vec cannot fail.
            let _ = prost::Message::encode_length_delimited(&family, &mut out);
        }
        out
    }
}

/// Every metric of `snapshot` as the delimited protobuf exposition, through the process's
/// [`Exposition`] (the one [`render`](crate::render) uses), with the exemplars of the process's
/// kept runs ([`Exemplars::recent`]).
pub fn render_protobuf(snapshot: &Snapshot) -> Vec<u8> {
    let exemplars = Exemplars::recent();
    crate::prometheus::with_process_exposition(|e| e.render_protobuf_with(snapshot, &exemplars))
}

/// The series grouped back into families: a histogram's `_bucket`, `_sum` and `_count` series
/// into one metric per label set.
fn families(series: Vec<Series>) -> Vec<MetricFamily> {
    let mut families: Vec<MetricFamily> = Vec::new();
    for s in series {
        let (base, part) = match s.kind {
            "histogram" => ["_bucket", "_sum", "_count"]
                .into_iter()
                .find_map(|suffix| s.name.strip_suffix(suffix).map(|b| (b.to_owned(), suffix)))
                .unwrap_or((s.name.clone(), "")),
            _ => (s.name.clone(), ""),
        };
        if families.last().and_then(|f| f.name.as_deref()) != Some(base.as_str()) {
            families.push(MetricFamily {
                name: Some(base),
                help: Some(s.help.to_owned()),
                r#type: Some(match s.kind {
                    "counter" => 0,
                    "gauge" => 1,
                    "histogram" => 4,
                    _ => 3,
                }),
                metric: Vec::new(),
            });
        }
        let Some(family) = families.last_mut() else {
            continue;
        };
        let labels: Vec<LabelPair> = s
            .labels
            .iter()
            .filter(|(name, _)| !(part == "_bucket" && name == "le"))
            .map(|(name, value)| LabelPair {
                name: Some(name.clone()),
                value: Some(value.clone()),
            })
            .collect();
        let value = Some(Value {
            value: Some(s.value),
        });
        match (s.kind, part) {
            ("counter", _) => family.metric.push(Metric {
                label: labels,
                counter: value,
                ..Metric::default()
            }),
            ("gauge", _) => family.metric.push(Metric {
                label: labels,
                gauge: value,
                ..Metric::default()
            }),
            ("histogram", _) => {
                let at = match family.metric.iter().position(|m| m.label == labels) {
                    Some(at) => at,
                    None => {
                        family.metric.push(Metric {
                            label: labels,
                            histogram: Some(Histogram::default()),
                            ..Metric::default()
                        });
                        family.metric.len() - 1
                    }
                };
                let Some(h) = family.metric[at].histogram.as_mut() else {
                    continue;
                };
                match part {
                    "_bucket" => {
                        let le = s.labels.iter().find(|(n, _)| n == "le").map(|(_, v)| v);
                        // +Inf is the count; the classic buckets list the finite bounds, and
                        // +Inf only to carry an exemplar.
                        if let Some(bound) = le.and_then(|v| v.parse::<f64>().ok())
                            && (bound.is_finite() || s.exemplar.is_some())
                        {
                            h.bucket.push(Bucket {
                                cumulative_count: Some(s.value as u64),
                                upper_bound: Some(bound),
                                exemplar: s.exemplar.as_ref().map(Exemplar::of),
                            });
                        }
                    }
                    "_sum" => h.sample_sum = Some(s.value),
                    _ => {
                        h.sample_count = Some(s.value as u64);
                        if let Some(native) = &s.native {
                            set_native(h, native);
                        }
                    }
                }
            }
            _ => family.metric.push(Metric {
                label: labels,
                untyped: value,
                ..Metric::default()
            }),
        }
    }
    families
}

/// The native buckets of `e`: runs of non-empty buckets, counts as deltas. Prometheus's bucket
/// `i` ends at `base^i`, OpenTelemetry's (and [`Exponential`]'s) starts there: one index apart.
fn set_native(h: &mut Histogram, e: &Exponential) {
    h.schema = Some(e.scale);
    h.zero_threshold = Some(0.0);
    h.zero_count = Some(e.zero_count);
    let mut previous_end: Option<i32> = None;
    let mut previous_count = 0i64;
    for (k, &n) in e.counts.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let index = e.offset + k as i32 + 1;
        match (previous_end, h.positive_span.last_mut()) {
            (Some(end), Some(span)) if end == index => {
                span.length = Some(span.length.unwrap_or(0) + 1);
            }
            _ => h.positive_span.push(BucketSpan {
                offset: Some(match previous_end {
                    Some(end) => index - end,
                    None => index,
                }),
                length: Some(1),
            }),
        }
        previous_end = Some(index + 1);
        let count = i64::try_from(n).unwrap_or(i64::MAX);
        h.positive_delta.push(count - previous_count);
        previous_count = count;
    }
    if h.positive_span.is_empty() && e.zero_count == 0 {
        // No observation yet: a no-op span marks it native, as the format asks.
        h.positive_span.push(BucketSpan {
            offset: Some(0),
            length: Some(0),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_buckets_are_runs_of_deltas_one_index_up() {
        let e = Exponential {
            scale: 5,
            zero_count: 0,
            offset: -10,
            counts: vec![2, 0, 0, 5, 1],
            count: 8,
            sum: 1.0,
        };
        let mut h = Histogram::default();
        set_native(&mut h, &e);
        let spans: Vec<(i32, u32)> = h
            .positive_span
            .iter()
            .map(|s| (s.offset.unwrap(), s.length.unwrap()))
            .collect();
        // Buckets -9 (2 calls), then -6 and -5 (5 and 1): a gap of 2 between the runs.
        assert_eq!(spans, [(-9, 1), (2, 2)]);
        assert_eq!(h.positive_delta, [2, 3, -4]);
    }
}
