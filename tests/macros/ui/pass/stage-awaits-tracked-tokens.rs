#![deny(warnings)]

use monitor_core::pricing::Price;
use monitor_core::{Tokens, monitored_handler, pipeline_stage, tracks_tokens};

#[tracks_tokens(model = "gpt-4o")]
async fn complete(prompt: &str) -> Result<Tokens, String> {
    tokio::task::yield_now().await;
    Ok(Tokens::new(prompt.len() as u64 * 1_000, 500))
}

// Tokens spent by the awaited `#[tracks_tokens]` calls are credited to the stage.
#[pipeline_stage(pipeline = "logo", stage = "concepts")]
async fn concepts(prompt: &str) -> Result<usize, String> {
    complete(prompt).await?;
    tokio::task::yield_now().await;
    complete(prompt).await?;
    Ok(2)
}

// ... and to the handler that awaits the stage.
#[monitored_handler(route = "POST /logos")]
async fn create_logo(prompt: String) -> Result<usize, String> {
    concepts(&prompt).await
}

fn main() {
    monitor_core::pricing::set_price("gpt-4o", Price::per_million(2.0, 8.0)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(create_logo("a".to_owned())), Ok(2));

    let stage = monitor_core::sites()
        .find(|s| s.stage() == Some("concepts"))
        .unwrap();
    assert_eq!(stage.pipeline(), Some("logo"));
    let stats = stage.stats();
    assert_eq!(stats.calls(), 1);
    assert_eq!(stats.errors, 0);
    assert_eq!(stats.token_calls, 2);
    assert_eq!(stats.tokens.input, 2_000);
    assert_eq!(stats.tokens.output, 1_000);
    assert_eq!(stats.cost_usd(), Some(0.012));

    let handler = monitor_core::sites()
        .find(|s| s.name() == "create_logo")
        .unwrap();
    let stats = handler.stats();
    assert_eq!(stats.calls(), 1);
    assert_eq!(stats.token_calls, 2);
    assert_eq!(stats.tokens.output, 1_000);

    let tokens = monitor_core::sites()
        .find(|s| s.name() == "complete")
        .unwrap();
    assert_eq!(tokens.stats().token_calls, 2);
}
