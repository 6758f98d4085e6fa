use monitor_core::monitored_handler;

trait Service {
    #[monitored_handler]
    fn call(&self) -> u32;
}

struct Api;

impl Service for Api {
    fn call(&self) -> u32 {
        1
    }
}

fn main() {
    let _ = Api.call();
}
