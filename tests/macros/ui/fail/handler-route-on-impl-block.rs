use monitor_core::monitored_handler;

struct Api;

#[monitored_handler(route = "GET /health")]
impl Api {
    fn health(&self) -> &'static str {
        "ok"
    }

    fn ready(&self) -> bool {
        true
    }
}

fn main() {
    let _ = (Api.health(), Api.ready());
}
