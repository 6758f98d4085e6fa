//! The load and fault suite: the demo's binary under wrk at full rate, scraped every second by a
//! real Prometheus and listened to by SSE clients, and then the same with faults during the run.
//! Whatever happens, the calls the monitor counted must equal the responses the client side
//! counted, to the request.
//!
//! Needs `wrk` and `prometheus` (Debian packages; `scripts/deps.sh` installs them). Without them
//! the tests say so and pass, unless `CI` is set: then they fail. Each run takes the two cores of a
//! small machine, so the fault run is a binary of its own (`load_faults.rs`): cargo runs test
//! binaries one after the other, and no lock is needed to keep the two runs apart.

#[path = "load/clients.rs"]
mod clients;
#[path = "load/demo.rs"]
mod demo;
#[path = "load/shared.rs"]
mod shared;
#[path = "load/wrk.rs"]
mod wrk;

use clients::Listeners;
use demo::{Demo, MEASURED_SITE, api_client, create_logos, heap_bytes, site_counts};
use monitor_harness::single_value;
use shared::*;
use std::time::Duration;
use wrk::Wrk;

/// Growth of the demo's resident size over the main run, at most. What the service keeps is
/// bounded whatever its traffic: the monitor's figures are fixed-size statics, its history has
/// few sites and is trimmed, its events keep the latest 10,000, route sites stop at 128, and the
/// test makes no logos during the run. What may still grow is the allocator's free lists and the
/// buffers of connections: a few MiB. 16 MiB over the run's ~150,000 requests (a debug build) is
/// ~110 bytes a request: a leak of one small allocation per request fails it.
const RSS_GROWTH_KIB: u64 = 16 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_full_load_the_monitor_counts_every_request() -> TestResult {
    let Some(wrk) = tools() else { return Ok(()) };
    let demo = Demo::start(&[])?;
    let client = api_client()?;
    let paths = create_logos(&client, &demo, LOGOS).await?;
    let prometheus = scraping(&demo, &client).await?;
    let listeners = Listeners::start(&demo, 50);
    listeners.wait_streaming(Duration::from_secs(20)).await?;

    let before = site_counts(&client, &demo).await?;
    let (rss_before, _) = demo.rss_kib()?;
    let heap_before = heap_bytes(&client, &demo).await?;
    let started = unix_now();
    let run = Wrk::start(&wrk, &demo, &paths, CONNECTIONS, MEASURED * 4)?;
    tokio::time::sleep(MEASURED).await;
    run.stop_measuring()?;
    let stopped = unix_now();
    let counts = run.finish(TAIL).await?;
    let (rss_after, rss_peak) = demo.rss_kib()?;
    let ticks = listeners.stop().await?;
    let after = site_counts(&client, &demo).await?;
    let heap_after = heap_bytes(&client, &demo).await?;
    println!("{}", counts.summary);

    counts.check_exact()?;
    let measured = after.since(&before, MEASURED_SITE);
    assert_exact(measured, &counts, 0);
    // On a route site: requests to no route are all the run sent that no handler served.
    let unmeasured = after.route_calls_since(&before);
    let seconds = stopped - started;
    println!(
        "main run: {seconds:.1} s measured over {CONNECTIONS} connections: wrk was answered \
         {} measured requests ({:.0}/s), {} of them 200; the monitor counted {} calls of \
         {MEASURED_SITE}, {} of them successes",
        counts.measured_answered(),
        counts.measured_answered() as f64 / seconds,
        counts.status(200),
        measured.calls,
        measured.success,
    );
    println!(
        "  after measuring: {} requests sent to the unmeasured path, {} answered, {} counted by \
         the monitor (wrk cut off the rest in flight, which is why they are not measured)",
        counts.unmeasured_sent,
        counts.status(404),
        unmeasured
    );

    // Every scrape in the window succeeded, once a second.
    let (made, up) = scrapes(&prometheus, &client, started, stopped).await?;
    let slowest = prometheus
        .query(
            &client,
            &format!(
                "max_over_time(scrape_duration_seconds{{job=\"monitor\"}}[{}s] @ {stopped:.3})",
                seconds.ceil()
            ),
        )
        .await?;
    println!(
        "  prometheus: {made} scrapes in {seconds:.1} s, {up} of them up; slowest {:.3} s",
        single_value(&slowest).unwrap_or(f64::NAN)
    );
    assert_eq!(up, made, "a scrape failed:\n{}", prometheus.log());
    // A scrape a second: a failed or skipped one would show here (and a slow one fails).
    assert!(
        (seconds - 2.0..=seconds + 1.0).contains(&made),
        "{made} scrapes in {seconds:.1} s"
    );
    scraped_calls_reach(&prometheus, &client, after.get(MEASURED_SITE).calls).await?;

    let (fewest, most) = (
        ticks.iter().min().copied().unwrap_or(0),
        ticks.iter().max().copied().unwrap_or(0),
    );
    println!(
        "  SSE: {} listeners, {fewest} to {most} ticks each",
        ticks.len()
    );
    assert!(fewest > 0, "a listener had no tick: {ticks:?}");

    println!(
        "  demo RSS: {:.1} MiB before, {:.1} MiB after (peak {:.1} MiB): {:+.1} MiB, bound {:.0} \
         MiB; heap in use {:.1} MiB before, {:.1} MiB after",
        mib(rss_before),
        mib(rss_after),
        mib(rss_peak),
        mib(rss_after) - mib(rss_before),
        mib(RSS_GROWTH_KIB),
        mib(heap_before / 1024),
        mib(heap_after / 1024),
    );
    assert!(
        rss_after <= rss_before + RSS_GROWTH_KIB,
        "RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
    Ok(())
}
