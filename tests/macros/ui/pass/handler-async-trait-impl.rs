#![deny(warnings)]

use monitor_core::monitored_handler;

#[async_trait::async_trait]
trait Service {
    async fn call(&mut self, request: String) -> Result<String, String>;
}

struct Echo {
    served: u32,
}

#[async_trait::async_trait]
impl Service for Echo {
    #[monitored_handler(name = "echo_call", route = "POST /echo")]
    async fn call(&mut self, request: String) -> Result<String, String> {
        tokio::task::yield_now().await;
        if request.is_empty() {
            return Err("empty request".to_owned());
        }
        self.served += 1;
        Ok(request)
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut echo = Echo { served: 0 };
    assert_eq!(
        runtime.block_on(echo.call("hello".to_owned())),
        Ok("hello".to_owned())
    );
    assert!(runtime.block_on(echo.call(String::new())).is_err());
    assert_eq!(echo.served, 1);

    let site = monitor_core::sites()
        .find(|s| s.name() == "echo_call")
        .unwrap();
    assert_eq!(site.function(), "call");
    let stats = site.stats();
    assert_eq!(stats.calls(), 2);
    assert_eq!(stats.errors, 1);
    assert_eq!(stats.cancelled, 0);
    assert_eq!(stats.response_bytes, 5);
    assert_eq!(stats.request_bytes, 5);
}
