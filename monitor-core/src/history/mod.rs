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
