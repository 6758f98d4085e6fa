//! The logo-service demo: a load of logo requests through an instrumented pipeline, then a table
//! of what monitor recorded at every site.
//!
//! `cargo run -p monitor-examples -- --requests 200 --concurrency 16`

mod handlers;
mod llm;
mod pipeline;
mod report;

use handlers::App;
use llm::LlmClient;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PROMPTS: &[&str] = &[
    "a bakery called Crumb & Co with a warm, friendly feel",
    "fintech startup Ledgerly, trustworthy and modern",
    "a mountain bike shop named Switchback",
    "Orbit, a space-themed coffee roaster",
    "a minimalist yoga studio called Stillpoint",
    "Pixel Forge, an indie game studio",
    "a vegan food truck called Green Machine",
    "Harbor Analytics, a data consultancy by the sea",
    "", // no words: the handler answers 400
    "a bookshop named The Last Chapter",
    "Nimbus, a weather app for sailors",
    "a bakery called Crumb & Co with a warm, friendly feel", // repeated prompts happen
];

struct Options {
    requests: usize,
    concurrency: usize,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        requests: 120,
        concurrency: 8,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let slot = match arg.as_str() {
            "--requests" => &mut options.requests,
            "--concurrency" => &mut options.concurrency,
            "-h" | "--help" => {
                return Err("usage: monitor-examples [--requests N] [--concurrency N]".to_owned());
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        };
        let value = args.next().ok_or_else(|| format!("{arg} needs a number"))?;
        *slot = value
            .parse()
            .map_err(|_| format!("{arg} needs a positive number, not {value:?}"))?;
        if *slot == 0 {
            return Err(format!("{arg} needs a positive number, not 0"));
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let pricing = concat!(env!("CARGO_MANIFEST_DIR"), "/pricing.json");
    let config = match monitor_core::Config::from_env() {
        Ok(config) if config.pricing_file.is_none() => config.pricing_file(pricing),
        Ok(config) => config,
        Err(e) => {
            eprintln!("configuration: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = config.apply() {
        eprintln!("configuration: {e}");
        return ExitCode::from(2);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let app = Arc::new(App::new(
        LlmClient::new("gpt-4o-mini", Duration::from_millis(4), 17),
        // No price for this one in pricing.json: its cost shows as unknown, not as $0.
        LlmClient::new("sketch-judge-v1", Duration::from_millis(6), 29),
    ));
    let started = Instant::now();
    runtime.block_on(drive(app.clone(), &options));
    report::print(started.elapsed(), options.requests);
    ExitCode::SUCCESS
}

/// Sends `requests` logo requests, `concurrency` at a time, each followed by a fetch of its SVG,
/// and now and then a fetch of a logo that does not exist.
async fn drive(app: Arc<App>, options: &Options) {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(options.concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..options.requests {
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore closed");
        let app = app.clone();
        tasks.spawn(async move {
            let _permit = permit;
            // Four variants of each brief: some prompts repeat (and hit the render cache), most don't.
            let base = PROMPTS[i % PROMPTS.len()];
            let prompt = if base.is_empty() {
                String::new()
            } else {
                format!("{base}, variant {}", (i / PROMPTS.len()) % 4)
            };
            if let Ok((_, body)) = handlers::create_logo(&app, prompt).await {
                let id = body
                    .trim_start_matches("{\"id\":")
                    .trim_end_matches('}')
                    .parse()
                    .unwrap_or(0);
                let _ = handlers::get_logo_svg(&app, id);
            }
            if i.is_multiple_of(10) {
                let _ = handlers::get_logo_svg(&app, u64::MAX);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}
