//! Items that only generated code uses. Not public API: no stability promised.

pub use crate::__monitor_outcome as outcome;
pub use crate::__monitor_size_of as size_of;
pub use crate::record::guard::{
    FinishUsage, Guard, GuardSpan, NamedModel, Scoped, call_once, instrument, model_named, once,
    run, run_usage,
};
pub use crate::record::outcome::{
    ErrorKind, ErrorText, ErrorTypeName, ErrorTypeOwn, Outcome, Probe, Size, SizeAny, SplitAny,
    SplitResult, Status, StatusAny, TextDebug, TextDisplay, TextNone,
};
pub use crate::record::registry::SiteRef;
pub use crate::record::returned::{
    BoxedStream, IsBoxedStream, IsPlainValue, Returned, ReturnedBoxed, ReturnedStream,
    ReturnedStreamInResult, ReturnedValue, RewrapStream,
};
pub use crate::record::site::{Site, SiteKind, SiteMeta};
pub use crate::record::stream::{Metered, StreamCall, meter_stream};
pub use crate::record::stripes::Aggregates as Totals;
pub use crate::record::switch::{ON, mode};
pub use crate::usage::tokens::{
    ChunkReportsTokens, Never, Reported, ReportsTokens, UsageFn, UsageOf, UsageOfNever,
    UsageOfResult, UsageOfValue,
};
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

/// What `cache = "…"` may be put on. Not public API. Used by generated code.
#[diagnostic::on_unimplemented(
    message = "`cache` needs a function whose return value says whether the lookup hit, and `{Self}` does not",
    label = "this type does not implement `monitor_core::CacheLookup`",
    note = "return `monitor_core::Lookup<T>`, an `Option<T>` (`Some` is a hit), a `Result` of either, or a type that implements `monitor_core::CacheLookup`"
)]
pub trait ReportsLookup {
    fn __monitor_cache_hit(&self) -> Option<bool>;
}

#[diagnostic::do_not_recommend]
impl<T: crate::CacheLookup + ?Sized> ReportsLookup for T {
    #[inline]
    fn __monitor_cache_hit(&self) -> Option<bool> {
        self.cache_hit()
    }
}

/// Records the hit or miss a return value reported ([`ReportsLookup`]) into the site's cache.
#[inline]
pub fn cache_lookup(site: &'static Site, hit: Option<bool>) {
    if let (Some(hit), Some(cache)) = (hit, site.cache_handle()) {
        cache.record(hit);
    }
}
