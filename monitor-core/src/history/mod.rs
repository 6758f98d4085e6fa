//! The history: what every site did, second by second, kept in memory (and, with a history file,
//! across restarts) and queried by time range, kind, site, route, pipeline, stage, model and
//! outcome.
//!
//! Reach for it to ask "how did this go over the last hour": [`query`] groups and filters the
//! rollups into points and totals, [`subscribe`] hands over each tick as it happens, [`estimate`]
//! predicts a pipeline's duration from its stages' past, and [`leak_check`] reads the memory
//! samples. The collector that fills it is started by [`init`](crate::init); tests and hosts with a
//! scheduler of their own tick it by hand with [`tick_at`].
//!
//! ```
//! use monitor_core::history::{Query, TimeRange, query};
//! use std::time::Duration;
//!
//! let last_hour = query(&Query::new(TimeRange::Last(Duration::from_secs(3600))))?;
//! let calls: u64 = last_hour.groups.iter().map(|g| g.figures.calls()).sum();
//! println!("{calls} calls in the last hour");
//! # Ok::<(), monitor_core::history::QueryError>(())
//! ```
//!
//! # The collector and its tiers
//!
//! [`init`](crate::init) starts the collector and its guard ([`Monitor`](crate::Monitor)) owns
//! it; dropping the guard stops it after a last tick. Nothing else starts one — not the
//! dashboard's router, not the first instrumented call: a test that drives the history with
//! [`tick_at`] and a clock of its own must not have real-time ticks mixed in.
//! [`start_collector`]`(Duration::from_secs(1))` runs a thread of the test's own that ticks until
//! its [`Collector`] is stopped or dropped; [`tick_at`]`(time)` runs one tick by hand.
//!
//! Each tick takes from the read model what every site added since the previous tick — sites
//! that recorded nothing cost nothing — and files it into rollups: one frame per tick for 15
//! minutes, per minute for 24 hours (the tick's frame added to the minute's), per hour beyond
//! (each minute's frame added once the minute is over; queries of that tier add the minute in
//! progress). They are trimmed to the retention (24 hours) and the memory bound (64 MiB) —
//! [`Config`](crate::Config)'s `retention` and `max_history_bytes` — oldest and coarsest first,
//! but never a tier's latest frame. [`bytes()`] tells the size; ten million calls over 30 simulated
//! hours keep it flat at ~0.26 MB in the tests. Each tick also samples memory
//! ([`memory_history`]) and sets the sites' outlier thresholds for [raw
//! events](crate::events).
//!
//! # Subscriptions
//!
//! [`subscribe`]`(capacity)` hands over every tick ([`Tick`]: what each site added, as
//! [`Figures`](crate::Figures), and its `total` figures since the start; the caches' lookups;
//! the memory sample) on a bounded buffer; a consumer that falls behind loses ticks, counted in
//! [`Subscription::dropped`], and never slows anything.
//!
//! # Queries
//!
//! [`query`] takes a time range ([`TimeRange::Last`] or [`TimeRange::Between`]), filters and
//! groups by `kind`, `site`, `route`, `pipeline`, `stage`, `model` and `outcome` ([`Field`]),
//! and gives for each group its [`Figures`](crate::Figures) (calls, errors and error rate, client
//! errors, p50/p90/p99/max, the time spent, mean, bytes, tokens by type, cost), its rate per
//! second, and a series at a chosen resolution (each point with its own `Figures`). A query takes
//! the frames it needs under the history's lock and computes without it.
//! [`Query::from_params`] reads the same from URL parameters (`range=1h`, `kind=stage`,
//! `group_by=stage,model`, `resolution=10s`, `outcome=error`); the dashboard's `/api/query`
//! serves the results in a JSON of its own.
//!
//! The outcome (`ok`, `error`, `client_error`) filters and groups too (`group_by=outcome`): each
//! site keeps the durations of its failed calls and of its client errors apart — on the failing
//! call's cold path, in buckets made on the site's first failure — so each outcome has its own
//! p50/p99; bytes, tokens and cost are not kept by outcome and read 0 in such groups. An inverted
//! range, an unknown field, a bad value or a resolution finer than the history keeps is a
//! [`QueryError`].
//!
//! A result also carries every cache looked up in the range ([`CacheResult`]): hits, misses, hit
//! ratio and its series (each tick files cache lookups too, and [`Tick::caches`] has them live).
//!
//! # A history that survives restarts
//!
//! With the feature `persist`, [`Config::history_path`](crate::Config::history_path) (or
//! `MONITOR_HISTORY_PATH`) names a file, and from then on the rollups live there too.
//! [`Config::apply`](crate::Config::apply) loads it — so the dashboard's 24 h range and every
//! query span the restarts — and each tick writes what it changed in one SQLite transaction: the
//! new finest frame, the minute and hour frames it added to, and the deletion of the frames the
//! tiers dropped, so retention and the memory bound hold on disk as well. The write happens after
//! the tick lets go of the history's lock, on the collector's thread: the record path never sees
//! it, and a query never waits for the disk. The runs kept as traces since the last write are
//! stored too, and read back into the buffer of recent runs at start.
//!
//! ```no_run
//! monitor_core::Config::from_env()?           // MONITOR_HISTORY_PATH=/var/lib/app/monitor.db
//!     .history_path("/var/lib/app/monitor.db") // or in code
//!     .apply()?;
//! # Ok::<(), monitor_core::ConfigError>(())
//! ```
//!
//! - **SQLite, not redb.** It is rusqlite with its bundled SQLite, so nothing is needed from the
//!   system. SQLite is the most fuzzed file format there is, and a damaged file is an error code
//!   from it; redb's debug builds assert on damaged pages. The cost is a C compile, only in the
//!   builds that turn `persist` on. The file opens in the `sqlite3` tool (`frames`, `sites`,
//!   `tiers`, `monitor_history`).
//! - **Durability.** The file is a write-ahead log synced at each commit. A process killed at any
//!   moment, with SIGKILL or by a power cut, loses at most the tick it was writing. The
//!   repository's `tests/tests/history_file.rs` kills five runs in a row at moments it does not
//!   choose; every tick a run reported written is there.
//! - **A file that is not a history is refused and left as it was.** That covers some other
//!   file, a SQLite database of something else, a history written by another version, a damaged
//!   file (SQLite's `quick_check`, and a check on every frame, which catches a flipped bit SQLite
//!   cannot see), and a file another process has open as its history. Each is a
//!   [`ConfigError::History`](crate::ConfigError::History), whose [`HistoryFileError`] names the
//!   path and the problem ([`HistoryFileProblem`]), for example: `history file
//!   /var/lib/app/notes.txt is not a monitor history (it is not a SQLite database); move it away or
//!   name another path`. Without the feature, a path is the same error, saying so.
//! - **Sites are known in the file by kind, module and name**, not by line: an edit above a
//!   function keeps its past. If two sites of one binary share those, they are told apart by file
//!   and line. Route sites are made again at load, within the route budget, and a site gone from
//!   the code takes its past with it.
//! - **The file's health.** It is one of the [exporters' health](crate::exports::health), as
//!   `history_file`: transactions committed and failed, the last error. A failed write is retried
//!   at the next tick. `/metrics`, `/api/exports` and the dashboard's Exports card show it.
//! - **The demo.** `logo-service --history PATH` keeps the demo's history, and the demo says how
//!   many calls the file held at start and at exit.
//!
//! # Estimates
//!
//! [`estimate`]`(pipeline, finished_stages)` gives the expected duration of a run (p50, p90) and
//! of what remains once some stages are done, from the durations its stages recorded (stages run
//! in fewer runs count in that fraction); [`estimate_stages`] does the same from histograms of
//! your own. Against a synthetic workload with known distributions the tests measure at most
//! 0.74 % error. The demo's progress bar takes its ETA from it.

// History and queries, built from the read model.
//
// A collector ticks ([`collector`]); each tick takes a [`Snapshot`](crate::Snapshot) and files
// what every active site added into rollups ([`tiers`]), samples memory, sets outlier
// thresholds and hands the tick to subscribers ([`state`], [`subscribe`]), and writes what it
// changed to the history file if there is one ([`persist`]). Queries ([`query`]) and estimates
// ([`estimate`]) read the rollups; leak checks ([`leaks`]) read the memory samples.
pub(crate) mod collector;
pub(crate) mod estimate;
pub(crate) mod leaks;
pub(crate) mod persist;
pub(crate) mod query;
pub(crate) mod state;
pub(crate) mod subscribe;
pub(crate) mod tick;
pub(crate) mod tiers;

pub use collector::{Collector, start_collector, tick_at};
pub use estimate::{Estimate, StageEstimate, StageModel, estimate, estimate_stages};
pub use leaks::{heap_leak_check, leak_check};
pub use persist::HistoryFileClosed;
pub use persist::{HistoryFileError, HistoryFileProblem};
pub use query::{
    CacheResult, Field, GroupResult, Point, Query, QueryError, QueryResult, TimeRange, query,
};
pub use state::{MEMORY_SAMPLES, history_bytes as bytes, memory_history, subscribe};
pub use subscribe::Subscription;
pub use tick::{CacheTick, SiteTick, Tick};
