//! The machinery of a pushing exporter: a thread of its own that collects what is due every
//! interval — a snapshot, encoded and queued (bounded: the oldest payload goes first, counted), or
//! the kept runs a trace exporter drains — and sends it in order, retrying with backoff on 429,
//! 5xx and connection errors, honouring `Retry-After`. It never touches the record path, and needs
//! no async runtime: the HTTP client is blocking (ureq).
//!
//! [`RemoteWrite`](crate::remote_write::RemoteWrite) is built on it, and so are the OTLP
//! exporters.

use monitor_core::Snapshot;
use monitor_core::exports::ExportEntry;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

/// How a pushing exporter sends: where, how often, how patiently.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PushSettings {
    pub(crate) endpoint: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_queue: usize,
    pub(crate) min_backoff: Duration,
    pub(crate) max_backoff: Duration,
}

/// What a pushing exporter has done so far: monitor-core's [`ExportHealth`](monitor_core::exports::ExportHealth), which every reader
/// of the snapshot sees (`/metrics`, the dashboard).
pub use monitor_core::exports::ExportHealth as PushHealth;

/// The settings every pushing exporter's builder offers, written once: `$t` has a `settings:
/// PushSettings` field.
macro_rules! push_settings {
    ($t:ty) => {
        crate::push::send_settings!($t);

        /// Payloads kept while the endpoint cannot take them (at least 1); beyond, the oldest
        /// are dropped and counted ([`PushHealth::dropped`](crate::push::PushHealth::dropped)).
        pub fn max_queue(mut self, payloads: usize) -> $t {
            self.settings.max_queue = payloads.max(1);
            self
        }
    };
}
pub(crate) use push_settings;

/// How often, how long and how patiently a pushing exporter sends, and the headers it adds: all
/// of [`push_settings`] but the queue, for an exporter whose queue is not its own (a trace
/// exporter drains monitor-core's queue of kept runs).
macro_rules! send_settings {
    ($t:ty) => {
        /// Time between pushes.
        pub fn interval(mut self, interval: std::time::Duration) -> $t {
            self.settings.interval = interval;
            self
        }

        /// Time a request may take, connecting included.
        pub fn timeout(mut self, timeout: std::time::Duration) -> $t {
            self.settings.timeout = timeout;
            self
        }

        /// The first wait after a failure, and the longest (each failure doubles it).
        pub fn backoff(mut self, first: std::time::Duration, longest: std::time::Duration) -> $t {
            self.settings.min_backoff = first;
            self.settings.max_backoff = longest.max(first);
            self
        }

        /// A header sent with every request (an `Authorization`, an API key, a tenant's
        /// `X-Scope-OrgID`).
        pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> $t {
            self.settings.headers.push((name.into(), value.into()));
            self
        }
    };
}
pub(crate) use send_settings;

/// How one send went.
pub(crate) enum Sent {
    Accepted,
    /// Worth retrying, after the given time if the endpoint said (`Retry-After`).
    Retry(String, Option<Duration>),
    /// Refused for good.
    Rejected(String),
}

/// Turns a snapshot into the body of a request.
pub(crate) type Encode = Box<dyn FnMut(&Snapshot) -> Vec<u8> + Send>;

/// A running pushing exporter. Dropping it stops it, as [`stop`](Pusher::stop) does.
#[derive(Debug)]
pub struct Pusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    stop: AtomicBool,
    health: ExportEntry,
    /// Wakes the thread early: to stop.
    wake: Condvar,
    asleep: Mutex<()>,
}

impl Pusher {
    /// A pusher of snapshots: every interval one, encoded, queued and sent.
    pub(crate) fn start(
        exporter: &'static str,
        settings: PushSettings,
        encode: Encode,
        send: impl FnMut(&PushSettings, &[u8]) -> Sent + Send + 'static,
    ) -> std::io::Result<Pusher> {
        let outbox = Snapshots {
            encode,
            queue: VecDeque::new(),
            max: settings.max_queue.max(1),
        };
        Pusher::start_outbox(exporter, settings, outbox, send)
    }

    /// A pusher of whatever `outbox` collects.
    pub(crate) fn start_outbox(
        exporter: &'static str,
        settings: PushSettings,
        outbox: impl Outbox,
        send: impl FnMut(&PushSettings, &[u8]) -> Sent + Send + 'static,
    ) -> std::io::Result<Pusher> {
        check_endpoint(&settings.endpoint, cfg!(feature = "tls")).map_err(|why| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the {exporter} endpoint {why}"),
            )
        })?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            health: ExportEntry::register(exporter, settings.endpoint.clone()),
            wake: Condvar::new(),
            asleep: Mutex::new(()),
        });
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("monitor-push".into())
            .spawn(move || run(&settings, outbox, send, &theirs))?;
        Ok(Pusher {
            shared,
            thread: Some(thread),
        })
    }

    /// What it has done so far.
    pub fn health(&self) -> PushHealth {
        self.shared.health.health()
    }

    /// Stops the thread after one last snapshot and one last try at sending what is queued, each
    /// within the timeout; waits for it, and gives its final figures.
    pub fn stop(mut self) -> PushHealth {
        self.halt();
        self.health()
    }

    fn halt(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        {
            let _asleep = self
                .shared
                .asleep
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            self.shared.wake.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The runtime's guard can own a pusher (`Monitor::own_exporter`): its shutdown stops it after one
/// last push, as [`Pusher::stop`] does.
impl monitor_core::exports::Exporter for Pusher {
    fn shutdown(self: Box<Self>) -> PushHealth {
        (*self).stop()
    }
}

impl Drop for Pusher {
    fn drop(&mut self) {
        self.halt();
    }
}

/// What a pusher sends, and where it is kept until it is sent: payloads of its own (a
/// snapshot's), or runs in monitor-core's queue (a trace exporter's).
pub(crate) trait Outbox: Send + 'static {
    /// Collects what is due: called every interval, and once more as the pusher stops.
    fn collect(&mut self, health: &ExportEntry);

    /// The body to send next, if any. The same one until [`settle`](Outbox::settle) says how
    /// its send went.
    fn next(&mut self, health: &ExportEntry) -> Option<&[u8]>;

    /// How the send of the body [`next`](Outbox::next) gave went: `Done` (accepted, or refused
    /// for good), or `Retry` (to be tried again; `stopping` when no later try will come).
    fn settle(&mut self, done: Settled, stopping: bool, health: &ExportEntry);

    /// Whether something waits for a retry: the pusher then wakes for it before the next
    /// interval.
    fn waiting(&self) -> bool;

    /// What waits, for [`PushHealth::queued`].
    fn queued(&self) -> usize;

    /// The pusher stops after its last try: what is still waiting will never be sent.
    fn abandon(&mut self, _health: &ExportEntry) {}
}

/// How the send of one body ended, for [`Outbox::settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// Accepted.
    Sent,
    /// Refused for good.
    Rejected,
    /// To be tried again.
    Retry,
}

/// Snapshots, each encoded when taken, queued until sent (at most `max`: the oldest go first).
struct Snapshots {
    encode: Encode,
    queue: VecDeque<Vec<u8>>,
    max: usize,
}

impl Outbox for Snapshots {
    fn collect(&mut self, health: &ExportEntry) {
        self.queue
            .push_back((self.encode)(&monitor_core::snapshot()));
        let mut dropped = 0;
        while self.queue.len() > self.max {
            self.queue.pop_front();
            dropped += 1;
        }
        health.update(|h| {
            h.made += 1;
            h.dropped += dropped;
        });
    }

    fn next(&mut self, _: &ExportEntry) -> Option<&[u8]> {
        self.queue.front().map(Vec::as_slice)
    }

    fn settle(&mut self, done: Settled, _stopping: bool, _: &ExportEntry) {
        // What could not be sent as the pusher stops stays counted as queued.
        if done != Settled::Retry {
            self.queue.pop_front();
        }
    }

    fn waiting(&self) -> bool {
        !self.queue.is_empty()
    }

    fn queued(&self) -> usize {
        self.queue.len()
    }
}

fn run(
    settings: &PushSettings,
    mut outbox: impl Outbox,
    mut send: impl FnMut(&PushSettings, &[u8]) -> Sent,
    shared: &Shared,
) {
    let mut next_collect = Instant::now();
    let mut retry_at = Instant::now();
    let mut backoff = settings.min_backoff;
    loop {
        let stopping = shared.stop.load(Ordering::Acquire);
        let now = Instant::now();
        if now >= next_collect || stopping {
            outbox.collect(&shared.health);
            next_collect = now + settings.interval;
        }
        if now >= retry_at || stopping {
            while let Some(body) = outbox.next(&shared.health) {
                match send(settings, body) {
                    Sent::Accepted => {
                        outbox.settle(Settled::Sent, stopping, &shared.health);
                        backoff = settings.min_backoff;
                        update(shared, |h| {
                            h.sent += 1;
                            h.last_success_ms = Some(unix_ms(SystemTime::now()));
                        });
                    }
                    Sent::Rejected(why) => {
                        outbox.settle(Settled::Rejected, stopping, &shared.health);
                        update(shared, |h| {
                            h.rejected += 1;
                            h.last_error = Some(without_secrets(&why, settings));
                        });
                    }
                    Sent::Retry(why, after) => {
                        outbox.settle(Settled::Retry, stopping, &shared.health);
                        retry_at = Instant::now() + after.unwrap_or(backoff);
                        backoff = (backoff * 2).min(settings.max_backoff);
                        update(shared, |h| {
                            h.failed_attempts += 1;
                            h.last_error = Some(without_secrets(&why, settings));
                        });
                        break;
                    }
                }
            }
        }
        if stopping {
            outbox.abandon(&shared.health);
            update(shared, |h| h.queued = outbox.queued());
            return;
        }
        update(shared, |h| h.queued = outbox.queued());
        let wake_at = if outbox.waiting() {
            next_collect.min(retry_at)
        } else {
            next_collect
        };
        let asleep = shared.asleep.lock().unwrap_or_else(PoisonError::into_inner);
        if shared.stop.load(Ordering::Acquire) {
            continue;
        }
        let wait = wake_at.saturating_duration_since(Instant::now());
        let _ = shared
            .wake
            .wait_timeout(asleep, wait)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

fn update(shared: &Shared, f: impl FnOnce(&mut PushHealth)) {
    shared.health.update(f);
}

/// Why nothing could ever be pushed to `endpoint`, said once when the pusher starts rather than
/// as a failure on every push: not a URL, not `http://` or `https://`, no host, or `https://`
/// without the `tls` feature. A port that is not a number or an `@` after the host count as not
/// a URL: an unencoded `/` or `?` in a password makes them, and such a URL's label would show the
/// password. The words name the endpoint by its label only once it has passed those two checks.
pub(crate) fn check_endpoint(endpoint: &str, tls: bool) -> Result<(), String> {
    const EXPECTED: &str =
        "; expected http://host[:port]/path, with a user or password percent-encoded";
    let uri = endpoint
        .parse::<http::Uri>()
        .map_err(|e| format!("is not a URL ({e}){EXPECTED}"))?;
    // An `@` past the host is a user or password cut short by an unencoded `/` or `?`
    // (`https://token/x@host/`): what the label keeps would show the start of it.
    if uri
        .path_and_query()
        .is_some_and(|p| p.as_str().contains('@'))
    {
        return Err(format!(
            "is not a URL that can be shown safely (an `@` after its host){EXPECTED}, and an `@` in the path or query as %40"
        ));
    }
    // `http` leaves the port unread until asked: `alice:pw1` parses, as host `alice` with no port.
    if let Some(authority) = uri.authority() {
        let host_port = authority
            .as_str()
            .rsplit_once('@')
            .map_or(authority.as_str(), |(_, h)| h);
        let read = match authority.port() {
            Some(port) => format!("{}:{}", authority.host(), port.as_str()),
            None => authority.host().to_owned(),
        };
        if host_port != read {
            return Err(format!("is not a URL (its port is not a number){EXPECTED}"));
        }
    }
    let label = crate::rules::endpoint_label(endpoint);
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") if tls => {}
        Some("https") => {
            return Err(format!(
                "{label} is https://, which needs monitor-export's `tls` feature"
            ));
        }
        _ => return Err(format!("{label} is not an http:// or https:// URL")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{label} names no host"));
    }
    Ok(())
}

/// An error's words with the endpoint as a label shows it: a client's error may quote the URL,
/// and a URL may carry a password or a token.
fn without_secrets(why: &str, settings: &PushSettings) -> String {
    why.replace(
        &settings.endpoint,
        &crate::rules::endpoint_label(&settings.endpoint),
    )
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Sends `body` with a blocking client: the answer classified as [`Sent`].
pub(crate) fn post(
    agent: &ureq::Agent,
    settings: &PushSettings,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Sent {
    post_with_status(agent, settings, headers, body).1
}

/// [`post`], with the status the endpoint answered (none when no answer came).
pub(crate) fn post_with_status(
    agent: &ureq::Agent,
    settings: &PushSettings,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (Option<u16>, Sent) {
    let mut request = agent.post(&settings.endpoint);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    for (name, value) in &settings.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    match request.send(body) {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let sent = match status {
                200..=299 => Sent::Accepted,
                429 | 500..=599 => Sent::Retry(format!("HTTP {status}"), retry_after),
                _ => {
                    let text = response
                        .into_body()
                        .read_to_string()
                        .unwrap_or_default()
                        .chars()
                        .take(200)
                        .collect::<String>();
                    Sent::Rejected(format!("HTTP {status}: {}", text.trim()))
                }
            };
            (Some(status), sent)
        }
        Err(e) => (None, Sent::Retry(e.to_string(), None)),
    }
}

/// The blocking client of a pusher: its timeout is the whole request's, and statuses are
/// answers, not errors.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    use super::check_endpoint;

    #[test]
    fn endpoints_that_can_be_pushed_to_pass() {
        for endpoint in [
            "http://127.0.0.1:9090/api/v1/write",
            "http://[::1]:4318/v1/metrics",
            "http://collector/v1/metrics?tenant=a",
            "https://user:secret@mimir.example/api/v1/push",
        ] {
            assert_eq!(check_endpoint(endpoint, true), Ok(()), "{endpoint}");
        }
    }

    #[test]
    fn an_endpoint_nothing_could_be_pushed_to_is_refused_without_its_secrets() {
        for (endpoint, why) in [
            ("not a url", "is not a URL"),
            ("localhost:9090/api/v1/write", "is not a URL"),
            (
                "ftp://files.example/push",
                "ftp://files.example/push is not an http://",
            ),
            ("/api/v1/write", "not an http:// or https:// URL"),
            ("http:///api/v1/write", "is not a URL"),
            // Unencoded, a `/` or `?` ends the authority early: `alice:pw1` would be read as a
            // host and a port, and the label of such a URL is the whole of it.
            ("https://alice:pw1/pw2@mimir.example/push", "is not a URL"),
            ("https://alice:pw1?pw2@mimir.example/push", "is not a URL"),
            ("https://alice:pw1#pw2@mimir.example/push", "is not a URL"),
            (
                "https://alice/pw1@mimir.example/push",
                "an `@` after its host",
            ),
            (
                "https://alice?pw1@mimir.example/push",
                "an `@` after its host",
            ),
            (
                "ftp://alice/pw1@mimir.example/push",
                "an `@` after its host",
            ),
            (
                "https://alice:s3cret@mimir.example/push?tok=t",
                "https://mimir.example/push is https://, which needs monitor-export's `tls` feature",
            ),
        ] {
            let err = check_endpoint(endpoint, false).unwrap_err();
            assert!(err.contains(why), "{endpoint}: {err}");
            for secret in ["alice", "pw1", "pw2", "s3cret", "tok"] {
                assert!(!err.contains(secret), "{endpoint}: {err}");
            }
        }
    }
}
