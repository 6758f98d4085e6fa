use monitor_core::monitored_handler;

#[monitored_handler(pipeline = "logo")]
fn handler() {}

fn main() {
    handler();
}
