use monitor_core::tracks_tokens;

pub struct ChatResponse {
    pub prompt_tokens: u32,
}

#[tracks_tokens(usage = "chat_usage")]
fn chat(prompt: &str) -> ChatResponse {
    ChatResponse { prompt_tokens: prompt.len() as u32 }
}

fn main() {
    let _ = chat("hi");
}
