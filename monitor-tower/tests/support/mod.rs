//! What the layer's test binaries share: reading back a site's figures.

use monitor_core::Figures;

/// The figures of the instrumented function named `name`.
pub(crate) fn stats(name: &str) -> Figures {
    monitor_core::sites()
        .find(|s| s.name() == name)
        .unwrap_or_else(|| panic!("no site {name}"))
        .stats()
}

/// The figures of the route site of `route` (requests no handler served), if one was made.
pub(crate) fn route_stats(route: &str) -> Option<Figures> {
    monitor_core::sites()
        .find(|s| s.is_route() && s.route() == Some(route))
        .map(|s| s.stats())
}
