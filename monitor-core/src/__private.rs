//! Items that only generated code uses. Not public API: no stability promised.

pub use crate::__monitor_outcome as outcome;
pub use crate::__monitor_size_of as size_of;
pub use crate::guard::{Guard, Scoped, call_once, instrument, once, run};
pub use crate::outcome::{
    ErrorText, Outcome, Probe, Size, SizeAny, SplitAny, SplitResult, Status, StatusAny, TextDebug,
    TextDisplay, TextNone,
};
pub use crate::site::{Site, SiteKind, SiteMeta, SiteRef};
pub use crate::switch::{ON, mode};
pub use crate::tokens::ReportsTokens;
pub use core::any::type_name_of_val;
pub use inventory;

/// What `model = <expr>` may give. Not public API. Used by generated code.
#[diagnostic::on_unimplemented(
    message = "`model` must give a string, and `{Self}` is not one",
    label = "expected a string, found `{Self}`",
    note = "give the model's name: a `&str`, a `String`, or anything that implements `AsRef<str>`"
)]
pub trait ModelName {
    fn __monitor_model_name(&self) -> &str;
}

#[diagnostic::do_not_recommend]
impl<S: AsRef<str> + ?Sized> ModelName for S {
    #[inline(always)]
    fn __monitor_model_name(&self) -> &str {
        self.as_ref()
    }
}
