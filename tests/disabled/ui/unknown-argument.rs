use monitor_core::monitored_handler;

#[monitored_handler(path = "/x")]
fn handler() {}

fn main() {
    handler();
}
