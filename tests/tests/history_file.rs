//! The history file (`Config::history_path`, feature `persist`) with real processes: each run is
//! a process of its own (the history is process-wide), started from this test binary, writing
//! the one file the test gives it.
//!
//! - The history spans restarts: what one run recorded is in the next run's queries, added to
//!   what that run records.
//! - A run killed with SIGKILL — at a moment the test does not choose, mid-tick or mid-write —
//!   loses at most the tick it was writing: five runs in a row, each killed, and every tick a run
//!   reported written is in the history.
//! - Retention holds on disk: frames older than the retention are deleted from the file.
//! - A run that ends cleanly (the guard `init` returned dropped, back from `main`) leaves every
//!   tick in the file itself: no `-wal` with pages beside it, and a copy of the file alone holds
//!   the history.
//! - A file that is not a history is a typed error naming it, and is left untouched — and so is
//!   a write-ahead log beside it, whatever it holds.

use monitor_core::history::{Field, HistoryFileProblem, Query, TimeRange};
use monitor_core::{Config, ConfigError};
use monitor_harness::TempDir;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const MODE: &str = "MONITOR_HISTORY_FILE_CHILD";
const FILE: &str = "MONITOR_HISTORY_FILE_PATH";
/// Calls a child makes between two ticks; every fourth fails.
const CALLS_PER_TICK: u64 = 40;

#[monitor_core::monitored_handler]
fn persisted_work(n: u64) -> Result<u64, String> {
    if n % 4 == 3 {
        Err(format!("call {n} failed"))
    } else {
        Ok(n)
    }
}

/// `(calls, errors)` of `persisted_work` in the history over the last day.
fn history_calls() -> (u64, u64) {
    let q = Query::new(TimeRange::Last(Duration::from_secs(86_400)))
        .filter(Field::Site, "persisted_work");
    let result = monitor_core::history::query(&q).expect("the query runs");
    result.groups.iter().fold((0, 0), |(c, e), g| {
        (c + g.figures.calls(), e + g.figures.errors)
    })
}

/// One tick's worth of calls, then the tick, written to the file when `tick_at` returns.
fn calls_then_tick(at: SystemTime, first: u64) {
    for n in first..first + CALLS_PER_TICK {
        let _ = persisted_work(n);
    }
    monitor_core::history::tick_at(at);
}

/// The child's side: runs the mode named in the environment. Does nothing as a plain test.
#[test]
fn child() {
    let Ok(mode) = std::env::var(MODE) else {
        return;
    };
    let path = std::env::var(FILE).expect("a path");
    let mut config = Config::new().history_path(&path);
    if mode == "retention" {
        config.retention = Duration::from_secs(3600);
    }
    config.apply().expect("the history file opens");
    let (loaded, _) = history_calls();
    println!("LOADED {loaded}");
    match mode.as_str() {
        // Five ticks of calls, then what the history holds.
        "run" => {
            for tick in 0..5 {
                calls_then_tick(SystemTime::now(), tick * CALLS_PER_TICK);
            }
        }
        // Ticks until killed (bounded: a child the test failed to kill still ends), each reported
        // once written.
        "until-killed" => {
            for tick in 0..3_000 {
                calls_then_tick(SystemTime::now(), tick * CALLS_PER_TICK);
                println!("WRITTEN {}", CALLS_PER_TICK * (tick + 1));
            }
        }
        // Five ticks, with the collector running too, and a clean end: the guard dropped (the
        // collector stopped, the file closed), then back from `main`.
        "clean" => {
            let _monitor = monitor_core::init(config).expect("the runtime starts");
            for tick in 0..5 {
                calls_then_tick(SystemTime::now(), tick * CALLS_PER_TICK);
            }
            let (calls, errors) = history_calls();
            println!("HISTORY {calls} {errors}");
            return;
        }
        // Two ticks in one millisecond, then an exit that closes nothing, as a kill would.
        "same-millisecond" => {
            let at = SystemTime::now();
            calls_then_tick(at, 0);
            calls_then_tick(at, CALLS_PER_TICK);
            println!("WRITTEN {}", 2 * CALLS_PER_TICK);
            std::process::exit(0);
        }
        // Three hours ago, then now, with an hour's retention.
        "retention" => {
            let now = SystemTime::now();
            let earlier = now - Duration::from_secs(3 * 3600);
            monitor_core::history::tick_at(earlier);
            calls_then_tick(earlier + Duration::from_secs(1), 0);
            calls_then_tick(earlier + Duration::from_secs(2), 0);
            monitor_core::history::tick_at(now - Duration::from_secs(2));
            calls_then_tick(now - Duration::from_secs(1), 0);
        }
        _ => {}
    }
    let (calls, errors) = history_calls();
    println!("HISTORY {calls} {errors}");
}

/// Runs this binary's `child` test in a process of its own, in `mode`, on the file at `path`.
fn spawn(mode: &str, path: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "child", "--nocapture", "--test-threads", "1"])
        .env(MODE, mode)
        .env(FILE, path)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the child starts")
}

/// The number after `label` on a line of the child's output (libtest may print its own text
/// ahead of it on the same line).
fn value_of(line: &str, label: &str) -> Option<Vec<u64>> {
    let (_, rest) = line.split_once(&format!("{label} "))?;
    rest.split_whitespace().map(|n| n.parse().ok()).collect()
}

/// Runs a child to its end: `(loaded, [calls, errors])`.
fn run(mode: &str, path: &Path) -> (u64, Vec<u64>) {
    let out = spawn(mode, path)
        .wait_with_output()
        .expect("the child ends");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{mode} child failed: {text}");
    let find = |label| {
        text.lines()
            .find_map(|l| value_of(l, label))
            .unwrap_or_else(|| panic!("no {label} from the {mode} child: {text}"))
    };
    (find("LOADED")[0], find("HISTORY"))
}

#[test]
fn the_history_spans_restarts() {
    if std::env::var_os(MODE).is_some() {
        return;
    }
    let dir = TempDir::new("history-restarts").expect("temp dir");
    let path = dir.path().join("history.db");
    let one_run = 5 * CALLS_PER_TICK;
    let one_run_errors = one_run / 4;

    let (loaded, history) = run("run", &path);
    assert_eq!(
        (loaded, history.as_slice()),
        (0, &[one_run, one_run_errors][..])
    );
    let (loaded, history) = run("run", &path);
    assert_eq!(loaded, one_run, "the second run loads the first");
    assert_eq!(history, [2 * one_run, 2 * one_run_errors]);
    let (loaded, history) = run("read", &path);
    assert_eq!(loaded, 2 * one_run);
    assert_eq!(history, [2 * one_run, 2 * one_run_errors]);
}

/// A tick in the same millisecond as the write before adds to the frame that write wrote without
/// moving its end: it is written all the same, not left for the next tick (which a kill would
/// never let come).
#[test]
fn a_tick_in_the_same_millisecond_as_the_last_write_is_written_too() {
    if std::env::var_os(MODE).is_some() {
        return;
    }
    let dir = TempDir::new("history-same-ms").expect("temp dir");
    let path = dir.path().join("history.db");
    let out = spawn("same-millisecond", &path)
        .wait_with_output()
        .expect("the child ends");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("WRITTEN {}", 2 * CALLS_PER_TICK)),
        "{text}"
    );
    let (loaded, history) = run("read", &path);
    assert_eq!(loaded, 2 * CALLS_PER_TICK);
    assert_eq!(history, [2 * CALLS_PER_TICK, 2 * CALLS_PER_TICK / 4]);
}

#[test]
fn a_run_killed_with_sigkill_loses_at_most_the_tick_it_was_writing() {
    if std::env::var_os(MODE).is_some() {
        return;
    }
    let dir = TempDir::new("history-sigkill").expect("temp dir");
    let path = dir.path().join("history.db");
    // Reported written by the runs so far: the history holds at least this, and at most one
    // unreported tick more per run (written, then killed before it could say so).
    let mut reported = 0;
    let runs = 5;
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(7, |d| d.subsec_nanos() as u64);
    for run in 0..runs {
        let mut child = spawn("until-killed", &path);
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let loaded = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| value_of(&l, "LOADED"))
            .expect("the child loads")[0];
        assert!(
            (reported..=reported + run * CALLS_PER_TICK).contains(&loaded),
            "run {run} loaded {loaded}, with {reported} reported written before"
        );
        // Killed after a number of ticks and a fraction of a tick that vary from run to run.
        let ticks = 10 + (seed >> run) % 20;
        let mut written = 0;
        let started = Instant::now();
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(n) = value_of(&line, "WRITTEN") {
                written = n[0];
                if written >= ticks * CALLS_PER_TICK {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the child stalls"
            );
        }
        std::thread::sleep(Duration::from_micros((seed >> (run + 3)) % 3_000));
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reaped");
        assert!(!status.success(), "run {run} was not killed: {status}");
        // What it wrote after the last line read counts as reported too: it said so.
        written = written.max(
            lines
                .map_while(Result::ok)
                .filter_map(|l| value_of(&l, "WRITTEN"))
                .map(|n| n[0])
                .max()
                .unwrap_or(0),
        );
        assert!(written >= ticks * CALLS_PER_TICK);
        reported = loaded.max(reported) + written;
        eprintln!("run {run}: loaded {loaded}, killed after {written} reported written");
    }
    let (loaded, history) = run("read", &path);
    assert_eq!(loaded, history[0]);
    assert!(
        (reported..=reported + runs * CALLS_PER_TICK).contains(&loaded),
        "the history holds {loaded} calls; {reported} were reported written"
    );
    assert_eq!(
        history[1],
        history[0] / 4,
        "errors survive with their calls"
    );
}

#[test]
fn retention_holds_on_disk() {
    if std::env::var_os(MODE).is_some() {
        return;
    }
    let dir = TempDir::new("history-retention").expect("temp dir");
    let path = dir.path().join("history.db");
    let (_, history) = run("retention", &path);
    // The calls of three hours ago are past the hour kept; the latest tick's are in.
    assert_eq!(history, [CALLS_PER_TICK, CALLS_PER_TICK / 4]);
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    let conn = rusqlite::Connection::open(&path).expect("the file opens");
    let (frames, oldest): (i64, Option<i64>) = conn
        .query_row("SELECT COUNT(*), MIN(start_ms) FROM frames", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .expect("frames counted");
    assert!(frames > 0, "the recent frames are on disk");
    drop(conn);
    let oldest = oldest.expect("a frame");
    // Hour frames start on the hour: the oldest kept may start up to an hour before the
    // retention's edge, never three hours back.
    assert!(
        now_ms - oldest < 2 * 3_600_000 + 60_000,
        "a frame from {} s ago is still on disk",
        (now_ms - oldest) / 1000
    );
    let (_, history) = run("read", &path);
    assert_eq!(history, [CALLS_PER_TICK, CALLS_PER_TICK / 4]);
}

/// The bytes of `path`, or `None` when there is no file.
fn bytes_of(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

/// The write-ahead log SQLite keeps beside the database at `path`.
fn wal_of(path: &Path) -> std::path::PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    wal.into()
}

#[test]
fn a_clean_exit_leaves_every_tick_in_the_file_itself() {
    if std::env::var_os(MODE).is_some() {
        return;
    }
    let dir = TempDir::new("history-clean-exit").expect("temp dir");
    let path = dir.path().join("history.db");
    let one_run = 5 * CALLS_PER_TICK;
    let (loaded, history) = run("clean", &path);
    assert_eq!(
        (loaded, history.as_slice()),
        (0, &[one_run, one_run / 4][..])
    );
    let wal = std::fs::metadata(wal_of(&path)).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "the clean exit left {wal} bytes in the -wal");
    // The file alone, as a copy or a backup takes it: every tick the run reported is in it.
    let elsewhere = TempDir::new("history-clean-exit-copy").expect("temp dir");
    let copy = elsewhere.path().join("copy.db");
    std::fs::copy(&path, &copy).expect("copied");
    let (loaded, history) = run("read", &copy);
    assert_eq!(loaded, one_run, "the copy of the file alone");
    assert_eq!(history, [one_run, one_run / 4]);
    // Twice more: a file reopened, written and closed again is whole each time.
    let (loaded, _) = run("clean", &path);
    assert_eq!(loaded, one_run);
    std::fs::copy(&path, &copy).expect("copied");
    assert_eq!(run("read", &copy).1, [2 * one_run, 2 * one_run / 4]);
}

#[test]
fn a_main_file_that_is_not_a_history_is_refused_whatever_log_lies_beside_it() {
    if std::env::var_os(MODE).is_some() {
        return;
    }
    let dir = TempDir::new("history-foreign-wal").expect("temp dir");
    // A history killed mid-run: its latest ticks are in its log, which a restart replays.
    let history = dir.path().join("history.db");
    let mut child = spawn("until-killed", &history);
    let stdout = child.stdout.take().expect("piped");
    let written = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| value_of(&l, "WRITTEN"))
        .map(|n| n[0])
        .find(|n| *n >= 3 * CALLS_PER_TICK)
        .expect("the child writes ticks");
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let history_log = bytes_of(&wal_of(&history)).expect("the killed run's -wal");
    assert!(history_log.len() > 32, "a log with pages in it");

    // Another program's database, with its own log holding its latest rows.
    let app = dir.path().join("app.db");
    {
        let conn = rusqlite::Connection::open(&app).expect("made");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("WAL");
        conn.execute_batch(
            "CREATE TABLE orders (id INTEGER, amount INTEGER); \
             INSERT INTO orders VALUES (1, 20), (2, 35);",
        )
        .expect("written");
        // Closed without moving its log into it, as a process that crashed leaves it.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .expect("set");
    }
    let app_log = bytes_of(&wal_of(&app)).expect("the app's -wal");
    assert!(app_log.len() > 32);
    // Cases: a main file, and the log beside it.
    let foreign_main = bytes_of(&app).expect("read");
    let cases: [(&str, Vec<u8>, &[u8], HistoryFileProblem); 3] = [
        // Another program's file and log.
        (
            "app.db",
            foreign_main.clone(),
            &app_log,
            HistoryFileProblem::Foreign,
        ),
        // A history's log that would cover a main file that is not one.
        (
            "replaced.db",
            foreign_main,
            &history_log,
            HistoryFileProblem::Foreign,
        ),
        // A main file emptied, beside a history's log: SQLite would delete the log.
        (
            "emptied.db",
            Vec::new(),
            &history_log,
            HistoryFileProblem::Corrupt {
                detail: String::new(),
            },
        ),
    ];
    for (name, main, log, expected) in cases {
        let path = dir.path().join("cases").join(name);
        std::fs::create_dir_all(path.parent().expect("a directory")).expect("made");
        std::fs::write(&path, &main).expect("written");
        std::fs::write(wal_of(&path), log).expect("written");
        let Err(ConfigError::History(error)) = Config::new().history_path(&path).apply() else {
            panic!("{name} with a log beside it taken for a history");
        };
        assert_eq!(error.path, path, "{name}");
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{name}: {error}"
        );
        match (&error.problem, &expected) {
            (HistoryFileProblem::Corrupt { detail }, HistoryFileProblem::Corrupt { .. }) => {
                assert!(detail.contains("-wal"), "{name}: {detail}");
            }
            (problem, expected) => assert_eq!(problem, expected, "{name}: {error}"),
        }
        assert_eq!(bytes_of(&path), Some(main), "{name}: the main file changed");
        assert_eq!(
            bytes_of(&wal_of(&path)).as_deref(),
            Some(log),
            "{name}: the log changed"
        );
    }

    // The killed history itself loads, its log replayed: every tick it reported, and then its
    // clean end leaves it whole.
    let (loaded, _) = run("clean", &history);
    assert!(
        loaded >= written,
        "loaded {loaded}, {written} reported written"
    );
    assert_eq!(
        std::fs::metadata(wal_of(&history)).map_or(0, |m| m.len()),
        0
    );
}

#[test]
fn a_file_that_is_not_a_history_is_a_config_error_naming_it_and_is_left_as_it_was() {
    if std::env::var_os(MODE).is_some() {
        return;
    }
    let dir = TempDir::new("history-foreign").expect("temp dir");
    let path = dir.path().join("orders.csv");
    let text = "id,amount\n1,20\n".repeat(500);
    std::fs::write(&path, &text).expect("written");

    let config = Config::from_vars([("MONITOR_HISTORY_PATH", path.as_os_str())])
        .expect("a path is a valid value");
    let Err(ConfigError::History(error)) = config.apply() else {
        panic!("a CSV file taken for a history");
    };
    assert_eq!(error.path, path);
    assert_eq!(error.problem, HistoryFileProblem::NotADatabase);
    assert_eq!(
        error.to_string(),
        format!(
            "history file {} is not a monitor history (it is not a SQLite database); move it \
             away or name another path",
            path.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&path).expect("read"), text);

    let empty = Config::from_vars([("MONITOR_HISTORY_PATH", "")]).unwrap_err();
    assert_eq!(
        empty.to_string(),
        "MONITOR_HISTORY_PATH=\"\" is not valid: expected a path to a history file"
    );
}
