//! Insights from a workload driven on a clock of the test's own. The history, the sites, caches,
//! models and error patterns are global to the process: every name here is unique to one test, and
//! only one test ticks the history.

use futures_util::stream::{self, Stream, StreamExt};
use monitor_core::history::tick_at;
use monitor_core::insights::{Insight, Severity, insights_at, leak_insight};
use monitor_core::memory::{DEFAULT_LEAK_THRESHOLD, LeakDetector};
use monitor_core::pricing::{Price, set_price};
use monitor_core::{Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[monitored_handler(route = "GET /ins/flaky")]
fn ins_flaky(fail: bool, n: u64) -> Result<u64, String> {
    if fail {
        Err(format!(
            "upstream timeout after {n} ms, api_key=sk-live0123456789abcdefXYZ"
        ))
    } else {
        Ok(n)
    }
}

#[monitored_handler(route = "GET /ins/steady")]
fn ins_steady(fail: bool) -> Result<(), String> {
    if fail {
        Err("steady failure".to_owned())
    } else {
        Ok(())
    }
}

#[monitored_handler(route = "GET /ins/sparse")]
fn ins_sparse(fail: bool) -> Result<(), String> {
    if fail {
        Err("sparse failure".to_owned())
    } else {
        Ok(())
    }
}

#[monitored_handler(route = "GET /ins/slow")]
fn ins_slow() -> &'static str {
    std::thread::sleep(Duration::from_millis(10));
    "slow"
}

#[pipeline_stage(pipeline = "ins_pipe", stage = "fetch")]
fn fetch(n: u64) -> u64 {
    n + 1
}

#[pipeline_stage(pipeline = "ins_pipe", stage = "concepts")]
fn concepts(n: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(2));
    n * 2
}

#[pipeline_stage(pipeline = "ins_pipe", stage = "render")]
fn render(n: u64) -> String {
    n.to_string()
}

#[pipeline_stage(pipeline = "ins_fallback", stage = "wait")]
fn wait() {
    std::thread::sleep(Duration::from_millis(3));
}

#[pipeline_stage(pipeline = "ins_fallback", stage = "quick")]
fn quick() -> u8 {
    1
}

#[tracks_tokens(model = "ins-model-big")]
fn big() -> Tokens {
    Tokens::new(1_000_000, 0)
}

#[tracks_tokens(model = "ins-model-small")]
fn small() -> Tokens {
    Tokens::new(1_000_000, 0)
}

#[tracks_tokens(model = "ins-model-free")]
fn free() -> Tokens {
    Tokens::new(400, 100)
}

/// A streamed call to `model` whose first chunk comes after `first`, then one more.
#[tracks_tokens(model = model)]
fn ins_stream(model: &'static str, first: Duration) -> impl Stream<Item = Tokens> {
    stream::iter([first, Duration::ZERO]).then(|wait| async move {
        tokio::time::sleep(wait).await;
        Tokens::default()
    })
}

/// `n` streamed calls to `model` at once, each with its first chunk after `first_ms`.
fn streams(model: &'static str, n: usize, first_ms: u64) {
    let first = Duration::from_millis(first_ms);
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(futures_util::future::join_all(
            (0..n).map(|_| ins_stream(model, first).count()),
        ));
}

/// A metered call to `model` with `written` input tokens written to the cache and `read` read
/// from it.
#[tracks_tokens(model = model)]
fn ins_cached(model: &'static str, written: u64, read: u64) -> Tokens {
    Tokens::new(written + read, 0)
        .cache_write(written)
        .cached(read)
}

/// The message with every duration (`152 ms`, `5.3 ms`, `1.2 s`) replaced by `<t>`, and the
/// durations in seconds.
fn without_durations(message: &str) -> (String, Vec<f64>) {
    let words: Vec<&str> = message.split(' ').collect();
    let (mut out, mut found) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < words.len() {
        let scale = words.get(i + 1).and_then(|unit| match *unit {
            "µs" => Some(1e-6),
            "ms" => Some(1e-3),
            "s" => Some(1.0),
            _ => None,
        });
        match (words[i].parse::<f64>(), scale) {
            (Ok(value), Some(scale)) => {
                found.push(value * scale);
                out.push("<t>");
                i += 2;
            }
            _ => {
                out.push(words[i]);
                i += 1;
            }
        }
    }
    (out.join(" "), found)
}

/// The insights of `kind` whose message mentions `text`.
fn find<'a>(all: &'a [Insight], kind: &str, text: &str) -> Vec<&'a Insight> {
    all.iter()
        .filter(|i| i.kind == kind && i.message.contains(text))
        .collect()
}

/// The one insight of `kind` that mentions `text`; fails with every insight shown.
fn one<'a>(all: &'a [Insight], kind: &str, text: &str) -> &'a Insight {
    let found = find(all, kind, text);
    assert_eq!(found.len(), 1, "one {kind} about {text} in {all:#?}");
    found[0]
}

/// The number right before the first `%` of a message.
fn percentage(message: &str) -> f64 {
    let end = message.find('%').expect("a percentage");
    let start = message[..end]
        .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or(0, |i| i + 1);
    message[start..end].parse().expect("a number")
}

#[test]
fn insights_say_what_stands_out_in_the_history() {
    set_price("ins-model-big", Price::per_million(1.0, 1.0)).unwrap();
    set_price("ins-model-small", Price::per_million(1.0, 1.0)).unwrap();
    for _ in 0..3 {
        big();
    }
    small();
    free();
    free();

    // Twenty minutes of traffic, a tick every ten seconds. Windows as of `now`: the 10 minutes
    // before the last 5 (ticks 31 to 90) are the baseline, ticks 91 to 120 the recent past.
    let t0 = 1_950_000_000;
    tick_at(at(t0));
    let (cold, lukewarm, warm, tiny) = (
        monitor_core::cache("ins-cold"),
        monitor_core::cache("ins-lukewarm"),
        monitor_core::cache("ins-warm"),
        monitor_core::cache("ins-tiny"),
    );
    for k in 1..=120u64 {
        let recent = k > 90;
        for i in 0..10 {
            // 5 % of calls fail, then 40 %.
            let fail = if recent { i < 4 } else { i == 0 && k % 2 == 0 };
            let _ = ins_flaky(fail, 1000 + k * 10 + i);
            // 10 % throughout.
            let _ = ins_steady(i == 0);
        }
        // Rarely called: all five recent calls fail, too few to judge.
        if k % 6 == 0 {
            let _ = ins_sparse(recent);
        }
        if recent {
            cold.record(k % 10 == 0);
            lukewarm.record(k % 3 == 0);
            warm.record(k % 10 != 0);
            if k % 10 == 0 {
                tiny.miss();
            }
        }
        if k > 100 {
            render(concepts(fetch(k)));
            ins_slow();
        }
        // Streamed calls, all of a window's at once: times to first chunk of 5 ms in the
        // baseline; in the recent past, 150 ms for one model, still 5 ms for another, 40 ms for
        // a third (8 times as long, but not 100 ms longer), and 150 ms for a model with too few
        // calls to judge.
        if k == 60 {
            streams("ins-ttft-rising", 24, 5);
            streams("ins-ttft-steady", 24, 5);
            streams("ins-ttft-slight", 24, 5);
            streams("ins-ttft-sparse", 24, 5);
        }
        if k == 100 {
            streams("ins-ttft-rising", 24, 150);
            streams("ins-ttft-steady", 24, 5);
            streams("ins-ttft-slight", 24, 40);
            streams("ins-ttft-sparse", 5, 150);
        }
        tick_at(at(t0 + 10 * k));
    }
    let now = at(t0 + 1200);
    let all = insights_at(&LeakDetector::new(DEFAULT_LEAK_THRESHOLD), now);

    // Warnings first, then information.
    let severities: Vec<Severity> = all.iter().map(|i| i.severity).collect();
    assert!(
        severities.windows(2).all(|w| w[0] >= w[1]),
        "warnings first: {all:#?}"
    );

    // The error rate that rose, and neither the steady one nor the one with too few calls.
    let rising = one(&all, "rising_errors", "`ins_flaky`");
    assert_eq!(rising.severity, Severity::Warning);
    assert_eq!(
        rising.message,
        "Errors are rising in handler `ins_flaky` (GET /ins/flaky): 40% of calls failed in the \
         last 5 min (120 of 300), up from 5% in the 10 min before"
    );
    assert!(
        find(&all, "rising_errors", "ins_steady").is_empty(),
        "{all:#?}"
    );
    assert!(
        find(&all, "rising_errors", "ins_sparse").is_empty(),
        "{all:#?}"
    );

    // The model whose time to first chunk rose, and none of the others.
    let ttft = one(&all, "rising_first_chunk", "`ins-ttft-rising`");
    assert_eq!(ttft.severity, Severity::Warning);
    let (message, durations) = without_durations(&ttft.message);
    assert_eq!(
        message,
        "Time to first chunk is rising for model `ins-ttft-rising`: p99 <t> in the last 5 min \
         (24 calls), up from <t> in the 10 min before",
        "{}",
        ttft.message
    );
    // Sleeps last at least as long as asked, and on a loaded machine some ms longer.
    assert!(
        (0.148..0.5).contains(&durations[0]) && (0.0049..0.05).contains(&durations[1]),
        "{}",
        ttft.message
    );
    for model in ["ins-ttft-steady", "ins-ttft-slight", "ins-ttft-sparse"] {
        assert!(
            find(&all, "rising_first_chunk", model).is_empty(),
            "{model}: {all:#?}"
        );
    }

    // The stage that takes most of its pipeline.
    let stage = one(&all, "slowest_stage", "pipeline `ins_pipe`");
    assert_eq!(stage.severity, Severity::Info);
    assert!(
        stage.message.starts_with("Stage `concepts` takes ")
            && stage
                .message
                .contains("of pipeline `ins_pipe`'s time in the last 15 min")
            && stage.message.contains(" ms, 20 calls)"),
        "{}",
        stage.message
    );
    assert!(percentage(&stage.message) >= 90.0, "{}", stage.message);

    // The slowest handler by p99.
    let handler = one(&all, "slowest_handler", "");
    assert!(
        handler
            .message
            .starts_with("The slowest handler by p99 is handler `ins_slow` (GET /ins/slow): p99 ")
            && handler
                .message
                .ends_with("over 20 calls in the last 15 min"),
        "{}",
        handler.message
    );

    // Caches: a warning under 20 %, information under 50 %, nothing for a warm or barely used one.
    let cold = one(&all, "cache", "`ins-cold`");
    assert_eq!(cold.severity, Severity::Warning);
    assert_eq!(
        cold.message,
        "Cache `ins-cold` hits only 10% of lookups (3 of 30) in the last 15 min"
    );
    let lukewarm = one(&all, "cache", "`ins-lukewarm`");
    assert_eq!(lukewarm.severity, Severity::Info);
    assert!(lukewarm.message.contains("33% of lookups (10 of 30)"));
    assert!(find(&all, "cache", "ins-warm").is_empty(), "{all:#?}");
    assert!(find(&all, "cache", "ins-tiny").is_empty(), "{all:#?}");

    // The costliest model, and the one without a price.
    let model = one(&all, "costliest_model", "");
    assert_eq!(
        model.message,
        "Model `ins-model-big` costs the most: $3.00, 75% of the $4.00 spent on priced models \
         since the start (3.0M tokens in 3 calls)"
    );
    let unpriced = one(&all, "unpriced_models", "");
    assert_eq!(
        unpriced.message,
        "No price for model `ins-model-free`: the cost of its 1.0k tokens in 2 calls is unknown; set \
         one with `monitor_core::pricing::set_price`"
    );

    // The most frequent error, as its redacted, normalised pattern.
    let pattern = one(&all, "error_pattern", "");
    assert_eq!(
        pattern.message,
        "The most frequent error is \"upstream timeout after <n> ms, api_key=<redacted>\": 165 \
         times in handler `ins_flaky` (GET /ins/flaky)"
    );
    assert!(!pattern.message.contains("sk-live"));

    // Memory did not climb a megabyte a second over the ticks.
    assert!(find(&all, "leak", "").is_empty(), "{all:#?}");

    // A healthy stretch afterwards: the rate falls back, nothing is rising.
    for k in 121..=180u64 {
        for i in 0..10 {
            let _ = ins_flaky(i == 0 && k % 2 == 0, k);
        }
        tick_at(at(t0 + 10 * k));
    }
    let later = insights_at(&LeakDetector::new(DEFAULT_LEAK_THRESHOLD), at(t0 + 1800));
    assert!(find(&later, "rising_errors", "").is_empty(), "{later:#?}");
    assert!(
        find(&later, "rising_first_chunk", "").is_empty(),
        "{later:#?}"
    );

    // Warnings first. How `/api/insights` spells them is the dashboard's wire format, pinned by
    // its `tests/wire/insights.json`.
    assert_eq!(all[0].severity, Severity::Warning);
    assert!(!all[0].kind.is_empty() && !all[0].message.is_empty());
}

#[test]
fn a_prompt_cache_whose_writes_cost_more_than_its_reads_save_is_flagged() {
    // Anthropic's ratios: cache writes at 1.25 times input, reads at a tenth. The costs stay
    // under half a cent in all, so that the costliest model's share in the other test holds.
    let price = Price::per_million(1.00, 1.00)
        .with_cached_input(0.10)
        .with_cache_write(1.25);
    for model in [
        "ins-cache-waste",
        "ins-cache-pays",
        "ins-cache-once",
        "ins-cache-new",
    ] {
        set_price(model, price.clone()).unwrap();
    }
    // Written on every call, hardly read: 2,000 tokens written, 200 read.
    for _ in 0..20 {
        ins_cached("ins-cache-waste", 100, 10);
    }
    // Written once, read on each later call.
    ins_cached("ins-cache-pays", 100, 0);
    for _ in 0..19 {
        ins_cached("ins-cache-pays", 0, 100);
    }
    // Each prompt written once and read once: the write cost more than the read saved
    // ($0.0000625 against $0.000045 a prompt), yet caching saved money: 1.25 + 0.1 times the
    // input rate against 2 times without a cache.
    for _ in 0..10 {
        ins_cached("ins-cache-once", 50, 0);
        ins_cached("ins-cache-once", 0, 50);
    }
    // Written on every call, but too few calls yet to judge.
    for _ in 0..5 {
        ins_cached("ins-cache-new", 100, 0);
    }

    let all = insights_at(&LeakDetector::new(f64::INFINITY), at(4_100_000_000));
    let waste = one(&all, "cache_writes", "`ins-cache-waste`");
    assert_eq!(waste.severity, Severity::Warning);
    // Writes: 2,000 × $0.25 per million above the input rate, $0.0025 in all; reads: 200 × $0.90
    // per million saved.
    assert_eq!(
        waste.message,
        "Prompt caching costs model `ins-cache-waste` more than it saves: its 2.0k tokens written \
         to the cache cost $0.00050 more than plain input would have ($0.0025 in all), and its \
         200 read from the cache saved $0.00018 since the start"
    );
    for model in ["ins-cache-pays", "ins-cache-once", "ins-cache-new"] {
        assert!(
            find(&all, "cache_writes", model).is_empty(),
            "{model}: {all:#?}"
        );
    }
}

#[test]
fn without_history_the_totals_since_the_start_are_used() {
    for _ in 0..5 {
        wait();
        quick();
    }
    // Long after any tick: the history has nothing for the window.
    let all = insights_at(&LeakDetector::new(f64::INFINITY), at(4_000_000_000));
    let stage = one(&all, "slowest_stage", "pipeline `ins_fallback`");
    assert!(
        stage.message.starts_with("Stage `wait` takes ")
            && stage
                .message
                .contains("of pipeline `ins_fallback`'s time since the start")
            && stage.message.contains(" ms, 5 calls)"),
        "{}",
        stage.message
    );
    assert!(percentage(&stage.message) >= 90.0, "{}", stage.message);
    assert!(find(&all, "rising_errors", "").is_empty(), "{all:#?}");
    assert!(find(&all, "leak", "").is_empty(), "{all:#?}");
}

#[test]
fn a_steady_climb_of_memory_is_a_suspected_leak() {
    // One sample a second for two minutes, growing 50 kB a second: 3 MB a minute.
    let rising: Vec<(f64, f64)> = (0..120)
        .map(|s| (f64::from(s), 200e6 + 50e3 * f64::from(s)))
        .collect();
    let two_minutes = std::time::Duration::from_secs(120);
    let verdict = LeakDetector::new(1024.0)
        .window(two_minutes)
        .assess(&rising);
    let insight = leak_insight(&verdict).expect("a suspected leak");
    assert_eq!(insight.severity, Severity::Warning);
    assert_eq!(insight.kind, "leak");
    assert_eq!(
        insight.message,
        "Memory keeps rising: resident size grows 3.0 MB/min, steadily over the last 2 min \
         (120 samples, fit 1.00) and still in the later half; a leak is suspected"
    );

    // Noise around a flat level, and a climb below the threshold, are not.
    let flat: Vec<(f64, f64)> = (0..120)
        .map(|s| (f64::from(s), 200e6 + if s % 2 == 0 { 9e3 } else { -9e3 }))
        .collect();
    assert_eq!(
        leak_insight(&LeakDetector::new(1024.0).window(two_minutes).assess(&flat)),
        None
    );
    assert_eq!(
        leak_insight(&LeakDetector::new(1e6).window(two_minutes).assess(&rising)),
        None,
        "50 kB/s is under a 1 MB/s threshold"
    );
}
