use monitor_core::tracks_tokens;

pub struct ChatResponse {
    pub prompt_tokens: u32,
}

fn prompt_tokens(response: &ChatResponse) -> u64 {
    response.prompt_tokens.into()
}

#[tracks_tokens(usage = prompt_tokens)]
fn chat(prompt: &str) -> ChatResponse {
    ChatResponse { prompt_tokens: prompt.len() as u32 }
}

fn main() {
    let _ = chat("hi");
}
