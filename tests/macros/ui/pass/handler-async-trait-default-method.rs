#![deny(warnings)]

use monitor_core::monitored_handler;

#[async_trait::async_trait]
trait Service {
    fn prefix(&self) -> &str;

    #[monitored_handler]
    async fn handle(&self, request: u32) -> Result<String, String> {
        tokio::task::yield_now().await;
        if request == 0 {
            return Err("zero".to_owned());
        }
        Ok(format!("{}{request}", self.prefix()))
    }
}

struct Api;

#[async_trait::async_trait]
impl Service for Api {
    fn prefix(&self) -> &str {
        "#"
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(Api.handle(7)), Ok("#7".to_owned()));
    assert!(runtime.block_on(Api.handle(0)).is_err());

    let site = monitor_core::sites()
        .find(|s| s.name() == "handle")
        .unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 2);
    assert_eq!(stats.errors, 1);
    assert_eq!(stats.response_bytes, 2);
}
