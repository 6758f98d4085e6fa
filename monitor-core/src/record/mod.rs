//! The record path: what an instrumented call touches.
//!
//! A call reads the mode byte ([`switch`]), the clock twice ([`clock`]), classifies its return
//! value ([`outcome`]) and writes its site's stripes ([`stripes`], through [`site`]) — in the
//! shadow of the clock reads. Around that: the enclosing stage and handler ([`scope`]), the
//! stripe a thread writes ([`thread`]), a model's share of a site ([`cells`]), caches, raw
//! events, filing a finished call ([`file`]), the HTTP request a layer holds a call for
//! ([`request`]), the guard generated code drives ([`guard`]), and a return value measured by
//! its type ([`returned`]: a boxed stream behind an alias).
//!
//! Depends on `figures` (what the stripes are read into), `usage` (prices), `errors` (the table
//! of patterns) and `memory` (the allocator's counts); nothing there depends on it.

pub(crate) mod caches;
pub(crate) mod cells;
pub(crate) mod clock;
pub(crate) mod events;
pub(crate) mod file;
pub(crate) mod guard;
pub(crate) mod outcome;
pub(crate) mod registry;
pub(crate) mod request;
pub(crate) mod returned;
pub(crate) mod run;
pub(crate) mod scope;
pub(crate) mod select;
pub(crate) mod site;
pub(crate) mod stream;
pub(crate) mod stripes;
pub(crate) mod switch;
pub(crate) mod thread;
pub(crate) mod traceparent;

pub use caches::{Cache, CacheLookup, CacheStats, Lookup, MAX_CACHES, OTHER_CACHES, cache, caches};
pub use cells::MAX_MODEL_CELLS;
pub use events::{EVENT_CAPACITY, Event, EventReason, events, set_outlier_factor, set_sampling};
pub use registry::{
    DEFAULT_MAX_ROUTE_SITES, MAX_ROUTE_LEN, MAX_ROUTE_SITES_LIMIT, OTHER_ROUTES, SiteBuilder,
    max_route_sites, route_site, set_max_route_sites, sites,
};
pub use request::RequestScope;
pub use select::Selector;
pub use site::{MAX_LATENCY_THRESHOLDS, Site, SiteKind};
pub use stripes::MAX_STATUS_CODES;
pub use switch::{is_enabled, set_enabled};
