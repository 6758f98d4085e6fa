use monitor_core::tracks_tokens;

#[tracks_tokens(model = "gpt-4o")]
const LIMIT: u64 = 4096;

fn main() {
    let _ = LIMIT;
}
