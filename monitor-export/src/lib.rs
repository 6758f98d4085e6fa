//! Exporters of monitor: what leaves the process, read from a [`Snapshot`] and nothing else, but
//! for the kept runs [`exemplars`] are made of.
//!
//! - [`prometheus`]: the Prometheus text exposition format 0.0.4 ([`render`], [`Exposition`]), and
//!   OpenMetrics 1.0 text with exemplars ([`prometheus::render_openmetrics`]).
//! - [`exemplars`]: from a site's durations to one call and its trace, read from the kept runs.
//! - [`rules`]: the naming rules every exporter shares — a site's labels, the outcome split, an
//!   unknown cost never exported as 0, counters that never fall.
//! - [`gen_ai`]: the OpenTelemetry GenAI conventions — series of metered calls, their attributes
//!   and bucket boundaries.
//! - [`trace_stats`]: what tracing kept and dropped, as counters every exporter writes.
//! - `grafana` (feature `grafana`): Grafana dashboards over those series, made from a service's
//!   sites and objectives.
//! - `remote_write` (feature `remote-write`): Prometheus remote write 1.0, and `otlp` (feature
//!   `otlp`): OTLP/HTTP metrics, each pushed from a thread of its own by the machinery of `push`
//!   (a bounded queue, retries with backoff, health); `otlp_traces` (feature `otlp`): the kept
//!   runs as OTLP/HTTP traces, for any trace backend (Arize Phoenix, Jaeger, Tempo…), by the same
//!   machinery; `otlp_env`: which of the two the standard `OTEL_*` variables ask for.
//!
//! An exporter takes a snapshot, so a service can export without the dashboard, and an exporter
//! can be tested without any instrumented call: build a [`Snapshot`] by hand and compare the text
//! (the crate's `tests/hand_built.rs` renders one, with no instrumented call at all, to exactly
//! the text in `tests/hand_built.prom`).
//!
//! ```
//! let text = monitor_export::render(&monitor_core::snapshot());
//! assert!(text.starts_with("# HELP monitor_sites "));
//! ```
//!
//! [`Snapshot`]: monitor_core::Snapshot
//!
//! # Features
//!
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod exemplars;
pub mod exponential;
pub mod gen_ai;
#[cfg(feature = "grafana")]
pub mod grafana;
pub mod objective_rules;
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "otlp")]
pub mod otlp_env;
#[cfg(feature = "otlp")]
pub mod otlp_traces;
pub mod prometheus;
#[cfg(feature = "protobuf")]
pub mod protobuf;
#[cfg(any(feature = "remote-write", feature = "otlp"))]
pub mod push;
#[cfg(feature = "remote-write")]
pub mod remote_write;
pub mod rules;
pub mod trace_stats;

pub use prometheus::{CONTENT_TYPE, Exposition, Series, render};
