//! The body of every answer that is not a success.

use serde::Serialize;

/// `{"error": …, "status": …, "message": …}`, and `"parameter"` when one parameter was at fault.
#[derive(Serialize)]
pub(crate) struct Problem<'a> {
    pub(crate) error: &'a str,
    pub(crate) status: u16,
    pub(crate) message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) parameter: Option<&'a str>,
}
