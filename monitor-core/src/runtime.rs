//! The runtime's owner: [`init`] puts a [`Config`] in force and returns the [`Monitor`] guard,
//! which owns what must end cleanly — the collector thread, the pushing exporters handed to it,
//! and the history file — and ends it in one place, its `Drop` (or [`Monitor::shutdown`]).

use crate::config::{Config, ConfigError};
use crate::exports::{ExportHealth, Exporter};
use crate::history::collector::{Collector, start_collector, tick_at};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

/// Whether a [`Monitor`] lives. The one piece of the runtime's lifecycle that is a `static`: the
/// sites the macros write are process-wide (generated code cannot be handed a value), so two
/// guards would run two collectors over one history and close one file twice.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// How long [`Monitor::shutdown`] waits for the exporters, all together, before it stops waiting.
pub(crate) const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Puts `config` in force and starts the runtime: the panic hook that records panics as errors,
/// and the collector, ticking every [`Config::tick`]. The one call a service makes at start-up;
/// keep the guard it returns for as long as the service runs (in `main`).
///
/// Dropping the guard — at the end of `main`, or through [`Monitor::shutdown`], which says what it
/// flushed — stops the collector after one last tick, stops the exporters handed to it
/// ([`Monitor::own_exporter`]) after one last push each, within 10 seconds together,
/// and checkpoints and closes the history file, so that the file alone holds every tick.
///
/// # Errors
///
/// [`InitError::Config`] when the configuration cannot be put in force (nothing changes then),
/// and [`InitError::AlreadyRunning`] while another guard lives: there is one runtime a process.
///
/// # Examples
///
/// ```
/// let monitor = monitor_core::init(monitor_core::Config::new())?;
/// assert!(matches!(
///     monitor_core::init(monitor_core::Config::new()),
///     Err(monitor_core::InitError::AlreadyRunning)
/// ));
/// let report = monitor.shutdown();
/// assert!(report.exporters.is_empty());
/// # Ok::<(), monitor_core::InitError>(())
/// ```
pub fn init(config: Config) -> Result<Monitor, InitError> {
    if RUNNING
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(InitError::AlreadyRunning);
    }
    if let Err(e) = config.apply() {
        RUNNING.store(false, Ordering::Release);
        return Err(InitError::Config(e));
    }
    crate::errors::record_panics();
    Ok(Monitor {
        collector: Some(start_collector(config.tick)),
        exporters: Vec::new(),
        config,
        done: false,
    })
}

/// The running runtime, returned by [`init`]: dropping it (or [`shutdown`](Monitor::shutdown))
/// ends it cleanly.
///
/// Recording does not depend on it: instrumented calls are recorded whether a guard lives or not
/// (turn recording off with [`set_enabled`](crate::set_enabled)). What it owns is what needs an
/// end: the collector's thread, the exporters handed to it, and the history file.
#[must_use = "the runtime stops when the guard is dropped: keep it for as long as the service runs"]
pub struct Monitor {
    collector: Option<Collector>,
    exporters: Vec<Box<dyn Exporter>>,
    config: Config,
    done: bool,
}

impl Monitor {
    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Hands a running exporter (a pusher of `monitor-export`) to the guard, which stops it at
    /// shutdown after its last push and reports how it ended.
    pub fn own_exporter(&mut self, exporter: impl Exporter + 'static) {
        self.exporters.push(Box::new(exporter));
    }

    /// Ends the runtime now and says what it flushed: the last tick, each exporter's final
    /// figures, and the history file's last write. Dropping the guard does the same, silently.
    pub fn shutdown(mut self) -> ShutdownReport {
        self.end()
    }

    fn end(&mut self) -> ShutdownReport {
        let started = Instant::now();
        let mut report = ShutdownReport {
            last_tick: false,
            exporters: Vec::new(),
            exporters_unfinished: 0,
            history_file: None,
            took: Duration::ZERO,
        };
        if std::mem::replace(&mut self.done, true) {
            return report;
        }
        if let Some(collector) = self.collector.take() {
            collector.stop();
            // What was recorded since the collector's last tick, into the history (and its file).
            if cfg!(feature = "enabled") {
                tick_at(SystemTime::now());
                report.last_tick = true;
            }
        }
        let (exporters, unfinished) = stop_all(std::mem::take(&mut self.exporters));
        report.exporters = exporters;
        report.exporters_unfinished = unfinished;
        report.history_file = crate::history::persist::close();
        RUNNING.store(false, Ordering::Release);
        report.took = started.elapsed();
        report
    }
}

/// Stops every exporter at once, each on a thread of its own, and waits for them together up to
/// [`SHUTDOWN_TIMEOUT`]; those not done by then are left to finish on their own.
fn stop_all(exporters: Vec<Box<dyn Exporter>>) -> (Vec<ExportHealth>, usize) {
    let total = exporters.len();
    let (tx, rx) = mpsc::channel();
    for exporter in exporters {
        let tx = tx.clone();
        let spawned = std::thread::Builder::new()
            .name("monitor-shutdown".into())
            .spawn(move || {
                let _ = tx.send(exporter.shutdown());
            });
        // Without a thread to be had, the closure — and the exporter in it — is dropped here:
        // its own `Drop` stops it, and it is counted as unfinished.
        drop(spawned);
    }
    drop(tx);
    let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
    let mut done = Vec::with_capacity(total);
    while done.len() < total {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(health) => done.push(health),
            Err(_) => break,
        }
    }
    let unfinished = total - done.len();
    (done, unfinished)
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.end();
    }
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor")
            .field("collector", &self.collector)
            .field("exporters", &self.exporters.len())
            .field("config", &self.config)
            .finish()
    }
}

/// What [`Monitor::shutdown`] flushed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Whether a last tick filed what was recorded since the collector's previous one.
    pub last_tick: bool,
    /// Each exporter's final figures, after its last push.
    pub exporters: Vec<ExportHealth>,
    /// Exporters still pushing when the shutdown stopped waiting for them (10 seconds).
    pub exporters_unfinished: usize,
    /// The history file's last write and checkpoint, when a file was open.
    pub history_file: Option<crate::history::HistoryFileClosed>,
    /// How long the shutdown took.
    pub took: Duration,
}

/// Why [`init`] did not start the runtime.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// The configuration could not be put in force; nothing changed.
    Config(ConfigError),
    /// A [`Monitor`] lives already: there is one runtime a process.
    AlreadyRunning,
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Config(e) => e.fmt(f),
            InitError::AlreadyRunning => {
                f.write_str("monitor is running already: drop its guard before calling init again")
            }
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::Config(e) => Some(e),
            InitError::AlreadyRunning => None,
        }
    }
}

impl From<ConfigError> for InitError {
    fn from(e: ConfigError) -> InitError {
        InitError::Config(e)
    }
}
