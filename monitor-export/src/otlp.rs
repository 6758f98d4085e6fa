//! OTLP/HTTP metrics push: what the process recorded, as an `ExportMetricsServiceRequest` of the
//! official message types (`opentelemetry-proto`), posted as protobuf (gzip optional) to any
//! OpenTelemetry receiver — a Collector, Grafana Cloud, Honeycomb, Datadog — from a thread of its
//! own ([`Pusher`]): no async runtime needed from the service, unlike opentelemetry-rust's own
//! exporter, whose HTTP client panics without a reactor (opentelemetry-rust #3125, #2400). The
//! thread machinery is remote write's: a bounded queue, backoff, `Retry-After`, health in
//! `/metrics` and the dashboard's `/api/exports` (see [`crate::remote_write`]). Feature `otlp`.
//!
//! ```no_run
//! use monitor_export::otlp::{Otlp, Temporality};
//!
//! // From the standard variables: OTEL_EXPORTER_OTLP_ENDPOINT (…/v1/metrics appended),
//! // OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (as is), OTEL_EXPORTER_OTLP_HEADERS (k=v,…),
//! // OTEL_EXPORTER_OTLP_TIMEOUT and OTEL_METRIC_EXPORT_INTERVAL (ms), OTEL_SERVICE_NAME,
//! // OTEL_RESOURCE_ATTRIBUTES (k=v,…), OTEL_EXPORTER_OTLP_COMPRESSION (gzip),
//! // OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE (cumulative, delta). A bad value is an
//! // OtlpConfigError naming the variable and the value.
//! let pusher = Otlp::from_env()?
//!     .resource("service.instance.id", "api-1")   // a fleet's instances stay apart
//!     .temporality(Temporality::Delta)            // default cumulative
//!     .gzip(true)
//!     .start()?;
//! # let _ = pusher;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! To push traces as well, with metrics and traces possibly going to different places, read both
//! from the variables with [`crate::otlp_env::OtlpEnv`].
//!
//! The metrics, with the OpenTelemetry semantic conventions' names where there is one:
//!
//! | metric | kind | attributes |
//! |---|---|---|
//! | `http.server.request.duration` (s) | exponential histogram | `http.route`, `http.request.method`, `http.response.status_code` when one was sent, `error.type` on failures — handlers |
//! | `gen_ai.client.operation.duration` (s) | exponential histogram | the GenAI attributes, `error.type` on failures |
//! | `gen_ai.client.token.usage` ({token}) | histogram | the GenAI attributes, `gen_ai.token.type` |
//! | `gen_ai.client.operation.time_to_first_chunk`, `gen_ai.client.operation.time_per_output_chunk` (s) | exponential histogram | the GenAI attributes; streams |
//! | `monitor.call.duration` (s) | exponential histogram | the site's — stages and other sites |
//! | `monitor.calls` ({call}) | sum | the site's, `outcome` |
//! | each counter of [`rules::SITE_COUNTERS`] with an OTLP name | sum | the site's |
//! | `monitor.cost` (USD) | sum | `gen_ai.request.model`; priced calls only |
//! | `monitor.export.payloads` ({payload}) | sum | `exporter`, `endpoint`, `result` |
//! | `monitor.trace.…`: the rows of [`crate::trace_stats::TRACE_COUNTERS`] | sum | `reason` where split |
//!
//! The `gen_ai.*` histograms are the rows of [`gen_ai::GEN_AI_HISTOGRAMS`], the same rows the
//! Prometheus exposition writes.
//!
//! `http.server.request.duration` holds every request a handler saw, as many as `monitor.calls`
//! counts: answered, failed, and abandoned — a request whose future was dropped before it
//! finished (the client went away, a timeout or a shutdown gave up on it) counts with its time
//! until then. Its `error.type`, as the HTTP conventions ask ("a component-specific low
//! cardinality error identifier", each one documented), is one of:
//!
//! - the status code, for a 5xx (`"503"`);
//! - the Rust type of the error, for an `Err` or a panic without a status, or `_OTHER` when the
//!   site's errors have more than one type;
//! - `cancelled`, for an abandoned request, without `http.response.status_code`: none was sent.
//!   The same word as the outcome `cancelled` of `monitor.calls` and Prometheus's
//!   `monitor_calls_total`. It says "dropped", not "the client disconnected", because that is all
//!   a dropped future tells: a client that went away and a timeout layer look alike.
//!
//! Durations are exponential histograms at [`exponential::SCALE`] (6: 64 buckets per power of
//! two), each of monitor's buckets placed whole in the exponential bucket of its midpoint (see
//! [`exponential`] for the error), or, with [`Otlp::explicit_buckets`], explicit-bucket ones:
//! the Prometheus exposition's bounds (100 µs … 60 s) for handlers and sites, the GenAI conventions' for the GenAI
//! metrics. Token counts use the conventions' explicit bounds. Cumulative temporality by default,
//! delta on request ([`Temporality`]).
//!
//! The data points of `http.server.request.duration` and `monitor.call.duration` carry an
//! exemplar when a kept run has a call of their site ([`crate::exemplars`]): the newest one, its
//! duration, end time, trace and span ids, on the point of the way it ended (its status, or
//! failed, or returned). With delta temporality only one that ended since the previous payload.
//!
//! # The demo
//!
//! The demo pushes with `--otlp URL` (the base, e.g. `http://127.0.0.1:4318`; every 5 s, as
//! `service.name` `logo-service` with `service.instance.id` its address), or when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set; the other `OTEL_*` variables apply:
//!
//! ```sh
//! otelcol --config collector.yaml &   # any collector with an otlp receiver on :4318
//! cargo run --release -p monitor-examples -- --otlp http://127.0.0.1:4318
//! ```
//!
//! Tested (the repository's `tests/tests/otlp.rs`, `monitor-examples/tests/push.rs`) with a
//! receiver on 127.0.0.1 that decodes each request with the official types: exact counts (25
//! handler calls, 20 ok and 5 errors, in `monitor.calls` and in the count and buckets of
//! `http.server.request.duration` with its route and method, on scale 6; 7 stage calls; 3 LLM
//! calls' 360 input tokens; explicit buckets when asked), the resource's attributes from the
//! variables (a percent-encoded value decoded), the headers, cumulative and delta temporality (a
//! delta payload says only the 4 calls made since), gzip, six 503s with a queue of 3 (drops
//! counted, every payload made accounted for as sent, dropped or queued), bad variables named;
//! and the demo's last push, as it stops, carrying all 20 of its load's requests. A quantile read
//! off the exponential histograms is within one exponential bucket (1.09 %) of monitor's (tested:
//! p50, p90 and p99 of 10,000 calls spread over 100 µs … 90 ms).

use crate::exemplars::Exemplars;
use crate::exponential::{self, Exponential};
use crate::gen_ai;
use crate::prometheus::{BOUNDS, LE, cumulative_buckets};
use crate::push::{PushSettings, Pusher, Sent, agent, post};
use crate::rules::{self, OutcomePeaks, RequestEnd};
use monitor_core::Snapshot;
use monitor_core::figures::Outcomes;
use monitor_core::site::SiteKind;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    exemplar, exponential_histogram_data_point, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How sums and histograms are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Temporality {
    /// Totals since the start (the default): a lost payload loses nothing but its moment.
    #[default]
    Cumulative,
    /// What changed since the previous payload.
    Delta,
}

/// A bad `OTEL_*` value, naming the variable and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtlpConfigError {
    /// The variable.
    pub key: &'static str,
    /// The value given.
    pub value: String,
    /// What it accepts.
    pub expected: &'static str,
}

impl std::fmt::Display for OtlpConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}={:?} is not valid: expected {}",
            self.key, self.value, self.expected
        )
    }
}

impl std::error::Error for OtlpConfigError {}

/// An OTLP/HTTP metrics exporter: built in code, or from the standard `OTEL_*` variables.
///
/// # Examples
///
/// ```
/// use monitor_export::otlp::{Otlp, Temporality};
///
/// let otlp = Otlp::from_vars([
///     ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
///     ("OTEL_SERVICE_NAME", "logo-api"),
///     ("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=api-1,deployment.environment=prod"),
/// ])?
/// .temporality(Temporality::Delta);
/// assert_eq!(otlp.endpoint(), "http://127.0.0.1:4318/v1/metrics");
///
/// let err = Otlp::from_vars([("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")]).unwrap_err();
/// assert_eq!(err.key, "OTEL_EXPORTER_OTLP_TIMEOUT");
/// # Ok::<(), monitor_export::otlp::OtlpConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use = "an exporter does nothing until `start` is called"]
pub struct Otlp {
    settings: PushSettings,
    resource: Vec<(String, String)>,
    temporality: Temporality,
    gzip: bool,
    explicit: bool,
}

pub(crate) const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
pub(crate) const HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
pub(crate) const TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
const INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
pub(crate) const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
pub(crate) const RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
pub(crate) const COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
const TEMPORALITY: &str = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
/// Every variable read.
pub(crate) const KEYS: [&str; 9] = [
    ENDPOINT,
    METRICS_ENDPOINT,
    HEADERS,
    TIMEOUT,
    INTERVAL,
    SERVICE_NAME,
    RESOURCE_ATTRIBUTES,
    COMPRESSION,
    TEMPORALITY,
];

impl Otlp {
    /// Pushes to `endpoint` (the full URL, `…/v1/metrics`) every 60 s with a 10 s timeout, as
    /// `service.name` `unknown_service`, cumulative, uncompressed.
    pub fn new(endpoint: impl Into<String>) -> Otlp {
        Otlp {
            settings: PushSettings {
                endpoint: endpoint.into(),
                headers: Vec::new(),
                interval: Duration::from_secs(60),
                timeout: Duration::from_secs(10),
                max_queue: 64,
                min_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(60),
            },
            resource: vec![("service.name".to_owned(), "unknown_service".to_owned())],
            temporality: Temporality::Cumulative,
            gzip: false,
            explicit: false,
        }
    }

    /// The defaults, with the process's `OTEL_*` variables applied.
    pub fn from_env() -> Result<Otlp, OtlpConfigError> {
        let mut vars = Vec::new();
        for (key, value) in std::env::vars_os() {
            let Ok(key) = key.into_string() else { continue };
            match value.into_string() {
                Ok(value) => vars.push((key, value)),
                Err(value) => {
                    if let Some(known) = KEYS.iter().find(|k| **k == key) {
                        return Err(OtlpConfigError {
                            key: known,
                            value: value.to_string_lossy().into_owned(),
                            expected: "UTF-8 text",
                        });
                    }
                }
            }
        }
        Otlp::from_vars(vars)
    }

    /// The defaults (`http://localhost:4318/v1/metrics`), with the `OTEL_*` pairs of `vars`
    /// applied: `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/metrics` appended),
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (as is, and first), `OTEL_EXPORTER_OTLP_HEADERS`
    /// (`k=v,k2=v2`), `OTEL_EXPORTER_OTLP_TIMEOUT` and `OTEL_METRIC_EXPORT_INTERVAL` (ms),
    /// `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` (`k=v,…`),
    /// `OTEL_EXPORTER_OTLP_COMPRESSION` (`gzip` or `none`) and
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` (`cumulative` or `delta`).
    pub fn from_vars<K: AsRef<str>, V: AsRef<str>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Otlp, OtlpConfigError> {
        let mut otlp = Otlp::new("http://localhost:4318/v1/metrics");
        let mut base = None;
        let mut metrics = None;
        let mut service = None;
        let invalid = |key, value: &str, expected| OtlpConfigError {
            key,
            value: value.to_owned(),
            expected,
        };
        for (key, value) in vars {
            let (key, value) = (key.as_ref(), value.as_ref().trim());
            match key {
                ENDPOINT => base = Some(url(ENDPOINT, value)?),
                METRICS_ENDPOINT => metrics = Some(url(METRICS_ENDPOINT, value)?),
                HEADERS => otlp.settings.headers = pairs(HEADERS, value)?,
                TIMEOUT => otlp.settings.timeout = millis(TIMEOUT, value)?,
                INTERVAL => otlp.settings.interval = millis(INTERVAL, value)?,
                SERVICE_NAME if !value.is_empty() => service = Some(value.to_owned()),
                RESOURCE_ATTRIBUTES => {
                    for (k, v) in pairs(RESOURCE_ATTRIBUTES, value)? {
                        otlp = otlp.resource(k, v);
                    }
                }
                COMPRESSION => {
                    otlp.gzip = match value {
                        "gzip" => true,
                        "none" | "" => false,
                        _ => return Err(invalid(COMPRESSION, value, "gzip or none")),
                    }
                }
                TEMPORALITY => {
                    otlp.temporality = match value.to_ascii_lowercase().as_str() {
                        "cumulative" | "" => Temporality::Cumulative,
                        "delta" => Temporality::Delta,
                        _ => return Err(invalid(TEMPORALITY, value, "cumulative or delta")),
                    }
                }
                _ => {}
            }
        }
        if let Some(endpoint) = metrics.or_else(|| base.map(|b: String| signal_url(&b, "metrics")))
        {
            otlp.settings.endpoint = endpoint;
        }
        // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES.
        if let Some(service) = service {
            otlp = otlp.resource("service.name", service);
        }
        Ok(otlp)
    }

    /// Where it pushes.
    pub fn endpoint(&self) -> &str {
        &self.settings.endpoint
    }

    crate::push::push_settings!(Otlp);

    /// A resource attribute (`service.name`, `service.instance.id`, …): set again, it replaces.
    pub fn resource(mut self, key: impl Into<String>, value: impl Into<String>) -> Otlp {
        set_resource(&mut self.resource, key.into(), value.into());
        self
    }

    /// Cumulative (the default) or delta.
    pub fn temporality(mut self, temporality: Temporality) -> Otlp {
        self.temporality = temporality;
        self
    }

    /// Compresses the body with gzip.
    pub fn gzip(mut self, on: bool) -> Otlp {
        self.gzip = on;
        self
    }

    /// Durations as explicit-bucket histograms (Prometheus's bounds, the GenAI conventions')
    /// rather than exponential ones at [`exponential::SCALE`]: for a receiver without
    /// exponential histograms.
    pub fn explicit_buckets(mut self, on: bool) -> Otlp {
        self.explicit = on;
        self
    }

    /// Starts the thread.
    pub fn start(self) -> std::io::Result<Pusher> {
        let mut builder = Builder::new(self.resource, self.temporality);
        builder.explicit = self.explicit;
        let gzip = self.gzip;
        let encode = Box::new(move |snapshot: &Snapshot| {
            let request = builder.request(snapshot, &Exemplars::recent());
            let body = prost::Message::encode_to_vec(&request);
            if gzip { compress(&body) } else { body }
        });
        let agent = agent(self.settings.timeout);
        Pusher::start(
            "otlp",
            self.settings,
            encode,
            move |settings, body| -> Sent {
                let mut headers = vec![
                    ("Content-Type", "application/x-protobuf"),
                    ("User-Agent", "monitor-export"),
                ];
                if gzip {
                    headers.push(("Content-Encoding", "gzip"));
                }
                post(&agent, settings, &headers, body)
            },
        )
    }
}

pub(crate) fn compress(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

/// An endpoint variable's URL; whether `https://` can be sent to is `start`'s to say, as it is for
/// an endpoint set in code.
/// The endpoint of one signal under `OTEL_EXPORTER_OTLP_ENDPOINT`: `{base}/v1/{signal}`, as the
/// specification appends it (a per-signal endpoint is used as given instead).
pub(crate) fn signal_url(base: &str, signal: &str) -> String {
    format!("{}/v1/{signal}", base.trim_end_matches('/'))
}

/// Sets a resource attribute, replacing one of the same key.
pub(crate) fn set_resource(resource: &mut Vec<(String, String)>, key: String, value: String) {
    match resource.iter_mut().find(|(k, _)| *k == key) {
        Some(entry) => entry.1 = value,
        None => resource.push((key, value)),
    }
}

pub(crate) fn url(key: &'static str, value: &str) -> Result<String, OtlpConfigError> {
    if crate::push::check_endpoint(value, true).is_ok() {
        Ok(value.to_owned())
    } else {
        Err(OtlpConfigError {
            key,
            value: value.to_owned(),
            expected: "an http:// or https:// URL",
        })
    }
}

pub(crate) fn millis(key: &'static str, value: &str) -> Result<Duration, OtlpConfigError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(Duration::from_millis)
        .ok_or_else(|| OtlpConfigError {
            key,
            value: value.to_owned(),
            expected: "a number of milliseconds, 1 or more",
        })
}

/// `k=v,k2=v2`, values percent-decoded, as the specification gives them.
pub(crate) fn pairs(
    key: &'static str,
    value: &str,
) -> Result<Vec<(String, String)>, OtlpConfigError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').ok_or_else(|| OtlpConfigError {
                key,
                value: value.to_owned(),
                expected: "key=value pairs separated by commas",
            })?;
            Ok((k.trim().to_owned(), percent_decode(v.trim())))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Makes the requests: remembers the start time, the outcome peaks, and (for delta) what was
/// reported last.
struct Builder {
    resource: Vec<(String, String)>,
    temporality: Temporality,
    start_ns: u64,
    last_ns: u64,
    peaks: OutcomePeaks,
    previous: HashMap<String, Vec<f64>>,
    previous_exponential: HashMap<String, Exponential>,
    explicit: bool,
    /// The end of the interval of the previous payload's exemplars (0 before the first: the
    /// first delta payload reports everything so far, and its exemplar may be of any time).
    exemplars_until: u64,
}

pub(crate) fn unix_ns(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

pub(crate) fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

pub(crate) fn kv_int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..KeyValue::default()
    }
}

/// Whether the call `e` names ended as `end` says: the point of the requests it is one of.
fn ended_as(e: &crate::exemplars::Exemplar, end: RequestEnd) -> bool {
    match end {
        RequestEnd::Status(status) => e.status == Some(status),
        RequestEnd::Returned => e.status.is_none() && !e.failed,
        RequestEnd::Failed => e.status.is_none() && e.failed,
        // An exemplar is a call that finished.
        RequestEnd::Cancelled => false,
    }
}

/// `error.type` of a request dropped before it finished (see the module's documentation).
pub const CANCELLED: &str = "cancelled";

/// `error.type` of the failed calls of `sites` that carried no status: the type their errors
/// returned when there is one, else the conventions' fallback.
fn error_type_of(snapshot: &Snapshot, sites: &[&'static monitor_core::Site]) -> &'static str {
    let mut types: Vec<&'static str> = Vec::new();
    for p in &snapshot.errors.patterns {
        // "http status" is what a 5xx without an `Err` records: those calls have a status.
        if p.error_type != "http status"
            && sites.iter().any(|s| std::ptr::eq(*s, p.site))
            && !types.contains(&p.error_type)
        {
            types.push(p.error_type);
        }
    }
    match types.as_slice() {
        [one] => one,
        _ => gen_ai::OTHER_ERROR,
    }
}

/// One point's figures before temporality: a sum's value, or a histogram's count, sum and
/// per-bucket counts.
enum Point {
    Sum(f64),
    Histogram {
        count: u64,
        sum: f64,
        bounds: Vec<f64>,
        buckets: Vec<u64>,
    },
    Exponential(Exponential),
}

/// A metric being made: its points by attributes.
struct Family {
    name: &'static str,
    description: &'static str,
    unit: &'static str,
    points: Vec<(Vec<KeyValue>, Point)>,
    /// The exemplar of a histogram point, by the point's place in `points`.
    exemplars: Vec<(usize, crate::exemplars::Exemplar)>,
}

impl Family {
    fn new(name: &'static str, unit: &'static str, description: &'static str) -> Family {
        Family {
            name,
            description,
            unit,
            points: Vec::new(),
            exemplars: Vec::new(),
        }
    }

    /// Gives the latest point an exemplar.
    fn exemplar(&mut self, exemplar: Option<&crate::exemplars::Exemplar>) {
        if let (Some(e), Some(last)) = (exemplar, self.points.len().checked_sub(1)) {
            self.exemplars.push((last, *e));
        }
    }
}

/// An exemplar as OTLP's: the call's duration in seconds, its end, its trace and span.
fn otlp_exemplar(e: &crate::exemplars::Exemplar) -> Exemplar {
    Exemplar {
        time_unix_nano: e.ended_unix_nanos(),
        value: Some(exemplar::Value::AsDouble(e.seconds())),
        span_id: e.span_id.to_bytes().to_vec(),
        trace_id: e.trace_id.to_bytes().to_vec(),
        ..Exemplar::default()
    }
}

/// What `now` added since `before` (same scale), bucket by bucket.
fn minus(now: &Exponential, before: Option<&Exponential>) -> Exponential {
    let Some(before) = before else {
        return now.clone();
    };
    let at = |e: &Exponential, i: i32| -> u64 {
        usize::try_from(i - e.offset)
            .ok()
            .and_then(|k| e.counts.get(k))
            .copied()
            .unwrap_or(0)
    };
    let counts: Vec<u64> = (0..now.counts.len())
        .map(|k| {
            let i = now.offset + k as i32;
            at(now, i).saturating_sub(at(before, i))
        })
        .collect();
    Exponential {
        scale: now.scale,
        zero_count: now.zero_count.saturating_sub(before.zero_count),
        offset: now.offset,
        counts,
        count: now.count.saturating_sub(before.count),
        sum: (now.sum - before.sum).max(0.0),
    }
}

/// Cumulative per-bucket counts from cumulative ones.
fn per_bucket(cumulative: &[u64]) -> Vec<u64> {
    let mut previous = 0;
    cumulative
        .iter()
        .map(|&c| {
            let n = c.saturating_sub(previous);
            previous = c;
            n
        })
        .collect()
}

impl Builder {
    fn new(resource: Vec<(String, String)>, temporality: Temporality) -> Builder {
        let now = unix_ns(SystemTime::now());
        Builder {
            resource,
            temporality,
            start_ns: now,
            last_ns: now,
            peaks: OutcomePeaks::new(),
            previous: HashMap::new(),
            previous_exponential: HashMap::new(),
            explicit: false,
            exemplars_until: 0,
        }
    }

    fn request(
        &mut self,
        snapshot: &Snapshot,
        exemplars: &Exemplars,
    ) -> ExportMetricsServiceRequest {
        let now_ns = unix_ns(snapshot.at);
        let families = self.families(snapshot, exemplars);
        let delta = self.temporality == Temporality::Delta;
        let start_ns = if delta { self.last_ns } else { self.start_ns };
        let temporality = if delta {
            AggregationTemporality::Delta
        } else {
            AggregationTemporality::Cumulative
        } as i32;
        let mut metrics = Vec::new();
        for family in families {
            let mut sums = Vec::new();
            let mut histograms = Vec::new();
            let mut exponentials = Vec::new();
            // In the order of their points: each point takes its own in turn.
            let mut family_exemplars = family.exemplars.into_iter().peekable();
            for (i, (attributes, point)) in family.points.into_iter().enumerate() {
                let key = format!("{}{:?}", family.name, attributes);
                // A delta payload's exemplar is a call of its interval: the newest one of an
                // earlier interval is not sent again, and one that ended after the snapshot is
                // the next payload's.
                let exemplars: Vec<Exemplar> = family_exemplars
                    .next_if(|(at, _)| *at == i)
                    .map(|(_, e)| e)
                    .filter(|e| {
                        let ended = e.ended_unix_nanos();
                        !delta || (self.exemplars_until < ended && ended <= now_ns)
                    })
                    .map(|e| otlp_exemplar(&e))
                    .into_iter()
                    .collect();
                match point {
                    Point::Sum(total) => {
                        let value = if delta {
                            let before = self.previous.insert(key, vec![total]);
                            total - before.map_or(0.0, |b| b[0])
                        } else {
                            total
                        };
                        sums.push(NumberDataPoint {
                            attributes,
                            start_time_unix_nano: start_ns,
                            time_unix_nano: now_ns,
                            value: Some(number_data_point::Value::AsDouble(value.max(0.0))),
                            ..NumberDataPoint::default()
                        });
                    }
                    Point::Histogram {
                        count,
                        sum,
                        bounds,
                        buckets,
                    } => {
                        let (count, sum, buckets) = if delta {
                            let mut now: Vec<f64> = vec![count as f64, sum];
                            now.extend(buckets.iter().map(|&b| b as f64));
                            let before = self.previous.insert(key, now.clone());
                            let before = before.unwrap_or_else(|| vec![0.0; now.len()]);
                            let d: Vec<f64> = now
                                .iter()
                                .zip(before.iter().chain(std::iter::repeat(&0.0)))
                                .map(|(n, b)| (n - b).max(0.0))
                                .collect();
                            (
                                d[0] as u64,
                                d[1],
                                d[2..].iter().map(|&b| b as u64).collect(),
                            )
                        } else {
                            (count, sum, buckets)
                        };
                        histograms.push(HistogramDataPoint {
                            attributes,
                            start_time_unix_nano: start_ns,
                            time_unix_nano: now_ns,
                            count,
                            sum: Some(sum),
                            bucket_counts: buckets,
                            explicit_bounds: bounds,
                            exemplars,
                            ..HistogramDataPoint::default()
                        });
                    }
                    Point::Exponential(now) => {
                        let e = if delta {
                            let before = self.previous_exponential.insert(key, now.clone());
                            minus(&now, before.as_ref())
                        } else {
                            now
                        };
                        exponentials.push(ExponentialHistogramDataPoint {
                            attributes,
                            start_time_unix_nano: start_ns,
                            time_unix_nano: now_ns,
                            count: e.count,
                            sum: Some(e.sum),
                            scale: e.scale,
                            zero_count: e.zero_count,
                            positive: Some(exponential_histogram_data_point::Buckets {
                                offset: e.offset,
                                bucket_counts: e.counts,
                            }),
                            exemplars,
                            ..ExponentialHistogramDataPoint::default()
                        });
                    }
                }
            }
            let data = if !exponentials.is_empty() {
                metric::Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: exponentials,
                    aggregation_temporality: temporality,
                })
            } else if !histograms.is_empty() {
                metric::Data::Histogram(Histogram {
                    data_points: histograms,
                    aggregation_temporality: temporality,
                })
            } else if !sums.is_empty() {
                metric::Data::Sum(Sum {
                    data_points: sums,
                    aggregation_temporality: temporality,
                    is_monotonic: true,
                })
            } else {
                continue;
            };
            metrics.push(Metric {
                name: family.name.to_owned(),
                description: family.description.to_owned(),
                unit: family.unit.to_owned(),
                data: Some(data),
                ..Metric::default()
            });
        }
        self.last_ns = now_ns;
        self.exemplars_until = now_ns;
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: self.resource.iter().map(|(k, v)| kv(k, v)).collect(),
                    ..Resource::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "monitor".to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..InstrumentationScope::default()
                    }),
                    metrics,
                    ..ScopeMetrics::default()
                }],
                ..ResourceMetrics::default()
            }],
        }
    }

    fn families(&mut self, snapshot: &Snapshot, exemplars: &Exemplars) -> Vec<Family> {
        let seconds: Vec<f64> = BOUNDS
            .iter()
            .map(|&(_, nanos)| nanos as f64 / 1e9)
            .collect();
        let mut http = Family::new(
            "http.server.request.duration",
            "s",
            "Duration of HTTP server requests: the handler's own time.",
        );
        let mut calls = Family::new(
            "monitor.calls",
            "{call}",
            "Calls of an instrumented function by outcome: ok, error, client_error, panic, \
             cancelled.",
        );
        let mut durations = Family::new(
            "monitor.call.duration",
            "s",
            "Duration of the calls of an instrumented function that finished.",
        );
        let mut counters: Vec<(Family, &rules::SiteCounter)> = rules::SITE_COUNTERS
            .iter()
            .filter_map(|c| Some((Family::new(c.otlp?, c.unit, c.help), c)))
            .collect();
        for g in rules::group_sites(snapshot, &mut self.peaks) {
            let site: Vec<KeyValue> = g.labels.iter().map(|(k, v)| kv(k, v)).collect();
            for (outcome, n) in Outcomes::NAMES.iter().zip(g.outcomes.counts()) {
                let mut attributes = site.clone();
                attributes.push(kv("outcome", outcome));
                calls.points.push((attributes, Point::Sum(n as f64)));
            }
            for (family, counter) in &mut counters {
                if let Some(n) = counter.sample(&g.figures) {
                    family.points.push((site.clone(), Point::Sum(n as f64)));
                }
            }
            let point = |h: &monitor_core::figures::Histogram| {
                if self.explicit {
                    let cumulative: [u64; LE] = cumulative_buckets(h);
                    Point::Histogram {
                        count: cumulative[LE - 1],
                        sum: h.sum().as_secs_f64(),
                        bounds: seconds.clone(),
                        buckets: per_bucket(&cumulative),
                    }
                } else {
                    Point::Exponential(exponential::from_histogram(h, exponential::SCALE))
                }
            };
            let first = g.sites.first().copied();
            let route = first.and_then(|s| s.route());
            let exemplar = exemplars.newest_of(&g.sites);
            match (
                first.map(|s| s.kind()),
                route.and_then(|r| r.split_once(' ')),
            ) {
                (Some(SiteKind::Handler), Some((method, path))) => {
                    let request = vec![kv("http.route", path), kv("http.request.method", method)];
                    // A point per way a request ended, the same calls `monitor.calls` counts.
                    let mut parts = rules::request_durations(&g.figures);
                    if parts.is_empty() {
                        // A handler not called yet still has its series, at zero.
                        parts.push((
                            RequestEnd::Returned,
                            monitor_core::figures::Histogram::default(),
                        ));
                    }
                    for (end, h) in parts {
                        let mut attributes = request.clone();
                        match end {
                            RequestEnd::Status(status) => {
                                attributes
                                    .push(kv_int("http.response.status_code", i64::from(status)));
                                if status >= 500 {
                                    attributes.push(kv("error.type", &status.to_string()));
                                }
                            }
                            RequestEnd::Returned => {}
                            RequestEnd::Failed => {
                                attributes
                                    .push(kv("error.type", error_type_of(snapshot, &g.sites)));
                            }
                            RequestEnd::Cancelled => {
                                attributes.push(kv("error.type", CANCELLED));
                            }
                        }
                        http.points.push((attributes, point(&h)));
                        http.exemplar(exemplar.filter(|e| ended_as(e, end)));
                    }
                }
                (Some(SiteKind::Tokens), _) => {}
                _ => {
                    durations.points.push((site, point(&g.figures.durations)));
                    durations.exemplar(exemplar);
                }
            }
        }
        let mut histograms: Vec<(Family, &gen_ai::GenAiHistogram)> = gen_ai::GEN_AI_HISTOGRAMS
            .iter()
            .map(|row| (Family::new(row.otlp, row.unit, row.description), row))
            .collect();
        for s in gen_ai::series(snapshot) {
            let attributes: Vec<KeyValue> = s
                .key
                .attributes()
                .into_iter()
                .map(|(k, v)| kv(k, v))
                .collect();
            for (family, row) in &mut histograms {
                for point in (row.points)(&s) {
                    let mut with = attributes.clone();
                    if let Some((name, value)) = point.attribute {
                        with.push(kv(name, value));
                    }
                    let data = match &point.source {
                        Some(h) if !self.explicit => {
                            Point::Exponential(exponential::from_histogram(h, exponential::SCALE))
                        }
                        _ => Point::Histogram {
                            count: point.count(),
                            sum: point.sum,
                            bounds: row.bounds.to_vec(),
                            buckets: per_bucket(&point.cumulative),
                        },
                    };
                    family.points.push((with, data));
                }
            }
        }
        let mut cost = Family::new(
            "monitor.cost",
            "USD",
            "Cost of the calls made while the model had a price.",
        );
        for m in &snapshot.models {
            if let Some(usd) = rules::model_cost(m) {
                cost.points
                    .push((vec![kv("gen_ai.request.model", &m.model)], Point::Sum(usd)));
            }
        }
        let mut payloads = Family::new(
            "monitor.export.payloads",
            "{payload}",
            "Payloads of a pushing exporter by result: sent, rejected, dropped.",
        );
        for e in &snapshot.exports {
            let endpoint = rules::endpoint_label(&e.endpoint);
            for (result, n) in [
                ("sent", e.sent),
                ("rejected", e.rejected),
                ("dropped", e.dropped),
            ] {
                payloads.points.push((
                    vec![
                        kv("exporter", e.exporter),
                        kv("endpoint", &endpoint),
                        kv("result", result),
                    ],
                    Point::Sum(n as f64),
                ));
            }
        }
        let mut families = vec![http, durations, calls];
        families.extend(counters.into_iter().map(|(family, _)| family));
        families.extend(histograms.into_iter().map(|(family, _)| family));
        families.extend([cost, payloads]);
        families.extend(trace_stats(&snapshot.traces));
        families
    }
}

/// What tracing kept and dropped: the rows of [`crate::trace_stats::TRACE_COUNTERS`], as sums.
fn trace_stats(stats: &monitor_core::trace::TraceStats) -> impl Iterator<Item = Family> {
    crate::trace_stats::TRACE_COUNTERS.iter().map(|counter| {
        let mut family = Family::new(counter.otlp, counter.unit, counter.help);
        for point in (counter.points)(stats) {
            let attributes = point.label.iter().map(|(k, v)| kv(k, v)).collect();
            family
                .points
                .push((attributes, Point::Sum(point.value as f64)));
        }
        family
    })
}

/// The request [`Otlp`] would send for `snapshot` now, cumulative, with `resource`: for a test or
/// an exporter of one's own.
///
/// # Examples
///
/// ```
/// let request = monitor_export::otlp::request(
///     &monitor_core::snapshot(),
///     &[("service.name".to_owned(), "logo-api".to_owned())],
/// );
/// let resource = request.resource_metrics[0].resource.as_ref().unwrap();
/// assert_eq!(resource.attributes[0].key, "service.name");
/// ```
pub fn request(snapshot: &Snapshot, resource: &[(String, String)]) -> ExportMetricsServiceRequest {
    Builder::new(resource.to_vec(), Temporality::Cumulative).request(snapshot, &Exemplars::recent())
}
