//! History and queries, built from the read model.
//!
//! A collector ticks ([`collector`]); each tick takes a [`Snapshot`](crate::Snapshot) and files
//! what every active site added into rollups ([`tiers`]), samples memory, sets outlier
//! thresholds and hands the tick to subscribers ([`state`], [`subscribe`]), and writes what it
//! changed to the history file if there is one ([`persist`]). Queries ([`query`]) and estimates
//! ([`estimate`]) read the rollups; leak checks ([`leaks`]) read the memory samples.

pub(crate) mod collector;
pub(crate) mod estimate;
pub(crate) mod leaks;
pub(crate) mod persist;
pub(crate) mod query;
pub(crate) mod state;
pub(crate) mod subscribe;
pub(crate) mod tick;
pub(crate) mod tiers;

pub use collector::{Collector, ensure_collector, start_collector, stop_collector, tick_at};
pub use estimate::{Estimate, StageEstimate, StageModel, estimate, estimate_stages};
pub use leaks::{heap_leak_check, leak_check};
pub use persist::{HistoryFileError, HistoryFileProblem};
pub use query::{
    CacheResult, Field, GroupResult, OutcomeFilter, Point, Query, QueryError, QueryResult,
    TimeRange, query,
};
pub use state::{MEMORY_SAMPLES, history_bytes, memory_history, subscribe};
pub use subscribe::Subscription;
pub use tick::{CacheTick, SiteTick, Tick};
