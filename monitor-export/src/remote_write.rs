//! Prometheus remote write 1.0: every series a scrape of `/metrics` would read ([`Exposition::series`]),
//! pushed as a snappy-compressed `WriteRequest` to any `/api/v1/write` endpoint (Prometheus with
//! `--web.enable-remote-write-receiver`, Mimir, Thanos Receive, Cortex, VictoriaMetrics), from a
//! thread of its own ([`Pusher`]).
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
