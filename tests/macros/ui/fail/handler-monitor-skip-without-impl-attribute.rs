use monitor_core::monitor;

struct Api;

impl Api {
    #[monitor(skip)]
    fn version(&self) -> &'static str {
        "1.0"
    }
}

fn main() {
    let _ = Api.version();
}
