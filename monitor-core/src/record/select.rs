//! Choosing sites by what their attributes say — kind, name, route, pipeline, stage, model — and
//! the latency thresholds sites chosen so count their slower calls against, kept here so that a
//! site made at run time (a route site) counts from its first call.

use super::site::{Site, SiteKind};
use parking_lot::RwLock;
use std::time::Duration;

/// Which sites something applies to: every field given must match (a site's name, its kind, its
/// route, its pipeline, its stage, its literal model); a selector with no field matches every
/// site.
///
/// A `model` also matches a token site that names its model per call: of such a site, only that
/// model's calls count.
///
/// # Examples
///
/// ```
/// use monitor_core::site::{Selector, SiteKind};
/// use monitor_core::Site;
///
/// let render = Site::builder(SiteKind::Stage, "render").pipeline("logo").stage("render").build();
/// assert!(Selector::default().pipeline("logo").matches(render));
/// assert!(!Selector::default().kind(SiteKind::Handler).matches(render));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Selector {
    /// The site's kind.
    pub kind: Option<SiteKind>,
    /// The site's name, or its qualified name (`Type::method`).
    pub site: Option<String>,
    /// A handler's route (`"GET /api/logos/{id}"`).
    pub route: Option<String>,
    /// A stage's pipeline.
    pub pipeline: Option<String>,
    /// A stage's name.
    pub stage: Option<String>,
    /// A token site's model.
    pub model: Option<String>,
}

impl Selector {
    /// Sites of `kind`.
    pub fn kind(mut self, kind: SiteKind) -> Selector {
        self.kind = Some(kind);
        self
    }

    /// The site called `name`.
    pub fn site(mut self, name: impl Into<String>) -> Selector {
        self.site = Some(name.into());
        self
    }

    /// Handlers of `route`.
    pub fn route(mut self, route: impl Into<String>) -> Selector {
        self.route = Some(route.into());
        self
    }

    /// Stages of `pipeline`.
    pub fn pipeline(mut self, pipeline: impl Into<String>) -> Selector {
        self.pipeline = Some(pipeline.into());
        self
    }

    /// Stages called `stage`.
    pub fn stage(mut self, stage: impl Into<String>) -> Selector {
        self.stage = Some(stage.into());
        self
    }

    /// Token sites of `model`.
    pub fn model(mut self, model: impl Into<String>) -> Selector {
        self.model = Some(model.into());
        self
    }

    /// Whether no field is given.
    pub fn is_empty(&self) -> bool {
        *self == Selector::default()
    }

    /// Whether `site` is one this selects.
    pub fn matches(&self, site: &Site) -> bool {
        let is = |wanted: &Option<String>, value: Option<&str>| {
            wanted.as_deref().is_none_or(|w| value == Some(w))
        };
        self.kind.is_none_or(|k| k == site.kind())
            && self
                .site
                .as_deref()
                .is_none_or(|w| w == site.name() || w == site.qualified_name())
            && is(&self.route, site.route())
            && is(&self.pipeline, site.pipeline())
            && is(&self.stage, site.stage())
            && self
                .model
                .as_deref()
                .is_none_or(|wanted| match site.model() {
                    Some(model) => model == wanted,
                    // A site that names its model per call may call this one.
                    None => site.kind() == SiteKind::Tokens && site.model_expr().is_some(),
                })
    }
}

/// Latency thresholds to count against: the objective's selector, its name (sites that name it
/// in their attribute are covered too), and the threshold.
type LatencyRule = (Selector, String, Duration);

// Record path: a site made after the objectives were declared (a route site) looks its latency
// thresholds up here.
static LATENCY_RULES: RwLock<Vec<LatencyRule>> = RwLock::new(Vec::new());

/// Has the sites made from now on that `selector` selects or that name `objective` count their
/// calls slower than `threshold` (the objective that adds the rule has the sites there are now
/// count them).
pub(crate) fn add_latency_rule(selector: &Selector, objective: &str, threshold: Duration) {
    let mut rules = LATENCY_RULES.write();
    let rule = (selector.clone(), objective.to_owned(), threshold);
    if !rules.contains(&rule) {
        rules.push(rule);
    }
}

/// Whether the objective `objective` of `selector` covers `site`: the site names it in its
/// attribute, or a selector that says something selects it.
pub(crate) fn covers(selector: &Selector, objective: &str, site: &Site) -> bool {
    site.objective_names().contains(&objective) || !selector.is_empty() && selector.matches(site)
}

/// Has a site made at run time count against the thresholds that cover it.
pub(crate) fn watch_new_site(site: &'static Site) {
    for (selector, objective, threshold) in LATENCY_RULES.read().iter() {
        if covers(selector, objective, site) {
            site.watch_latency(*threshold, super::clock::units_of(*threshold));
        }
    }
}
