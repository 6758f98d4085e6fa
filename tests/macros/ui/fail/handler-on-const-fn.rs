use monitor_core::monitored_handler;

#[monitored_handler]
const fn answer() -> u32 {
    42
}

fn main() {
    let _ = answer();
}
