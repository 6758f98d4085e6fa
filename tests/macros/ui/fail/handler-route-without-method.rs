use monitor_core::monitored_handler;

#[monitored_handler(route = "/no-method")]
fn handler() -> u32 {
    1
}

fn main() {
    let _ = handler();
}
