//! `#[tracks_tokens]` on a simulated LLM client: each call's tokens and cost are counted per model
//! and credited to the `#[pipeline_stage]` that made it. One model has a price; the other has none,
//! so its cost is "unknown" — never $0.
//!
//! Run it with `cargo run -p monitor-core --example tracks_tokens`.

use monitor_core::pricing::Price;
use monitor_core::{TokenUsage, Tokens, pipeline_stage, tracks_tokens};

/// What the provider answered.
struct Completion {
    text: String,
    usage: Tokens,
}

impl TokenUsage for Completion {
    fn token_usage(&self) -> Tokens {
        self.usage
    }
}

struct LlmClient {
    model: String,
}

impl LlmClient {
    fn new(model: &str) -> LlmClient {
        let model = model.to_owned();
        LlmClient { model }
    }

    /// The model is read from the client at each call.
    #[tracks_tokens(model = self.model.as_str(), provider = "simulated")]
    async fn complete(&self, prompt: &str) -> Result<Completion, std::io::Error> {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        // A 300-token system prompt the provider has cached, plus ~4 tokens per word.
        let input = 300 + 4 * prompt.split_whitespace().count() as u64;
        let text = format!("{} says: a bold, round logo for {prompt}", self.model);
        Ok(Completion {
            usage: Tokens::new(input, 80).cached(300),
            text,
        })
    }
}

#[pipeline_stage(pipeline = "logo")]
async fn brief(llm: &LlmClient, prompt: &str) -> Result<String, std::io::Error> {
    Ok(llm.complete(prompt).await?.text)
}

#[pipeline_stage(pipeline = "logo")]
async fn drafts(llm: &LlmClient, brief: &str) -> Result<Vec<String>, std::io::Error> {
    let mut drafts = Vec::new();
    for style in ["flat", "outline", "gradient"] {
        drafts.push(llm.complete(&format!("{style}: {brief}")).await?.text);
    }
    Ok(drafts)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // USD per million tokens; `pricing::load_file(path)` reads the same from a file.
    let price = Price::per_million(2.50, 10.00).with_cached_input(1.25);
    monitor_core::pricing::set_price("gpt-4o", price)?; // and none for "local-llama"
    let (writer, drafter) = (LlmClient::new("gpt-4o"), LlmClient::new("local-llama"));
    for prompt in ["a fox", "an owl reading", "a lighthouse at dusk"] {
        let brief = brief(&writer, prompt).await?;
        drafts(&drafter, &brief).await?;
    }

    let cost = |usd: Option<f64>| usd.map_or("unknown".to_owned(), |usd| format!("${usd:.6}"));
    println!("model        calls  input (cached) output  cost");
    for m in monitor_core::snapshot::models() {
        let (input, cached, output) = (
            m.figures.tokens.input,
            m.figures.tokens.cached_input,
            m.figures.tokens.output,
        );
        let (name, calls, cost) = (&m.model, m.figures.token_calls, cost(m.figures.cost_usd()));
        println!("{name:<12} {calls:>5} {input:>6} {cached:>8} {output:>6}  {cost}");
    }
    println!("\nstage   token calls  input output  cost");
    for site in monitor_core::sites().filter(|s| s.pipeline() == Some("logo")) {
        let s = site.stats();
        let (name, calls, cost) = (site.name(), s.token_calls, cost(s.cost_usd()));
        let (input, output) = (s.tokens.input, s.tokens.output);
        println!("{name:<7} {calls:>11} {input:>6} {output:>6}  {cost}");
    }
    let stage_cost = |name| {
        let site = monitor_core::sites().find(|s| s.name() == name);
        site.and_then(|s| s.stats().cost_usd())
    };
    if stage_cost("brief").is_none() || stage_cost("drafts").is_some() {
        return Err("`brief` should have a cost, and `drafts` an unknown one".into());
    }
    Ok(())
}
