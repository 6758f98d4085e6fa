//! The runtime's guard: `init` starts it, one at a time; dropping it (or `shutdown`) files a last
//! tick, stops the exporters handed to it within a bounded wait, and lets go of what it owns. The
//! runtime is the process's, so these tests are a binary of their own and one test drives the
//! guard's whole life in order.

use monitor_core::exports::{ExportHealth, Exporter};
use monitor_core::history::{Field, Query, TimeRange, query, subscribe};
use monitor_core::{Config, InitError, monitored_handler};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[monitored_handler]
fn runtime_handler(n: u64) -> u64 {
    n + 1
}

/// An exporter that counts its shutdowns and answers after `delay`.
struct Counting {
    name: &'static str,
    stopped: Arc<AtomicUsize>,
    delay: Duration,
}

impl Exporter for Counting {
    fn shutdown(self: Box<Self>) -> ExportHealth {
        std::thread::sleep(self.delay);
        self.stopped.fetch_add(1, Ordering::SeqCst);
        let mut health = ExportHealth::default();
        health.exporter = self.name;
        health.sent = 1;
        health
    }
}

/// An exporter whose last push never ends (until the test lets it go).
struct Stuck(mpsc::Receiver<()>);

impl Exporter for Stuck {
    fn shutdown(self: Box<Self>) -> ExportHealth {
        let _ = self.0.recv();
        ExportHealth::default()
    }
}

fn calls_in_history() -> u64 {
    let last_hour = Query::new(TimeRange::Last(Duration::from_secs(3600)))
        .filter(Field::Site, "runtime_handler");
    query(&last_hour)
        .unwrap()
        .groups
        .iter()
        .map(|g| g.figures.calls())
        .sum()
}

#[test]
fn the_guard_owns_the_runtime_from_init_to_drop() {
    // One at a time: a second init while the first guard lives is refused, and starts nothing.
    let tick = Duration::from_millis(50);
    let config = || {
        let mut config = Config::new();
        config.tick = tick;
        config
    };
    let mut monitor = monitor_core::init(config()).unwrap();
    assert!(matches!(
        monitor_core::init(Config::new()),
        Err(InitError::AlreadyRunning)
    ));
    assert_eq!(monitor.config().tick, tick);

    // The collector the guard owns ticks: a subscriber sees ticks without anyone ticking by hand.
    let ticks = subscribe(8);
    let started = Instant::now();
    assert!(ticks.recv_timeout(Duration::from_secs(5)).is_some());
    assert!(started.elapsed() < Duration::from_secs(5));

    // Two exporters handed to it are stopped at shutdown, at once (not one after the other), and
    // their final figures reported.
    let stopped = Arc::new(AtomicUsize::new(0));
    for name in ["first", "second"] {
        monitor.own_exporter(Counting {
            name,
            stopped: Arc::clone(&stopped),
            delay: Duration::from_millis(300),
        });
    }
    // Calls since the collector's last tick are filed by the guard's last tick.
    for n in 0..25 {
        runtime_handler(n);
    }
    let before = Instant::now();
    let report = monitor.shutdown();
    assert!(report.last_tick, "{report:?}");
    assert_eq!(stopped.load(Ordering::SeqCst), 2);
    let mut names: Vec<&str> = report.exporters.iter().map(|h| h.exporter).collect();
    names.sort_unstable();
    assert_eq!(names, ["first", "second"]);
    assert_eq!(report.exporters_unfinished, 0);
    assert!(
        before.elapsed() < Duration::from_millis(550),
        "stopped one after the other: {:?}",
        before.elapsed()
    );
    assert_eq!(report.history_file, None, "no file was configured");
    assert_eq!(calls_in_history(), 25);

    // Gone: no more ticks come, and a new guard can be had.
    while ticks.try_recv().is_some() {}
    assert!(ticks.recv_timeout(Duration::from_millis(300)).is_none());
    let monitor = monitor_core::init(config()).unwrap();

    // Dropping it does the same as shutdown, silently.
    let mut monitor = monitor;
    monitor.own_exporter(Counting {
        name: "dropped",
        stopped: Arc::clone(&stopped),
        delay: Duration::ZERO,
    });
    drop(monitor);
    assert_eq!(stopped.load(Ordering::SeqCst), 3);

    // An exporter that never finishes does not hold the shutdown past its bound (10 s).
    let mut monitor = monitor_core::init(config()).unwrap();
    let (release, stuck) = mpsc::channel();
    monitor.own_exporter(Stuck(stuck));
    let before = Instant::now();
    let report = monitor.shutdown();
    let waited = before.elapsed();
    assert_eq!(report.exporters_unfinished, 1);
    assert!(report.exporters.is_empty());
    assert!(
        (Duration::from_secs(9)..Duration::from_secs(15)).contains(&waited),
        "{waited:?}"
    );
    release.send(()).unwrap();

    // A configuration that cannot be put in force starts nothing, and leaves init free.
    let mut bad = Config::new();
    bad.tick = Duration::from_millis(1);
    assert!(matches!(monitor_core::init(bad), Err(InitError::Config(_))));
    drop(monitor_core::init(Config::new()).unwrap());
}
