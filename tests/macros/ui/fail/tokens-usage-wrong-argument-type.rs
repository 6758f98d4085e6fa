use monitor_core::{Tokens, tracks_tokens};

// A client's response type, which cannot implement `TokenUsage` (another crate's).
pub struct ChatResponse {
    pub prompt_tokens: u32,
}

pub struct EmbeddingResponse {
    pub prompt_tokens: u32,
}

fn embedding_usage(response: &EmbeddingResponse) -> Tokens {
    Tokens::new(response.prompt_tokens.into(), 0)
}

#[tracks_tokens(usage = embedding_usage)]
fn chat(prompt: &str) -> Result<ChatResponse, String> {
    Ok(ChatResponse { prompt_tokens: prompt.len() as u32 })
}

fn main() {
    let _ = chat("hi");
}
