use monitor_core::monitored_handler;

#[monitored_handler(name = create_logo)]
fn handler() -> u32 {
    1
}

fn main() {
    let _ = handler();
}
