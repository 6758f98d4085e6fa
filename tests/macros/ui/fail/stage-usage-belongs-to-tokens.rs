use monitor_core::{Tokens, pipeline_stage};

fn usage(n: &usize) -> Tokens {
    Tokens::new(*n as u64, 0)
}

#[pipeline_stage(pipeline = "logo", usage = usage)]
fn concepts(prompt: &str) -> usize {
    prompt.len()
}

fn main() {
    let _ = concepts("hi");
}
