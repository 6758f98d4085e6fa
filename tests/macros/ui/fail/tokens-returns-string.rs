use monitor_core::tracks_tokens;

#[tracks_tokens(model = "gpt-4o")]
fn complete(prompt: &str) -> String {
    prompt.to_owned()
}

fn main() {
    let _ = complete("hi");
}
