//! A history that survives restarts: the rollups kept in a SQLite file (feature `persist`).
//!
//! [`Config::history_path`](crate::Config::history_path) names the file. At start the file's
//! frames are loaded into the tiers; from then on each tick writes, in one transaction, the frames
//! it changed (the new finest frame, the minute and hour frames it added to) and deletes those the
//! tiers dropped, so retention and the memory bound hold on disk too. The write happens after the
//! tick has let go of the history's lock, on the collector's thread: never on the record path, and
//! never in a query's way.
//!
//! The runs kept as traces live there too: the same write adds the runs kept since the previous
//! one and trims them to the bound of the buffer of recent runs, and at start the newest of them
//! are put back in that buffer, so that [`trace::recent_runs`](crate::trace::recent_runs) spans
//! restarts like the rest of the history.
//!
//! SQLite rather than redb: its bundled library is the most fuzzed file format there is, and a
//! corrupt or foreign file is an error code, never a panic — redb's debug builds assert on
//! corruption. It costs a C compile in the builds that turn the feature on, and nothing in the
//! others; and an operator can open the file with the `sqlite3` tool.

#[cfg(feature = "persist")]
pub(crate) mod codec;
#[cfg(feature = "persist")]
pub(crate) mod runs;
#[cfg(feature = "persist")]
pub(crate) mod store;

use std::fmt;
use std::path::PathBuf;

/// A history file that cannot be used, naming the file. Nothing is overwritten: the file is left
/// as it was found.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "persist")] {
/// let dir = std::env::temp_dir().join(format!("monitor-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("notes.txt");
/// std::fs::write(&path, "not a history, and longer than a header: ".repeat(40)).unwrap();
///
/// let error = monitor_core::Config::new().history_path(&path).apply().unwrap_err();
/// assert!(error.to_string().contains("notes.txt"), "{error}");
/// assert_eq!(std::fs::read_to_string(&path).unwrap().len(), 1640); // untouched
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryFileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: HistoryFileProblem,
}

/// What is wrong with a history file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HistoryFileProblem {
    /// The file is not a SQLite database: some other file is at the path.
    NotADatabase,
    /// The file is a SQLite database of something else.
    Foreign,
    /// The file is a history written by a later version of monitor, or with another set of
    /// figures.
    OtherVersion {
        /// What the file says it is.
        found: String,
    },
    /// The file is damaged.
    Corrupt {
        /// Where, as far as it is known.
        detail: String,
    },
    /// Another process has the file open as its history.
    InUse,
    /// The file cannot be opened, created, read or written.
    Unavailable {
        /// Why, from the system or SQLite.
        detail: String,
    },
    /// This build of `monitor-core` has no `persist` feature.
    FeatureOff,
}

impl fmt::Display for HistoryFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.problem {
            HistoryFileProblem::NotADatabase => write!(
                f,
                "history file {path} is not a monitor history (it is not a SQLite database); \
                 move it away or name another path"
            ),
            HistoryFileProblem::Foreign => write!(
                f,
                "history file {path} is not a monitor history (it is a SQLite database of \
                 something else); move it away or name another path"
            ),
            HistoryFileProblem::OtherVersion { found } => write!(
                f,
                "history file {path} was written by another version of monitor ({found}); \
                 move it away or name another path"
            ),
            HistoryFileProblem::Corrupt { detail } => {
                write!(f, "history file {path} is damaged: {detail}")
            }
            HistoryFileProblem::InUse => write!(
                f,
                "history file {path} is in use by another process; each process needs a file \
                 of its own"
            ),
            HistoryFileProblem::Unavailable { detail } => {
                write!(f, "history file {path} cannot be used: {detail}")
            }
            HistoryFileProblem::FeatureOff => write!(
                f,
                "history file {path} needs monitor-core's `persist` feature, which this build \
                 does not have"
            ),
        }
    }
}

impl std::error::Error for HistoryFileError {}

/// The history file opened and read, not yet in force: [`Opened::install`] puts it in force.
#[derive(Debug)]
pub(crate) struct Opened {
    #[cfg(feature = "persist")]
    inner: store::Loaded,
}

/// Opens the history file at `path` and reads it — its frames, and its newest `recent_runs` kept
/// runs — changing nothing in the process.
pub(crate) fn open(path: &std::path::Path, recent_runs: usize) -> Result<Opened, HistoryFileError> {
    #[cfg(feature = "persist")]
    {
        store::Loaded::open(path, recent_runs).map(|inner| Opened { inner })
    }
    #[cfg(not(feature = "persist"))]
    {
        let _ = recent_runs;
        Err(HistoryFileError {
            path: path.to_path_buf(),
            problem: HistoryFileProblem::FeatureOff,
        })
    }
}

impl Opened {
    /// Files what the file held into the history and its runs into the buffer of recent runs,
    /// and writes each tick to it from now on.
    pub(crate) fn install(self) {
        #[cfg(feature = "persist")]
        self.inner.install();
    }
}

/// Whether the history is written to `path` already.
pub(crate) fn is_open(path: &std::path::Path) -> bool {
    #[cfg(feature = "persist")]
    {
        store::is_open(path)
    }
    #[cfg(not(feature = "persist"))]
    {
        let _ = path;
        false
    }
}

/// What a tick writes to the history file, taken under the history's lock and written after.
pub(crate) struct Batch {
    #[cfg(feature = "persist")]
    inner: store::Batch,
}

/// The writes of the tick that just ran on `state`, if a history file is open and the tick
/// changed anything.
pub(crate) fn batch(state: &super::state::State) -> Option<Batch> {
    #[cfg(feature = "persist")]
    {
        store::batch(state).map(|inner| Batch { inner })
    }
    #[cfg(not(feature = "persist"))]
    {
        let _ = state;
        None
    }
}

impl Batch {
    /// Writes the tick to the file, in one transaction. A failure is in the file's export
    /// health, and the frames are written again at the next tick.
    pub(crate) fn write(self) {
        #[cfg(feature = "persist")]
        let _ = self.inner.write();
    }
}

/// What closing the history file did: [`Monitor::shutdown`](crate::Monitor::shutdown) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryFileClosed {
    /// The file.
    pub path: PathBuf,
    /// The frames the ticks had left unwritten (the last tick's write failed, say) that closing
    /// wrote; or why the file could not be made whole — then the error is also in the file's
    /// export health, and what SQLite could not move stays in its `-wal`, where the next open
    /// finds it.
    pub frames_written: Result<usize, String>,
}

/// Closes the history file, if one is open: writes what the ticks left unwritten, moves every
/// page of the write-ahead log into the file itself (`PRAGMA wal_checkpoint(TRUNCATE)`) and
/// closes it, so that no `-wal` with pages is left beside it and the file alone — copied, backed
/// up — holds every tick written. `None` when no file was open.
///
/// What the guard does last ([`Monitor`](crate::Monitor)'s `Drop` and `shutdown`), after the
/// collector's last tick: the calls since that tick are not filed by this. Ticks after it keep
/// the history in memory only, until a [`Config`](crate::Config) with a `history_path` is
/// applied again.
pub(crate) fn close() -> Option<HistoryFileClosed> {
    #[cfg(feature = "persist")]
    {
        store::close()
    }
    #[cfg(not(feature = "persist"))]
    {
        None
    }
}
