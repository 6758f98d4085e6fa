//! Which OTLP signals the standard variables ask for, and where each goes: metrics
//! ([`Otlp`]) and traces ([`OtlpTraces`]) read the same generic variables
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`, `…_HEADERS`, `…_TIMEOUT`, `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`), each its own per-signal ones (`…_METRICS_ENDPOINT`,
//! `…_TRACES_ENDPOINT`, `…_TRACES_HEADERS`, …), so that metrics and traces can go to different
//! places; `OTEL_METRICS_EXPORTER` and `OTEL_TRACES_EXPORTER` (`otlp`, the default, or `none`)
//! turn either off.

use crate::otlp::{Otlp, OtlpConfigError};
use crate::otlp_traces::OtlpTraces;

const METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
const TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";

/// The OTLP exporters the standard variables ask for: `None` for a signal turned off.
///
/// # Examples
///
/// ```
/// use monitor_export::otlp_env::OtlpEnv;
///
/// let otlp = OtlpEnv::from_vars([
///     ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
///     ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:6006/v1/traces"),
///     ("OTEL_METRICS_EXPORTER", "none"),
/// ])?;
/// assert!(otlp.metrics.is_none());
/// assert_eq!(otlp.traces.unwrap().endpoint(), "http://127.0.0.1:6006/v1/traces");
///
/// let err = OtlpEnv::from_vars([("OTEL_TRACES_EXPORTER", "jaeger")]).unwrap_err();
/// assert_eq!((err.key, err.value.as_str()), ("OTEL_TRACES_EXPORTER", "jaeger"));
/// # Ok::<(), monitor_export::otlp::OtlpConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OtlpEnv {
    /// The metrics exporter, unless `OTEL_METRICS_EXPORTER=none`.
    pub metrics: Option<Otlp>,
    /// The traces exporter, unless `OTEL_TRACES_EXPORTER=none`.
    pub traces: Option<OtlpTraces>,
}

impl OtlpEnv {
    /// The exporters the process's `OTEL_*` variables ask for.
    pub fn from_env() -> Result<OtlpEnv, OtlpConfigError> {
        let mut keys = vec![METRICS_EXPORTER, TRACES_EXPORTER];
        keys.extend(crate::otlp::KEYS);
        keys.extend(crate::otlp_traces::KEYS);
        OtlpEnv::from_vars(crate::otlp_traces::process_vars(&keys)?)
    }

    /// The exporters the `OTEL_*` pairs of `vars` ask for, each with its variables applied
    /// ([`Otlp::from_vars`], [`OtlpTraces::from_vars`]); a signal turned off reads none of its
    /// own.
    pub fn from_vars<K: AsRef<str>, V: AsRef<str>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<OtlpEnv, OtlpConfigError> {
        let vars: Vec<(String, String)> = vars
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
            .collect();
        let mut metrics = true;
        let mut traces = true;
        for (key, value) in &vars {
            match key.as_str() {
                METRICS_EXPORTER => metrics = exporter(METRICS_EXPORTER, value)?,
                TRACES_EXPORTER => traces = exporter(TRACES_EXPORTER, value)?,
                _ => {}
            }
        }
        let pairs = || vars.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        Ok(OtlpEnv {
            metrics: metrics.then(|| Otlp::from_vars(pairs())).transpose()?,
            traces: traces.then(|| OtlpTraces::from_vars(pairs())).transpose()?,
        })
    }
}

/// Whether `OTEL_*_EXPORTER` asks for OTLP: `otlp` (the default) or `none`.
fn exporter(key: &'static str, value: &str) -> Result<bool, OtlpConfigError> {
    match value.trim() {
        "" | "otlp" => Ok(true),
        "none" => Ok(false),
        _ => Err(OtlpConfigError {
            key,
            value: value.to_owned(),
            expected: "otlp or none",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::OtlpEnv;

    #[test]
    fn both_signals_are_on_by_default_and_go_where_their_variables_say() {
        let otlp = OtlpEnv::from_vars([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://phoenix:6006/v1/traces",
            ),
        ])
        .unwrap();
        assert_eq!(
            otlp.metrics.unwrap().endpoint(),
            "http://collector:4318/v1/metrics"
        );
        assert_eq!(
            otlp.traces.unwrap().endpoint(),
            "http://phoenix:6006/v1/traces"
        );
    }

    #[test]
    fn none_turns_a_signal_off_and_its_own_variables_are_not_read() {
        let otlp = OtlpEnv::from_vars([
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "never"),
        ])
        .unwrap();
        assert!(otlp.metrics.is_some() && otlp.traces.is_none());
        let otlp = OtlpEnv::from_vars([("OTEL_METRICS_EXPORTER", " none ")]).unwrap();
        assert!(otlp.metrics.is_none() && otlp.traces.is_some());
        let otlp = OtlpEnv::from_vars([("OTEL_METRICS_EXPORTER", "otlp")]).unwrap();
        assert!(otlp.metrics.is_some());
    }

    #[test]
    fn an_exporter_other_than_otlp_or_none_is_named() {
        for (key, value) in [
            ("OTEL_METRICS_EXPORTER", "prometheus"),
            ("OTEL_TRACES_EXPORTER", "zipkin"),
            ("OTEL_TRACES_EXPORTER", "otlp,console"),
        ] {
            let err = OtlpEnv::from_vars([(key, value)]).unwrap_err();
            assert_eq!((err.key, err.value.as_str()), (key, value));
            assert!(err.to_string().contains("otlp or none"), "{err}");
        }
        // A signal's bad value is named even when it comes through the other's variable.
        let err = OtlpEnv::from_vars([("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")]).unwrap_err();
        assert_eq!(err.key, "OTEL_EXPORTER_OTLP_TIMEOUT");
    }
}
