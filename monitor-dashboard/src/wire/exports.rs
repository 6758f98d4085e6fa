//! `/api/exports`: the pushing exporters' health.

use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct Exports {
    pub(crate) exports: Vec<ExportHealth>,
}

#[derive(Serialize)]
pub(crate) struct ExportHealth {
    exporter: &'static str,
    /// Without credentials: the endpoint as `/metrics` labels it.
    endpoint: String,
    made: u64,
    sent: u64,
    failed_attempts: u64,
    rejected: u64,
    dropped: u64,
    queued: usize,
    last_success_ms: Option<u64>,
    last_error: Option<String>,
}

impl From<&monitor_core::exports::ExportHealth> for ExportHealth {
    fn from(e: &monitor_core::exports::ExportHealth) -> ExportHealth {
        ExportHealth {
            exporter: e.exporter,
            endpoint: monitor_export::rules::endpoint_label(&e.endpoint),
            made: e.made,
            sent: e.sent,
            failed_attempts: e.failed_attempts,
            rejected: e.rejected,
            dropped: e.dropped,
            queued: e.queued,
            last_success_ms: e.last_success_ms,
            last_error: e.last_error.clone(),
        }
    }
}
