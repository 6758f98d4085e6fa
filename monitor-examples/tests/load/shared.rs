//! What the two binaries of the load suite (`load.rs`, `load_faults.rs`) share: the tools they
//! need, Prometheus scraping the demo, and the exact comparison of counts. Each binary uses a part
//! of it.
#![allow(dead_code)]

use crate::demo::{Counts, Demo, MEASURED_SITE};
use crate::wrk::WrkCounts;
use monitor_harness::{Error, PROMETHEUS, Prometheus, single_value};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) type TestResult = Result<(), Error>;

/// wrk's connections, as the issue asks: 32 a thread.
pub(crate) const CONNECTIONS: u32 = 64;
/// How long the main run measures.
pub(crate) const MEASURED: Duration = Duration::from_secs(30);
/// How long wrk runs past the end of measuring: every wrk thread sees the stop within a second,
/// and a measured request is answered in milliseconds, so whatever was in flight is answered well
/// within it. `WrkCounts::check_exact` says so if not.
pub(crate) const TAIL: Duration = Duration::from_secs(3);
/// The logos the measured requests ask for, in turn.
pub(crate) const LOGOS: usize = 4;

/// `wrk` on the PATH, if Prometheus is installed too; `None`, said on stderr, if either is
/// missing outside CI.
pub(crate) fn tools() -> Option<PathBuf> {
    let wrk = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("wrk"))
            .find(|p| p.is_file())
    });
    let prometheus = std::path::Path::new(PROMETHEUS).is_file();
    let missing: Vec<&str> = [("wrk", wrk.is_some()), (PROMETHEUS, prometheus)]
        .iter()
        .filter(|(_, found)| !found)
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        return wrk;
    }
    let message = format!(
        "the load suite needs {} (Debian packages `wrk` and `prometheus`: bash scripts/deps.sh)",
        missing.join(" and ")
    );
    assert!(
        !monitor_harness::in_ci(),
        "{message}; CI is set, so it fails"
    );
    // Past the test harness's capture (which takes `eprintln!`), so that the skip shows in a plain
    // `cargo test`.
    let _ = writeln!(std::io::stderr(), "load suite skipped: {message}");
    None
}

pub(crate) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Prometheus on the demo's `/admin/metrics`, once its first scrape is queryable.
pub(crate) async fn scraping(demo: &Demo, client: &reqwest::Client) -> Result<Prometheus, Error> {
    let mut prometheus = Prometheus::start(demo.addr(), "/admin/metrics")?;
    prometheus.wait_ready(client).await?;
    prometheus
        .poll(client, "up{job=\"monitor\"}", |r| {
            single_value(r) == Some(1.0)
        })
        .await?;
    Ok(prometheus)
}

/// The scrapes Prometheus made in `(from, to]` (Unix seconds), and how many of them succeeded.
pub(crate) async fn scrapes(
    prometheus: &Prometheus,
    client: &reqwest::Client,
    from: f64,
    to: f64,
) -> Result<(f64, f64), Error> {
    let window = format!("{}ms] @ {to:.3}", ((to - from) * 1e3) as u64);
    let value = |f: &str| format!("{f}(up{{job=\"monitor\"}}[{window})");
    let made = prometheus.query(client, &value("count_over_time")).await?;
    let up = prometheus.query(client, &value("sum_over_time")).await?;
    match (single_value(&made), single_value(&up)) {
        (Some(made), Some(up)) => Ok((made, up)),
        _ => Err(format!(
            "no scrapes in the window: {made:?} {up:?}\n{}",
            prometheus.log()
        )
        .into()),
    }
}

/// Polls Prometheus until what it scraped of the measured site's calls is `calls`: the exporter's
/// count, read back through Prometheus's own parser and storage.
pub(crate) async fn scraped_calls_reach(
    prometheus: &Prometheus,
    client: &reqwest::Client,
    calls: u64,
) -> TestResult {
    prometheus
        .poll(
            client,
            &format!("sum(monitor_calls_total{{site=\"{MEASURED_SITE}\"}})"),
            |r| single_value(r) == Some(calls as f64),
        )
        .await?;
    Ok(())
}

/// The measured site counted exactly what wrk (and `extra_ok` other clients) were answered.
pub(crate) fn assert_exact(measured: Counts, wrk: &WrkCounts, extra_ok: u64) {
    assert_eq!(
        measured.calls,
        wrk.measured_answered() + extra_ok,
        "calls of {MEASURED_SITE}: {measured:?}, wrk: {wrk:?}"
    );
    assert_eq!(measured.success, wrk.status(200) + extra_ok, "{measured:?}");
    assert_eq!(
        (
            measured.client_error,
            measured.server_error,
            measured.cancelled
        ),
        (0, 0, 0),
        "{measured:?}"
    );
}

pub(crate) fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
