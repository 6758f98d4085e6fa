use monitor_core::{monitored_handler, pipeline_stage};

struct Api;

#[monitored_handler]
impl Api {
    #[monitored_handler(route = "GET /health")]
    #[pipeline_stage(pipeline = "health")]
    fn health(&self) -> &'static str {
        "ok"
    }
}

fn main() {
    let _ = Api.health();
}
