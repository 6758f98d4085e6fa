//! `/api/runs`: the runs tracing kept (failed, cancelled, slow, over budget, sampled), newest
//! first, filtered by site, route, pipeline, outcome, reason kept and duration; `/api/runs/{trace_id}`:
//! one of them span by span, for the page's waterfall.

use crate::AppState;
use crate::params::{only, params, pipeline_named, single, sites_named};
use crate::problem::{ApiError, error};
use crate::wire;
use axum::Json;
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use monitor_core::Site;
use monitor_core::trace::{KeepReason, KeptRun, SpanOutcome, TraceId};
use std::sync::Arc;
use std::time::Duration;

/// Runs in one answer unless `limit` says otherwise.
const DEFAULT_LIMIT: usize = 50;
/// The most `limit` may ask for: a run's summary is about 0.6 KB of JSON, so an answer stays
/// under a third of a megabyte.
const MAX_LIMIT: usize = 500;

/// `pipeline` is for the page: its pipeline filter applies to the runs as to the rest.
const PARAMETERS: [&str; 7] = [
    "site", "route", "pipeline", "outcome", "kept", "min_ms", "limit",
];

/// The outcomes a root can end with, by the names the API uses.
const OUTCOMES: [SpanOutcome; 5] = [
    SpanOutcome::Ok,
    SpanOutcome::ClientError,
    SpanOutcome::Error,
    SpanOutcome::Panicked,
    SpanOutcome::Cancelled,
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/runs", get(runs))
        .route("/api/runs/{trace_id}", get(run))
}

/// What an answer keeps, read from the URL's parameters.
struct Filter {
    /// Runs with a span at one of these sites (a name may belong to several).
    sites: Option<Vec<&'static Site>>,
    /// Runs with a span of this route (the root's, nearly always).
    route: Option<String>,
    /// Runs with a span of a stage of this pipeline.
    pipeline: Option<String>,
    /// The root's outcome, one of these.
    outcomes: Option<Vec<SpanOutcome>>,
    kept: Option<Vec<KeepReason>>,
    /// Runs at least this long.
    min: Option<Duration>,
    limit: usize,
}

impl Filter {
    fn from_params(params: &[(String, String)]) -> Result<Filter, ApiError> {
        only(params, &PARAMETERS)?;
        let value = |key: &str| single(params, key);
        Ok(Filter {
            sites: value("site")?.map(sites_named).transpose()?,
            route: value("route")?.map(route_named).transpose()?,
            pipeline: value("pipeline")?.map(pipeline_named).transpose()?,
            outcomes: value("outcome")?.map(outcomes).transpose()?,
            kept: value("kept")?.map(reasons).transpose()?,
            min: value("min_ms")?.map(min_ms).transpose()?,
            limit: value("limit")?
                .map(limit)
                .transpose()?
                .unwrap_or(DEFAULT_LIMIT),
        })
    }

    fn passes(&self, run: &KeptRun) -> bool {
        let root = run.root();
        self.kept.as_ref().is_none_or(|k| k.contains(&run.kept))
            && self
                .outcomes
                .as_ref()
                .is_none_or(|o| o.contains(&root.outcome))
            && self.min.is_none_or(|min| run.duration() >= min)
            && self.sites.as_ref().is_none_or(|sites| {
                run.sites()
                    .any(|s| sites.iter().any(|site| std::ptr::eq(*site, s)))
            })
            && self
                .route
                .as_deref()
                .is_none_or(|route| run.sites().any(|s| s.route() == Some(route)))
            && self
                .pipeline
                .as_deref()
                .is_none_or(|pipeline| run.sites().any(|s| s.pipeline() == Some(pipeline)))
    }
}

/// A comma-separated list of names, each one `parse` knows; an unknown one is a 400 naming
/// `key` and listing the known names.
fn names<T>(
    key: &str,
    value: &str,
    known: &[&str],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, ApiError> {
    value
        .split(',')
        .map(str::trim)
        .map(|name| {
            parse(name).ok_or_else(|| {
                ApiError::bad_parameter(
                    key,
                    format!("unknown {key} {name:?}; known: {}", known.join(", ")),
                )
            })
        })
        .collect()
}

fn outcomes(value: &str) -> Result<Vec<SpanOutcome>, ApiError> {
    let known = OUTCOMES.map(wire::runs::outcome);
    names("outcome", value, &known, |name| {
        OUTCOMES
            .into_iter()
            .find(|o| wire::runs::outcome(*o) == name)
    })
}

fn reasons(value: &str) -> Result<Vec<KeepReason>, ApiError> {
    let known = KeepReason::ALL.map(KeepReason::as_str);
    names("kept", value, &known, KeepReason::parse)
}

fn route_named(value: &str) -> Result<String, ApiError> {
    if monitor_core::sites().any(|s| s.route() == Some(value)) {
        Ok(value.to_owned())
    } else {
        Err(ApiError::bad_parameter(
            "route",
            format!("no site has the route {value:?}"),
        ))
    }
}

fn min_ms(value: &str) -> Result<Duration, ApiError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .and_then(|ms| Duration::try_from_secs_f64(ms / 1e3).ok())
        .ok_or_else(|| {
            ApiError::bad_parameter(
                "min_ms",
                format!(
                    "`min_ms` has an invalid value {value:?}: expected milliseconds, 0 or more"
                ),
            )
        })
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

/// The newest kept runs that pass the filters, newest first.
async fn runs(RawQuery(raw): RawQuery) -> Result<Json<wire::runs::Runs>, ApiError> {
    let filter = Filter::from_params(&params(raw.as_deref())?)?;
    // Every kept run's spans may be read: off the runtime's threads.
    let answer = tokio::task::spawn_blocking(move || {
        let mut matched: Vec<Arc<KeptRun>> = monitor_core::trace::recent_runs()
            .into_iter()
            .filter(|r| filter.passes(r))
            .collect();
        // The buffer is in the order runs ended; the list promises the order they started in.
        matched.sort_by_key(|r| std::cmp::Reverse(r.start));
        wire::runs::Runs {
            matched: matched.len(),
            runs: matched
                .iter()
                .take(filter.limit)
                .map(|r| (&**r).into())
                .collect(),
            tracing: wire::runs::Tracing::new(
                monitor_core::trace::is_enabled(),
                &monitor_core::trace::stats(),
            ),
        }
    })
    .await
    .map_err(|_| ApiError::internal("the list of runs could not be made"))?;
    Ok(Json(answer))
}

/// One kept run, every span with its parent, depth, times and figures.
async fn run(
    trace_id: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    only(&params(raw.as_deref())?, &[])?;
    let Path(trace_id) =
        trace_id.map_err(|e| ApiError::bad_parameter("trace_id", e.body_text()))?;
    let id: TraceId = trace_id.parse().map_err(|_| {
        ApiError::bad_parameter(
            "trace_id",
            format!(
                "`trace_id` has an invalid value {trace_id:?}: expected 32 lowercase hex digits, \
                 not all zero"
            ),
        )
    })?;
    let Some(run) = monitor_core::trace::find_run(id) else {
        return Ok(error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no kept run has the trace id {id}: it was not kept (tracing keeps failed, \
                 cancelled, slow, over-budget and sampled runs), or newer runs pushed it out"
            ),
        ));
    };
    // Serialised here, while the run it borrows is still in hand.
    Ok(Json(wire::runs::Run::new(&run)).into_response())
}
