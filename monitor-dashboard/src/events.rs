//! `/api/events`: the raw per-call events monitor keeps (failed calls, outliers, samples), newest
//! first, filtered by site, kind, pipeline, outcome, reason and time.

use crate::AppState;
use crate::params::{kind, only, params, pipeline_named, query_error, single, sites_named};
use crate::problem::ApiError;
use crate::wire;
use axum::Json;
use axum::Router;
use axum::extract::RawQuery;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use monitor_core::Site;
use monitor_core::events::{Event, EventReason};
use monitor_core::figures::OutcomeFilter;
use monitor_core::history::TimeRange;
use monitor_core::site::SiteKind;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Events in one answer unless `limit` says otherwise.
const DEFAULT_LIMIT: usize = 100;
/// The most `limit` may ask for: an event with its site is about 0.6 KB of JSON, so an answer
/// stays under a megabyte.
const MAX_LIMIT: usize = 1000;

/// `pipeline` is for the page: its pipeline filter must apply before the limit, not to what the
/// limit left.
const PARAMETERS: [&str; 9] = [
    "site", "kind", "pipeline", "outcome", "reason", "from", "to", "range", "limit",
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/events", get(events))
}

/// The same three outcomes `/api/query` counts, told from what the event kept.
fn outcome(event: &Event) -> OutcomeFilter {
    let status = event.status.unwrap_or(0);
    if event.reason == EventReason::Failed || status >= 500 || event.error_type.is_some() {
        OutcomeFilter::Error
    } else if (400..=499).contains(&status) {
        OutcomeFilter::ClientError
    } else {
        OutcomeFilter::Ok
    }
}

fn since_epoch(at: SystemTime) -> Duration {
    at.duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// What an answer keeps, read from the URL's parameters.
struct Filter {
    /// The sites a `site` parameter names (a name may belong to several).
    sites: Option<Vec<&'static Site>>,
    kind: Option<SiteKind>,
    pipeline: Option<String>,
    outcome: Option<OutcomeFilter>,
    reasons: Option<Vec<EventReason>>,
    /// Since the Unix epoch, included.
    from: Option<Duration>,
    /// Since the Unix epoch, excluded.
    to: Option<Duration>,
    limit: usize,
}

impl Filter {
    fn from_params(params: &[(String, String)]) -> Result<Filter, ApiError> {
        only(params, &PARAMETERS)?;
        let value = |key: &str| single(params, key);
        let sites = value("site")?.map(sites_named).transpose()?;
        let pipeline = value("pipeline")?.map(pipeline_named).transpose()?;
        let mut from = value("from")?.map(|v| unix_secs("from", v)).transpose()?;
        let to = value("to")?.map(|v| unix_secs("to", v)).transpose()?;
        if let Some(range) = value("range")? {
            if from.is_some() || to.is_some() {
                return Err(ApiError::bad_parameter(
                    "range",
                    "`range` and `from`/`to` both set the time span: give one or the other"
                        .to_owned(),
                ));
            }
            from = Some(since_epoch(SystemTime::now()).saturating_sub(last(range)?));
        }
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(ApiError::bad_parameter(
                "from",
                format!(
                    "the range ends ({}) before it starts ({})",
                    to.as_secs(),
                    from.as_secs()
                ),
            ));
        }
        Ok(Filter {
            sites,
            kind: value("kind")?.map(kind).transpose()?,
            pipeline,
            outcome: value("outcome")?.map(outcome_named).transpose()?,
            reasons: value("reason")?.map(reasons).transpose()?,
            from,
            to,
            limit: value("limit")?
                .map(limit)
                .transpose()?
                .unwrap_or(DEFAULT_LIMIT),
        })
    }

    fn passes(&self, event: &Event) -> bool {
        let site = event.site;
        let at = since_epoch(event.at);
        self.sites.as_ref().is_none_or(|s| s.contains(&site))
            && self.kind.is_none_or(|k| site.kind() == k)
            && self
                .pipeline
                .as_deref()
                .is_none_or(|p| site.pipeline() == Some(p))
            && self.outcome.is_none_or(|o| outcome(event) == o)
            && self
                .reasons
                .as_ref()
                .is_none_or(|r| r.contains(&event.reason))
            && self.from.is_none_or(|from| at >= from)
            && self.to.is_none_or(|to| at < to)
    }
}

fn outcome_named(value: &str) -> Result<OutcomeFilter, ApiError> {
    OutcomeFilter::parse(value).ok_or_else(|| {
        ApiError::bad_parameter(
            "outcome",
            format!("unknown outcome {value:?}; known: ok, error, client_error"),
        )
    })
}

fn reasons(value: &str) -> Result<Vec<EventReason>, ApiError> {
    value
        .split(',')
        .map(|name| match name.trim() {
            "failed" => Ok(EventReason::Failed),
            "outlier" => Ok(EventReason::Outlier),
            "sampled" => Ok(EventReason::Sampled),
            other => Err(ApiError::bad_parameter(
                "reason",
                format!("unknown reason {other:?}; known: failed, outlier, sampled"),
            )),
        })
        .collect()
}

/// Whole Unix seconds, as `/api/query` takes them.
fn unix_secs(key: &str, value: &str) -> Result<Duration, ApiError> {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| {
            ApiError::bad_parameter(
                key,
                format!("`{key}` has an invalid value {value:?}: expected Unix seconds"),
            )
        })
}

/// A `range` read by the query's own parser, so that both routes take the same durations.
fn last(value: &str) -> Result<Duration, ApiError> {
    let query =
        monitor_core::history::Query::from_params([("range", value)]).map_err(query_error)?;
    match query.range {
        TimeRange::Last(span) => Ok(span),
        TimeRange::Between { .. } => Err(ApiError::bad_parameter(
            "range",
            format!("`range` has an invalid value {value:?}"),
        )),
    }
}

fn limit(value: &str) -> Result<usize, ApiError> {
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_parameter(
            "limit",
            format!("`limit` has an invalid value {value:?}: expected 1 to {MAX_LIMIT}"),
        )),
    }
}

/// The newest events that pass the filters, newest first.
async fn events(RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let filter = Filter::from_params(&params(raw.as_deref())?)?;
    let (kept, evicted) = monitor_core::events::recent();
    let mut matched: Vec<&Event> = kept.iter().rev().filter(|e| filter.passes(e)).collect();
    // The buffer is in the order calls were kept, which two threads can make differ from the
    // order they ended in by a little: the answer promises the latter. Stable and nearly sorted
    // already, so this costs a pass.
    matched.sort_by_key(|e| std::cmp::Reverse(e.at));
    let answer = wire::events::Events {
        matched: matched.len(),
        events: matched
            .into_iter()
            .take(filter.limit)
            .map(|e| wire::events::Event::new(e, outcome(e)))
            .collect(),
        evicted,
        capacity: monitor_core::events::EVENT_CAPACITY,
    };
    // Serialised here, while the events it borrows are still in hand.
    Ok(Json(answer).into_response())
}
