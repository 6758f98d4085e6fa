//! The JSON API: sites, queries, errors, memory, estimates, models, insights, exports and
//! objectives (and the raw events, in `events.rs`; the kept runs, in `runs.rs`).

use crate::AppState;
use crate::params::{kind, only, query_error};
use crate::problem::{ApiError, not_found};
use crate::wire;
use axum::Json;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;

// The page's handler (page.rs) reads these here, where they were before they had modules of
// their own.
pub(crate) use crate::params::params;
pub(crate) use crate::problem::error;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/sites", get(sites))
        .route("/api/query", get(query))
        .route("/api/errors", get(errors))
        .route("/api/memory", get(memory))
        .route("/api/estimates", get(estimates))
        .route("/api/models", get(models))
        .route("/api/insights", get(insights))
        .route("/api/exports", get(exports))
        .route("/api/objectives", get(objectives))
        .merge(crate::events::routes())
        .merge(crate::runs::routes())
        // Behind the token check like the rest: without a token, no path under /api tells
        // whether it exists.
        .route("/api/{*rest}", axum::routing::any(not_found))
}

/// The read model now, taken off the runtime's threads: a snapshot reads every site that
/// recorded since the previous one.
async fn snapshot() -> monitor_core::Snapshot {
    tokio::task::spawn_blocking(monitor_core::snapshot)
        .await
        .unwrap_or_else(|_| monitor_core::Snapshot::new(std::time::SystemTime::now()))
}

/// Every instrumented site, called or not, with its totals since the start. `?kind=` narrows it.
async fn sites(RawQuery(raw): RawQuery) -> Result<Json<wire::sites::Sites>, ApiError> {
    let params = params(raw.as_deref())?;
    only(&params, &["kind"])?;
    let kind = match params.iter().find(|(k, _)| k == "kind") {
        Some((_, v)) => Some(kind(v)?),
        None => None,
    };
    let sites = snapshot()
        .await
        .sites
        .iter()
        .filter(|s| kind.is_none_or(|k| s.site.kind() == k))
        .map(Into::into)
        .collect();
    Ok(Json(wire::sites::Sites { sites }))
}

/// The data model's query, its parameters as [`monitor_core::history::Query::from_params`] reads them.
async fn query(RawQuery(raw): RawQuery) -> Result<Json<wire::query::QueryResult>, ApiError> {
    let params = params(raw.as_deref())?;
    let query = monitor_core::history::Query::from_params(
        params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .map_err(query_error)?;
    monitor_core::history::query(&query)
        .map(|result| Json((&result).into()))
        .map_err(query_error)
}

/// Error patterns, most frequent first. Messages were redacted before they were stored.
async fn errors(RawQuery(raw): RawQuery) -> Result<Json<wire::errors::ErrorSummary>, ApiError> {
    only(&params(raw.as_deref())?, &[])?;
    Ok(Json((&*snapshot().await.errors).into()))
}

/// Memory now, at each tick kept, and the leak verdicts over them (resident size; the heap when
/// `MonitoredAlloc` counts it).
/// The pushing exporters' health (remote write, OTLP), their endpoints without credentials.
async fn exports(RawQuery(raw): RawQuery) -> Result<Json<wire::exports::Exports>, ApiError> {
    only(&params(raw.as_deref())?, &[])?;
    let exports = monitor_core::exports::health()
        .iter()
        .map(Into::into)
        .collect();
    Ok(Json(wire::exports::Exports { exports }))
}

/// Each objective as it stands: its goal, the sites it covers (by qualified name), its indicator,
/// budget left, burn rates, state and insight.
async fn objectives(
    RawQuery(raw): RawQuery,
) -> Result<Json<wire::objectives::Objectives>, ApiError> {
    only(&params(raw.as_deref())?, &[])?;
    // Seven windows each read from the history: off the runtime's threads.
    let statuses = tokio::task::spawn_blocking(monitor_core::objectives::status)
        .await
        .unwrap_or_default();
    let objectives = statuses.iter().map(Into::into).collect();
    Ok(Json(wire::objectives::Objectives { objectives }))
}

async fn memory(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<wire::memory::Memory>, ApiError> {
    only(&params(raw.as_deref())?, &[])?;
    let now = tokio::task::spawn_blocking(monitor_core::memory::sample)
        .await
        .ok()
        .and_then(Result::ok);
    let history = monitor_core::history::memory_history();
    let detector = state.config.leak_detector();
    let leak = monitor_core::history::leak_check(&detector);
    let heap_leak = monitor_core::history::heap_leak_check(&detector);
    Ok(Json(wire::memory::Memory {
        now: now.as_ref().map(Into::into),
        history: history.iter().map(Into::into).collect(),
        leak: (&leak).into(),
        heap_leak: heap_leak.as_ref().map(Into::into),
        leak_threshold_bytes_per_sec: detector.threshold_bytes_per_sec,
    }))
}

/// Each pipeline's expected duration; `?pipeline=logo&finished=analyse,concepts` for one run in
/// progress.
async fn estimates(RawQuery(raw): RawQuery) -> Result<Json<wire::estimates::Estimates>, ApiError> {
    let params = params(raw.as_deref())?;
    only(&params, &["pipeline", "finished"])?;
    let finished: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "finished")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let wanted = params
        .iter()
        .find(|(k, _)| k == "pipeline")
        .map(|(_, v)| v.as_str());
    let mut pipelines: Vec<&'static str> =
        monitor_core::sites().filter_map(|s| s.pipeline()).collect();
    pipelines.sort_unstable();
    pipelines.dedup();
    if let Some(wanted) = wanted
        && !pipelines.contains(&wanted)
    {
        return Err(ApiError::bad_parameter(
            "pipeline",
            format!("no pipeline {wanted:?}; known: {}", pipelines.join(", ")),
        ));
    }
    if !finished.is_empty() && wanted.is_none() {
        return Err(ApiError::bad_parameter(
            "finished",
            "`finished` needs `pipeline`: stages are named within a pipeline".to_owned(),
        ));
    }
    if let Some(wanted) = wanted {
        // Each finished stage once, and one of the pipeline's: checked as they come, so a list of
        // thousands is refused at its first bad entry rather than estimated.
        let stages: Vec<&'static str> = monitor_core::sites()
            .filter(|s| s.pipeline() == Some(wanted))
            .filter_map(|s| s.stage())
            .collect();
        for (i, stage) in finished.iter().enumerate() {
            if !stages.contains(stage) {
                return Err(ApiError::bad_parameter(
                    "finished",
                    format!(
                        "no stage {stage:?} in pipeline {wanted:?}; its stages: {}",
                        stages.join(", ")
                    ),
                ));
            }
            if finished[..i].contains(stage) {
                return Err(ApiError::bad_parameter(
                    "finished",
                    format!("stage {stage:?} is listed more than once"),
                ));
            }
        }
    }
    let pipelines = pipelines
        .into_iter()
        .filter(|p| wanted.is_none_or(|w| w == *p))
        .map(|pipeline| wire::estimates::PipelineEstimate {
            pipeline,
            estimate: monitor_core::history::estimate(pipeline, &finished)
                .as_ref()
                .map(Into::into),
        })
        .collect();
    Ok(Json(wire::estimates::Estimates { pipelines }))
}

/// Tokens and cost by model since the start.
async fn models(RawQuery(raw): RawQuery) -> Result<Json<wire::models::Models>, ApiError> {
    only(&params(raw.as_deref())?, &[])?;
    let models = snapshot().await.models.iter().map(Into::into).collect();
    Ok(Json(wire::models::Models { models }))
}

/// What to look at, in words.
async fn insights(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<wire::insights::Insights>, ApiError> {
    only(&params(raw.as_deref())?, &[])?;
    let detector = state.config.leak_detector();
    let insights = tokio::task::spawn_blocking(move || monitor_core::insights::insights(&detector))
        .await
        .unwrap_or_default();
    Ok(Json(wire::insights::Insights {
        insights: insights.into_iter().map(Into::into).collect(),
    }))
}
