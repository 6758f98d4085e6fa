//! The built-in load: logo requests sent over HTTP to the running service, as clients would send
//! them, a few of them bad on purpose, and a few from clients that give up and disconnect.

use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// One logo request in this many comes from an impatient client.
pub const IMPATIENT_EVERY: usize = 20;

/// How long an impatient client waits for its logo before it disconnects: less than a run of the
/// pipeline takes, so the service drops the request midway — and the LLM stream it was reading.
pub const PATIENCE: Duration = Duration::from_millis(100);

const PROMPTS: &[&str] = &[
    "a bakery called Crumb & Co with a warm, friendly feel",
    "fintech startup Ledgerly, trustworthy and modern",
    "a mountain bike shop named Switchback",
    "Orbit, a space-themed coffee roaster",
    "a minimalist yoga studio called Stillpoint",
    "Pixel Forge, an indie game studio",
    "a vegan food truck called Green Machine",
    "Harbor Analytics, a data consultancy by the sea",
    "   ", // no words: the service answers 400
    "a bookshop named The Last Chapter",
    "Nimbus, a weather app for sailors",
];

const STYLES: [&str; 3] = ["flat", "outline", "badge"];

/// What the load sends.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Logo requests (`POST /api/logos`) to send.
    pub requests: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
}

/// What the load sent and what the service answered: the figures the monitor's own must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// `POST /api/logos` sent.
    pub create_sent: usize,
    /// Answered 201.
    pub created: usize,
    /// Answered 400: an empty prompt or a malformed body.
    pub rejected: usize,
    /// Answered 503: the model stayed rate-limited through the retries.
    pub unavailable: usize,
    /// Given up on by an impatient client after [`PATIENCE`], which disconnected.
    pub abandoned: usize,
    /// `GET /api/logos/{id}` sent (once per logo created, plus the lookups of missing ids).
    pub get_sent: usize,
    /// `GET /api/logos/{id}/svg` sent (once per logo created).
    pub svg_sent: usize,
    /// Lookups of ids that do not exist, answered 404.
    pub not_found: usize,
    /// Requests that got no answer or an unexpected one.
    pub failures: usize,
}

impl LoadReport {
    fn add(&mut self, other: &LoadReport) {
        self.create_sent += other.create_sent;
        self.created += other.created;
        self.rejected += other.rejected;
        self.unavailable += other.unavailable;
        self.abandoned += other.abandoned;
        self.get_sent += other.get_sent;
        self.svg_sent += other.svg_sent;
        self.not_found += other.not_found;
        self.failures += other.failures;
    }
}

/// The body of the `i`-th logo request: every 25th body is malformed JSON, one prompt in 11 has no
/// words, and each brief comes in 4 takes and 3 styles, so that a run of a few hundred requests
/// repeats about a third of them (and hits the cache).
fn body(i: usize) -> String {
    if i % 25 == 24 {
        return r#"{"prompt": "unterminated"#.to_owned();
    }
    let base = PROMPTS[i % PROMPTS.len()];
    let take = (i / PROMPTS.len()) % 4;
    let prompt = if base.trim().is_empty() {
        base.to_owned()
    } else {
        format!("{base}, take {take}")
    };
    json!({ "prompt": prompt, "style": STYLES[i % STYLES.len()] }).to_string()
}

/// Sends the load to `base` (`http://127.0.0.1:PORT`), calling `progress` with the number of logo
/// requests done after each one.
pub async fn drive(
    base: &str,
    options: &LoadOptions,
    progress: impl Fn(usize) + Send + Sync + 'static,
) -> LoadReport {
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let progress = Arc::new(progress);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..options.concurrency.max(1) {
        let (client, next, done, progress) = (
            client.clone(),
            Arc::clone(&next),
            Arc::clone(&done),
            Arc::clone(&progress),
        );
        let base = base.to_owned();
        let requests = options.requests;
        workers.spawn(async move {
            let mut report = LoadReport::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    return report;
                }
                one(&client, &base, i, &mut report).await;
                progress(done.fetch_add(1, Ordering::Relaxed) + 1);
            }
        });
    }
    let mut total = LoadReport::default();
    while let Some(report) = workers.join_next().await {
        match report {
            Ok(report) => total.add(&report),
            Err(_) => total.failures += 1,
        }
    }
    total
}

/// One logo request, and the fetches a client makes after it.
async fn one(client: &reqwest::Client, base: &str, i: usize, report: &mut LoadReport) {
    report.create_sent += 1;
    let mut request = client
        .post(format!("{base}/api/logos"))
        .header("content-type", "application/json")
        .body(body(i));
    if i % IMPATIENT_EVERY == IMPATIENT_EVERY / 3 {
        request = request.timeout(PATIENCE);
    }
    let response = match request.send().await {
        Ok(response) => response,
        // The connection is closed on a timeout: the service sees the client go.
        Err(e) if e.is_timeout() => {
            report.abandoned += 1;
            return;
        }
        Err(_) => {
            report.failures += 1;
            return;
        }
    };
    match response.status().as_u16() {
        201 => {
            report.created += 1;
            let logo: serde_json::Value = response.json().await.unwrap_or_default();
            let Some(id) = logo["id"].as_str() else {
                report.failures += 1;
                return;
            };
            report.get_sent += 1;
            if !fetch(client, &format!("{base}/api/logos/{id}"), 200).await {
                report.failures += 1;
            }
            report.svg_sent += 1;
            if !fetch(client, &format!("{base}/api/logos/{id}/svg"), 200).await {
                report.failures += 1;
            }
        }
        400 => report.rejected += 1,
        503 => report.unavailable += 1,
        _ => report.failures += 1,
    }
    if i % 10 == 9 {
        report.get_sent += 1;
        report.not_found += 1;
        // Well-formed ids no logo has.
        if !fetch(
            client,
            &format!("{base}/api/logos/{:032x}", 1_000_000 + i),
            404,
        )
        .await
        {
            report.failures += 1;
        }
    }
}

/// GETs `url` and reads the body; whether the status was `expected`.
async fn fetch(client: &reqwest::Client, url: &str, expected: u16) -> bool {
    match client.get(url).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            response.bytes().await.is_ok() && status == expected
        }
        Err(_) => false,
    }
}

/// Waits, at most `timeout`, until the service's handlers have recorded every request the load
/// sent: a response is recorded when its body has ended on the server's side, an instant after
/// the client read it, and a request whose client went away when the server notices the
/// connection closed.
pub async fn settle(report: &LoadReport, timeout: Duration) {
    let sent = [
        ("create_logo", report.create_sent),
        ("get_logo", report.get_sent),
        ("get_logo_svg", report.svg_sent),
    ];
    let deadline = tokio::time::Instant::now() + timeout;
    let recorded = |name: &str| {
        monitor_core::sites()
            .filter(|s| s.name() == name)
            .map(|s| s.stats().calls())
            .sum::<u64>()
    };
    while sent.iter().any(|(name, n)| recorded(name) < *n as u64)
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
