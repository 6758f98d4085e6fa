//! The route budget: how many route sites a layer may make. The budget is the process's, and this
//! test fills it and changes it, so it runs in a process of its own (a test binary of its own)
//! rather than taking turns with the other route tests through a lock.

use monitor_core::site::route_site;

#[test]
fn route_sites_are_bounded_by_the_budget() {
    let routes = || monitor_core::sites().filter(|s| s.is_route()).count();
    for i in 0..monitor_core::site::DEFAULT_MAX_ROUTE_SITES + 20 {
        route_site(&format!("GET /req/many/{i}"));
    }
    // The budget, and the one shared site.
    assert_eq!(routes(), monitor_core::site::DEFAULT_MAX_ROUTE_SITES + 1);
    let other = route_site("GET /req/yet-another");
    assert_eq!(other.route(), Some(monitor_core::site::OTHER_ROUTES));
    assert!(std::ptr::eq(
        other,
        route_site(monitor_core::site::OTHER_ROUTES)
    ));

    // A larger budget lets exactly that many more routes in; the shared site stays one.
    monitor_core::site::set_max_route_sites(monitor_core::site::DEFAULT_MAX_ROUTE_SITES + 5);
    for i in 0..20 {
        route_site(&format!("GET /req/more/{i}"));
    }
    assert_eq!(
        routes(),
        monitor_core::site::DEFAULT_MAX_ROUTE_SITES + 5 + 1
    );
    assert_eq!(
        route_site("GET /req/more/4").route(),
        Some("GET /req/more/4")
    );
    assert_eq!(
        route_site("GET /req/more/5").route(),
        Some(monitor_core::site::OTHER_ROUTES)
    );
    // Sites already made stay when the budget shrinks; no new one is made.
    monitor_core::site::set_max_route_sites(1);
    assert_eq!(
        route_site("GET /req/more/0").route(),
        Some("GET /req/more/0")
    );
    assert_eq!(
        route_site("GET /req/after-shrinking").route(),
        Some(monitor_core::site::OTHER_ROUTES)
    );
    // No budget beyond the limit.
    monitor_core::site::set_max_route_sites(usize::MAX);
    assert_eq!(
        monitor_core::site::max_route_sites(),
        monitor_core::site::MAX_ROUTE_SITES_LIMIT
    );
    monitor_core::site::set_max_route_sites(monitor_core::site::DEFAULT_MAX_ROUTE_SITES);
}
