#![deny(warnings)]

use monitor_core::monitored_handler;

/// `#[monitored_handler]` above `#[tokio::main]`: the async body is instrumented, then tokio runs
/// it on a runtime of its own.
#[monitored_handler]
#[tokio::main(flavor = "current_thread")]
async fn outside() -> u32 {
    tokio::task::yield_now().await;
    1
}

/// `#[tokio::main]` above: it makes a synchronous function, which is instrumented.
#[tokio::main(flavor = "current_thread")]
#[monitored_handler]
async fn inside() -> u32 {
    tokio::task::yield_now().await;
    2
}

#[monitored_handler]
async fn helper(x: u32) -> u32 {
    x * 10
}

#[tokio::main]
async fn main() {
    assert_eq!(helper(1).await, 10);
    let (a, b) = tokio::task::spawn_blocking(|| (outside(), inside()))
        .await
        .unwrap();
    assert_eq!((a, b), (1, 2));
    for name in ["helper", "outside", "inside"] {
        let site = monitor_core::sites().find(|s| s.name() == name).unwrap();
        assert_eq!(site.stats().calls(), 1, "{name}");
    }
}
