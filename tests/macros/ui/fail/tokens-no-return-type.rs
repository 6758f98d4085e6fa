use monitor_core::tracks_tokens;

#[tracks_tokens(model = "gpt-4o")]
fn complete(prompt: &str) {
    let _ = prompt;
}

fn main() {
    complete("hi");
}
