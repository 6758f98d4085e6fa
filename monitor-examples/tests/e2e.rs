//! End to end: the logo service on a free loopback port under a small load; the summary, the JSON
//! API and `/metrics` must tell exactly the load that was sent, and the LLM streams' timings,
//! tokens by kind and cut-off calls.

use logo_service::load::{LoadOptions, drive};
use monitor_dashboard::DashboardConfig;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The service's binary counts its heap; so does this test, to check the heap reaches /metrics.
#[global_allocator]
static ALLOC: monitor_core::memory::MonitoredAlloc = monitor_core::memory::MonitoredAlloc::system();

const TOKEN: &str = "e2e-test-token-42";
const REQUESTS: usize = 40;

/// The value of the sample of `name` whose labels include every one of `labels`.
fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let (labels_part, value) = match rest.strip_prefix('{') {
            Some(r) => r.split_once("} ")?,
            None => ("", rest.strip_prefix(' ')?),
        };
        labels
            .iter()
            .all(|(k, v)| labels_part.contains(&format!("{k}=\"{v}\"")))
            .then(|| value.trim().parse().ok())?
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_reports_exactly_the_load_it_served() {
    monitor_core::pricing::set_table(logo_service::example_prices());
    let dashboard = DashboardConfig::new().token(TOKEN).unwrap();
    let (addr, _server) = logo_service::start("127.0.0.1:0".parse().unwrap(), dashboard)
        .await
        .unwrap();
    let base = format!("http://{addr}");
    let options = LoadOptions {
        requests: REQUESTS,
        concurrency: 4,
    };
    let started = Instant::now();
    let load = drive(&base, &options, |_| {}).await;
    assert_eq!(load.create_sent, REQUESTS);
    assert_eq!(load.failures, 0, "{load:?}");
    assert_eq!(
        load.created + load.rejected + load.unavailable + load.abandoned,
        REQUESTS,
        "{load:?}"
    );
    // 40 requests: bodies 24 is malformed, prompts 8, 19 and 30 have no words.
    assert_eq!(load.rejected, 4, "{load:?}");
    // Requests 6 and 26 come from impatient clients, who give up before the pipeline is done.
    assert!(load.abandoned >= 1, "{load:?}");
    assert_eq!(load.not_found, REQUESTS / 10);

    // The layer records a request when its response body has ended on the server side, an
    // instant after the client read it.
    let handler = |name: &str| {
        monitor_core::sites()
            .find(|s| s.qualified_name() == name)
            .unwrap()
            .stats()
    };
    // A request whose client went away ends when the server notices the connection closed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while (handler("get_logo_svg").calls() < load.svg_sent as u64
        || handler("create_logo").calls() < REQUESTS as u64)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let create = handler("create_logo");
    assert_eq!(create.calls(), REQUESTS as u64);
    assert_eq!(create.cancelled, load.abandoned as u64, "{create:?}");
    assert_eq!(create.client_errors, load.rejected as u64);
    assert_eq!(create.errors, load.unavailable as u64);
    assert_eq!(create.status_classes().success, load.created as u64);
    let get = handler("get_logo");
    assert_eq!(get.calls(), load.get_sent as u64);
    assert_eq!(get.client_errors, load.not_found as u64);
    assert_eq!(handler("get_logo_svg").calls(), load.svg_sent as u64);

    // The summary says the same.
    let summary = logo_service::summary(started.elapsed(), &load);
    let row = |name: &str| {
        summary
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no row for {name} in\n{summary}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    // kind, site, method, path, calls, errors, 4xx, …
    let create_row = row("create_logo");
    assert_eq!(create_row[4], REQUESTS.to_string(), "{summary}");
    assert_eq!(create_row[6], load.rejected.to_string(), "{summary}");
    assert_eq!(row("get_logo")[4], load.get_sent.to_string(), "{summary}");
    assert_eq!(row("get_logo")[6], load.not_found.to_string(), "{summary}");
    assert!(summary.contains("cache logos:"), "{summary}");
    // Per model: streams with their times to first chunk, and cost by token kind.
    let model_row = |table: &str, model: &str| {
        let start = summary
            .find(table)
            .unwrap_or_else(|| panic!("no {table:?} table in\n{summary}"));
        summary[start..]
            .lines()
            .find(|l| l.split_whitespace().next() == Some(model))
            .unwrap_or_else(|| panic!("no {model} row under {table:?} in\n{summary}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    for model in [
        logo_service::prices::DRAFT_MODEL,
        logo_service::prices::JUDGE_MODEL,
    ] {
        // model, calls, chunks, p50 value and unit, p99 value and unit, …
        let streams = model_row("\nstreams ", model);
        assert!(streams[1].parse::<u64>().unwrap() > 0, "{streams:?}");
        assert!(streams[3].parse::<f64>().unwrap() > 0.0, "{streams:?}");
        assert_eq!(streams[4], "ms", "{streams:?}");
        let costs = model_row("cost by token kind", model);
        assert_eq!(costs.len(), 7, "{costs:?}");
        assert!(
            costs.iter().skip(1).all(|c| c.starts_with('$')),
            "{costs:?}"
        );
    }
    assert!(
        summary.contains("the demo's example prices, not a price list"),
        "{summary}"
    );
    assert!(
        summary.contains("prompt cache of claude-sonnet-4-5: "),
        "{summary}"
    );

    // The JSON API, behind the token.
    let client = reqwest::Client::new();
    let api = |path: &str| {
        client
            .get(format!("{base}/admin/api/{path}"))
            .bearer_auth(TOKEN)
            .send()
    };
    assert_eq!(
        reqwest::get(format!("{base}/admin/api/sites"))
            .await
            .unwrap()
            .status(),
        401
    );
    let sites: Value = api("sites?kind=handler")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let calls_of = |name: &str| {
        sites["sites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["stats"]["calls"].as_u64().unwrap())
    };
    assert_eq!(calls_of("create_logo"), Some(REQUESTS as u64));
    assert_eq!(calls_of("get_logo"), Some(load.get_sent as u64));
    assert_eq!(calls_of("get_logo_svg"), Some(load.svg_sent as u64));
    monitor_core::history::tick_at(std::time::SystemTime::now());
    let query: Value = api("query?range=15m&route=POST%20/api/logos")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(query["groups"][0]["calls"], REQUESTS as u64, "{query}");

    // The LLM client names its model per call (`model = self.model.as_str()`): queries filter and
    // group its calls by the model each call named, as /api/models counts them.
    let models: Value = api("models").await.unwrap().json().await.unwrap();
    let models = models["models"].as_array().unwrap().clone();
    assert!(models.len() >= 2, "{models:?}");
    let by_model: Value = api("query?range=15m&kind=tokens&group_by=model")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let groups = by_model["groups"].as_array().unwrap();
    assert_eq!(groups.len(), models.len(), "{by_model}");
    let streams = [handler("stream_messages"), handler("stream_chat")];
    let calls: u64 = groups.iter().map(|g| g["calls"].as_u64().unwrap()).sum();
    assert_eq!(
        calls,
        streams.iter().map(|s| s.calls()).sum::<u64>(),
        "{by_model}"
    );
    for model in &models {
        let name = model["model"].as_str().unwrap();
        let group = groups
            .iter()
            .find(|g| g["key"]["model"] == name)
            .unwrap_or_else(|| panic!("no group for {name} in {by_model}"));
        assert_eq!(group["input_tokens"], model["input_tokens"], "{name}");
        assert_eq!(group["output_tokens"], model["output_tokens"], "{name}");
        // Rate-limited calls named their model too, and reported no tokens: they are among the
        // model's calls, not among those with usage.
        assert_eq!(group["calls"], model["calls"], "{name}");
        assert!(
            model["calls"].as_u64() >= model["token_calls"].as_u64(),
            "{name}"
        );
        let filtered: Value = api(&format!("query?range=15m&model={name}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(filtered["groups"][0]["calls"], group["calls"], "{filtered}");
        assert_eq!(
            filtered["groups"][0]["input_tokens"], model["input_tokens"],
            "{filtered}"
        );
    }
    // Both models streamed: chunks, times to first chunk and per output chunk; the drafting model
    // wrote its system prompt to the cache and read it after, the judging one reasoned.
    let model = |name: &str| {
        models
            .iter()
            .find(|m| m["model"] == name)
            .unwrap_or_else(|| panic!("no {name} in {models:?}"))
    };
    for name in [
        logo_service::prices::DRAFT_MODEL,
        logo_service::prices::JUDGE_MODEL,
    ] {
        let m = model(name);
        assert!(m["streamed_calls"].as_u64() > Some(0), "{m}");
        assert!(m["chunks"].as_u64() > m["streamed_calls"].as_u64(), "{m}");
        for timing in ["first_chunk_p50", "first_chunk_p99", "per_output_chunk_p50"] {
            assert!(m[timing].as_f64() > Some(0.0), "{timing}: {m}");
        }
        assert!(m["cost_by_kind"]["output"].as_f64() > Some(0.0), "{m}");
    }
    let draft = model(logo_service::prices::DRAFT_MODEL);
    assert!(draft["cache_write_tokens"].as_u64() > Some(0), "{draft}");
    assert!(draft["cached_input_tokens"].as_u64() > Some(0), "{draft}");
    assert!(
        draft["cost_by_kind"]["cache_write"].as_f64() > Some(0.0),
        "{draft}"
    );
    let judge = model(logo_service::prices::JUDGE_MODEL);
    assert!(judge["reasoning_tokens"].as_u64() > Some(0), "{judge}");
    assert!(
        judge["cost_by_kind"]["reasoning"].as_f64() > Some(0.0),
        "{judge}"
    );
    // The streams the abandoned requests were reading were cut off: cancelled calls, whose tokens
    // reached the stage all the same (the stage's tokens are the streams', to the token).
    let cut_off: u64 = streams.iter().map(|s| s.cancelled).sum();
    assert!(cut_off >= 1, "{streams:?}");
    let concepts = handler("LogoPipeline::concepts");
    assert_eq!(concepts.cancelled, load.abandoned as u64, "{concepts:?}");
    assert_eq!(
        concepts.tokens.input,
        streams.iter().map(|s| s.tokens.input).sum::<u64>()
    );
    assert_eq!(
        concepts.tokens.output,
        streams.iter().map(|s| s.tokens.output).sum::<u64>()
    );
    let estimates: Value = api("estimates?pipeline=logo")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        estimates["pipelines"][0]["estimate"]["total_p50"]
            .as_f64()
            .unwrap()
            > 0.0,
        "{estimates}"
    );

    // The page, at the address the binary prints, with and without the trailing slash.
    for path in ["/admin/", "/admin"] {
        let page = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        assert!(page.text().await.unwrap().contains("<html"), "{path}");
    }

    // /metrics, open to the scraper.
    let metrics = reqwest::get(format!("{base}/admin/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let total_calls = |name: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| {
                l.starts_with("monitor_calls_total{") && l.contains(&format!("site=\"{name}\""))
            })
            .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum()
    };
    assert_eq!(total_calls("create_logo"), REQUESTS as f64, "{metrics}");
    assert_eq!(total_calls("get_logo_svg"), load.svg_sent as f64);
    assert!(
        sample(&metrics, "process_resident_memory_bytes", &[]).is_some_and(|v| v > 0.0),
        "{metrics}"
    );
    assert!(
        sample(&metrics, "monitor_heap_bytes", &[]).is_some_and(|v| v > 0.0),
        "{metrics}"
    );
    assert!(sample(&metrics, "monitor_heap_allocations_total", &[]).is_some_and(|v| v > 0.0));
    // Bytes the handlers' own code allocated, per call, in the stats and in /metrics.
    assert!(handler("create_logo").allocated_bytes > 0);
    assert!(
        sample(
            &metrics,
            "monitor_allocated_bytes_total",
            &[("site", "create_logo")]
        )
        .is_some_and(|v| v > 0.0),
        "{metrics}"
    );
    // The dashboard's own requests are not the service's traffic.
    assert!(
        !monitor_core::sites().any(|s| s.is_route() && s.route().unwrap_or("").contains("/admin"))
    );
}
