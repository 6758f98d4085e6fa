//! wrk driving the demo through `counting.lua`: exact counts of what the client side was answered,
//! and, while it runs, how many 200s it has had so far.
// Shared by the suite's two binaries (`load.rs`, `load_faults.rs`), each of which uses a part.
#![allow(dead_code)]

use crate::demo::Demo;
use monitor_harness::{Error, TempDir};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/load/counting.lua");

/// Where requests go once measuring has stopped: no route, so the measured site never sees them
/// (the monitor files them on a route site), and they answer 404.
pub(crate) const UNMEASURED_PATH: &str = "/api/unmeasured";

/// How long a service that answers may leave wrk without a 200: far more than it needs, even on a
/// loaded machine (wrk's threads report at least once a second while answered).
const ANSWERS_WITHIN: Duration = Duration::from_secs(10);

/// A wrk run of two threads; killed however the test ends.
pub(crate) struct Wrk {
    child: Child,
    stop_file: PathBuf,
    /// The latest count of 200s each wrk thread reported.
    progress: Arc<Mutex<BTreeMap<u32, u64>>>,
    /// wrk's stdout but the progress lines, once it has ended.
    output: Option<JoinHandle<Vec<String>>>,
    started: Instant,
    // The stop file and wrk's stderr; removed after the process is gone.
    dir: TempDir,
}

impl Wrk {
    /// Starts `wrk -t2 -c{connections} -d{limit}` on the measured `paths`, taken in turn. It
    /// runs until [`finish`](Wrk::finish); `limit` only bounds a run whose test never gets there.
    pub(crate) fn start(
        wrk: &std::path::Path,
        demo: &Demo,
        paths: &[String],
        connections: u32,
        limit: Duration,
    ) -> Result<Wrk, Error> {
        let dir = TempDir::new("load-wrk")?;
        let stop_file = dir.path().join("stop-measuring");
        let stderr = std::fs::File::create(dir.path().join("stderr.log"))?;
        let mut child = Command::new(wrk)
            .args(["-t2", &format!("-c{connections}")])
            .arg(format!("-d{}s", limit.as_secs()))
            .args(["-s", SCRIPT])
            .arg(demo.url(paths.first().ok_or("no path to measure")?))
            .arg("--")
            .arg(&stop_file)
            .arg(UNMEASURED_PATH)
            .args(paths)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot run {} (Debian package `wrk`): {e}", wrk.display()))?;
        let stdout = child.stdout.take();
        let progress = Arc::new(Mutex::new(BTreeMap::new()));
        let mut run = Wrk {
            child,
            stop_file,
            progress: Arc::clone(&progress),
            output: None,
            started: Instant::now(),
            dir,
        };
        let stdout = stdout.ok_or("wrk has no stdout")?;
        run.output = Some(std::thread::spawn(move || {
            let mut kept = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let reported = line.strip_prefix("progress ").and_then(|rest| {
                    let (thread, ok) = rest.split_once(' ')?;
                    Some((thread.parse::<u32>().ok()?, ok.parse::<u64>().ok()?))
                });
                match reported {
                    Some((thread, ok)) => {
                        progress
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(thread, ok);
                    }
                    None => kept.push(line),
                }
            }
            kept
        }));
        Ok(run)
    }

    /// The 200s wrk has reported so far, all threads together (a thread reports every 1,000 and
    /// at most once a second).
    pub(crate) fn ok_so_far(&self) -> u64 {
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .sum()
    }

    /// Waits until wrk reports more 200s than `seen` (for at most [`ANSWERS_WITHIN`]); the count
    /// then, or an error saying the service stopped answering wrk's connections.
    pub(crate) async fn more_than(&self, seen: u64) -> Result<u64, Error> {
        let start = Instant::now();
        loop {
            let now = self.ok_so_far();
            if now > seen {
                return Ok(now);
            }
            if start.elapsed() > ANSWERS_WITHIN {
                return Err(format!(
                    "wrk had no 200 beyond {seen} in {ANSWERS_WITHIN:?}: the service stopped \
                     answering"
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Checks once a second, for `how_long`, that wrk had more 200s than the second before: the
    /// service answered throughout. The count at the end.
    pub(crate) async fn answering_for(
        &self,
        mut seen: u64,
        how_long: Duration,
    ) -> Result<u64, Error> {
        let start = Instant::now();
        while start.elapsed() < how_long {
            tokio::time::sleep(Duration::from_secs(1).min(how_long - start.elapsed())).await;
            seen = self.more_than(seen).await?;
        }
        Ok(seen)
    }

    /// From now on every request goes to [`UNMEASURED_PATH`]; each wrk thread sees it within a
    /// second.
    pub(crate) fn stop_measuring(&self) -> std::io::Result<()> {
        std::fs::write(&self.stop_file, b"")
    }

    /// Lets wrk run `tail` longer, so that every measured request in flight is answered, ends it
    /// as Ctrl-C would (it then prints its summary and the script's counts) and reads the counts.
    pub(crate) async fn finish(mut self, tail: Duration) -> Result<WrkCounts, Error> {
        tokio::time::sleep(tail).await;
        let pid = libc::pid_t::try_from(self.child.id())?;
        // SAFETY: kill(2) with the pid of our own child, which has not been waited for, so the pid
        // is still its own.
        if unsafe { libc::kill(pid, libc::SIGINT) } != 0 {
            return Err(format!("cannot signal wrk: {}", std::io::Error::last_os_error()).into());
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                return Err("wrk did not end within 20 s of its SIGINT".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let elapsed = self.started.elapsed();
        let lines = self
            .output
            .take()
            .ok_or("wrk's output was read already")?
            .join()
            .map_err(|_| "the reader of wrk's output panicked")?;
        let stderr =
            std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
        let counts = lines
            .iter()
            .find_map(|l| l.strip_prefix("counts "))
            .ok_or_else(|| {
                format!(
                    "wrk ({status}, after {elapsed:?}) printed no counts:\n{}\n{stderr}",
                    lines.join("\n")
                )
            })?;
        WrkCounts::parse(counts, lines.join("\n"))
    }
}

impl Drop for Wrk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What wrk was answered, all threads together, as `counting.lua` counted it.
#[derive(Debug, Clone)]
pub(crate) struct WrkCounts {
    /// Measured requests sent: each must have been answered.
    pub(crate) measured_sent: u64,
    /// Requests to [`UNMEASURED_PATH`] sent; those in flight at the end were cut off.
    pub(crate) unmeasured_sent: u64,
    /// Responses, all paths, by status.
    pub(crate) statuses: BTreeMap<u16, u64>,
    pub(crate) connect_errors: u64,
    pub(crate) read_errors: u64,
    pub(crate) write_errors: u64,
    /// Requests answered later than wrk's timeout (2 s): counted all the same.
    pub(crate) timeouts: u64,
    /// wrk's own summary, for the output.
    pub(crate) summary: String,
}

impl WrkCounts {
    fn parse(line: &str, summary: String) -> Result<WrkCounts, Error> {
        let mut counts = WrkCounts {
            measured_sent: 0,
            unmeasured_sent: 0,
            statuses: BTreeMap::new(),
            connect_errors: 0,
            read_errors: 0,
            write_errors: 0,
            timeouts: 0,
            summary,
        };
        for pair in line.split_whitespace() {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("not key=value: {pair:?} in {line:?}"))?;
            let value: u64 = value
                .parse()
                .map_err(|e| format!("{pair:?} in {line:?}: {e}"))?;
            match key.strip_prefix("status_") {
                Some(status) => {
                    counts.statuses.insert(status.parse()?, value);
                }
                None => match key {
                    "measured_sent" => counts.measured_sent = value,
                    "unmeasured_sent" => counts.unmeasured_sent = value,
                    "connect_errors" => counts.connect_errors = value,
                    "read_errors" => counts.read_errors = value,
                    "write_errors" => counts.write_errors = value,
                    "timeouts" => counts.timeouts = value,
                    _ => {}
                },
            }
        }
        Ok(counts)
    }

    /// Responses with `status`.
    pub(crate) fn status(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    /// Answers to measured requests: every response but the unmeasured path's 404s (a measured
    /// request asks for a logo that exists, so it is never a 404).
    pub(crate) fn measured_answered(&self) -> u64 {
        self.statuses.values().sum::<u64>() - self.status(404)
    }

    /// Checks that the count is exact: no socket error, and every measured request answered.
    pub(crate) fn check_exact(&self) -> Result<(), Error> {
        if self.connect_errors + self.read_errors + self.write_errors > 0 {
            return Err(format!("wrk had socket errors: {self:?}").into());
        }
        if self.measured_sent != self.measured_answered() {
            return Err(format!(
                "{} measured requests sent, {} answered: some were still in flight when wrk \
                 ended (a machine this loaded needs a longer tail): {self:?}",
                self.measured_sent,
                self.measured_answered()
            )
            .into());
        }
        Ok(())
    }
}
