use monitor_core::monitored_handler;

#[monitored_handler]
async fn handler(id: u32) -> Result<String, String> {
    if id == 0 {
        return Err("zero".to_owned());
    }
    Ok(id)
}

fn main() {
    let _ = handler(1);
}
