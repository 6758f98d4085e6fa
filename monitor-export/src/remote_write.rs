//! Prometheus remote write 1.0: every series a scrape of `/metrics` would read ([`Exposition::series`]),
//! pushed as a snappy-compressed `WriteRequest` to any `/api/v1/write` endpoint (Prometheus with
//! `--web.enable-remote-write-receiver`, Mimir, Thanos Receive, Cortex, VictoriaMetrics), from a
//! thread of its own ([`Pusher`]): no async runtime needed, and never on the record path. Feature
//! `remote-write` (and `tls` for `https://` endpoints).
//!
//! ```no_run
//! use monitor_export::remote_write::RemoteWrite;
//! use std::time::Duration;
//!
//! let pusher = RemoteWrite::new("http://127.0.0.1:9090/api/v1/write")
//!     .interval(Duration::from_secs(15)) // default 15 s
//!     .label("instance", "api-1")        // a push names its own instance: a fleet stays apart
//!     .label("job", "api")
//!     .header("X-Scope-OrgID", "team-a") // a tenant, an Authorization, …
//!     .max_queue(64)                     // payloads kept while the endpoint is away (default 64)
//!     .start()?;
//! // pusher.health(): made, sent, failed_attempts, rejected, dropped, queued, last_success_ms,
//! // last_error
//! pusher.stop(); // one last push of the final figures, within the timeout (default 10 s)
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A service that has a [`Monitor`](monitor_core::Monitor) guard hands it the pusher
//! (`monitor.own_exporter(pusher)`), and the guard stops it at shutdown.
//!
//! [`RemoteWrite::start`] refuses (an `InvalidInput` error naming the exporter) an endpoint
//! nothing could ever be pushed to: one that is not a URL, not `http://` or `https://`, names no
//! host, or is `https://` without the `tls` feature, rather than failing on every push. A user or
//! password in the URL must be percent-encoded: unencoded, a `/` or `?` in it would end the host
//! early and put the rest of the password into the path, and so into the label, so a URL with an
//! `@` after its host is refused too, and the error does not repeat it. The OTLP exporter's
//! endpoint variables are checked the same way when they are read.
//!
//! # When the endpoint is away
//!
//! Each interval's payload waits in a bounded queue (the oldest dropped first, and counted); the
//! queue is sent in order once the endpoint answers. A connection error, a timeout, a 429 or a 5xx
//! is retried after 1 s, 2 s, 4 s … up to 60 s (`backoff`), or after the `Retry-After` the
//! endpoint gave; any other 4xx is refused for good: the payload is dropped and counted as
//! rejected. Counters are cumulative, so a dropped payload loses only the samples between: the
//! next one carries the totals.
//!
//! Every exporter's health is in the snapshot, so in `/metrics`
//! (`monitor_export_payloads_total{exporter,endpoint,result="sent"|"rejected"|"dropped"}`,
//! `monitor_export_failed_attempts_total`, `monitor_export_queued_payloads`,
//! `monitor_export_last_success_timestamp_seconds`; endpoints without user, password or query)
//! and in the dashboard's `/api/exports`. A fleet's instances push the same names with their own
//! `instance` label: `sum by (site) (rate(monitor_calls_total[5m]))` adds them up.
//!
//! # The demo
//!
//! The demo pushes with `--remote-write URL` (every 5 s, `instance` its address,
//! `job="logo-service"`), and once more as it stops:
//!
//! ```sh
//! prometheus --web.enable-remote-write-receiver &      # Debian's 2.42 takes it on :9090
//! cargo run --release -p monitor-examples -- --remote-write http://127.0.0.1:9090/api/v1/write
//! ```
//!
//! Tested against the real Prometheus (the repository's `tests/tests/remote_write.rs`,
//! `monitor-examples/tests/push.rs`): PromQL reads back exactly the calls made (137
//! calls, 102 ok and 35 errors; then 50 more); a receiver down while 65 calls are made and then
//! started on the same port reads all 65, with the drops of a 5-payload queue counted and every
//! payload made accounted for (sent, dropped or queued); a 429 with `Retry-After: 2` is retried
//! after 2 s, not the 10 ms backoff, and a 400 is not retried; the demo, run with its load of 30
//! requests, leaves exactly 30 calls of `create_logo` in Prometheus.
//!
//! The messages are those of `prompb/remote.proto` and `prompb/types.proto`, declared with prost.

use crate::prometheus::{Exposition, Series};
use crate::push::{PushSettings, Pusher, Sent, agent, post};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series, each with its samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// The labels, `__name__` among them, sorted by name.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// The samples.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    /// The name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// `series` at `timestamp_ms`, with `external` labels added to each (a series' own label of the
/// same name wins), as a `WriteRequest`: labels sorted by name, as the protocol requires.
///
/// # Examples
///
/// ```
/// use monitor_export::remote_write::write_request;
///
/// let series = monitor_export::Exposition::new().series(&monitor_core::snapshot());
/// let request = write_request(&series, &[("instance".into(), "api-1".into())], 1_700_000_000_000);
/// let first = &request.timeseries[0];
/// assert_eq!(first.labels[0].name, "__name__");
/// assert!(first.labels.iter().any(|l| l.name == "instance" && l.value == "api-1"));
/// ```
pub fn write_request(
    series: &[Series],
    external: &[(String, String)],
    timestamp_ms: i64,
) -> WriteRequest {
    let timeseries = series
        .iter()
        .map(|s| {
            let mut labels: Vec<Label> = std::iter::once(("__name__", s.name.as_str()))
                .chain(s.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())))
                .map(|(name, value)| Label {
                    name: name.to_owned(),
                    value: value.to_owned(),
                })
                .collect();
            for (name, value) in external {
                if !labels.iter().any(|l| &l.name == name) {
                    labels.push(Label {
                        name: name.clone(),
                        value: value.clone(),
                    });
                }
            }
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            TimeSeries {
                labels,
                samples: vec![Sample {
                    value: s.value,
                    timestamp: timestamp_ms,
                }],
            }
        })
        .collect();
    WriteRequest { timeseries }
}

/// `request` as the body of a remote write: protobuf, snappy-compressed (the block format).
pub fn encode(request: &WriteRequest) -> Vec<u8> {
    let bytes = prost::Message::encode_to_vec(request);
    // Compressing a buffer in memory fails only for inputs beyond snappy's 4 GiB block limit.
    snap::raw::Encoder::new()
        .compress_vec(&bytes)
        .unwrap_or_default()
}

/// A remote-write exporter, configured in code: push every `interval` to `url`.
///
/// # Examples
///
/// ```no_run
/// use monitor_export::remote_write::RemoteWrite;
/// use std::time::Duration;
///
/// let pusher = RemoteWrite::new("http://127.0.0.1:9090/api/v1/write")
///     .interval(Duration::from_secs(15))
///     .label("instance", "api-1")
///     .start()?;
/// // … later:
/// println!("{:?}", pusher.health());
/// pusher.stop();
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use = "an exporter does nothing until `start` is called"]
pub struct RemoteWrite {
    settings: PushSettings,
    external: Vec<(String, String)>,
}

impl RemoteWrite {
    /// Pushes to `url` (an `/api/v1/write` endpoint) every 15 s, with a 10 s timeout, keeping at
    /// most 64 payloads while the endpoint is away, retrying after 1 s, then 2, 4 … up to 60 s.
    pub fn new(url: impl Into<String>) -> RemoteWrite {
        RemoteWrite {
            settings: PushSettings {
                endpoint: url.into(),
                headers: Vec::new(),
                interval: Duration::from_secs(15),
                timeout: Duration::from_secs(10),
                max_queue: 64,
                min_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(60),
            },
            external: Vec::new(),
        }
    }

    crate::push::push_settings!(RemoteWrite);

    /// A label added to every series (`instance`, `job`): a scrape adds its target's, a push
    /// must say them itself, so that a fleet's instances stay apart.
    pub fn label(mut self, name: impl Into<String>, value: impl Into<String>) -> RemoteWrite {
        self.external.push((name.into(), value.into()));
        self
    }

    /// Starts the thread.
    pub fn start(self) -> std::io::Result<Pusher> {
        let mut exposition = Exposition::new();
        let external = self.external;
        let encode = Box::new(move |snapshot: &monitor_core::Snapshot| {
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            encode(&write_request(
                &exposition.series(snapshot),
                &external,
                now_ms,
            ))
        });
        let agent = agent(self.settings.timeout);
        Pusher::start(
            "remote_write",
            self.settings,
            encode,
            move |settings, body| -> Sent {
                post(
                    &agent,
                    settings,
                    &[
                        ("Content-Type", "application/x-protobuf"),
                        ("Content-Encoding", "snappy"),
                        ("X-Prometheus-Remote-Write-Version", "0.1.0"),
                        ("User-Agent", "monitor-export"),
                    ],
                    body,
                )
            },
        )
    }
}
