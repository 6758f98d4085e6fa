//! The JSON API: sites, queries, errors, memory, estimates, models, insights, exports and
//! objectives (and the raw events, in `events.rs`).

use crate::AppState;
use axum::Json;
use axum::Router;
use axum::extract::{OriginalUri, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use serde::Serialize;
use serde_json::json;

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
        // Behind the token check like the rest: without a token, no path under /api tells
        // whether it exists.
        .route("/api/{*rest}", axum::routing::any(not_found))
}

/// An answer that is not a success: a status and a JSON body `{"error": …, "status": …,
/// "message": …}`, with `"parameter"` when one parameter was at fault.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    error: &'static str,
    parameter: Option<String>,
    message: String,
}

impl ApiError {
    pub(crate) fn unauthorized(message: &str) -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            error: "unauthorized",
            parameter: None,
            message: message.to_owned(),
        }
    }

    pub(crate) fn bad_parameter(parameter: &str, message: String) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error: "bad_parameter",
            parameter: Some(parameter.to_owned()),
            message,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "error": self.error,
            "status": self.status.as_u16(),
            "message": self.message,
        });
        if let Some(parameter) = self.parameter {
            body["parameter"] = parameter.into();
        }
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer realm=\"monitor\""),
            );
        }
        response
    }
}

/// The one shape of every error the dashboard answers: `{"error", "status", "message"}`.
pub(crate) fn error(status: StatusCode, error: &str, message: String) -> Response {
    let body = json!({ "error": error, "status": status.as_u16(), "message": message });
    (status, Json(body)).into_response()
}

/// No route: the path as the client sent it, prefix included (a nested router sees it without).
pub(crate) async fn not_found(OriginalUri(uri): OriginalUri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route {}", uri.path()),
    )
}

/// A route that does not take the request's method; axum adds the `Allow` header.
pub(crate) async fn method_not_allowed(
    method: http::Method,
    OriginalUri(uri): OriginalUri,
) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not take {method}", uri.path()),
    )
}

/// The URL's parameters as pairs, percent-decoded; a query string that does not decode is a 400.
pub(crate) fn params(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or("")).map_err(|e| {
        ApiError::bad_parameter("query", format!("the query string does not decode: {e}"))
    })
}

/// Rejects parameters a route does not take, so that a typo is an answer, not a silent default,
/// and a parameter given twice, which would silently take one of the two.
pub(crate) fn only(params: &[(String, String)], known: &[&str]) -> Result<(), ApiError> {
    if let Some((key, _)) = params
        .iter()
        .enumerate()
        .find_map(|(i, (k, _))| params[..i].iter().find(|(earlier, _)| earlier == k))
    {
        return Err(ApiError::bad_parameter(
            key,
            format!("`{key}` is given more than once; give it once"),
        ));
    }
    match params.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        Some((key, _)) => Err(ApiError::bad_parameter(
            key,
            if known.is_empty() {
                format!("unknown parameter `{key}`; this route takes none")
            } else {
                format!(
                    "unknown parameter `{key}`; this route takes: {}",
                    known.join(", ")
                )
            },
        )),
        None => Ok(()),
    }
}

#[derive(Serialize)]
struct SiteEntry {
    #[serde(flatten)]
    site: &'static monitor_core::Site,
    stats: monitor_core::Figures,
}

/// The read model now, taken off the runtime's threads: a snapshot reads every site that
/// recorded since the previous one.
async fn snapshot() -> monitor_core::Snapshot {
    tokio::task::spawn_blocking(monitor_core::snapshot)
        .await
        .unwrap_or_else(|_| monitor_core::Snapshot::new(std::time::SystemTime::now()))
}

/// Every instrumented site, called or not, with its totals since the start. `?kind=` narrows it.
async fn sites(RawQuery(raw): RawQuery) -> Result<Json<serde_json::Value>, ApiError> {
    let params = params(raw.as_deref())?;
    only(&params, &["kind"])?;
    let kind = match params.iter().find(|(k, _)| k == "kind") {
        Some((_, v)) => Some(kind(v)?),
        None => None,
    };
    let sites: Vec<SiteEntry> = snapshot()
        .await
        .sites
        .into_iter()
        .filter(|s| kind.is_none_or(|k| s.site.kind() == k))
        .map(|s| SiteEntry {
            site: s.site,
            stats: monitor_core::Figures::clone(&s.figures),
        })
        .collect();
    Ok(Json(json!({ "sites": sites })))
}

pub(crate) fn kind(value: &str) -> Result<monitor_core::site::SiteKind, ApiError> {
    monitor_core::site::SiteKind::parse(value).ok_or_else(|| {
        ApiError::bad_parameter(
            "kind",
            format!("unknown kind {value:?}; known: handler, stage, tokens"),
        )
    })
}

/// The data model's query, its parameters as [`monitor_core::history::Query::from_params`] reads them.
async fn query(
    RawQuery(raw): RawQuery,
) -> Result<Json<monitor_core::history::QueryResult>, ApiError> {
    let params = params(raw.as_deref())?;
    let query = monitor_core::history::Query::from_params(
        params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .map_err(query_error)?;
    monitor_core::history::query(&query)
        .map(Json)
        .map_err(query_error)
}

pub(crate) fn query_error(e: monitor_core::history::QueryError) -> ApiError {
    use monitor_core::history::QueryError;
    let parameter = match &e {
        QueryError::InvertedRange { .. } => "from".to_owned(),
        QueryError::UnknownField { field } => field.clone(),
        QueryError::InvalidValue { field, .. } => field.clone(),
        QueryError::Repeated { field } => field.clone(),
        QueryError::ResolutionTooFine { .. } => "resolution".to_owned(),
        _ => "query".to_owned(),
    };
    ApiError::bad_parameter(&parameter, e.to_string())
}

/// Error patterns, most frequent first. Messages were redacted before they were stored.
async fn errors(
    RawQuery(raw): RawQuery,
) -> Result<Json<monitor_core::snapshot::ErrorSummary>, ApiError> {
    only(&params(raw.as_deref())?, &[])?;
    Ok(Json(monitor_core::snapshot::ErrorSummary::clone(
        &snapshot().await.errors,
    )))
}

/// Memory now, at each tick kept, and the leak verdicts over them (resident size; the heap when
/// `MonitoredAlloc` counts it).
/// The pushing exporters' health (remote write, OTLP), their endpoints without credentials.
async fn exports(RawQuery(raw): RawQuery) -> Result<Json<serde_json::Value>, ApiError> {
    only(&params(raw.as_deref())?, &[])?;
    let exports: Vec<serde_json::Value> = monitor_core::exports::health()
        .into_iter()
        .map(|e| {
            let mut value = serde_json::to_value(&e).unwrap_or_default();
            value["endpoint"] = monitor_export::rules::endpoint_label(&e.endpoint).into();
            value
        })
        .collect();
    Ok(Json(json!({ "exports": exports })))
}

/// Each objective as it stands: its goal, the sites it covers (by qualified name), its indicator,
/// budget left, burn rates, state and insight.
async fn objectives(RawQuery(raw): RawQuery) -> Result<Json<serde_json::Value>, ApiError> {
    only(&params(raw.as_deref())?, &[])?;
    // Seven windows each read from the history: off the runtime's threads.
    let statuses = tokio::task::spawn_blocking(monitor_core::objectives::status)
        .await
        .unwrap_or_default();
    let objectives: Vec<serde_json::Value> = statuses
        .iter()
        .map(|status| {
            let mut value = serde_json::to_value(status).unwrap_or_default();
            value["sites"] = status
                .sites
                .iter()
                .map(|s| s.qualified_name())
                .collect::<Vec<_>>()
                .into();
            value
        })
        .collect();
    Ok(Json(json!({ "objectives": objectives })))
}

async fn memory(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    only(&params(raw.as_deref())?, &[])?;
    let now = tokio::task::spawn_blocking(monitor_core::memory::sample)
        .await
        .ok()
        .and_then(Result::ok);
    let history = monitor_core::history::memory_history();
    let detector = state.config.leak_detector();
    let leak = monitor_core::history::leak_check(&detector);
    let heap_leak = monitor_core::history::heap_leak_check(&detector);
    Ok(Json(json!({
        "now": now,
        "history": history,
        "leak": leak,
        "heap_leak": heap_leak,
        "leak_threshold_bytes_per_sec": detector.threshold_bytes_per_sec,
    })))
}

/// Each pipeline's expected duration; `?pipeline=logo&finished=analyse,concepts` for one run in
/// progress.
async fn estimates(RawQuery(raw): RawQuery) -> Result<Json<serde_json::Value>, ApiError> {
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
    let estimates: Vec<serde_json::Value> = pipelines
        .into_iter()
        .filter(|p| wanted.is_none_or(|w| w == *p))
        .map(|pipeline| {
            json!({
                "pipeline": pipeline,
                "estimate": monitor_core::history::estimate(pipeline, &finished),
            })
        })
        .collect();
    Ok(Json(json!({ "pipelines": estimates })))
}

/// Tokens and cost by model since the start.
async fn models(RawQuery(raw): RawQuery) -> Result<Json<serde_json::Value>, ApiError> {
    only(&params(raw.as_deref())?, &[])?;
    Ok(Json(json!({ "models": snapshot().await.models })))
}

/// What to look at, in words.
async fn insights(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    only(&params(raw.as_deref())?, &[])?;
    let detector = state.config.leak_detector();
    let insights = tokio::task::spawn_blocking(move || crate::insights(&detector))
        .await
        .unwrap_or_default();
    Ok(Json(json!({ "insights": insights })))
}
