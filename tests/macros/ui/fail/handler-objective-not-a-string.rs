use monitor_core::monitored_handler;

#[monitored_handler(objective = api)]
fn list() {}

fn main() {
    list();
}
