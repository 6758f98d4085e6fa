//! The load suite's fault run (see `load.rs`): the demo under wrk while 10,000 idle connections,
//! slow clients and dropped requests hit it; counts must stay exact. A binary of its own, so that
//! it never runs beside the full-load run: each takes the machine's two cores.

#[path = "load/clients.rs"]
mod clients;
#[path = "load/demo.rs"]
mod demo;
#[path = "load/shared.rs"]
mod shared;
#[path = "load/wrk.rs"]
mod wrk;

use clients::{IdleFlood, Listeners};
use demo::{Counts, Demo, MEASURED_SITE, api_client, create_logos, heap_bytes, site_counts};
use monitor_harness::single_value;
use shared::*;
use std::time::{Duration, Instant};
use wrk::Wrk;

/// Idle connections the fault run opens at once.
const IDLE: usize = 10_000;
/// The demo's header-read (and idle) timeout in the fault run: its default is 10 s. Longer than
/// Prometheus's 1 s between scrapes, so that its kept-alive connection is never idle long enough.
const HEADER_TIMEOUT_MS: &str = "2000";
/// How long the idle connections are held.
const FLOOD: Duration = Duration::from_secs(8);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_faults_the_service_answers_and_counts_stay_exact() -> TestResult {
    let Some(wrk) = tools() else { return Ok(()) };
    // The flood's sockets are the test's own: 10,000 of them, and 1,024 left for the rest.
    let descriptors = clients::raise_descriptor_limit()?;
    let idle = IDLE.min(usize::try_from(descriptors.saturating_sub(1024))?);
    if idle < IDLE {
        println!(
            "the descriptor limit is {descriptors}: {idle} idle connections instead of {IDLE} \
             (raise the hard limit, `ulimit -Hn`, for all of them)"
        );
    }
    let demo = Demo::start(&[("MONITOR_SERVER_HEADER_TIMEOUT_MS", HEADER_TIMEOUT_MS)])?;
    let client = api_client()?;
    let paths = create_logos(&client, &demo, LOGOS).await?;
    let mut prometheus = scraping(&demo, &client).await?;
    let listeners = Listeners::start(&demo, 10);
    listeners.wait_streaming(Duration::from_secs(20)).await?;

    let before = site_counts(&client, &demo).await?;
    let (rss_before, _) = demo.rss_kib()?;
    let heap_before = heap_bytes(&client, &demo).await?;
    let run = Wrk::start(&wrk, &demo, &paths, CONNECTIONS, Duration::from_secs(150))?;
    let mut seen = run.more_than(0).await?;

    // Prometheus killed, and started again on its port and data.
    prometheus.kill();
    seen = run.answering_for(seen, Duration::from_secs(2)).await?;
    prometheus.restart()?;
    prometheus.wait_ready(&client).await?;
    let restarted = unix_now();
    // Its first scrape comes some seconds after it is ready: target discovery sends its targets
    // at most every 5 s.
    let first_scrape = prometheus
        .poll(&client, "timestamp(up{job=\"monitor\"})", |r| {
            single_value(r).is_some_and(|t| t > restarted)
        })
        .await?;
    let first_scrape = single_value(&first_scrape).unwrap_or(restarted);
    seen = run.more_than(seen).await?;
    println!(
        "faults: prometheus killed and restarted (scraping again {:.1} s after it was ready); \
         wrk's 200s so far: {seen}",
        first_scrape - restarted
    );

    // SSE clients that stop reading, and clients that hang up mid-body.
    let ticks_before_stall = listeners.ticks();
    let stalled = clients::stalled_listeners(&demo, 20).await?;
    let cut_short = clients::posts_cut_short(&demo, 100).await?;
    let read_half = clients::gets_read_half(&demo, &paths[0], 100).await?;
    seen = run.more_than(seen).await?;
    println!(
        "faults: {} SSE clients stopped reading, {cut_short} POSTs hung up mid-body, {read_half} \
         GETs read half; wrk's 200s so far: {seen}",
        stalled.len()
    );

    // Idle connections: the service keeps answering on the connections it has, every second.
    let flood_started = Instant::now();
    let flood = IdleFlood::open(demo.addr(), idle);
    // New clients meanwhile: at its cap the server closes the oldest connection that never sent
    // a byte to make room, so each is answered — the first may wait for its SYN to be retried,
    // while the flood fills the kernel's queue. They ask for the SVG, another site: one given up
    // on may still reach the server and be counted.
    let svg = demo.url(&format!("{}/svg", paths[0]));
    let probes = tokio::spawn(clients::probe_for(
        svg.clone(),
        FLOOD - Duration::from_secs(1),
        Duration::from_secs(5),
    ));
    seen = run.answering_for(seen, FLOOD).await?;
    let probes = probes.await?;
    let (rss_flood, _) = demo.rss_kib()?;
    let flood = flood.release().await?;
    let answered: Vec<_> = probes.iter().filter(|(_, r)| *r == Ok(200)).collect();
    println!(
        "faults: {idle} idle connections for {:.1} s: {} completed their handshake (on the client's \
         side), {} closed by the server's {HEADER_TIMEOUT_MS} ms timeout, {} failed; wrk's 200s so \
         far: {seen}; demo RSS {:.1} MiB",
        flood_started.elapsed().as_secs_f64(),
        flood.connected,
        flood.closed_by_server,
        flood.failed,
        mib(rss_flood),
    );
    println!(
        "  new clients during the flood: {} of {} answered, waits {:?}",
        answered.len(),
        probes.len(),
        probes
            .iter()
            .map(|(took, r)| format!(
                "{:.2} s {}",
                took.as_secs_f64(),
                r.as_ref().map_or("failed", |_| "ok")
            ))
            .collect::<Vec<_>>()
    );
    assert!(
        !answered.is_empty() && answered.len() == probes.len(),
        "new clients during the flood went unanswered: {probes:?}"
    );
    // Released, a new client is answered again.
    let fresh_started = Instant::now();
    let fresh = loop {
        match clients::fresh_get(&svg, Duration::from_secs(5)).await {
            Ok(status) => break status,
            Err(e) if fresh_started.elapsed() > Duration::from_secs(20) => {
                return Err(format!("no answer to a new client after the flood: {e}").into());
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    assert_eq!(fresh, 200);
    println!(
        "faults: after the flood a new client was answered in {:.2?}",
        fresh_started.elapsed()
    );
    seen = run.more_than(seen).await?;

    run.stop_measuring()?;
    let stopped = unix_now();
    let counts = run.finish(TAIL).await?;
    let ticks = listeners.stop().await?;
    drop(stalled);
    let after = site_counts(&client, &demo).await?;
    let (rss_after, rss_peak) = demo.rss_kib()?;
    let heap_after = heap_bytes(&client, &demo).await?;
    println!("{}", counts.summary);
    println!(
        "faults: demo RSS {:.1} MiB before, {:.1} MiB after (peak {:.1} MiB); heap in use {:.1} \
         MiB before, {:.1} MiB after; wrk's 200s: {seen} when measuring stopped",
        mib(rss_before),
        mib(rss_after),
        mib(rss_peak),
        mib(heap_before / 1024),
        mib(heap_after / 1024),
    );

    counts.check_exact()?;
    let measured = after.since(&before, MEASURED_SITE);
    println!(
        "faults: wrk was answered {} measured requests, {} of them 200; with the half-read GETs' \
         {read_half}, the monitor counted {} calls of {MEASURED_SITE}, {} successes",
        counts.measured_answered(),
        counts.status(200),
        measured.calls,
        measured.success
    );
    assert_eq!(read_half, 100, "every half-read GET had its 200");
    assert_exact(measured, &counts, read_half);
    // A POST cut short never reaches its handler: its route's site counts it, a 400 (the body
    // could not be read).
    let create = after.since(&before, "create_logo");
    assert_eq!(create, Counts::default(), "create_logo ran: {create:?}");
    let cut = after.since(&before, "POST /api/logos");
    println!("faults: the POSTs cut short, as the monitor counted them: {cut:?}");
    assert_eq!(
        (cut.calls, cut.client_error),
        (cut_short as u64, cut_short as u64),
        "{cut:?}"
    );

    // The listeners that kept reading kept receiving ticks past the stalled ones.
    assert!(
        ticks.iter().zip(&ticks_before_stall).all(|(t, b)| t > b),
        "a listener had no tick once others stalled: {ticks_before_stall:?} -> {ticks:?}"
    );
    // Restarted, Prometheus missed no scrape, and its figures are exact again.
    let (made, up) = scrapes(&prometheus, &client, restarted, stopped).await?;
    let scraping = stopped - first_scrape;
    println!(
        "faults: prometheus after its restart: {made} scrapes in the {scraping:.1} s from the \
         first one, {up} of them up"
    );
    assert_eq!(up, made, "a scrape failed:\n{}", prometheus.log());
    // The poll may have seen the second scrape rather than the first.
    assert!(
        (scraping - 1.0..=scraping + 2.0).contains(&made),
        "{made} scrapes in {scraping:.1} s"
    );
    scraped_calls_reach(&prometheus, &client, after.get(MEASURED_SITE).calls).await?;
    let log = demo.log();
    assert!(
        !log.contains("accepting a connection failed"),
        "the demo ran out of descriptors:\n{log}"
    );
    Ok(())
}
