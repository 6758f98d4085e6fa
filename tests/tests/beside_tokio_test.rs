//! The attributes beside `#[tokio::test]`, in either order. (A trybuild pass test is built without
//! `--test`, where `#[tokio::test]` functions do not exist: this is an integration test instead.)

use monitor_core::monitored_handler;

#[monitored_handler]
async fn helper(x: u32) -> u32 {
    tokio::task::yield_now().await;
    x + 1
}

fn calls(name: &str) -> Option<u64> {
    monitor_core::sites()
        .find(|s| s.name() == name)
        .map(|s| s.stats().calls())
}

/// Instrumented first, then made a test: the async body is the site's call.
#[monitored_handler]
#[tokio::test]
async fn instrumented_then_a_test() {
    assert_eq!(helper(1).await, 2);
    // The test's own call is still going on: its site is registered, its call not yet counted.
    assert_eq!(calls("instrumented_then_a_test"), Some(0));
    assert!(calls("helper").is_some_and(|n| n >= 1));
}

/// Made a test first, then instrumented: the synchronous test function is the site's call.
#[tokio::test]
#[monitored_handler]
async fn a_test_then_instrumented() {
    assert_eq!(helper(2).await, 3);
    assert_eq!(calls("a_test_then_instrumented"), Some(0));
}
