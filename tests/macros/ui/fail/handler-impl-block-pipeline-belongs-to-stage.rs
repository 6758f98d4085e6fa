use monitor_core::monitored_handler;

struct Api;

#[monitored_handler(pipeline = "logo")]
impl Api {
    fn health(&self) -> &'static str {
        "ok"
    }
}

fn main() {
    let _ = Api.health();
}
