use monitor_core::monitored_handler;

#[monitored_handler(path = "GET /api")]
fn handler() -> u32 {
    1
}

fn main() {
    let _ = handler();
}
