#![deny(warnings)]

use monitor_core::monitored_handler;

/// Native `async fn` in a trait, no `#[async_trait]`: on the default body and on the impls, by a
/// method's attribute and by an impl block's.
trait Service {
    #[monitored_handler(name = "default_call")]
    async fn call(&self, request: u32) -> Result<u32, String> {
        tokio::task::yield_now().await;
        if request == 0 {
            return Err("zero".to_owned());
        }
        Ok(request)
    }

    async fn ping(&self) -> u32;
}

struct Defaulted;

impl Service for Defaulted {
    #[monitored_handler(name = "defaulted_ping")]
    async fn ping(&self) -> u32 {
        1
    }
}

struct Overriding;

#[monitored_handler]
impl Service for Overriding {
    async fn call(&self, request: u32) -> Result<u32, String> {
        tokio::task::yield_now().await;
        Ok(request * 2)
    }

    async fn ping(&self) -> u32 {
        2
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert_eq!(Defaulted.call(3).await, Ok(3));
        assert!(Defaulted.call(0).await.is_err());
        assert_eq!(Defaulted.ping().await, 1);
        assert_eq!(Overriding.call(3).await, Ok(6));
        assert_eq!(Overriding.ping().await, 2);
    });

    let site = |name: &str| {
        monitor_core::sites()
            .find(|s| s.qualified_name() == name)
            .unwrap_or_else(|| panic!("no site {name}"))
    };
    let default = site("default_call").stats();
    assert_eq!((default.calls(), default.errors), (2, 1));
    assert!(default.durations.max() > std::time::Duration::ZERO);
    assert_eq!(site("defaulted_ping").stats().calls(), 1);
    assert_eq!(site("Overriding::call").stats().calls(), 1);
    assert_eq!(site("Overriding::ping").stats().calls(), 1);
}
