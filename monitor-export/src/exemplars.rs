//! Exemplars: from a duration histogram to one call it counted, and the trace that call is in.
//!
//! A histogram says that some calls of a site were slow; an exemplar names one of them — its
//! duration, when it ended, and its trace and span ids — so that a dashboard can open the trace.
//! They come from the kept runs ([`monitor_core::trace::recent_runs`]), the only traces a trace
//! backend can have been sent: for each site, the newest call of it that finished (returned or
//! panicked; a cancelled call is in no duration histogram but OTLP's requests, and has no end to
//! speak of). They are made afresh for each export, from the buffer of recent runs, whose bound
//! is theirs: nothing is kept between exports.
//!
//! Every exporter that writes a site's duration histogram reads them here: the OpenMetrics text
//! (on the bucket the duration falls in), the Prometheus protobuf exposition, and OTLP (on the
//! data point of the way the request ended).
//!
//! ```
//! use monitor_export::exemplars::Exemplars;
//!
//! // No kept run names this site (or tracing is off): no exemplar.
//! let exemplars = Exemplars::from_runs(&[]);
//! assert!(exemplars.is_empty());
//! ```

use monitor_core::Site;
use monitor_core::trace::{KeptRun, SpanId, SpanOutcome, TraceId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One call of a kept run, as an exemplar of its site's durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exemplar {
    /// The run's trace.
    pub trace_id: TraceId,
    /// The call's span.
    pub span_id: SpanId,
    /// How long the call took.
    pub duration: Duration,
    /// When it ended.
    pub ended: SystemTime,
    /// The HTTP status it answered with, when one was known.
    pub status: Option<u16>,
    /// Whether it failed (an error, a 5xx, a panic).
    pub failed: bool,
}

impl Exemplar {
    /// The duration in seconds: the unit of every duration histogram exported.
    pub fn seconds(&self) -> f64 {
        self.duration.as_secs_f64()
    }

    /// When it ended, in nanoseconds since the Unix epoch (0 before it).
    pub fn ended_unix_nanos(&self) -> u64 {
        self.ended
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }
}

/// The newest exemplar of each site, made from kept runs.
#[derive(Debug, Clone, Default)]
pub struct Exemplars {
    /// By the site's address: sites are `'static`, one per instrumented function or route.
    by_site: HashMap<usize, Exemplar>,
}

fn key(site: &'static Site) -> usize {
    std::ptr::from_ref(site) as usize
}

impl Exemplars {
    /// The newest finished call of each site in `runs`.
    pub fn from_runs(runs: &[Arc<KeptRun>]) -> Exemplars {
        let mut by_site: HashMap<usize, Exemplar> = HashMap::new();
        for run in runs {
            for span in run.spans() {
                if span.outcome == SpanOutcome::Cancelled {
                    continue;
                }
                let ended = run.start + span.offset + span.duration;
                let exemplar = Exemplar {
                    trace_id: run.trace_id,
                    span_id: span.id,
                    duration: span.duration,
                    ended,
                    status: span.status,
                    failed: span.failed(),
                };
                by_site
                    .entry(key(span.site))
                    .and_modify(|e| {
                        if ended > e.ended {
                            *e = exemplar;
                        }
                    })
                    .or_insert(exemplar);
            }
        }
        Exemplars { by_site }
    }

    /// The newest finished call of each site in the process's recent kept runs: none when runs
    /// were never traced.
    pub fn recent() -> Exemplars {
        Exemplars::from_runs(&monitor_core::trace::recent_runs())
    }

    /// With `exemplar` as `site`'s, whatever it had: for a snapshot built by hand, as a test or
    /// an exporter of one's own makes.
    pub fn with(mut self, site: &'static Site, exemplar: Exemplar) -> Exemplars {
        self.by_site.insert(key(site), exemplar);
        self
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.by_site.is_empty()
    }

    /// The newest exemplar of `site`.
    pub fn of_site(&self, site: &'static Site) -> Option<&Exemplar> {
        self.by_site.get(&key(site))
    }

    /// The newest exemplar of any of `sites`: those of a series that adds several sites' calls.
    pub fn newest_of(&self, sites: &[&'static Site]) -> Option<&Exemplar> {
        sites
            .iter()
            .filter_map(|s| self.of_site(s))
            .max_by_key(|e| e.ended)
    }
}
