#![deny(warnings)]

use monitor_core::monitored_handler;
use std::sync::atomic::{AtomicU32, Ordering};

#[async_trait::async_trait]
trait Service {
    async fn call(&self, request: String) -> Result<String, String>;
    async fn ping(&self) -> u32;
}

struct Above {
    served: AtomicU32,
}

struct Below;

/// `#[async_trait]` above: it boxes the futures first, and the attribute times the futures.
#[async_trait::async_trait]
#[monitored_handler]
impl Service for Above {
    async fn call(&self, request: String) -> Result<String, String> {
        tokio::task::yield_now().await;
        if request.is_empty() {
            return Err("empty request".to_owned());
        }
        self.served.fetch_add(1, Ordering::Relaxed);
        Ok(request)
    }

    #[monitor(skip)]
    async fn ping(&self) -> u32 {
        1
    }
}

/// `#[async_trait]` below: the attribute instruments the `async fn`s, then it boxes them.
#[monitored_handler]
#[async_trait::async_trait]
impl Service for Below {
    #[monitored_handler(name = "below_call")]
    async fn call(&self, request: String) -> Result<String, String> {
        tokio::task::yield_now().await;
        Ok(request.to_uppercase())
    }

    #[monitor(skip)]
    async fn ping(&self) -> u32 {
        2
    }
}

fn assert_send<T: Send>(_: &T) {}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let above = Above {
        served: AtomicU32::new(0),
    };
    let future = above.call("hello".to_owned());
    assert_send(&future);
    assert_eq!(runtime.block_on(future), Ok("hello".to_owned()));
    assert!(runtime.block_on(above.call(String::new())).is_err());
    assert_eq!(runtime.block_on(above.ping()), 1);
    let future = Below.call("hi".to_owned());
    assert_send(&future);
    assert_eq!(runtime.block_on(future), Ok("HI".to_owned()));
    assert_eq!(runtime.block_on(Below.ping()), 2);

    let above = monitor_core::sites()
        .find(|s| s.qualified_name() == "Above::call")
        .unwrap();
    let stats = above.stats();
    assert_eq!((stats.calls(), stats.errors, stats.cancelled), (2, 1, 0));
    assert_eq!(stats.request_bytes, 5);
    assert_eq!(stats.response_bytes, 5);
    // The boxing takes no time; the future's `yield_now` does: timed is the future.
    assert!(stats.durations.max() > std::time::Duration::ZERO);

    let below = monitor_core::sites()
        .find(|s| s.qualified_name() == "Below::below_call")
        .unwrap();
    assert_eq!(below.name(), "below_call");
    assert_eq!(below.type_name(), Some("Below"));
    assert_eq!(below.stats().calls(), 1);
    assert!(monitor_core::sites().all(|s| s.function() != "ping"));
}
