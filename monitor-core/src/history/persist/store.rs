//! The history file itself: opening and checking it, loading its frames into the tiers, and the
//! write each tick makes.
//!
//! The file's own header says it is a monitor history: `PRAGMA application_id` is
//! [`APPLICATION_ID`] and `PRAGMA user_version` the format, both written into the main file when
//! it is made, before any page goes to the write-ahead log. That is what is checked first, on the
//! main file alone, before SQLite replays a log beside it (see [`check_main_file`]).
//!
//! The file holds five tables: `monitor_history` (what the file is: format, version, the number
//! of counters a frame's figures hold), `sites` (a site's key and the id frames name it by),
//! `frames` (one row per frame of a tier: width, start, end, the encoded frame), `tiers` (how
//! far each coarser tier has taken its finer neighbour's frames) and `runs` (the kept runs of the
//! buffer of recent runs, in the order they were kept: trace id, start, the encoded run, see
//! `runs.rs`).
//!
//! A site is known in the file by its kind, module and qualified name (`Type::method` for a
//! method of an instrumented `impl` block) — not by its line, which any edit
//! above it moves, nor by its position among the sites, which a rebuild may change; sites of one
//! binary that share those are told apart by file and line. Route sites are known by their route
//! and made again when the file is loaded, within the route budget.

use super::codec::{self, StoredFrame};
use super::runs::{self, StoredRun};
use super::{HistoryFileError, HistoryFileProblem};
use crate::exports::ExportEntry;
use crate::figures::{COUNTERS, Figures};
use crate::history::state::{State, unix_ms, with_state};
use crate::history::tiers::Frame;
use crate::record::registry;
use crate::record::run::{self, KeptRun};
use crate::record::site::Site;
use parking_lot::{Mutex, MutexGuard};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// What the `monitor_history` table says a history file is.
const FORMAT: &str = "monitor-history";
/// 2: figures hold the durations of cancelled calls, and the header carries the mark below.
///
/// The `runs` table came later, still version 2: a file gains it at its next open (`CREATE TABLE
/// IF NOT EXISTS`), and nothing else changed. A build from before it opens a file that has it as
/// any version-2 history: it reads and writes the tables it knows, none of them changed, and
/// leaves the `runs` table and its rows as they are — nothing of the file is lost or misread, and
/// the next newer build finds the runs again (those the older build kept are not among them).
/// Version 3 would have made the older build refuse the whole file for the sake of a table it can
/// do without.
const VERSION: &str = "2";
/// The same, in the header of the main file (`PRAGMA user_version`, bytes 60 to 63).
const HEADER_VERSION: i32 = 2;
/// monitor's mark in the header of the main file (`PRAGMA application_id`, bytes 68 to 71):
/// "monH", for monitor history.
const APPLICATION_ID: i32 = i32::from_be_bytes(*b"monH");
/// What every SQLite database file begins with.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// The prefix of a route site's key: what follows is its route.
const ROUTE_KEY: &str = "route\u{1f}";

/// The file the history is written to, once one is open.
// Opened by `Config::apply`, closed by the guard (`close`, at its shutdown): the collector's
// thread writes to it at each tick, from the history's free functions.
static STORE: Mutex<Option<Store>> = Mutex::new(None);

/// An open history file, held for the life of the process (or until another replaces it).
struct Store {
    path: PathBuf,
    conn: Connection,
    /// By tier width: the end of the newest frame written. A frame that ends later is new, or
    /// was added to, since.
    written_to: BTreeMap<u64, u64>,
    /// By tier width, as last written: the start of the oldest frame kept, and how far the tier
    /// has taken its finer neighbour's frames. A tick that changes neither, nor any frame, writes
    /// nothing.
    kept: BTreeMap<u64, Extent>,
    /// Widths of frames in the file that no tier has now (the tick changed): deleted at the
    /// first write.
    stale: Vec<u64>,
    sites: SiteIds,
    /// The number of the latest kept run written ([`run::kept_since`]).
    runs_written: u64,
    /// The bound the `runs` table was last trimmed to: `None` until the first write trims it.
    runs_bound: Option<usize>,
    health: ExportEntry,
}

/// The start of a tier's oldest frame, and how far it has taken its finer neighbour's frames.
type Extent = (Option<u64>, u64);

/// The sites' ids in the file.
#[derive(Default)]
struct SiteIds {
    /// By key.
    ids: HashMap<String, i64>,
    /// By site index, once looked up.
    by_index: Vec<Option<i64>>,
    /// Keys that more than one site of this binary has: those sites add their file and line.
    shared_keys: HashSet<String>,
    /// Keys added in the transaction being written.
    added: Vec<String>,
}

/// Whether the history is written to `path` already.
pub(crate) fn is_open(path: &Path) -> bool {
    STORE
        .lock()
        .as_ref()
        .is_some_and(|store| store.path == path)
}

/// A file opened and read: its frames, not yet in the tiers.
#[derive(Debug)]
pub(crate) struct Loaded {
    store: Store,
    /// The file's sites: id and key.
    sites: Vec<(i64, String)>,
    /// By tier width, oldest first.
    frames: BTreeMap<u64, Vec<StoredFrame>>,
    filed_to: BTreeMap<u64, u64>,
    /// The newest kept runs, as many as the buffer of recent runs holds, oldest first.
    runs: Vec<StoredRun>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("written_to", &self.written_to)
            .finish_non_exhaustive()
    }
}

/// What an SQLite error says about the file.
fn problem_of(error: &rusqlite::Error) -> HistoryFileProblem {
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => HistoryFileProblem::NotADatabase,
        Some(ErrorCode::DatabaseCorrupt) => HistoryFileProblem::Corrupt {
            detail: error.to_string(),
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => HistoryFileProblem::InUse,
        _ => HistoryFileProblem::Unavailable {
            detail: error.to_string(),
        },
    }
}

/// A site's key in the file (see the module's documentation).
fn base_key(site: &Site) -> String {
    match site.route() {
        Some(route) if site.is_route() => format!("{ROUTE_KEY}{route}"),
        _ => format!(
            "{}\u{1f}{}\u{1f}{}",
            site.kind(),
            site.module_path(),
            site.qualified_name()
        ),
    }
}

/// The write-ahead log SQLite keeps beside the database at `path`.
fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// Checks the main file at `path` by itself, from its 100-byte header, before SQLite opens it.
///
/// Opening is not neutral: SQLite replays a log it finds beside the file, so that a main file
/// that is not a history — damaged, or another program's — passes for one while a log covers
/// it, and a connection's close writes the log into it. And beside an empty main file SQLite
/// deletes the log. So a file is refused here, both files untouched, when the main file alone
/// does not say it is a history of this format and a log with pages in it lies beside it.
///
/// What passes: no file or an empty one, without a log (a new history); a main file marked as a
/// history of this format, with or without a log (one that a crash left with its latest ticks
/// in the log: replayed); and a SQLite database without a mark and without a log, which its
/// tables then tell apart — a history made before the mark (refused by its `monitor_history`
/// table), another program's database (refused), or an empty database (made a history).
fn check_main_file(path: &Path) -> Result<(), HistoryFileProblem> {
    use std::io::Read;
    let unavailable = |e: std::io::Error| HistoryFileProblem::Unavailable {
        detail: e.to_string(),
    };
    let wal = wal_path(path);
    let logged = match std::fs::metadata(&wal) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(unavailable(e)),
    };
    let mut header = [0u8; 100];
    let mut read = 0;
    match std::fs::File::open(path) {
        Ok(mut file) => {
            while read < header.len() {
                match file.read(&mut header[read..]) {
                    Ok(0) => break,
                    Ok(n) => read += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(unavailable(e)),
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(unavailable(e)),
    }
    if read == 0 {
        // A history's first page is in the main file before anything goes to its log: pages in
        // a log beside nothing are not a history's, and SQLite would delete them.
        return if logged > 0 {
            Err(HistoryFileProblem::Corrupt {
                detail: format!(
                    "it is empty, but {} beside it holds {logged} bytes of a write-ahead log",
                    wal.display()
                ),
            })
        } else {
            Ok(())
        };
    }
    if read < header.len() || header[..16] != SQLITE_MAGIC[..] {
        return Err(HistoryFileProblem::NotADatabase);
    }
    let field = |at: usize| {
        i32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let (version, application) = (field(60), field(68));
    if application == APPLICATION_ID {
        if version != HEADER_VERSION {
            return Err(HistoryFileProblem::OtherVersion {
                found: format!("format version {version} in its header"),
            });
        }
        return Ok(());
    }
    // Another program's mark, or none with a log whose pages nothing vouches for.
    if application != 0 || logged > 0 {
        return Err(HistoryFileProblem::Foreign);
    }
    Ok(())
}

impl Loaded {
    /// Opens the file at `path` (made if it does not exist or is empty), checks that it is a
    /// history this build can read, takes it for this process, and reads it: its frames, and its
    /// newest `recent_runs` kept runs.
    pub(crate) fn open(path: &Path, recent_runs: usize) -> Result<Loaded, HistoryFileError> {
        let fail = |problem| HistoryFileError {
            path: path.to_path_buf(),
            problem,
        };
        let sqlite = |error: rusqlite::Error| fail(problem_of(&error));
        check_main_file(path).map_err(fail)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite)?;
        // Another process's history is not waited for: it is an error at once.
        conn.busy_timeout(Duration::ZERO).map_err(sqlite)?;
        // Until the file is found to be a history it is only read: a refused file is left as it
        // was, its log too, rather than the log written into it as the connection closes.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .map_err(sqlite)?;
        // Held from the first write on, for as long as the process has the file: two processes
        // writing one history would interleave their frames.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
            .map_err(sqlite)?;
        // Read before anything is written: a file of something else is left as it was.
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
            .and_then(|mut s| s.query_map([], |row| row.get(0))?.collect())
            .map_err(sqlite)?;
        let fresh = tables.is_empty();
        let has_runs = tables.iter().any(|t| t == "runs");
        if !fresh {
            if !tables.iter().any(|t| t == "monitor_history") {
                return Err(fail(HistoryFileProblem::Foreign));
            }
            check_format(&conn).map_err(fail)?;
            let verdict: String = conn
                .pragma_query_value(None, "quick_check", |row| row.get(0))
                .map_err(sqlite)?;
            if verdict != "ok" {
                return Err(fail(HistoryFileProblem::Corrupt { detail: verdict }));
            }
        } else {
            // The mark goes into the main file while it has no log yet: from the first write
            // on, the main file alone says what it is.
            conn.pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(sqlite)?;
            conn.pragma_update(None, "user_version", HEADER_VERSION)
                .map_err(sqlite)?;
        }
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)
            .map_err(sqlite)?;
        // A write-ahead log, synced at each commit: a tick is on disk once its write returns, so
        // a process killed at any moment — even the machine losing power — loses at most the
        // tick being written.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite)?;
        let mut conn = conn;
        {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite)?;
            if fresh {
                tx.execute_batch(SCHEMA).map_err(sqlite)?;
                tx.execute_batch(RUNS_SCHEMA).map_err(sqlite)?;
                tx.execute(
                    "INSERT INTO monitor_history (key, value) VALUES ('format', ?1), \
                     ('version', ?2), ('counters', ?3)",
                    params![FORMAT, VERSION, COUNTERS.to_string()],
                )
                .map_err(sqlite)?;
            }
            tx.commit().map_err(sqlite)?;
        }
        if fresh {
            // The schema, and the mark if the empty database was in WAL mode already, into the
            // main file now: a copy of it alone is a history from the start.
            checkpoint(&conn).map_err(sqlite)?;
        }
        let sites: Vec<(i64, String)> = conn
            .prepare("SELECT id, key FROM sites")
            .and_then(|mut s| {
                s.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect()
            })
            .map_err(sqlite)?;
        let filed_to: BTreeMap<u64, u64> = conn
            .prepare("SELECT width_ms, filed_to_ms FROM tiers")
            .and_then(|mut s| {
                s.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect()
            })
            .map_err(sqlite)?;
        let mut frames: BTreeMap<u64, Vec<StoredFrame>> = BTreeMap::new();
        {
            let mut statement = conn
                .prepare("SELECT width_ms, start_ms, end_ms, data FROM frames ORDER BY width_ms, start_ms")
                .map_err(sqlite)?;
            let mut rows = statement.query([]).map_err(sqlite)?;
            while let Some(row) = rows.next().map_err(sqlite)? {
                let (width, start, end): (u64, u64, u64) = (
                    row.get(0).map_err(sqlite)?,
                    row.get(1).map_err(sqlite)?,
                    row.get(2).map_err(sqlite)?,
                );
                let data = row.get_ref(3).map_err(sqlite)?.as_blob().map_err(|e| {
                    fail(HistoryFileProblem::Corrupt {
                        detail: format!("frame of {width} ms from {start}: {e}"),
                    })
                })?;
                let frame = codec::decode(data, start, end).map_err(|malformed| {
                    fail(HistoryFileProblem::Corrupt {
                        detail: format!("frame of {width} ms from {start}: {}", malformed.0),
                    })
                })?;
                if width == 0 || end < start {
                    return Err(fail(HistoryFileProblem::Corrupt {
                        detail: format!("frame of {width} ms from {start} ends at {end}"),
                    }));
                }
                frames.entry(width).or_default().push(frame);
            }
        }
        let runs = if has_runs || fresh {
            let known: HashSet<i64> = sites.iter().map(|(id, _)| *id).collect();
            read_runs(&conn, recent_runs, &known).map_err(fail)?
        } else {
            // A file of the layout before the `runs` table gains it now that it is found to be a
            // history, and nothing else refused it.
            conn.execute_batch(RUNS_SCHEMA).map_err(sqlite)?;
            Vec::new()
        };
        let store = Store {
            path: path.to_path_buf(),
            conn,
            written_to: BTreeMap::new(),
            kept: BTreeMap::new(),
            stale: Vec::new(),
            sites: SiteIds {
                ids: sites.iter().map(|(id, key)| (key.clone(), *id)).collect(),
                ..SiteIds::default()
            },
            runs_written: 0,
            runs_bound: None,
            health: ExportEntry::register("history_file", path.display().to_string()),
        };
        Ok(Loaded {
            store,
            sites,
            frames,
            filed_to,
            runs,
        })
    }

    /// Files the frames read into the tiers — before the frames they hold already, if the
    /// history ran before the file was opened — trims them to the limits, puts the runs read in
    /// the buffer of recent runs (before those it holds), and has every tick from now on write to
    /// the file.
    pub(crate) fn install(self) {
        let Loaded {
            mut store,
            sites,
            mut frames,
            filed_to,
            runs,
        } = self;
        let all = registry::all();
        store.sites.shared_keys = shared_keys(&all);
        let mut index_by_key: HashMap<String, usize> = HashMap::new();
        for (index, site) in all.iter().enumerate() {
            index_by_key.insert(store.sites.key(site), index);
        }
        let mut index_of_id = HashMap::new();
        let mut site_of_id: HashMap<i64, &'static Site> = HashMap::new();
        for (id, key) in &sites {
            let site = match key.strip_prefix(ROUTE_KEY) {
                // Made again, within the route budget: beyond it, its past joins the shared site.
                Some(route) => Some(registry::route_site(route)),
                None => index_by_key.get(key).and_then(|&i| all.get(i).copied()),
            };
            // A site gone from the code takes its past with it: nothing would show it.
            if let Some(site) = site {
                site_of_id.insert(*id, site);
                if let Some(index) = registry::index_of(site) {
                    index_of_id.insert(*id, index);
                }
            }
        }
        // A run with a span of a site gone from the code is left out whole: a span must name a
        // site of this binary, and a run without one of its spans would be another run — its
        // root gone, or the calls under the span hanging from nothing — telling what did not
        // happen. Its row goes when the bound of the buffer pushes it out.
        let kept: Vec<KeptRun> = runs
            .into_iter()
            .filter_map(|r| r.into_kept(|id| site_of_id.get(&id).copied()))
            .collect();
        // Before the file takes this process's writes: a run of the buffer found in the file
        // (opened again) is marked written, not written twice.
        run::restore(kept);
        let now_ms = unix_ms(SystemTime::now());
        with_state(|state| {
            for tier in &mut state.tiers {
                let stored = frames.remove(&tier.width_ms).unwrap_or_default();
                let first_held = tier.frames.front().map(|f| f.start_ms);
                let loaded: Vec<Frame> = stored
                    .into_iter()
                    .filter(|f| first_held.is_none_or(|start| f.end_ms <= start))
                    .map(|f| to_frame(f, &index_of_id))
                    .collect();
                let newest = loaded.last().map_or(0, |f| f.end_ms);
                for frame in loaded.into_iter().rev() {
                    tier.bytes += frame.approx_bytes();
                    tier.frames.push_front(Arc::new(frame));
                }
                if let Some(&to) = filed_to.get(&tier.width_ms) {
                    tier.filed_to_ms = tier.filed_to_ms.max(to);
                }
                store.written_to.insert(tier.width_ms, newest);
            }
            state.trim(now_ms);
        });
        // Frames of a width no tier has now (the tick changed) go at the first write.
        store.stale = frames.into_keys().collect();
        *STORE.lock() = Some(store);
    }
}

/// A stored frame with its sites at their positions in this process; sites gone are left out,
/// and sites that became one (routes beyond the budget) are added up.
fn to_frame(stored: StoredFrame, index_of_id: &HashMap<i64, usize>) -> Frame {
    let mut sites: BTreeMap<usize, Figures> = BTreeMap::new();
    for (id, figures) in stored.sites {
        if let Some(&index) = index_of_id.get(&id) {
            sites.entry(index).or_default().add(&figures);
        }
    }
    let mut models: BTreeMap<(usize, &'static str), Figures> = BTreeMap::new();
    for ((id, model), figures) in stored.models {
        if let Some(&index) = index_of_id.get(&id) {
            models.entry((index, model)).or_default().add(&figures);
        }
    }
    let mut caches = stored.caches;
    caches.sort_by(|a, b| a.0.cmp(&b.0));
    caches.dedup_by(|later, earlier| {
        let same = later.0 == earlier.0;
        if same {
            earlier.1.0 += later.1.0;
            earlier.1.1 += later.1.1;
        }
        same
    });
    Frame {
        start_ms: stored.start_ms,
        end_ms: stored.end_ms,
        sites: sites.into_iter().collect(),
        models: models.into_iter().collect(),
        caches,
    }
}

/// Keys shared by more than one site linked into the binary.
fn shared_keys(all: &[&'static Site]) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut shared = HashSet::new();
    for site in all.iter().filter(|s| !s.is_route()) {
        let key = base_key(site);
        if !seen.insert(key.clone()) {
            shared.insert(key);
        }
    }
    shared
}

/// The kept runs. Made apart from [`SCHEMA`], and only if missing: a history made before the
/// table gains it (see [`VERSION`]). `seq` orders the runs as they were kept (a trace id may
/// come back, in a run continuing the same caller's trace).
const RUNS_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY,
    trace_id TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    data BLOB NOT NULL
);
";

/// The newest `bound` runs of the file, oldest first, each checked: a damaged one is an error
/// naming its row.
fn read_runs(
    conn: &Connection,
    bound: usize,
    known: &HashSet<i64>,
) -> Result<Vec<StoredRun>, HistoryFileProblem> {
    let sqlite = |e: rusqlite::Error| problem_of(&e);
    let mut statement = conn
        .prepare("SELECT seq, trace_id, data FROM runs ORDER BY seq DESC LIMIT ?1")
        .map_err(sqlite)?;
    let mut rows = statement
        .query([i64::try_from(bound).unwrap_or(i64::MAX)])
        .map_err(sqlite)?;
    let mut runs = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite)? {
        let seq: i64 = row.get(0).map_err(sqlite)?;
        let corrupt = |why: &str| HistoryFileProblem::Corrupt {
            detail: format!("kept run in row {seq} of `runs`: {why}"),
        };
        let trace_id = row
            .get_ref(1)
            .map_err(sqlite)?
            .as_str()
            .map_err(|e| corrupt(&format!("trace id: {e}")))?;
        let data = row
            .get_ref(2)
            .map_err(sqlite)?
            .as_blob()
            .map_err(|e| corrupt(&e.to_string()))?;
        let stored = runs::decode(data)
            .and_then(|r| r.check(|id| known.contains(&id)).map(|()| r))
            .map_err(|malformed| corrupt(malformed.0))?;
        if stored.trace_id != trace_id {
            return Err(corrupt(&format!(
                "filed under trace {trace_id:?}, but it is trace {}",
                stored.trace_id
            )));
        }
        runs.push(stored);
    }
    runs.reverse();
    Ok(runs)
}

const SCHEMA: &str = "
CREATE TABLE monitor_history (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sites (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL
);
CREATE TABLE frames (
    width_ms INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (width_ms, start_ms)
) WITHOUT ROWID;
CREATE TABLE tiers (width_ms INTEGER PRIMARY KEY, filed_to_ms INTEGER NOT NULL);
";

/// Checks the `monitor_history` table: this format, this version, this build's counters.
fn check_format(conn: &Connection) -> Result<(), HistoryFileProblem> {
    let value = |key: &str| -> Result<Option<String>, HistoryFileProblem> {
        conn.query_row(
            "SELECT value FROM monitor_history WHERE key = ?1",
            [key],
            |row| row.get(0),
        )
        .optional()
        .map_err(|e| problem_of(&e))
    };
    let format = value("format")?;
    if format.as_deref() != Some(FORMAT) {
        return Err(HistoryFileProblem::Foreign);
    }
    let version = value("version")?.unwrap_or_default();
    let counters = value("counters")?.unwrap_or_default();
    if version != VERSION || counters != COUNTERS.to_string() {
        return Err(HistoryFileProblem::OtherVersion {
            found: format!("format version {version:?} with {counters:?} counters"),
        });
    }
    Ok(())
}

impl SiteIds {
    fn key(&self, site: &Site) -> String {
        let key = base_key(site);
        if self.shared_keys.contains(&key) {
            format!("{key}@{}:{}", site.file(), site.line())
        } else {
            key
        }
    }

    /// The file's id of the site at `index`, added to the file in `tx` if it is new.
    fn id(
        &mut self,
        tx: &rusqlite::Transaction<'_>,
        all: &[&'static Site],
        index: usize,
    ) -> rusqlite::Result<i64> {
        if let Some(Some(id)) = self.by_index.get(index) {
            return Ok(*id);
        }
        let site = all.get(index).ok_or(rusqlite::Error::InvalidQuery)?;
        let key = self.key(site);
        let id = match self.ids.get(&key) {
            Some(id) => *id,
            None => {
                tx.execute(
                    "INSERT INTO sites (key, kind, name) VALUES (?1, ?2, ?3)",
                    params![key, site.kind().as_str(), site.qualified_name()],
                )?;
                self.added.push(key.clone());
                tx.last_insert_rowid()
            }
        };
        if self.by_index.len() <= index {
            self.by_index.resize(index + 1, None);
        }
        self.by_index[index] = Some(id);
        self.ids.insert(key, id);
        Ok(id)
    }
}

impl Store {
    /// Writes `writes` in one transaction. Site ids it adds are kept only if it commits.
    fn write(&mut self, writes: &Writes) -> rusqlite::Result<()> {
        let all = registry::all();
        let result = write_in(&mut self.conn, &mut self.sites, &all, writes);
        let added = std::mem::take(&mut self.sites.added);
        if result.is_err() && !added.is_empty() {
            // Ids made in a transaction that rolled back are not in the file.
            for key in added {
                self.sites.ids.remove(&key);
            }
            self.sites.by_index.clear();
        }
        result
    }
}

fn write_in(
    conn: &mut Connection,
    sites: &mut SiteIds,
    all: &[&'static Site],
    writes: &Writes,
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut ids = HashMap::new();
    for (width, frame) in &writes.frames {
        let indices = frame
            .sites
            .iter()
            .map(|(i, _)| *i)
            .chain(frame.models.iter().map(|((i, _), _)| *i));
        for index in indices {
            if let std::collections::hash_map::Entry::Vacant(slot) = ids.entry(index) {
                slot.insert(sites.id(&tx, all, index)?);
            }
        }
        let data = codec::encode(frame, |index| ids.get(&index).copied().unwrap_or(-1));
        tx.execute(
            "INSERT OR REPLACE INTO frames (width_ms, start_ms, end_ms, data) \
             VALUES (?1, ?2, ?3, ?4)",
            params![width, frame.start_ms, frame.end_ms, data],
        )?;
    }
    for (width, (oldest, filed_to)) in &writes.kept {
        match oldest {
            Some(start) => tx.execute(
                "DELETE FROM frames WHERE width_ms = ?1 AND start_ms < ?2",
                params![width, start],
            )?,
            None => tx.execute("DELETE FROM frames WHERE width_ms = ?1", [width])?,
        };
        tx.execute(
            "INSERT OR REPLACE INTO tiers (width_ms, filed_to_ms) VALUES (?1, ?2)",
            params![width, filed_to],
        )?;
    }
    for width in &writes.stale {
        tx.execute("DELETE FROM frames WHERE width_ms = ?1", [width])?;
        tx.execute("DELETE FROM tiers WHERE width_ms = ?1", [width])?;
    }
    for kept in &writes.runs {
        let stored = StoredRun::of(kept, |site| {
            // A site that is not among the sites has no key in the file: nothing could name it
            // when the run is read back, so the run is not written.
            match registry::index_of(site) {
                Some(index) if all.get(index).is_some_and(|s| std::ptr::eq(*s, site)) => {
                    sites.id(&tx, all, index).map(Some)
                }
                _ => Ok(None),
            }
        })?;
        if let Some(stored) = stored {
            tx.execute(
                "INSERT INTO runs (trace_id, start_ms, data) VALUES (?1, ?2, ?3)",
                params![stored.trace_id, unix_ms(kept.start), runs::encode(&stored)],
            )?;
        }
    }
    if let Some(bound) = writes.runs_bound {
        // The bound of the buffer of recent runs holds on disk too: the newest `bound` rows stay.
        tx.execute(
            "DELETE FROM runs WHERE seq <= \
             (SELECT seq FROM runs ORDER BY seq DESC LIMIT 1 OFFSET ?1)",
            [i64::try_from(bound).unwrap_or(i64::MAX)],
        )?;
    }
    tx.commit()
}

/// What one tick has to write: the frames changed since the last write, the extent of each tier
/// whose extent changed (frames older than its oldest are deleted), widths no tier has, and the
/// runs kept since the last write.
#[derive(Default)]
struct Writes {
    frames: Vec<(u64, Arc<Frame>)>,
    kept: Vec<(u64, Extent)>,
    stale: Vec<u64>,
    /// Oldest first.
    runs: Vec<Arc<KeptRun>>,
    /// The number of the latest run kept when the runs were taken.
    runs_to: u64,
    /// The bound to trim the `runs` table to: when runs are added, or the bound changed.
    runs_bound: Option<usize>,
}

/// A tick's writes, holding the file: taken while the tick holds the history's lock (so ticks
/// write in the order they ran), written after it lets go (so queries need not wait for the disk).
pub(crate) struct Batch {
    store: MutexGuard<'static, Option<Store>>,
    writes: Writes,
}

/// The writes the tick that just ran on `state` makes, if a history file is open and the tick
/// changed anything.
pub(crate) fn batch(state: &State) -> Option<Batch> {
    let guard = STORE.lock();
    let store = guard.as_ref()?;
    let mut writes = Writes {
        stale: store.stale.clone(),
        ..Writes::default()
    };
    for tier in &state.tiers {
        let written = store.written_to.get(&tier.width_ms).copied().unwrap_or(0);
        // Only a tier's newest frames change: the ones that end after the last write, and the
        // newest one even when it ends at it — a tick in the same millisecond as the write before
        // added to it without moving its end.
        let changed = tier
            .frames
            .iter()
            .rev()
            .enumerate()
            .take_while(|(i, f)| f.end_ms > written || (*i == 0 && f.end_ms == written))
            .map(|(_, f)| f);
        let from = writes.frames.len();
        writes
            .frames
            .extend(changed.map(|f| (tier.width_ms, Arc::clone(f))));
        writes.frames[from..].reverse();
        let extent = (tier.frames.front().map(|f| f.start_ms), tier.filed_to_ms);
        if store.kept.get(&tier.width_ms) != Some(&extent) {
            writes.kept.push((tier.width_ms, extent));
        }
    }
    (writes.runs, writes.runs_to) = run::kept_since(store.runs_written);
    let bound = run::recent_capacity();
    if !writes.runs.is_empty() || store.runs_bound != Some(bound) {
        writes.runs_bound = Some(bound);
    }
    if writes.frames.is_empty()
        && writes.kept.is_empty()
        && writes.stale.is_empty()
        && writes.runs_bound.is_none()
    {
        return None;
    }
    Some(Batch {
        store: guard,
        writes,
    })
}

impl Batch {
    /// Writes the tick; a failure is counted in the file's export health, and the same frames
    /// are written again at the next tick. Returns the frames written, or why none were.
    pub(crate) fn write(mut self) -> Result<usize, String> {
        let Some(store) = self.store.as_mut() else {
            return Ok(0);
        };
        let result = store.write(&self.writes);
        let now_ms = unix_ms(SystemTime::now());
        match result {
            Ok(()) => {
                for (width, frame) in &self.writes.frames {
                    let to = store.written_to.entry(*width).or_default();
                    *to = (*to).max(frame.end_ms);
                }
                store.kept.extend(self.writes.kept.iter().copied());
                store.stale.clear();
                store.runs_written = self.writes.runs_to;
                if self.writes.runs_bound.is_some() {
                    store.runs_bound = self.writes.runs_bound;
                }
                store.health.update(|h| {
                    h.made += 1;
                    h.sent += 1;
                    h.last_success_ms = Some(now_ms);
                });
                Ok(self.writes.frames.len())
            }
            Err(error) => {
                let error = error.to_string();
                store.health.update(|h| {
                    h.made += 1;
                    h.failed_attempts += 1;
                    h.last_error = Some(error.clone());
                });
                Err(error)
            }
        }
    }
}

/// Moves every page of the log into the main file and empties the log.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    // (busy, pages in the log, pages moved): busy means a reader held pages back, which with the
    // file held exclusively cannot happen; said rather than assumed.
    let (busy, logged, moved): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
    if busy != 0 || logged != moved {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some(format!(
                "the checkpoint moved {moved} of {logged} pages of the log"
            )),
        ));
    }
    Ok(())
}

/// Closes the history file: writes what the ticks left unwritten, moves the log into the main
/// file and closes it. See [`super::close`].
pub(crate) fn close() -> Option<super::HistoryFileClosed> {
    // Taken under the history's lock, as a tick takes its writes, so that it follows every tick.
    let pending = with_state(|state| batch(state));
    let written = pending.map_or(Ok(0), Batch::write);
    let store = STORE.lock().take()?;
    let Store {
        path, conn, health, ..
    } = store;
    // Whatever the write did: the frames written before it belong in the main file.
    let moved = checkpoint(&conn)
        .map_err(|e| e.to_string())
        // The last connection to close deletes the emptied log.
        .and_then(|()| conn.close().map_err(|(_, e)| e.to_string()));
    let closed = moved.and(written);
    if let Err(error) = &closed {
        health.update(|h| h.last_error = Some(format!("closing: {error}")));
    }
    Some(super::HistoryFileClosed {
        path,
        frames_written: closed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::SiteKind;

    /// A directory of its own for one test, removed after.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let dir =
                std::env::temp_dir().join(format!("monitor-store-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temp dir");
            Dir(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn problem(path: &Path) -> HistoryFileProblem {
        let error = Loaded::open(path, 8).expect_err("refused");
        assert_eq!(error.path, path);
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
        error.problem
    }

    /// Writes one frame of a hand-made site, as a tick would.
    fn write_one_frame(loaded: &mut Loaded) {
        let site = Site::builder(SiteKind::Stage, "render")
            .pipeline("logo")
            .stage("render")
            .build();
        let mut figures = Figures::default();
        figures.durations.record(Duration::from_millis(3));
        let frame = Frame {
            start_ms: 1_000,
            end_ms: 2_000,
            sites: vec![(0, figures)],
            models: Vec::new(),
            caches: vec![("logos".into(), (3, 1))],
        };
        let writes = Writes {
            frames: vec![(1_000, Arc::new(frame))],
            kept: vec![(1_000, (Some(1_000), 0))],
            ..Writes::default()
        };
        let store = &mut loaded.store;
        write_in(&mut store.conn, &mut store.sites, &[site], &writes).expect("written");
    }

    #[test]
    fn a_new_file_is_made_and_read_back() {
        let dir = Dir::new("new");
        let path = dir.0.join("history.db");
        let mut loaded = Loaded::open(&path, 8).expect("made");
        assert!(loaded.frames.is_empty());
        // The main file says what it is while the history is still open: the mark went into it
        // before anything went to the log.
        let header = std::fs::read(&path).expect("read");
        assert_eq!(header[68..72], APPLICATION_ID.to_be_bytes());
        assert_eq!(header[60..64], HEADER_VERSION.to_be_bytes());
        assert_eq!(VERSION, HEADER_VERSION.to_string());
        write_one_frame(&mut loaded);
        drop(loaded);
        let loaded = Loaded::open(&path, 8).expect("reopened");
        let frames = &loaded.frames[&1_000];
        assert_eq!(frames.len(), 1);
        assert_eq!((frames[0].start_ms, frames[0].end_ms), (1_000, 2_000));
        assert_eq!(frames[0].sites[0].1.calls(), 1);
        assert_eq!(frames[0].caches, vec![("logos".to_owned(), (3, 1))]);
        assert_eq!(loaded.sites.len(), 1);
        assert!(
            loaded.sites[0].1.starts_with("stage\u{1f}"),
            "{:?}",
            loaded.sites
        );
        // An empty file is a new history too.
        let empty = dir.0.join("empty.db");
        std::fs::write(&empty, b"").expect("written");
        Loaded::open(&empty, 8).expect("an empty file is made a history");
    }

    #[test]
    fn a_file_of_something_else_is_refused_and_left_as_it_was() {
        let dir = Dir::new("foreign");
        let text = dir.0.join("notes.txt");
        let words = "these are someone's notes, not a history. ".repeat(200);
        std::fs::write(&text, &words).expect("written");
        assert_eq!(problem(&text), HistoryFileProblem::NotADatabase);
        assert_eq!(std::fs::read_to_string(&text).expect("read"), words);

        let other = dir.0.join("app.db");
        {
            let conn = Connection::open(&other).expect("made");
            conn.execute_batch("CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('ada');")
                .expect("written");
        }
        let before = std::fs::read(&other).expect("read");
        assert_eq!(problem(&other), HistoryFileProblem::Foreign);
        assert_eq!(std::fs::read(&other).expect("read"), before);
        assert!(!dir.0.join("app.db-wal").exists());
    }

    #[test]
    fn a_file_in_use_by_another_history_is_refused() {
        let dir = Dir::new("in-use");
        let path = dir.0.join("history.db");
        let first = Loaded::open(&path, 8).expect("made");
        assert_eq!(problem(&path), HistoryFileProblem::InUse);
        drop(first);
        Loaded::open(&path, 8).expect("free again");
    }

    #[test]
    fn a_history_of_another_version_is_refused() {
        let dir = Dir::new("version");
        let path = dir.0.join("history.db");
        drop(Loaded::open(&path, 8).expect("made"));
        {
            let conn = Connection::open(&path).expect("opened");
            conn.execute(
                "UPDATE monitor_history SET value = '9' WHERE key = 'version'",
                [],
            )
            .expect("written");
        }
        assert!(matches!(
            problem(&path),
            HistoryFileProblem::OtherVersion { found } if found.contains("\"9\"")
        ));
        // A later format says so in the header: refused before SQLite reads further.
        {
            let conn = Connection::open(&path).expect("opened");
            conn.pragma_update(None, "user_version", 3)
                .expect("written");
        }
        let before = std::fs::read(&path).expect("read");
        assert!(matches!(
            problem(&path),
            HistoryFileProblem::OtherVersion { found } if found == "format version 3 in its header"
        ));
        assert_eq!(std::fs::read(&path).expect("read"), before);
    }

    #[test]
    fn a_damaged_frame_or_page_is_refused_never_a_panic() {
        let dir = Dir::new("corrupt");
        let path = dir.0.join("history.db");
        let mut loaded = Loaded::open(&path, 8).expect("made");
        write_one_frame(&mut loaded);
        drop(loaded);
        {
            let conn = Connection::open(&path).expect("opened");
            conn.execute("UPDATE frames SET data = x'05ff'", [])
                .expect("written");
        }
        assert!(matches!(
            problem(&path),
            HistoryFileProblem::Corrupt { detail } if detail.contains("frame of 1000 ms from 1000")
        ));

        // Pages overwritten: every page after the first, then the header too.
        let mut bytes = std::fs::read(&path).expect("read");
        assert!(bytes.len() > 4096, "{} bytes", bytes.len());
        for (i, b) in bytes.iter_mut().enumerate().skip(4096) {
            *b = (i * 37) as u8;
        }
        let damaged = dir.0.join("damaged.db");
        std::fs::write(&damaged, &bytes).expect("written");
        assert!(matches!(
            problem(&damaged),
            HistoryFileProblem::Corrupt { .. } | HistoryFileProblem::NotADatabase
        ));
        for (i, b) in bytes.iter_mut().enumerate().take(100) {
            *b = (i * 11) as u8;
        }
        std::fs::write(&damaged, &bytes).expect("written");
        assert_eq!(problem(&damaged), HistoryFileProblem::NotADatabase);
        assert_eq!(std::fs::read(&damaged).expect("read"), bytes);
    }
}
