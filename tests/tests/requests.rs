//! The request scope an HTTP layer opens: a handler's call waits in it for the final status and
//! sizes, and is recorded exactly once whatever happens to the request.

use monitor_core::monitored_handler;
use monitor_core::request::RequestScope;
use monitor_core::site::route_site;
use monitor_tests::support::site;

#[monitored_handler(route = "GET /req/plain")]
fn req_plain() -> Result<&'static str, String> {
    Ok("fine")
}

#[monitored_handler(route = "GET /req/failing")]
fn req_failing() -> Result<&'static str, String> {
    Err("no such thing".to_owned())
}

/// Succeeds, but the response the layer sends is a 503.
#[monitored_handler(route = "GET /req/unavailable")]
fn req_unavailable() -> Result<&'static str, String> {
    Ok("fine, but")
}

#[monitored_handler(route = "GET /req/outer")]
fn req_outer() -> &'static str {
    req_inner()
}

#[monitored_handler(route = "GET /req/inner")]
fn req_inner() -> &'static str {
    "inner"
}

#[monitored_handler(route = "GET /req/dropped")]
fn req_dropped() -> &'static str {
    "dropped"
}

#[test]
fn a_handler_waits_for_the_layer_and_is_recorded_once_with_its_figures() {
    let mut scope = RequestScope::new();
    scope.in_scope(|| req_plain().unwrap());
    assert!(scope.served_by_handler());
    assert_eq!(site("req_plain").stats().calls(), 0, "waits for the layer");
    scope.complete(200, Some(12), Some(345), "GET /req/plain");
    let stats = site("req_plain").stats();
    assert_eq!(stats.calls(), 1);
    assert_eq!((stats.request_bytes, stats.response_bytes), (12, 345));
    assert_eq!(stats.status_classes().success, 1);
    // A scope records one request: completed again, it has nothing left to record.
    scope.complete(500, Some(1), Some(1), "GET /req/plain");
    assert_eq!(site("req_plain").stats().calls(), 1);
    drop(scope);
    assert_eq!(site("req_plain").stats().calls(), 1);

    // Without a scope, a handler records at once, as always.
    req_plain().unwrap();
    assert_eq!(site("req_plain").stats().calls(), 2);
}

#[test]
fn the_final_status_decides_between_error_and_client_error() {
    // An `Err` the response turned into a 404: the client's error, not a failure.
    let mut scope = RequestScope::new();
    scope.in_scope(|| {
        let _ = req_failing();
    });
    scope.complete(404, None, Some(9), "GET /req/failing");
    let stats = site("req_failing").stats();
    assert_eq!(
        (stats.calls(), stats.errors, stats.client_errors),
        (1, 0, 1)
    );

    // An `Ok` the response turned into a 503: a failure, filed as an error pattern.
    let mut scope = RequestScope::new();
    scope.in_scope(|| req_unavailable().unwrap());
    scope.complete(503, None, None, "GET /req/unavailable");
    let stats = site("req_unavailable").stats();
    assert_eq!(
        (
            stats.calls(),
            stats.errors,
            stats.status_classes().server_error
        ),
        (1, 1, 1)
    );
    assert!(
        monitor_core::snapshot::error_patterns()
            .patterns
            .iter()
            .any(|p| p.site.name() == "req_unavailable" && p.pattern == "HTTP <n>"),
        "{:?}",
        monitor_core::snapshot::error_patterns()
    );
}

#[test]
fn the_outer_of_nested_handlers_takes_the_request() {
    let mut scope = RequestScope::new();
    scope.in_scope(req_outer);
    // The inner call was displaced, and recorded as it was.
    assert_eq!(site("req_inner").stats().calls(), 1);
    assert_eq!(site("req_outer").stats().calls(), 0);
    scope.complete(201, None, Some(5), "GET /req/outer");
    let outer = site("req_outer").stats();
    assert_eq!((outer.calls(), outer.response_bytes), (1, 5));
    assert_eq!(
        site("req_inner").stats().response_bytes,
        5,
        "its own value's size"
    );
}

#[test]
fn a_request_dropped_before_it_completes_still_counts_the_handler() {
    let scope = RequestScope::new();
    scope.in_scope(req_dropped);
    drop(scope);
    assert_eq!(site("req_dropped").stats().calls(), 1);
}

#[monitored_handler(route = "GET /req/nested/a")]
fn req_nested_a() -> &'static str {
    "a"
}

#[monitored_handler(route = "GET /req/nested/b")]
fn req_nested_b() -> &'static str {
    "b"
}

#[monitored_handler(route = "GET /req/moved")]
fn req_moved() -> &'static str {
    "moved"
}

/// A scope travels with its request's future, which a multi-threaded runtime moves between threads.
#[test]
fn a_scope_can_move_between_threads() {
    fn send<T: Send>(_: &T) {}
    let scope = RequestScope::new();
    send(&scope);
    let scope = std::thread::spawn(move || {
        scope.in_scope(req_moved);
        scope
    })
    .join()
    .unwrap();
    assert!(scope.served_by_handler());
    drop(scope);
    assert_eq!(site("req_moved").stats().calls(), 1);
}

#[test]
fn scopes_nest_and_a_panic_inside_leaves_none_current() {
    let mut outer = RequestScope::new();
    let mut inner = RequestScope::new();
    outer.in_scope(|| {
        inner.in_scope(req_nested_a);
        // The outer request is current again.
        req_nested_b();
    });
    assert!(inner.served_by_handler() && outer.served_by_handler());
    assert_eq!(site("req_nested_a").stats().calls(), 0);
    inner.complete(200, None, None, "GET /req/nested/a");
    outer.complete(201, None, None, "GET /req/nested/b");
    assert_eq!(site("req_nested_a").stats().calls(), 1);
    assert_eq!(site("req_nested_b").stats().status_classes().success, 1);

    let panicked = std::panic::catch_unwind(|| {
        RequestScope::new().in_scope(|| panic!("inside the request"));
    });
    assert!(panicked.is_err());
    // No scope is left current: a handler called now records at once.
    req_nested_a();
    assert_eq!(site("req_nested_a").stats().calls(), 2);
}

#[test]
fn a_request_no_handler_served_lands_on_its_route() {
    let mut scope = RequestScope::new();
    assert!(!scope.served_by_handler());
    scope.complete(200, Some(0), Some(2), "GET /req/unserved/{id}");
    let route = route_site("GET /req/unserved/{id}");
    assert!(route.is_route());
    let stats = route.stats();
    assert_eq!((stats.calls(), stats.response_bytes), (1, 2));
    assert!(monitor_core::sites().any(|s| std::ptr::eq(s, route)));
    // Spent: no second request on the route.
    scope.complete(200, Some(0), Some(2), "GET /req/unserved/{id}");
    assert_eq!(route.stats().calls(), 1);
}

#[test]
fn a_route_label_is_bounded_in_length() {
    let long = format!("GET /req/{}", "é".repeat(400));
    let site = route_site(&long);
    let route = site.route().unwrap();
    assert!(
        route.len() <= monitor_core::site::MAX_ROUTE_LEN,
        "{}",
        route.len()
    );
    assert!(long.starts_with(route));
    // The same long route finds the same site.
    assert!(std::ptr::eq(site, route_site(&long)));
}
