//! OTLP/HTTP traces push: the runs tracing kept ([`monitor_core::trace`]), as an
//! `ExportTraceServiceRequest` of the official message types (`opentelemetry-proto`), posted as
//! protobuf (gzip unless the endpoint refuses it) to any OpenTelemetry trace backend — a
//! Collector, Arize Phoenix, Jaeger, Tempo, Langfuse, Honeycomb — from a thread of its own
//! ([`Pusher`]): no async runtime needed from the service.
//!
//! Kept runs wait in monitor-core's bounded export queue ([`ExportQueue`]), which exists while
//! the exporter runs. Every interval the thread takes them in batches and sends each; a batch the
//! endpoint could not take now (a connection error, a timeout, a 429, a 5xx) goes back to the
//! front of the queue and is retried with backoff, a batch refused for good is dropped, and either
//! way nothing is lost silently: what the queue had no room for, and what was given up, counts in
//! `monitor_trace_export_dropped_total` ([`crate::trace_stats`]). As it stops, the exporter sends
//! what is queued one last time.
//!
//! Each span follows the conventions of what it is, so that a backend reads it without help:
//!
//! | span | kind | name | attributes |
//! |---|---|---|---|
//! | a handler's | SERVER | `METHOD route` (`POST /api/logos`) | `http.request.method`, `http.route`, `http.response.status_code`, `error.type`; `openinference.span.kind` `CHAIN` |
//! | a stage's | INTERNAL | `pipeline stage` (`logo concepts`) | `monitor.pipeline`, `monitor.stage`, `error.type`; `openinference.span.kind` `CHAIN` |
//! | a metered call's | CLIENT | `{gen_ai.operation.name} {model}` (`chat claude-sonnet-4-5`) | the GenAI conventions: `gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.usage.input_tokens`, `…output_tokens`, `…cache_read.input_tokens`, `…cache_creation.input_tokens`, `…reasoning.output_tokens`, `gen_ai.request.stream`, `gen_ai.response.time_to_first_chunk`; `error.type`; OpenInference's `openinference.span.kind` `LLM`, `llm.model_name`, `llm.provider`, `llm.token_count.*`, `llm.cost.*` |
//!
//! Tokens and cost sit on the metered calls' spans only (`gen_ai.usage.*`, `llm.token_count.*`,
//! `llm.cost.*`): a backend that adds them up over a trace (Phoenix, Langfuse) counts each call
//! once. A handler's or stage's span carries what the calls under it spent under names no backend
//! adds up again: `monitor.tokens.input`, `.output`, `.cache_read`, `.cache_write`,
//! `.reasoning`, `monitor.cost_usd`, and `monitor.cost_unpriced` when a call under it had no
//! price. The root span says why the run was kept (`monitor.kept`: `failed`, `cancelled`, `slow`,
//! `over_budget`, `sampled`); its parent is the caller's span when a `traceparent` came in, and
//! every span carries the `tracestate` that came with it.
//!
//! A failed call's span has status ERROR and its error's message, redacted, as the status
//! message; a handler's 4xx leaves the status unset, as the HTTP conventions ask of a server.
//! Prompts and completions are never recorded.
//!
//! # Starting it
//!
//! With runs traced ([`Config::traces`](monitor_core::Config::traces), `MONITOR_TRACES=on`),
//! which signals go where comes from the standard variables, read by
//! [`OtlpEnv`](crate::otlp_env::OtlpEnv). Batches are taken every interval (5 s by default,
//! `OTEL_BSP_SCHEDULE_DELAY`; the demo's is 1 s), gzipped and sent plain to an endpoint that
//! answers 415.
//!
//! ```no_run
//! use monitor_export::otlp_env::OtlpEnv;
//!
//! let mut monitor = monitor_core::init(monitor_core::Config::from_env()?.traces(true))?;
//! // OTEL_EXPORTER_OTLP_ENDPOINT (/v1/metrics, /v1/traces appended), …_TRACES_ENDPOINT and
//! // …_METRICS_ENDPOINT (as given: metrics and traces can go to different places), …_HEADERS and
//! // …_TRACES_HEADERS, …_TIMEOUT and …_TRACES_TIMEOUT (ms), …_COMPRESSION, OTEL_SERVICE_NAME,
//! // OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_SCHEDULE_DELAY (ms), OTEL_BSP_MAX_EXPORT_BATCH_SIZE;
//! // OTEL_METRICS_EXPORTER / OTEL_TRACES_EXPORTER = otlp | none.
//! let otlp = OtlpEnv::from_env()?;
//! if let Some(traces) = otlp.traces {
//!     monitor.own_exporter(traces.start()?);   // the guard flushes it at shutdown
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What tracing kept and dropped is counted in `/metrics` (`monitor_trace_runs_kept_total{reason}`,
//! `monitor_trace_runs_unsampled_total`, `monitor_trace_spans_dropped_total{reason}`,
//! `monitor_trace_runs_over_limit_total`, `monitor_trace_export_dropped_total`) and in OTLP
//! (`monitor.trace.…`): see [`crate::trace_stats`].
//!
//! # The demo in Arize Phoenix
//!
//! The demo's traces in a local [Arize Phoenix](https://github.com/Arize-ai/phoenix):
//!
//! ```sh
//! pip install arize-phoenix && phoenix serve &     # its UI and OTLP/HTTP on 127.0.0.1:6006
//! OTEL_METRICS_EXPORTER=none \
//!     cargo run --release -p monitor-examples -- --otlp http://127.0.0.1:6006
//! ```
//!
//! `--otlp` turns tracing on, with the tail rules and one run in ten besides (`--trace-sample RATE`
//! sets the share; Phoenix takes traces only, hence no metrics). Open `http://127.0.0.1:6006`,
//! project `default` (`OTEL_RESOURCE_ATTRIBUTES=openinference.project.name=NAME` picks another): a
//! trace per kept request of `logo-service` — `POST /api/logos`, under it the stages `logo cache`,
//! `logo analyse`, `logo concepts`, `logo render`, `logo optimise`, and under `concepts` every
//! streamed LLM call, the rate-limited and overloaded attempts red beside their retries — with each
//! call's model, tokens (cache reads and writes, reasoning) and cost, the trace's totals added up
//! once, and the injected failures (`--fail-rate`) and over-budget runs among the traces.
//!
//! Tested against the real Phoenix 20.26.1 (`monitor-examples/tests/phoenix.rs`; the
//! repository's `scripts/deps.sh` installs it): the demo binary with `--otlp` and
//! `--trace-sample 0` serves twelve requests, three of them failing and one with a sampled
//! `traceparent`, and Phoenix's REST API gives back a trace for every run the monitor counted as
//! kept and none for the others, each a tree with every child inside its parent, the caller's
//! trace continued, and per trace the tokens (by model and kind) and cost of its LLM spans equal
//! to what the monitor's own counters gained during that request. The span kinds and
//! `tracestate`, which Phoenix does not keep, are checked on the wire with a receiver of the
//! test's own (`tests/tests/otlp_traces.rs`), with gzip, a 415, a 503 retried, a 400 and an
//! endpoint that is away at shutdown.

use crate::otlp::{
    COMPRESSION, ENDPOINT, HEADERS, OtlpConfigError, RESOURCE_ATTRIBUTES, SERVICE_NAME, TIMEOUT,
    compress, kv, kv_int, millis, pairs, unix_ns, url,
};
use crate::push::{Outbox, PushSettings, Pusher, Sent, Settled, agent, post, post_with_status};
use monitor_core::exports::ExportEntry;
use monitor_core::site::SiteKind;
use monitor_core::trace::{ExportQueue, KeptRun, KeptSpan, SpanOutcome};
use monitor_core::usage::TokenKind;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, SpanFlags, Status, span::SpanKind, status::StatusCode,
};
use std::sync::Arc;
use std::time::Duration;

const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
const TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
const TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
const SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
const BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
/// Every variable read.
pub(crate) const KEYS: [&str; 12] = [
    ENDPOINT,
    TRACES_ENDPOINT,
    HEADERS,
    TRACES_HEADERS,
    TIMEOUT,
    TRACES_TIMEOUT,
    COMPRESSION,
    TRACES_COMPRESSION,
    SERVICE_NAME,
    RESOURCE_ATTRIBUTES,
    SCHEDULE_DELAY,
    BATCH_SIZE,
];

/// Batches one round of sends takes at most: a round ends even while runs keep coming, and 16
/// batches of the default 512 runs hold four times the default export queue.
const BATCHES_PER_ROUND: usize = 16;

/// An OTLP/HTTP traces exporter: built in code, or from the standard `OTEL_*` variables.
///
/// # Examples
///
/// ```
/// use monitor_export::otlp_traces::OtlpTraces;
///
/// let traces = OtlpTraces::from_vars([
///     ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:6006"),
///     ("OTEL_SERVICE_NAME", "logo-api"),
/// ])?;
/// assert_eq!(traces.endpoint(), "http://127.0.0.1:6006/v1/traces");
///
/// let err = OtlpTraces::from_vars([("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "lots")]).unwrap_err();
/// assert_eq!(err.key, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
/// # Ok::<(), monitor_export::otlp::OtlpConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use = "an exporter does nothing until `start` is called"]
pub struct OtlpTraces {
    settings: PushSettings,
    resource: Vec<(String, String)>,
    gzip: bool,
    batch: usize,
}

impl OtlpTraces {
    /// Pushes to `endpoint` (the full URL, `…/v1/traces`) every 5 s (the batch span processor's
    /// default delay), up to 512 runs a request, gzipped, with a 10 s timeout, as `service.name`
    /// `unknown_service`.
    pub fn new(endpoint: impl Into<String>) -> OtlpTraces {
        OtlpTraces {
            settings: PushSettings {
                endpoint: endpoint.into(),
                headers: Vec::new(),
                interval: Duration::from_secs(5),
                timeout: Duration::from_secs(10),
                // The queue is monitor-core's (`Config::trace_export_queue`).
                max_queue: 1,
                min_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(60),
            },
            resource: vec![("service.name".to_owned(), "unknown_service".to_owned())],
            gzip: true,
            batch: 512,
        }
    }

    /// The defaults, with the process's `OTEL_*` variables applied.
    pub fn from_env() -> Result<OtlpTraces, OtlpConfigError> {
        OtlpTraces::from_vars(process_vars(&KEYS)?)
    }

    /// The defaults (`http://localhost:4318/v1/traces`), with the `OTEL_*` pairs of `vars`
    /// applied: `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` appended),
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (as is, and first), `OTEL_EXPORTER_OTLP_HEADERS` and
    /// `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (`k=v,k2=v2`, the second first),
    /// `OTEL_EXPORTER_OTLP_TIMEOUT` and `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` (ms),
    /// `OTEL_EXPORTER_OTLP_COMPRESSION` and `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION` (`gzip` or
    /// `none`), `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` (`k=v,…`, percent-decoded),
    /// `OTEL_BSP_SCHEDULE_DELAY` (ms between pushes) and `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` (runs a
    /// request). A bad value is an error naming the variable and the value.
    pub fn from_vars<K: AsRef<str>, V: AsRef<str>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<OtlpTraces, OtlpConfigError> {
        let mut traces = OtlpTraces::new("http://localhost:4318/v1/traces");
        // The per-signal variable wins over the generic one, whichever comes first.
        let (mut base, mut endpoint) = (None, None);
        let (mut headers, mut traces_headers) = (None, None);
        let (mut timeout, mut traces_timeout) = (None, None);
        let (mut gzip, mut traces_gzip) = (None, None);
        let mut service = None;
        for (key, value) in vars {
            let (key, value) = (key.as_ref(), value.as_ref().trim());
            match key {
                ENDPOINT => base = Some(url(ENDPOINT, value)?),
                TRACES_ENDPOINT => endpoint = Some(url(TRACES_ENDPOINT, value)?),
                HEADERS => headers = Some(pairs(HEADERS, value)?),
                TRACES_HEADERS => traces_headers = Some(pairs(TRACES_HEADERS, value)?),
                TIMEOUT => timeout = Some(millis(TIMEOUT, value)?),
                TRACES_TIMEOUT => traces_timeout = Some(millis(TRACES_TIMEOUT, value)?),
                COMPRESSION => gzip = Some(compression(COMPRESSION, value)?),
                TRACES_COMPRESSION => traces_gzip = Some(compression(TRACES_COMPRESSION, value)?),
                SERVICE_NAME if !value.is_empty() => service = Some(value.to_owned()),
                RESOURCE_ATTRIBUTES => {
                    for (k, v) in pairs(RESOURCE_ATTRIBUTES, value)? {
                        traces = traces.resource(k, v);
                    }
                }
                SCHEDULE_DELAY => traces.settings.interval = millis(SCHEDULE_DELAY, value)?,
                BATCH_SIZE => {
                    traces.batch =
                        value
                            .parse::<usize>()
                            .ok()
                            .filter(|n| *n > 0)
                            .ok_or_else(|| OtlpConfigError {
                                key: BATCH_SIZE,
                                value: value.to_owned(),
                                expected: "a number of runs, 1 or more",
                            })?;
                }
                _ => {}
            }
        }
        if let Some(endpoint) =
            endpoint.or_else(|| base.map(|b: String| crate::otlp::signal_url(&b, "traces")))
        {
            traces.settings.endpoint = endpoint;
        }
        if let Some(headers) = traces_headers.or(headers) {
            traces.settings.headers = headers;
        }
        if let Some(timeout) = traces_timeout.or(timeout) {
            traces.settings.timeout = timeout;
        }
        if let Some(gzip) = traces_gzip.or(gzip) {
            traces.gzip = gzip;
        }
        // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES.
        if let Some(service) = service {
            traces = traces.resource("service.name", service);
        }
        Ok(traces)
    }

    /// Where it pushes.
    pub fn endpoint(&self) -> &str {
        &self.settings.endpoint
    }

    crate::push::send_settings!(OtlpTraces);

    /// A resource attribute (`service.name`, `service.instance.id`, `openinference.project.name`
    /// for Phoenix's project, …): set again, it replaces.
    pub fn resource(mut self, key: impl Into<String>, value: impl Into<String>) -> OtlpTraces {
        crate::otlp::set_resource(&mut self.resource, key.into(), value.into());
        self
    }

    /// Compresses the body with gzip (the default). An endpoint that answers 415 to a gzipped
    /// body gets the same body plain, and plain bodies from then on.
    pub fn gzip(mut self, on: bool) -> OtlpTraces {
        self.gzip = on;
        self
    }

    /// Runs a request carries at most (at least 1; 512 by default).
    pub fn max_batch(mut self, runs: usize) -> OtlpTraces {
        self.batch = runs.max(1);
        self
    }

    /// Starts queueing kept runs, and the thread that sends them. The runtime's guard can own
    /// the [`Pusher`] (`Monitor::own_exporter`): its shutdown sends what is queued one last time.
    pub fn start(self) -> std::io::Result<Pusher> {
        let outbox = Runs {
            queue: ExportQueue::new(),
            resource: self.resource,
            batch: self.batch,
            held: None,
            round: 0,
            retrying: false,
        };
        let agent = agent(self.settings.timeout);
        let mut gzip = self.gzip;
        Pusher::start_outbox(
            "otlp_traces",
            self.settings,
            outbox,
            move |settings, body| -> Sent {
                const PLAIN: [(&str, &str); 2] = [
                    ("Content-Type", "application/x-protobuf"),
                    ("User-Agent", "monitor-export"),
                ];
                if gzip {
                    let mut headers = PLAIN.to_vec();
                    headers.push(("Content-Encoding", "gzip"));
                    let (status, sent) =
                        post_with_status(&agent, settings, &headers, &compress(body));
                    if status != Some(415) {
                        return sent;
                    }
                    // 415 Unsupported Media Type: this endpoint takes no gzip.
                    gzip = false;
                }
                post(&agent, settings, &PLAIN, body)
            },
        )
    }
}

/// The process's variables; one of `known` whose value is not UTF-8 is an error naming it.
pub(crate) fn process_vars(
    known: &[&'static str],
) -> Result<Vec<(String, String)>, OtlpConfigError> {
    let mut vars = Vec::new();
    for (key, value) in std::env::vars_os() {
        let Ok(key) = key.into_string() else { continue };
        match value.into_string() {
            Ok(value) => vars.push((key, value)),
            Err(value) => {
                if let Some(known) = known.iter().find(|k| **k == key) {
                    return Err(OtlpConfigError {
                        key: known,
                        value: value.to_string_lossy().into_owned(),
                        expected: "UTF-8 text",
                    });
                }
            }
        }
    }
    Ok(vars)
}

fn compression(key: &'static str, value: &str) -> Result<bool, OtlpConfigError> {
    match value {
        "gzip" => Ok(true),
        "none" => Ok(false),
        _ => Err(OtlpConfigError {
            key,
            value: value.to_owned(),
            expected: "gzip or none",
        }),
    }
}

/// The pusher's side of the export queue: a batch of runs taken from it, encoded, held until
/// its send is settled.
struct Runs {
    queue: ExportQueue,
    resource: Vec<(String, String)>,
    batch: usize,
    held: Option<(Vec<Arc<KeptRun>>, Vec<u8>)>,
    /// Batches this round may still take.
    round: usize,
    /// A batch went back to the queue to be retried.
    retrying: bool,
}

impl Outbox for Runs {
    fn collect(&mut self, _: &ExportEntry) {
        self.round = BATCHES_PER_ROUND;
    }

    fn next(&mut self, health: &ExportEntry) -> Option<&[u8]> {
        if self.held.is_none() && self.round > 0 {
            let runs = self.queue.drain(self.batch);
            if runs.is_empty() {
                return None;
            }
            self.round -= 1;
            let body = prost::Message::encode_to_vec(&request(&runs, &self.resource));
            health.update(|h| h.made += 1);
            self.held = Some((runs, body));
        }
        self.held.as_ref().map(|(_, body)| body.as_slice())
    }

    fn settle(&mut self, done: Settled, stopping: bool, health: &ExportEntry) {
        let Some((runs, _)) = self.held.take() else {
            return;
        };
        self.retrying = false;
        match done {
            Settled::Sent => {}
            Settled::Rejected => self.queue.count_dropped(runs.len() as u64),
            Settled::Retry if stopping => {
                self.queue.count_dropped(runs.len() as u64);
                health.update(|h| h.dropped += 1);
            }
            Settled::Retry => {
                // Back to the front of the queue, as far as it has room (what has not is
                // counted by the queue).
                self.queue.requeue(runs);
                self.retrying = true;
            }
        }
    }

    fn waiting(&self) -> bool {
        self.retrying
    }

    fn queued(&self) -> usize {
        usize::from(self.retrying)
    }

    fn abandon(&mut self, _: &ExportEntry) {
        // The pusher stops: what it could not send now will never be.
        let left = self.queue.drain(usize::MAX).len();
        self.queue.count_dropped(left as u64);
    }
}

/// The request [`OtlpTraces`] sends for `runs`, with `resource`: for a test, or an exporter of
/// one's own.
///
/// # Examples
///
/// ```
/// let request = monitor_export::otlp_traces::request(
///     &monitor_core::trace::recent_runs(),
///     &[("service.name".to_owned(), "logo-api".to_owned())],
/// );
/// let scope = &request.resource_spans[0].scope_spans[0];
/// assert_eq!(scope.scope.as_ref().unwrap().name, "monitor");
/// ```
pub fn request(runs: &[Arc<KeptRun>], resource: &[(String, String)]) -> ExportTraceServiceRequest {
    let spans = runs
        .iter()
        .flat_map(|run| run.spans().map(|s| span(run, &s)))
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: resource.iter().map(|(k, v)| kv(k, v)).collect(),
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "monitor".to_owned(),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                    ..InstrumentationScope::default()
                }),
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// `error.type` of a call dropped before it finished, as the metrics write it.
const CANCELLED: &str = crate::otlp::CANCELLED;

/// One kept span as OTLP's.
fn span(run: &KeptRun, s: &KeptSpan) -> Span {
    let site = s.site;
    let root = s.parent.is_none();
    // The root's parent is the caller's span, when a `traceparent` came in.
    let parent = s.parent.or(run.remote_parent);
    let mut attributes = Vec::new();
    let (kind, name) = match site.kind() {
        SiteKind::Handler => (SpanKind::Server, handler(s, &mut attributes)),
        SiteKind::Stage => (SpanKind::Internal, stage(s, &mut attributes)),
        SiteKind::Tokens => (SpanKind::Client, metered(s, &mut attributes)),
    };
    if !site.is_route() {
        attributes.push(kv(
            "code.function.name",
            &format!("{}::{}", site.module_path(), site.qualified_name()),
        ));
        attributes.push(kv("code.file.path", site.file()));
        attributes.push(kv_int("code.line.number", i64::from(site.line())));
    }
    if site.kind() != SiteKind::Tokens {
        totals(run, s, &mut attributes);
    }
    if root {
        attributes.push(kv("monitor.kept", run.kept.as_str()));
        if run.dropped_spans > 0 {
            attributes.push(kv_int(
                "monitor.dropped_spans",
                i64::try_from(run.dropped_spans).unwrap_or(i64::MAX),
            ));
        }
    }
    let start = run.start + s.offset;
    // Sampled, as every exported span is; whether the parent is in another process is known.
    let mut flags = 0x01 | SpanFlags::ContextHasIsRemoteMask as u32;
    if root && run.remote_parent.is_some() {
        flags |= SpanFlags::ContextIsRemoteMask as u32;
    }
    Span {
        trace_id: run.trace_id.to_bytes().to_vec(),
        span_id: s.id.to_bytes().to_vec(),
        trace_state: run.tracestate.clone().unwrap_or_default(),
        parent_span_id: parent.map(|p| p.to_bytes().to_vec()).unwrap_or_default(),
        flags,
        name,
        kind: kind as i32,
        start_time_unix_nano: unix_ns(start),
        end_time_unix_nano: unix_ns(start + s.duration),
        attributes,
        status: Some(status(s)),
        ..Span::default()
    }
}

/// ERROR for a failed call (an error, a 5xx, a panic, a call dropped before it finished), with
/// its redacted message; unset otherwise: a 4xx is the caller's error, not the server's.
fn status(s: &KeptSpan) -> Status {
    let failed = s.failed() || s.outcome == SpanOutcome::Cancelled || s.status.unwrap_or(0) >= 500;
    if !failed {
        return Status::default();
    }
    let message = match (&s.error_message, s.outcome) {
        (Some(message), _) => message.clone(),
        (None, SpanOutcome::Cancelled) => "dropped before it finished".to_owned(),
        (None, SpanOutcome::Panicked) => "panicked".to_owned(),
        (None, _) => s.status.map(|c| format!("HTTP {c}")).unwrap_or_default(),
    };
    Status {
        message,
        code: StatusCode::Error as i32,
    }
}

/// `error.type` of a call that failed: the status of a 5xx, `cancelled` for a call dropped
/// before it finished, else its error's type (the conventions' `_OTHER` when unknown).
fn error_type(s: &KeptSpan) -> Option<String> {
    match (s.status, s.outcome) {
        (Some(code), _) if code >= 500 => Some(code.to_string()),
        (_, SpanOutcome::Cancelled) => Some(CANCELLED.to_owned()),
        (_, SpanOutcome::Error | SpanOutcome::Panicked) => Some(
            s.error_type
                .unwrap_or(crate::gen_ai::OTHER_ERROR)
                .to_owned(),
        ),
        _ => None,
    }
}

/// A handler's attributes (the HTTP server conventions); its name, `METHOD route`.
fn handler(s: &KeptSpan, attributes: &mut Vec<KeyValue>) -> String {
    let route = s.site.route();
    if let Some((method, path)) = route.and_then(|r| r.split_once(' ')) {
        attributes.push(kv("http.request.method", method));
        attributes.push(kv("http.route", path));
    }
    if let Some(code) = s.status {
        attributes.push(kv_int("http.response.status_code", i64::from(code)));
    }
    if let Some(error) = error_type(s) {
        attributes.push(kv("error.type", &error));
    }
    if s.request_bytes > 0 {
        attributes.push(kv_int(
            "http.request.body.size",
            saturating(s.request_bytes),
        ));
    }
    if let Some(bytes) = s.response_bytes {
        attributes.push(kv_int("http.response.body.size", saturating(bytes)));
    }
    attributes.push(kv("openinference.span.kind", "CHAIN"));
    route.unwrap_or(s.site.name()).to_owned()
}

/// A stage's attributes; its name, `pipeline stage`.
fn stage(s: &KeptSpan, attributes: &mut Vec<KeyValue>) -> String {
    let site = s.site;
    let stage = site.stage().unwrap_or(site.name());
    if let Some(pipeline) = site.pipeline() {
        attributes.push(kv("monitor.pipeline", pipeline));
    }
    attributes.push(kv("monitor.stage", stage));
    if let Some(error) = error_type(s) {
        attributes.push(kv("error.type", &error));
    }
    attributes.push(kv("openinference.span.kind", "CHAIN"));
    match site.pipeline() {
        Some(pipeline) => format!("{pipeline} {stage}"),
        None => stage.to_owned(),
    }
}

/// A metered call's attributes: the GenAI conventions, and OpenInference's for Phoenix; its
/// name, `{gen_ai.operation.name} {model}`.
fn metered(s: &KeptSpan, attributes: &mut Vec<KeyValue>) -> String {
    let site = s.site;
    let operation = site.operation();
    let model = s.model.or(site.model());
    attributes.push(kv("gen_ai.operation.name", operation));
    attributes.push(kv("openinference.span.kind", "LLM"));
    if let Some(provider) = site.provider() {
        attributes.push(kv("gen_ai.provider.name", provider));
        attributes.push(kv("llm.provider", provider));
        attributes.push(kv("llm.system", provider));
    }
    if let Some(model) = model {
        attributes.push(kv("gen_ai.request.model", model));
    }
    if let Some(model) = s.response_model {
        attributes.push(kv("gen_ai.response.model", model));
    }
    if let Some(model) = s.response_model.or(model) {
        attributes.push(kv("llm.model_name", model));
    }
    if let Some(chunks) = s.chunks {
        attributes.push(bool_kv("gen_ai.request.stream", true));
        attributes.push(kv_int("monitor.stream.chunks", saturating(chunks)));
    }
    if let Some(first) = s.first_chunk {
        attributes.push(float_kv(
            "gen_ai.response.time_to_first_chunk",
            first.as_secs_f64(),
        ));
    }
    if let Some(error) = error_type(s) {
        attributes.push(kv("error.type", &error));
    }
    if let Some(t) = s.tokens {
        for (key, n) in [
            ("gen_ai.usage.input_tokens", t.input),
            ("gen_ai.usage.output_tokens", t.output),
            ("gen_ai.usage.cache_read.input_tokens", t.cached_input),
            ("gen_ai.usage.cache_creation.input_tokens", t.cache_write),
            ("gen_ai.usage.reasoning.output_tokens", t.reasoning),
            ("llm.token_count.prompt", t.input),
            ("llm.token_count.completion", t.output),
            ("llm.token_count.total", t.input.saturating_add(t.output)),
            ("llm.token_count.prompt_details.cache_read", t.cached_input),
            ("llm.token_count.prompt_details.cache_write", t.cache_write),
            ("llm.token_count.completion_details.reasoning", t.reasoning),
        ] {
            attributes.push(kv_int(key, saturating(n)));
        }
    }
    if let Some(by_kind) = s.cost_by_kind_usd {
        let cost = |kind: TokenKind| {
            TokenKind::ALL
                .iter()
                .position(|k| *k == kind)
                .map_or(0.0, |i| by_kind[i])
        };
        let prompt =
            cost(TokenKind::Input) + cost(TokenKind::CachedInput) + cost(TokenKind::CacheWrite);
        let completion = cost(TokenKind::Output) + cost(TokenKind::Reasoning);
        for (key, usd) in [
            ("llm.cost.prompt", prompt),
            ("llm.cost.completion", completion),
            ("llm.cost.total", prompt + completion),
            ("llm.cost.prompt_details.input", cost(TokenKind::Input)),
            (
                "llm.cost.prompt_details.cache_read",
                cost(TokenKind::CachedInput),
            ),
            (
                "llm.cost.prompt_details.cache_write",
                cost(TokenKind::CacheWrite),
            ),
            (
                "llm.cost.completion_details.output",
                cost(TokenKind::Output),
            ),
            (
                "llm.cost.completion_details.reasoning",
                cost(TokenKind::Reasoning),
            ),
        ] {
            attributes.push(float_kv(key, usd));
        }
    }
    match model {
        Some(model) => format!("{operation} {model}"),
        None => operation.to_owned(),
    }
}

/// What the metered calls under `s` spent, under names no backend adds up again.
fn totals(run: &KeptRun, s: &KeptSpan, attributes: &mut Vec<KeyValue>) {
    if !run.under(s.id).any(|c| c.tokens.is_some()) {
        return;
    }
    let t = run.tokens_under(s.id);
    for (key, n) in [
        ("monitor.tokens.input", t.input),
        ("monitor.tokens.output", t.output),
        ("monitor.tokens.cache_read", t.cached_input),
        ("monitor.tokens.cache_write", t.cache_write),
        ("monitor.tokens.reasoning", t.reasoning),
    ] {
        attributes.push(kv_int(key, saturating(n)));
    }
    let (usd, unpriced) = run.cost_under(s.id);
    attributes.push(float_kv("monitor.cost_usd", usd));
    if unpriced {
        attributes.push(bool_kv("monitor.cost_unpriced", true));
    }
}

fn saturating(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn float_kv(key: &str, value: f64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::DoubleValue(value)),
        }),
        ..KeyValue::default()
    }
}

fn bool_kv(key: &str, value: bool) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::BoolValue(value)),
        }),
        ..KeyValue::default()
    }
}

#[cfg(test)]
mod tests {
    use super::OtlpTraces;
    use std::time::Duration;

    fn err(vars: &[(&str, &str)]) -> (String, String) {
        let e = OtlpTraces::from_vars(vars.iter().copied()).unwrap_err();
        assert!(e.to_string().contains(e.key), "{e}");
        (e.key.to_owned(), e.value)
    }

    #[test]
    fn the_defaults_send_gzipped_batches_to_the_local_collector() {
        let t = OtlpTraces::from_vars(Vec::<(String, String)>::new()).unwrap();
        assert_eq!(t.endpoint(), "http://localhost:4318/v1/traces");
        assert!(t.gzip);
        assert_eq!(
            (t.batch, t.settings.interval),
            (512, Duration::from_secs(5))
        );
        assert_eq!(
            t.resource,
            vec![("service.name".to_owned(), "unknown_service".to_owned())]
        );
    }

    #[test]
    fn the_base_endpoint_gets_the_signal_path_and_the_per_signal_one_is_used_as_given() {
        let base = OtlpTraces::from_vars([("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")]);
        assert_eq!(base.unwrap().endpoint(), "http://c:4318/v1/traces");
        // Whichever order they come in, the per-signal variable wins.
        for vars in [
            [
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/x"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ],
            [
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/x"),
            ],
        ] {
            assert_eq!(
                OtlpTraces::from_vars(vars).unwrap().endpoint(),
                "http://t:1/x"
            );
        }
    }

    #[test]
    fn per_signal_headers_timeout_and_compression_win_over_the_generic_ones() {
        let t = OtlpTraces::from_vars([
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api_key=t%20k"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20x,tenant=a",
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"),
            ("OTEL_BSP_SCHEDULE_DELAY", "250"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64"),
        ])
        .unwrap();
        assert_eq!(
            t.settings.headers,
            vec![("api_key".to_owned(), "t k".to_owned())]
        );
        assert_eq!(t.settings.timeout, Duration::from_millis(700));
        assert!(!t.gzip);
        assert_eq!(
            (t.batch, t.settings.interval),
            (64, Duration::from_millis(250))
        );
        let generic = OtlpTraces::from_vars([
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20x,tenant=a",
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ])
        .unwrap();
        assert_eq!(
            generic.settings.headers,
            vec![
                ("authorization".to_owned(), "Bearer x".to_owned()),
                ("tenant".to_owned(), "a".to_owned())
            ]
        );
        assert_eq!(generic.settings.timeout, Duration::from_millis(2500));
    }

    #[test]
    fn the_service_name_wins_over_the_resource_attributes_which_are_percent_decoded() {
        let t = OtlpTraces::from_vars([
            ("OTEL_SERVICE_NAME", "logo-api"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=other, deployment.environment=pre%2Cprod,openinference.project.name=logos",
            ),
        ])
        .unwrap();
        assert_eq!(
            t.resource,
            vec![
                ("service.name".to_owned(), "logo-api".to_owned()),
                ("deployment.environment".to_owned(), "pre,prod".to_owned()),
                ("openinference.project.name".to_owned(), "logos".to_owned()),
            ]
        );
    }

    #[test]
    fn a_bad_value_names_its_variable_and_value() {
        for (key, value) in [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://c/v1/traces"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "no-equals-sign"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "10s"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "0"),
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd"),
            ("OTEL_RESOURCE_ATTRIBUTES", "a=b,c"),
            ("OTEL_BSP_SCHEDULE_DELAY", "-1"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "0"),
        ] {
            assert_eq!(err(&[(key, value)]), (key.to_owned(), value.to_owned()));
        }
    }
}
