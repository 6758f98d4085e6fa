use monitor_core::monitored_handler;

#[monitored_handler]
fn handler(id: u32) -> String {
    let n: u32 = "not a number";
    format!("{id} {n}")
}

fn main() {
    let _ = handler(1);
}
