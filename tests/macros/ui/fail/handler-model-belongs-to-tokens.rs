use monitor_core::monitored_handler;

#[monitored_handler(model = "gpt-4o")]
fn handler() -> u32 {
    1
}

fn main() {
    let _ = handler();
}
