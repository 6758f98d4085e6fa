//! The list of every site: those the attributes registered at link time, in source order, then
//! those made at run time for routes no handler served.

use super::site::{ROUTE_FILE, Site, SiteKind, SiteMeta};
use super::stripes::Aggregates;
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

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
/// Every site with what it recorded:
///
/// ```
/// for site in monitor_core::sites() {
///     let s = site.stats();
///     println!(
///         "{:<8} {:<12} {}:{} calls {} errors {} p99 {:?} tokens {}/{} cost {:?}",
///         site.kind(), site.name(), site.file(), site.line(), s.calls(), s.errors,
///         s.durations.p99(), s.tokens.input, s.tokens.output, s.cost_usd(),
///     );
/// }
/// ```
///
/// The check a team puts in its own test suite: every route of the service is served by a
/// monitored handler. (The demo's `monitor-examples/tests/every_handler.rs` also sends a request to
/// each route and checks that none landed on a route's site, i.e. went unmonitored.)
///
/// ```
/// use monitor_core::monitored_handler;
/// use monitor_core::site::SiteKind;
///
/// /// The service's routes, as its router declares them.
/// const ROUTES: [(&str, &str); 2] = [("GET", "/api/logos/{id}"), ("POST", "/api/logos")];
///
/// #[monitored_handler(route = "GET /api/logos/{id}")]
/// async fn get_logo(id: u64) -> String {
///     format!("logo {id}")
/// }
///
/// #[monitored_handler(route = "POST /api/logos")]
/// async fn create_logo(prompt: String) -> String {
///     prompt
/// }
///
/// # #[cfg(feature = "enabled")] {
/// let handled: Vec<&str> = monitor_core::sites()
///     .filter(|s| s.kind() == SiteKind::Handler && !s.is_route())
///     .filter_map(|s| s.route())
///     .collect();
/// for (method, path) in ROUTES {
///     let route = format!("{method} {path}");
///     assert!(handled.contains(&route.as_str()), "{route} has no #[monitored_handler]");
/// }
/// # }
/// # let _ = (get_logo(1), create_logo(String::new()));
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
        for (index, site) in all.iter().enumerate() {
            site.set_index(index);
        }
        RwLock::new(Arc::new(all))
    })
}

/// Every site, in [`sites`] order.
pub(crate) fn all() -> Arc<Vec<&'static Site>> {
    Arc::clone(&all_sites().read())
}

/// The site at `index` among [`sites`].
pub(crate) fn site_at(index: usize) -> Option<&'static Site> {
    all_sites().read().get(index).copied()
}

/// A site's position among [`sites`]: the key errors and the history know it by.
pub(crate) fn index_of(site: &'static Site) -> Option<usize> {
    if let Some(index) = site.index() {
        return Some(index);
    }
    // Positions are given when the list is first made; a site recorded before that gets its own
    // now. A site made by `Site::builder` has none.
    let _ = all_sites();
    site.index()
}

/// Adds a site made at run time at the end of the list.
fn register(site: &'static Site) {
    let mut all = all_sites().write();
    let mut grown = Vec::clone(&all);
    site.set_index(grown.len());
    grown.push(site);
    *all = Arc::new(grown);
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

/// Route sites [`route_site`] makes unless the operator sets another budget
/// ([`set_max_route_sites`], `Config::max_route_sites`, `MONITOR_MAX_ROUTE_SITES`).
pub const DEFAULT_MAX_ROUTE_SITES: usize = 128;
/// The most route sites any budget allows: each site holds its own figures (about 64 KiB), so even
/// the operator's budget is bounded.
pub const MAX_ROUTE_SITES_LIMIT: usize = 4096;
/// The route of the one site shared by every request that gets no route site of its own: a path
/// the router did not match, a method outside HTTP's standard set, or a route beyond the budget.
pub const OTHER_ROUTES: &str = "other requests";
/// Route labels longer than this are cut (at a character boundary): a label's length is bounded
/// whatever a caller passes.
pub const MAX_ROUTE_LEN: usize = 256;

static MAX_ROUTES: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_ROUTE_SITES);

/// Sets how many route sites [`route_site`] may make (at most [`MAX_ROUTE_SITES_LIMIT`]); routes
/// beyond it share the site of [`OTHER_ROUTES`]. It bounds the series requests can add to
/// `/metrics`: with the shared site, at most `budget + 1` route sites, each with its fixed set of
/// series. Sites already made stay; a lower budget only stops new ones.
///
/// # Examples
///
/// ```
/// monitor_core::site::set_max_route_sites(64);
/// assert_eq!(monitor_core::site::max_route_sites(), 64);
/// # monitor_core::site::set_max_route_sites(monitor_core::site::DEFAULT_MAX_ROUTE_SITES);
/// ```
pub fn set_max_route_sites(budget: usize) {
    MAX_ROUTES.store(budget.min(MAX_ROUTE_SITES_LIMIT), Ordering::Relaxed);
}

/// The route-site budget in force (see [`set_max_route_sites`]).
pub fn max_route_sites() -> usize {
    MAX_ROUTES.load(Ordering::Relaxed)
}

/// The site of requests to `route` (`"GET /api/logos/{id}"`) that no instrumented handler served:
/// made on first use, listed by [`sites`] from then on, with [`Site::is_route`] true. An HTTP layer
/// (`monitor_dashboard::MonitorLayer`) records such requests here. Once [`max_route_sites`] routes
/// have sites, later routes share the site of [`OTHER_ROUTES`].
///
/// # Examples
///
/// ```
/// let site = monitor_core::site::route_site("GET /health");
/// assert!(site.is_route());
/// assert_eq!(site.route(), Some("GET /health"));
/// assert!(std::ptr::eq(site, monitor_core::site::route_site("GET /health")));
/// ```
pub fn route_site(route: &str) -> &'static Site {
    static ROUTES: Mutex<BTreeMap<String, &'static Site>> = Mutex::new(BTreeMap::new());
    let route = &route[..route.floor_char_boundary(MAX_ROUTE_LEN)];
    let mut routes = ROUTES.lock();
    if let Some(site) = routes.get(route) {
        return site;
    }
    // The shared site is not one of the budget's.
    let made = routes.len() - usize::from(routes.contains_key(OTHER_ROUTES));
    let key = if made >= max_route_sites() {
        OTHER_ROUTES
    } else {
        route
    };
    if let Some(site) = routes.get(key) {
        return site;
    }
    // Leaked on purpose: sites are `'static`, and there are at most `MAX_ROUTE_SITES_LIMIT + 1`.
    let name: &'static str = Box::leak(key.to_owned().into_boxed_str());
    let totals: &'static Aggregates = Box::leak(Box::default());
    let site: &'static Site = Box::leak(Box::new(Site::new(
        SiteMeta {
            kind: SiteKind::Handler,
            name,
            qualified_name: name,
            type_name: None,
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
            operation: None,
            cache: None,
            objectives: &[],
        },
        totals,
    )));
    routes.insert(key.to_owned(), site);
    if cfg!(feature = "enabled") {
        register(site);
        super::select::watch_new_site(site);
    }
    site
}

/// A site described by hand rather than by an attribute: for a [`Snapshot`](crate::Snapshot)
/// built by hand (an exporter's test), or a host that reports calls of its own through a snapshot.
/// It is not listed by [`sites`] and records nothing by itself.
///
/// # Examples
///
/// ```
/// use monitor_core::Site;
/// use monitor_core::site::SiteKind;
///
/// let site = Site::builder(SiteKind::Stage, "render").pipeline("logo").stage("render").build();
/// assert_eq!(site.pipeline(), Some("logo"));
/// assert!(monitor_core::sites().all(|s| !std::ptr::eq(s, site)));
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct SiteBuilder {
    meta: SiteMeta,
}

impl Site {
    /// Describes a site of `kind` called `name` (see [`SiteBuilder`]).
    pub fn builder(kind: SiteKind, name: &'static str) -> SiteBuilder {
        SiteBuilder {
            meta: SiteMeta {
                kind,
                name,
                qualified_name: name,
                type_name: None,
                function: name,
                module_path: "",
                file: "",
                line: 0,
                route: None,
                pipeline: None,
                stage: None,
                model: None,
                model_expr: None,
                provider: None,
                operation: None,
                cache: None,
                objectives: &[],
            },
        }
    }
}

impl SiteBuilder {
    /// The module it is in.
    pub fn module_path(mut self, module_path: &'static str) -> SiteBuilder {
        self.meta.module_path = module_path;
        self
    }

    /// Where it is.
    pub fn location(mut self, file: &'static str, line: u32) -> SiteBuilder {
        self.meta.file = file;
        self.meta.line = line;
        self
    }

    /// The `Self` type of a method ([`Site::type_name`]): the site's qualified name becomes
    /// `Type::name`.
    pub fn type_name(mut self, type_name: &'static str) -> SiteBuilder {
        self.meta.type_name = Some(type_name);
        self
    }

    /// A handler's route, `METHOD /path`.
    pub fn route(mut self, route: &'static str) -> SiteBuilder {
        self.meta.route = Some(route);
        self
    }

    /// A stage's pipeline.
    pub fn pipeline(mut self, pipeline: &'static str) -> SiteBuilder {
        self.meta.pipeline = Some(pipeline);
        self
    }

    /// A stage's name.
    pub fn stage(mut self, stage: &'static str) -> SiteBuilder {
        self.meta.stage = Some(stage);
        self
    }

    /// A token site's literal model.
    pub fn model(mut self, model: &'static str) -> SiteBuilder {
        self.meta.model = Some(model);
        self
    }

    /// A token site's operation (`gen_ai.operation.name`: `chat`, `embeddings`, …).
    pub fn operation(mut self, operation: &'static str) -> SiteBuilder {
        self.meta.operation = Some(operation);
        self
    }

    /// A token site's provider.
    pub fn provider(mut self, provider: &'static str) -> SiteBuilder {
        self.meta.provider = Some(provider);
        self
    }

    /// The site. Sites are `'static`: this one is leaked, so build a few, not one per request.
    pub fn build(mut self) -> &'static Site {
        if let Some(type_name) = self.meta.type_name {
            let qualified = format!("{type_name}::{}", self.meta.name);
            self.meta.qualified_name = Box::leak(qualified.into_boxed_str());
        }
        let totals: &'static Aggregates = Box::leak(Box::default());
        Box::leak(Box::new(Site::new(self.meta, totals)))
    }

    /// The site, registered: listed by [`sites`] from now on, like a site an attribute made, and
    /// recorded into through generated code's entry points. For benchmarks that need many sites.
    #[doc(hidden)]
    pub fn register(self) -> &'static Site {
        let site = self.build();
        if cfg!(feature = "enabled") {
            register(site);
        }
        site
    }
}
