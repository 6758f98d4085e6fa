use monitor_core::monitored_handler;

#[monitored_handler(cache = "logos")]
fn get_logo(id: u64) -> String {
    format!("logo {id}")
}

fn main() {
    get_logo(1);
}
