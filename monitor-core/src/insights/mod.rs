//! Insights: what to look at, in words.
//!
//! Reach for it when a person, not a program, reads the result: a dashboard's "what stands out"
//! panel, the summary a job prints when it ends, a chat message after a deploy. Each rule reads
//! the read model — the history through [queries](crate::history::query), one [`snapshot`](crate::snapshot())
//! for the totals of sites, caches and models and the error patterns, the memory samples and the
//! [objectives](crate::objectives::status) — and says in one sentence what stands out. Rules that judge
//! the recent past read the history; when it has nothing for them (no collector running, or a
//! quiet stretch) they fall back to the totals since the start, and say so. A program that acts
//! on figures reads those figures instead: the sentences are for people and may be reworded.
//!
//! The rules, one file per job: errors (`errors.rs`: rising error rates, the most frequent error),
//! time (`latency.rs`: the slowest stage and handler, a slower first chunk), money (`spend.rs`:
//! the costliest and the unpriced models, prompt caches that do not pay), caches and memory;
//! `read.rs` is what they read, `words.rs` how they write numbers.
//!
//! # Examples
//!
//! ```
//! use monitor_core::memory::LeakDetector;
//! use monitor_core::insights::{Severity, insights};
//!
//! let detector = LeakDetector::new(monitor_core::memory::DEFAULT_LEAK_THRESHOLD);
//! for insight in insights(&detector) {
//!     let mark = if insight.severity == Severity::Warning { "!" } else { "-" };
//!     println!("{mark} {}: {}", insight.kind, insight.message);
//! }
//! ```

mod caches;
mod errors;
mod latency;
mod memory;
mod read;
mod spend;
mod words;

pub use memory::leak_insight;

use crate::history::leaks::{heap_leak_check, leak_check};
use crate::memory::LeakDetector;
use crate::objectives::status_at as objectives_at;
use crate::snapshot::snapshot;
use std::time::SystemTime;

/// How much an insight matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Worth acting on.
    Warning,
}

/// One thing to look at.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Insight {
    /// How much it matters.
    pub severity: Severity,
    /// What it is about, for grouping: `slowest_stage`, `slowest_handler`, `rising_errors`,
    /// `rising_first_chunk`, `leak`, `cache`, `cache_writes`, `costliest_model`,
    /// `unpriced_models`, `error_pattern`, `objective`.
    pub kind: &'static str,
    /// What to look at, in one sentence.
    pub message: String,
}

impl Insight {
    fn new(severity: Severity, kind: &'static str, message: String) -> Insight {
        Insight {
            severity,
            kind,
            message,
        }
    }
}

/// What to look at now, most pressing first: warnings, then information.
///
/// `detector` judges the memory samples the collector took (see [`leak_check`]):
/// its threshold and window are the caller's to choose (the dashboard's come from its
/// configuration). The history is read as of the system clock; [`insights_at`] takes a clock of
/// its own.
///
/// # Examples
///
/// ```
/// use monitor_core::insights::{Severity, insights};
///
/// let detector = monitor_core::memory::LeakDetector::new(monitor_core::memory::DEFAULT_LEAK_THRESHOLD);
/// let found = insights(&detector);
/// assert!(found.windows(2).all(|w| w[0].severity >= w[1].severity));
/// ```
pub fn insights(detector: &LeakDetector) -> Vec<Insight> {
    insights_at(detector, SystemTime::now())
}

/// What to look at as of `now`, most pressing first: the history is read up to `now`, for tests
/// and replays that drive it with [`tick_at`](crate::history::tick_at).
///
/// # Examples
///
/// ```
/// use monitor_core::memory::LeakDetector;
/// use monitor_core::monitored_handler;
/// use monitor_core::history::tick_at;
/// use std::time::{Duration, SystemTime};
///
/// #[monitored_handler(route = "GET /slow")]
/// fn slow() -> &'static str {
///     std::thread::sleep(Duration::from_millis(1));
///     "done"
/// }
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);
/// tick_at(now - Duration::from_secs(2));
/// for _ in 0..20 {
///     slow();
/// }
/// tick_at(now - Duration::from_secs(1));
/// let found = monitor_core::insights::insights_at(&LeakDetector::new(f64::INFINITY), now);
/// # #[cfg(feature = "enabled")]
/// assert!(found.iter().any(|i| i.kind == "slowest_handler" && i.message.contains("`slow`")));
/// ```
pub fn insights_at(detector: &LeakDetector, now: SystemTime) -> Vec<Insight> {
    let snapshot = snapshot();
    let mut found = Vec::new();
    found.extend(leak_insight(&leak_check(detector)));
    // The heap, when counted, shows a leak before the resident size does: allocators keep freed
    // memory, so RSS lags and hides small leaks.
    found.extend(
        heap_leak_check(detector)
            .and_then(|verdict| memory::leak_warning(&verdict, "the heap in use")),
    );
    found.extend(errors::rising_errors(now));
    found.extend(latency::rising_first_chunk(now));
    found.extend(caches::caches(now, &snapshot));
    found.extend(latency::slowest_stages(now, &snapshot));
    found.extend(latency::slowest_handler(now, &snapshot));
    found.extend(spend::costliest_model(&snapshot.models));
    found.extend(
        snapshot
            .models
            .iter()
            .filter_map(spend::cache_writes_unpaid),
    );
    found.extend(spend::unpriced_models(&snapshot.models));
    found.extend(errors::error_pattern(&snapshot.errors));
    found.extend(objectives(now));
    // Stable: within a severity, the order above holds.
    found.sort_by_key(|i| std::cmp::Reverse(i.severity));
    found
}

/// A warning for each objective that burns its budget too fast or has spent it, in the
/// objective's own words ("objective `logo-api` burns its 30-day budget 14× too fast …").
fn objectives(now: SystemTime) -> Vec<Insight> {
    objectives_at(now)
        .into_iter()
        .filter_map(|status| {
            Some(Insight::new(
                Severity::Warning,
                "objective",
                status.insight?,
            ))
        })
        .collect()
}
