//! The health of the exporters that push what the process recorded (remote write, OTLP): how many
//! payloads each made, sent, had refused or dropped, and its last error.
//!
//! Reach for it to tell whether data is leaving the process ([`health`]); `/metrics`, the JSON API
//! and the dashboard show the same. An exporter of your own registers with [`ExportEntry`], and
//! implements [`Exporter`] so that the runtime's guard can stop it.

// The health of the exporters that push what the process recorded (remote write, OTLP): each
// registers here and keeps its figures up to date, so that every reader of the [`Snapshot`] —
// `/metrics`, the JSON API, the dashboard — can tell whether the data is leaving the process.
//
// [`Snapshot`]: crate::Snapshot
use parking_lot::Mutex;
use std::sync::{Arc, Weak};

/// What one pushing exporter has done so far.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ExportHealth {
    /// The exporter: `remote_write`, `otlp`.
    pub exporter: &'static str,
    /// Where it pushes.
    pub endpoint: String,
    /// Payloads made, one a snapshot: `sent + rejected + dropped + queued`.
    pub made: u64,
    /// Payloads the endpoint accepted.
    pub sent: u64,
    /// Attempts that failed and will be retried: a connection error, a timeout, a 429 or a 5xx.
    pub failed_attempts: u64,
    /// Payloads the endpoint refused for good (a 4xx other than 429): dropped, not retried.
    pub rejected: u64,
    /// Payloads dropped because the queue was full: the oldest go first.
    pub dropped: u64,
    /// Payloads waiting to be sent.
    pub queued: usize,
    /// When the endpoint last accepted a payload, in milliseconds since the Unix epoch.
    pub last_success_ms: Option<u64>,
    /// The latest failure, in words.
    pub last_error: Option<String>,
}

/// An exporter's entry among [`health`]: it updates its figures through this, and leaves the
/// list when this is dropped.
///
/// # Examples
///
/// ```
/// let entry = monitor_core::exports::ExportEntry::register("remote_write", "http://127.0.0.1:9090/api/v1/write");
/// entry.update(|h| h.sent += 1);
/// assert!(monitor_core::exports::health().iter().any(|h| h.exporter == "remote_write" && h.sent == 1));
/// drop(entry);
/// assert!(monitor_core::exports::health().iter().all(|h| h.exporter != "remote_write"));
/// ```
#[derive(Debug)]
pub struct ExportEntry {
    health: Arc<Mutex<ExportHealth>>,
}

/// A running exporter the runtime's guard can own: [`Monitor::own_exporter`] takes it, and the
/// guard's shutdown stops it.
///
/// [`Monitor::own_exporter`]: crate::Monitor::own_exporter
pub trait Exporter: Send {
    /// Stops it after one last push, within its own timeout, and gives its final figures.
    fn shutdown(self: Box<Self>) -> ExportHealth;
}

// Process-wide, not the guard's: a pusher registers here when it starts, with or without a guard,
// and every reader of the snapshot lists it. Entries are weak: a pusher dropped leaves the list.
static EXPORTS: Mutex<Vec<Weak<Mutex<ExportHealth>>>> = Mutex::new(Vec::new());

impl ExportEntry {
    /// Adds an exporter of kind `exporter` pushing to `endpoint`.
    pub fn register(exporter: &'static str, endpoint: impl Into<String>) -> ExportEntry {
        let health = Arc::new(Mutex::new(ExportHealth {
            exporter,
            endpoint: endpoint.into(),
            ..ExportHealth::default()
        }));
        let mut all = EXPORTS.lock();
        // Entries of exporters gone are dropped here: the list holds the live ones only.
        all.retain(|e| e.strong_count() > 0);
        all.push(Arc::downgrade(&health));
        ExportEntry { health }
    }

    /// Changes the figures.
    pub fn update(&self, f: impl FnOnce(&mut ExportHealth)) {
        f(&mut self.health.lock());
    }

    /// The figures now.
    pub fn health(&self) -> ExportHealth {
        self.health.lock().clone()
    }
}

/// The health of every exporter running, in the order they started.
pub fn health() -> Vec<ExportHealth> {
    EXPORTS
        .lock()
        .iter()
        .filter_map(Weak::upgrade)
        .map(|h| h.lock().clone())
        .collect()
}
