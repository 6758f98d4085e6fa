#![deny(warnings)]

use monitor_core::monitored_handler;
use std::future::Future;

// A synchronous function that returns a future is timed until the future completes.
#[monitored_handler]
fn fetch(id: u32) -> impl Future<Output = Result<u32, String>> {
    let doubled = id * 2;
    async move {
        tokio::task::yield_now().await;
        if id == 0 {
            return Err("zero".to_owned());
        }
        Ok(doubled)
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(fetch(4)), Ok(8));
    assert!(runtime.block_on(fetch(0)).is_err());
    // Dropped before it was polled to completion.
    drop(fetch(1));

    let site = monitor_core::sites().find(|s| s.name() == "fetch").unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 3);
    assert_eq!(stats.errors, 1);
    assert_eq!(stats.cancelled, 1);
}
