use monitor_core::monitored_handler;

struct Api;

#[monitored_handler]
impl Api {
    #[monitor(ignore)]
    fn health(&self) -> &'static str {
        "ok"
    }
}

fn main() {
    let _ = Api.health();
}
