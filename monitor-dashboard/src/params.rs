//! A request's parameters, read the same way by every route: decoded, checked against what the
//! route takes, and turned into core's values with a 400 naming the parameter at fault.

use crate::problem::ApiError;

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

/// The value of a parameter given at most once; a second value is a 400, not a silent choice.
pub(crate) fn single<'a>(
    params: &'a [(String, String)],
    key: &str,
) -> Result<Option<&'a str>, ApiError> {
    let mut values = params
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() {
        return Err(ApiError::bad_parameter(
            key,
            format!("`{key}` is given more than once; give it once"),
        ));
    }
    Ok(first)
}

/// The sites a `site` parameter names: by qualified name, name or id (a name may belong to
/// several); none is a 400.
pub(crate) fn sites_named(value: &str) -> Result<Vec<&'static monitor_core::Site>, ApiError> {
    let sites: Vec<&'static monitor_core::Site> = monitor_core::sites()
        .filter(|s| s.qualified_name() == value || s.name() == value || s.id() == value)
        .collect();
    if sites.is_empty() {
        return Err(ApiError::bad_parameter(
            "site",
            format!("no site has the name or id {value:?}"),
        ));
    }
    Ok(sites)
}

/// A pipeline some stage belongs to; another is a 400.
pub(crate) fn pipeline_named(value: &str) -> Result<String, ApiError> {
    if monitor_core::sites().any(|s| s.pipeline() == Some(value)) {
        Ok(value.to_owned())
    } else {
        Err(ApiError::bad_parameter(
            "pipeline",
            format!("no pipeline {value:?}"),
        ))
    }
}

pub(crate) fn kind(value: &str) -> Result<monitor_core::site::SiteKind, ApiError> {
    monitor_core::site::SiteKind::parse(value).ok_or_else(|| {
        ApiError::bad_parameter(
            "kind",
            format!("unknown kind {value:?}; known: handler, stage, tokens"),
        )
    })
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
