//! What `monitor_tower::axum::MonitorLayer` allocates per request, counted exactly: for a GET whose
//! response has a body of known size, nothing beyond what axum allocates for any layer. Its own test
//! binary, because the counting allocator is the process's.

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use monitor_core::monitored_handler;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use tower_service::Service;

/// Counts the allocations made on each thread, so that the test's own thread is counted alone.
struct CountingAllocator;

thread_local! {
    // Const-initialized and without a destructor: reading it allocates nothing.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is passed to the system allocator unchanged; counting touches only a
// thread-local `Cell`.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

async fn plain() -> &'static str {
    "hello, world"
}

#[monitored_handler(route = "GET /x")]
async fn monitored() -> &'static str {
    "hello, world"
}

#[monitored_handler(route = "GET /x")]
async fn monitored_generic() -> &'static str {
    "hello, world"
}

/// One request through the router, its body read to the end.
async fn request(router: &mut Router) {
    let request = Request::get("/x").body(Body::empty()).unwrap();
    let response = router.call(request).await.unwrap();
    assert!(response.status().is_success());
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(body.len(), 12);
}

/// Requests in each counted round, and the rounds counted.
const REQUESTS: u64 = 200;
const ROUNDS: u64 = 5;

/// Allocations per request through `router`, after requests that warm up what is made once (the
/// site, the thread's stripe). What is made on first use later — a duration histogram's chunk, the
/// first time a call is slow enough to reach it, as one may be on a loaded machine — falls in one
/// round: the fewest any round made is the per-request count, and it must be exact.
fn per_request(router: Router) -> u64 {
    let mut router: Router = router.with_state(());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        for _ in 0..20 {
            request(&mut router).await;
        }
        let mut fewest = u64::MAX;
        for _ in 0..ROUNDS {
            let before = allocations();
            for _ in 0..REQUESTS {
                request(&mut router).await;
            }
            fewest = fewest.min(allocations() - before);
        }
        assert_eq!(
            fewest % REQUESTS,
            0,
            "{fewest} allocations in the leanest round of {REQUESTS} requests"
        );
        fewest / REQUESTS
    })
}

#[test]
fn the_layer_allocates_nothing_beyond_what_axum_does_for_any_layer() {
    let any_layer = per_request(
        Router::new()
            .route("/x", get(plain))
            .layer(tower_layer::layer_fn(|inner| inner)),
    );
    let bare = per_request(Router::new().route("/x", get(plain)));
    assert!(any_layer > bare, "axum boxes a layered route's future");
    let monitored = per_request(
        Router::new()
            .route("/x", get(monitored))
            .layer(monitor_tower::axum::MonitorLayer::new()),
    );
    assert_eq!(monitored, any_layer);
    let site = monitor_core::sites()
        .find(|s| s.name() == "monitored")
        .unwrap();
    let calls = 20 + ROUNDS * REQUESTS;
    assert_eq!(site.stats().calls(), calls);
    assert_eq!(site.stats().response_bytes, calls * 12);
}

/// Why axum has a layer of its own: axum boxes any body that is not its `Body`, so under
/// `Router::layer` the generic layer's `MonitorBody` costs two allocations a request, the request's
/// body boxed on its way into the route and the response's on its way out. If this fails because
/// axum stopped boxing them, the generic layer may serve axum too.
#[test]
fn the_generic_layer_costs_two_boxes_under_axum() {
    let any_layer = per_request(
        Router::new()
            .route("/x", get(plain))
            .layer(tower_layer::layer_fn(|inner| inner)),
    );
    let generic = per_request(
        Router::new()
            .route("/x", get(monitored_generic))
            .layer(monitor_tower::MonitorLayer::new()),
    );
    assert_eq!(generic, any_layer + 2);
    let site = monitor_core::sites()
        .find(|s| s.name() == "monitored_generic")
        .unwrap();
    let calls = 20 + ROUNDS * REQUESTS;
    assert_eq!(site.stats().calls(), calls);
    assert_eq!(site.stats().response_bytes, calls * 12);
}
