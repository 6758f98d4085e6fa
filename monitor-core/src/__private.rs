//! Items that only generated code uses. Not public API: no stability promised.

pub use crate::__monitor_outcome as outcome;
pub use crate::__monitor_size_of as size_of;
pub use crate::guard::{Guard, Scoped, call_once};
pub use crate::outcome::{Outcome, Probe, Size, SizeAny, SplitAny, SplitResult, Status, StatusAny};
pub use crate::site::{Site, SiteKind, SiteMeta, SiteRef};
pub use crate::tokens::ReportsTokens;
pub use core::any::type_name_of_val;
pub use inventory;

/// Resolves `model = <expr>` to a name; accepts anything that derefs to a string.
#[inline(always)]
pub fn model_name<S: AsRef<str> + ?Sized>(model: &S) -> &str {
    model.as_ref()
}
