//! Instrumented sites: one `static` per instrumented function, registered with `inventory`.

use crate::aggregate::{Aggregates, Usage};
use crate::stats::SiteStats;
use crate::usage::ModelEntry;
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Which macro instrumented a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteKind {
    /// `#[monitored_handler]`: an API handler.
    Handler,
    /// `#[pipeline_stage]`: one step of a multi-step job.
    Stage,
    /// `#[tracks_tokens]`: a call to an LLM or another metered API.
    Tokens,
}

impl SiteKind {
    /// The kind as a number, for const generics. Not public API. Used by generated code.
    #[doc(hidden)]
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The inverse of [`code`](Self::code).
    pub(crate) const fn from_code(code: u8) -> SiteKind {
        match code {
            0 => SiteKind::Handler,
            1 => SiteKind::Stage,
            _ => SiteKind::Tokens,
        }
    }

    /// `handler`, `stage` or `tokens`.
    pub fn as_str(self) -> &'static str {
        match self {
            SiteKind::Handler => "handler",
            SiteKind::Stage => "stage",
            SiteKind::Tokens => "tokens",
        }
    }
}

impl fmt::Display for SiteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What the macro knows at expansion. Not public API. Used by generated code.
#[doc(hidden)]
#[derive(Debug)]
pub struct SiteMeta {
    pub kind: SiteKind,
    pub name: &'static str,
    pub function: &'static str,
    pub module_path: &'static str,
    pub file: &'static str,
    pub line: u32,
    pub route: Option<&'static str>,
    pub pipeline: Option<&'static str>,
    pub stage: Option<&'static str>,
    pub model: Option<&'static str>,
    pub model_expr: Option<&'static str>,
    pub provider: Option<&'static str>,
    pub cache: Option<&'static str>,
}

/// One instrumented function: where it is, what its attribute said, and its running totals.
///
/// Every site linked into the binary is listed by [`sites`], whether it has been called or not.
///
/// # Examples
///
/// ```
/// use monitor_core::{SiteKind, monitored_handler};
///
/// #[monitored_handler(route = "GET /health")]
/// fn health() -> &'static str {
///     "ok"
/// }
///
/// health();
/// # #[cfg(feature = "enabled")] {
/// let site = monitor_core::sites().find(|s| s.name() == "health").unwrap();
/// assert_eq!(site.kind(), SiteKind::Handler);
/// assert_eq!(site.route(), Some("GET /health"));
/// assert_eq!(site.stats().calls, 1);
/// assert_eq!(site.stats().response_bytes, 2);
/// # }
/// ```
pub struct Site {
    meta: SiteMeta,
    pub(crate) aggregates: Aggregates,
    /// The entry of a literal `model = "…"`, resolved on first use.
    literal_model: OnceLock<&'static ModelEntry>,
    /// The cache of `cache = "…"`, resolved on first use.
    cache: OnceLock<crate::Cache>,
    /// Calls longer than this, in clock units, are kept as outlier events. Set by the collector
    /// from the site's p99; no call is an outlier before it has.
    pub(crate) outlier_units: std::sync::atomic::AtomicU64,
}

impl Site {
    #[doc(hidden)]
    pub const fn new(meta: SiteMeta) -> Site {
        Site {
            meta,
            aggregates: Aggregates::new(),
            literal_model: OnceLock::new(),
            cache: OnceLock::new(),
            outlier_units: std::sync::atomic::AtomicU64::new(u64::MAX),
        }
    }

    /// Whether this site stands for a route that no instrumented handler served ([`route_site`]),
    /// rather than for an instrumented function.
    pub fn is_route(&self) -> bool {
        self.meta.line == 0 && self.meta.file == ROUTE_FILE
    }

    /// Which macro instrumented the function.
    #[inline]
    pub fn kind(&self) -> SiteKind {
        self.meta.kind
    }

    /// The `name = "…"` argument, or else the function's name.
    pub fn name(&self) -> &'static str {
        self.meta.name
    }

    /// The function's own name, whatever `name = "…"` says.
    pub fn function(&self) -> &'static str {
        self.meta.function
    }

    /// The module the function is in, as `module_path!()` gives it.
    pub fn module_path(&self) -> &'static str {
        self.meta.module_path
    }

    /// The source file, as `file!()` gives it.
    pub fn file(&self) -> &'static str {
        self.meta.file
    }

    /// The line of the `fn` keyword.
    pub fn line(&self) -> u32 {
        self.meta.line
    }

    /// `route = "METHOD /path"` of a handler.
    pub fn route(&self) -> Option<&'static str> {
        self.meta.route
    }

    /// `pipeline = "…"` of a stage.
    pub fn pipeline(&self) -> Option<&'static str> {
        self.meta.pipeline
    }

    /// The stage's name: `stage = "…"`, or else the function's name.
    pub fn stage(&self) -> Option<&'static str> {
        self.meta.stage
    }

    /// `model = "…"` when it is a string literal.
    pub fn model(&self) -> Option<&'static str> {
        self.meta.model
    }

    /// The source text of `model = …` when it is an expression evaluated per call.
    pub fn model_expr(&self) -> Option<&'static str> {
        self.meta.model_expr
    }

    /// `provider = "…"` of a token-tracking site (`gen_ai.provider.name`).
    pub fn provider(&self) -> Option<&'static str> {
        self.meta.provider
    }

    /// `cache = "…"`: the cache whose hits and misses the return value reports.
    pub fn cache(&self) -> Option<&'static str> {
        self.meta.cache
    }

    /// The handle of the site's cache.
    pub(crate) fn cache_handle(&self) -> Option<crate::Cache> {
        let name = self.meta.cache?;
        Some(*self.cache.get_or_init(|| crate::cache(name)))
    }

    /// A name unique among the sites of a binary: `module::name@file:line`.
    pub fn id(&self) -> String {
        format!(
            "{}::{}@{}:{}",
            self.meta.module_path, self.meta.name, self.meta.file, self.meta.line
        )
    }

    /// The totals recorded so far. Reading costs a pass over the site's counters (a few thousand
    /// relaxed loads) and never blocks a call being recorded.
    pub fn stats(&self) -> SiteStats {
        SiteStats::from_totals(self.aggregates.totals())
    }

    pub(crate) fn literal_model(&'static self) -> Option<&'static ModelEntry> {
        let name = self.meta.model?;
        Some(self.literal_model.get_or_init(|| crate::usage::model(name)))
    }

    pub(crate) fn record_usage(&self, usage: Usage) {
        self.aggregates.record_usage(usage);
    }
}

/// Sites are equal when they are the same site.
impl PartialEq for Site {
    fn eq(&self, other: &Site) -> bool {
        std::ptr::eq(self, other)
    }
}

impl fmt::Debug for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Site")
            .field("kind", &self.meta.kind)
            .field("name", &self.meta.name)
            .field("module_path", &self.meta.module_path)
            .field("file", &self.meta.file)
            .field("line", &self.meta.line)
            .finish_non_exhaustive()
    }
}

/// Serialised as its description, without totals (those come from [`Site::stats`]).
impl Serialize for Site {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let m = &self.meta;
        let mut s = serializer.serialize_struct("Site", 14)?;
        s.serialize_field("id", &self.id())?;
        s.serialize_field("kind", &m.kind)?;
        s.serialize_field("name", m.name)?;
        s.serialize_field("function", m.function)?;
        s.serialize_field("module_path", m.module_path)?;
        s.serialize_field("file", m.file)?;
        s.serialize_field("line", &m.line)?;
        s.serialize_field("route", &m.route)?;
        s.serialize_field("pipeline", &m.pipeline)?;
        s.serialize_field("stage", &m.stage)?;
        s.serialize_field("model", &m.model)?;
        s.serialize_field("model_expr", &m.model_expr)?;
        s.serialize_field("provider", &m.provider)?;
        s.serialize_field("cache", &m.cache)?;
        s.end()
    }
}

/// Registration of a site. Not public API. Used by generated code.
#[doc(hidden)]
#[derive(Debug)]
pub struct SiteRef(pub &'static Site);

inventory::collect!(SiteRef);

/// Every instrumented site linked into the binary, called or not, ordered by file, line and name.
///
/// Without the `enabled` feature there are none. A site in a library crate is listed when the binary
/// links that crate's code (calling any function of it is enough).
///
/// # Examples
///
/// A test that every handler of a service is instrumented:
///
/// ```
/// use monitor_core::SiteKind;
///
/// for site in monitor_core::sites().filter(|s| s.kind() == SiteKind::Handler) {
///     println!("{} {:?} at {}:{}", site.name(), site.route(), site.file(), site.line());
/// }
/// ```
pub fn sites() -> impl ExactSizeIterator<Item = &'static Site> + Clone {
    let all = Arc::clone(&all_sites().read());
    SiteIter { all, next: 0 }
}

/// The sites linked in, ordered, then those made at run time ([`route_site`]) in the order they
/// were made: appending keeps every site's position, which the history files deltas by.
fn all_sites() -> &'static RwLock<Arc<Vec<&'static Site>>> {
    static ALL: OnceLock<RwLock<Arc<Vec<&'static Site>>>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all: Vec<&'static Site> = if cfg!(feature = "enabled") {
            inventory::iter::<SiteRef>
                .into_iter()
                .map(|r| r.0)
                .collect()
        } else {
            Vec::new()
        };
        all.sort_by_key(|s| (s.file(), s.line(), s.name(), s.module_path()));
        RwLock::new(Arc::new(all))
    })
}

#[derive(Clone)]
struct SiteIter {
    all: Arc<Vec<&'static Site>>,
    next: usize,
}

impl Iterator for SiteIter {
    type Item = &'static Site;

    fn next(&mut self) -> Option<&'static Site> {
        let site = self.all.get(self.next).copied()?;
        self.next += 1;
        Some(site)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.all.len() - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for SiteIter {}

/// Sites made for routes, at most; later routes share [`OTHER_ROUTES`]. Each site holds its own
/// histogram (tens of KiB), so the number a stream of odd paths can make must be bounded.
pub const MAX_ROUTE_SITES: usize = 128;
/// The route of the site shared by routes beyond [`MAX_ROUTE_SITES`].
pub const OTHER_ROUTES: &str = "other routes";

/// The site of requests to `route` (`"GET /api/logos/{id}"`) that no instrumented handler served:
/// made on first use, listed by [`sites`] from then on, with [`Site::is_route`] true. An HTTP layer
/// (`monitor_dashboard::MonitorLayer`) records such requests here.
///
/// # Examples
///
/// ```
/// let site = monitor_core::route_site("GET /health");
/// assert!(site.is_route());
/// assert_eq!(site.route(), Some("GET /health"));
/// assert!(std::ptr::eq(site, monitor_core::route_site("GET /health")));
/// ```
pub fn route_site(route: &str) -> &'static Site {
    static ROUTES: Mutex<BTreeMap<String, &'static Site>> = Mutex::new(BTreeMap::new());
    let mut routes = ROUTES.lock();
    if let Some(site) = routes.get(route) {
        return site;
    }
    let full = routes.len() >= MAX_ROUTE_SITES;
    let key = if full { OTHER_ROUTES } else { route };
    if let Some(site) = routes.get(key) {
        return site;
    }
    // Leaked on purpose: sites are `'static`, and there are at most `MAX_ROUTE_SITES + 1`.
    let name: &'static str = Box::leak(key.to_owned().into_boxed_str());
    let site: &'static Site = Box::leak(Box::new(Site::new(SiteMeta {
        kind: SiteKind::Handler,
        name,
        function: "",
        module_path: "",
        file: ROUTE_FILE,
        line: 0,
        route: Some(name),
        pipeline: None,
        stage: None,
        model: None,
        model_expr: None,
        provider: None,
        cache: None,
    })));
    routes.insert(key.to_owned(), site);
    if cfg!(feature = "enabled") {
        let mut all = all_sites().write();
        let mut grown = Vec::clone(&all);
        grown.push(site);
        *all = Arc::new(grown);
    }
    site
}

/// The `file` of a route's site: no source file has this name.
const ROUTE_FILE: &str = "<route>";

#[cfg(test)]
mod tests {
    use super::Site;

    #[test]
    fn a_site_takes_at_most_64_kib() {
        let size = std::mem::size_of::<Site>();
        assert!(size <= 64 * 1024, "a site takes {size} bytes");
        eprintln!(
            "a site takes {size} bytes ({:.1} KiB)",
            size as f64 / 1024.0
        );
    }
}
