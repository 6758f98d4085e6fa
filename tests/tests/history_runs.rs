//! Kept runs in the history file (`Config::history_path` with traces on, feature `persist`), with
//! real processes: each run of the program is a process of its own (tracing and the history are
//! process-wide), started from this test binary, on the one file the test gives it.
//!
//! - A run kept by one process is in the next one's `trace::recent_runs()` and `find_run()`,
//!   equal in every field: spans, tree, times, figures — a handler's, a route's and a failed one.
//! - The bound of the buffer of recent runs (`trace_recent_runs`) holds across restarts, in the
//!   buffer and in the file.
//! - A file of the layout before the `runs` table opens, keeps its frames, and gains the table.
//! - A run with a span of a site gone from the code is left out; the others load.
//! - A clean exit leaves the runs in the file itself: a copy of it alone holds them; the file
//!   opened again by the same process holds each run once, as does its buffer.
//! - A damaged row is a typed error naming the file and the row, the file left untouched.

use monitor_core::history::{Field, HistoryFileProblem, Query, TimeRange};
use monitor_core::request::RequestScope;
use monitor_core::trace::{self, Sampler};
use monitor_core::{Config, ConfigError, Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use monitor_harness::TempDir;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

const MODE: &str = "MONITOR_HISTORY_RUNS_CHILD";
const FILE: &str = "MONITOR_HISTORY_RUNS_PATH";
const BOUND: &str = "MONITOR_HISTORY_RUNS_BOUND";
const COUNT: &str = "MONITOR_HISTORY_RUNS_COUNT";
const ROUTE: &str = "POST /persisted-route";

#[tracks_tokens(model = "persist-model", provider = "openai")]
fn persisted_llm(n: u64) -> Result<Tokens, String> {
    Ok(Tokens::new(1_000 + n, 100 + n).cached(400))
}

#[pipeline_stage(pipeline = "persisted", stage = "draft")]
fn persisted_stage(n: u64) -> Result<(), String> {
    persisted_llm(n)?;
    persisted_llm(n + 1)?;
    Ok(())
}

#[monitored_handler(route = "POST /persisted")]
fn persisted_handler(n: u64, fail: bool) -> Result<u64, String> {
    persisted_stage(n)?;
    if fail {
        return Err(format!("run {n} failed"));
    }
    Ok(n)
}

/// The `n`th run of a child: a handler's, a failed handler's, or a request no handler served
/// (rooted at its route) whose only call is metered.
fn one_run(n: u64) {
    match n % 3 {
        0 => drop(persisted_handler(n, false)),
        1 => drop(persisted_handler(n, true)),
        _ => {
            let mut scope = RequestScope::new();
            scope.in_scope(|| persisted_llm(n)).expect("metered");
            scope.complete(502, Some(10), Some(20), ROUTE);
        }
    }
}

/// The buffer of recent runs, newest first, as JSON.
fn recent_json() -> String {
    let runs = trace::recent_runs();
    let runs: Vec<&trace::KeptRun> = runs.iter().map(|r| &**r).collect();
    serde_json::to_string(&runs).expect("runs serialize")
}

/// Calls of `persisted_handler` in the history over the last day.
fn handler_calls() -> u64 {
    let q = Query::new(TimeRange::Last(Duration::from_secs(86_400)))
        .filter(Field::Site, "persisted_handler");
    let result = monitor_core::history::query(&q).expect("the query runs");
    result.groups.iter().map(|g| g.figures.calls()).sum()
}

/// The child's side: runs the mode named in the environment. Does nothing as a plain test.
#[test]
fn child() {
    let Ok(mode) = std::env::var(MODE) else {
        return;
    };
    let var = |key: &str| std::env::var(key).ok().and_then(|v| v.parse::<u64>().ok());
    let path = std::env::var(FILE).expect("a path");
    let mut config = Config::new()
        .history_path(&path)
        .traces(true)
        .trace_sampler(Sampler::AlwaysOn);
    if let Some(bound) = var(BOUND) {
        config.trace_recent_runs = bound as usize;
    }
    monitor_core::pricing::set_price(
        "persist-model",
        monitor_core::pricing::Price::per_million(2.5, 10.0).with_cached_input(1.25),
    )
    .expect("a price");
    config.apply().expect("the history file opens");
    // What the file held: each run found by its trace id too.
    println!("LOADED {}", recent_json());
    let found: Vec<_> = trace::recent_runs()
        .iter()
        .map(|r| trace::find_run(r.trace_id))
        .collect();
    println!(
        "FOUND {}",
        serde_json::to_string(&found.iter().map(Option::as_deref).collect::<Vec<_>>())
            .expect("runs serialize")
    );
    println!("CALLS {}", handler_calls());
    let count = var(COUNT).unwrap_or(0);
    match mode.as_str() {
        // Runs, then a tick that writes them.
        "keep" => {
            for n in 0..count {
                one_run(n);
            }
            monitor_core::history::tick_at(SystemTime::now());
        }
        // Runs with the collector running, then a clean end: the guard dropped (its last tick,
        // the file closed), then back from `main`.
        "clean" => {
            let monitor = monitor_core::init(config).expect("the runtime starts");
            for n in 0..count {
                one_run(n);
            }
            println!("KEPT {}", recent_json());
            drop(monitor);
            return;
        }
        // Runs written as the guard closes the file, then the file opened again by the same
        // process, which holds them already.
        "reopen" => {
            let again = config.clone();
            let monitor = monitor_core::init(config).expect("the runtime starts");
            for n in 0..count {
                one_run(n);
            }
            drop(monitor);
            again.apply().expect("the history file opens again");
            monitor_core::history::tick_at(SystemTime::now());
        }
        // A tick only: the file trimmed to this process's bound.
        _ => {
            monitor_core::history::tick_at(SystemTime::now());
        }
    }
    println!("KEPT {}", recent_json());
}

/// What a child printed.
struct Out {
    loaded: Value,
    found: Value,
    calls: u64,
    kept: Value,
}

/// Runs this binary's `child` test in a process of its own, to its end.
fn run(mode: &str, path: &Path, bound: Option<u64>, count: u64) -> Out {
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command
        .args(["--exact", "child", "--nocapture", "--test-threads", "1"])
        .env(MODE, mode)
        .env(FILE, path)
        .env(COUNT, count.to_string());
    if let Some(bound) = bound {
        command.env(BOUND, bound.to_string());
    }
    let out = command.output().expect("the child runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{mode} child failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // libtest may print its own text ahead of a line on the same line.
    let find = |label: &str| {
        text.lines()
            .find_map(|l| {
                l.split_once(&format!("{label} "))
                    .map(|(_, v)| v.to_owned())
            })
            .unwrap_or_else(|| panic!("no {label} from the {mode} child: {text}"))
    };
    let json = |label: &str| -> Value { serde_json::from_str(&find(label)).expect("JSON") };
    Out {
        loaded: json("LOADED"),
        found: json("FOUND"),
        calls: find("CALLS").trim().parse().expect("a number"),
        kept: json("KEPT"),
    }
}

fn runs(value: &Value) -> &Vec<Value> {
    value.as_array().expect("an array of runs")
}

fn count_rows(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("the file opens");
    conn.query_row("SELECT COUNT(*) FROM runs", [], |row| row.get(0))
        .expect("runs counted")
}

/// The root site's name of a run (as JSON).
fn root_site(run: &Value) -> &str {
    run["spans"][0]["site"].as_str().expect("a site")
}

#[test]
fn a_run_kept_before_a_restart_is_found_after_it_equal_in_every_field() {
    if std::env::var_os(MODE).is_some() {
        return;
    }
    let dir = TempDir::new("history-runs-restart").expect("temp dir");
    let path = dir.path().join("history.db");
    let first = run("keep", &path, None, 3);
    assert_eq!(runs(&first.loaded).len(), 0);
    let kept = runs(&first.kept);
    assert_eq!(kept.len(), 3);
    // Newest first: the route's request, the failed handler, the handler.
    assert_eq!(root_site(&kept[0]), ROUTE);
    assert_eq!(kept[0]["kept"], "failed");
    assert_eq!(kept[0]["spans"][0]["status"], 502);
    assert_eq!(kept[1]["kept"], "failed");
    assert_eq!(kept[2]["kept"], "sampled");
    // A tree of four spans, with tokens and costs: what must come back.
    let spans = runs(&kept[2]["spans"]);
    assert_eq!(spans.len(), 4);
    assert_eq!(spans[1]["parent"], spans[0]["id"]);
    assert_eq!(spans[2]["parent"], spans[1]["id"]);
    assert_eq!(spans[3]["parent"], spans[1]["id"]);
    assert!(spans[2]["tokens"]["cached_input"] == 400);
    assert!(spans[2]["cost_by_kind_usd"][0].as_f64().expect("a cost") > 0.0);
    assert!(spans[2]["offset"].is_object() && spans[2]["duration"].is_object());

    let second = run("read", &path, None, 0);
    assert_eq!(second.loaded, first.kept, "the runs, as they were kept");
    assert_eq!(second.found, first.kept, "each found by its trace id");
    assert_eq!(second.kept, first.kept);
    assert_eq!(
        count_rows(&path),
        3,
        "written once, not again by the reader"
    );
    // And again: what a process read and wrote back is read the same.
    let third = run("keep", &path, None, 1);
    assert_eq!(third.loaded, first.kept);
    assert_eq!(runs(&third.kept).len(), 4);
    assert_eq!(runs(&third.kept)[1..], runs(&first.kept)[..]);
    assert_eq!(run("read", &path, None, 0).loaded, third.kept);
}

#[test]
fn the_bound_of_recent_runs_holds_across_restarts() {
    if std::env::var_os(MODE).is_some() {
        return;
    }
    let dir = TempDir::new("history-runs-bound").expect("temp dir");
    let path = dir.path().join("history.db");
    let a = run("keep", &path, Some(5), 4);
    assert_eq!(runs(&a.kept).len(), 4);
    assert_eq!(count_rows(&path), 4);
    // Four more with room for five: the newest of the first process's stays, in the buffer and
    // in the file.
    let b = run("keep", &path, Some(5), 4);
    assert_eq!(b.loaded, a.kept);
    let kept_b = runs(&b.kept);
    assert_eq!(kept_b.len(), 5);
    assert_eq!(kept_b[4], runs(&a.kept)[0]);
    assert_eq!(count_rows(&path), 5);
    // A process with room for three reads the newest three and trims the file to them.
    let c = run("read", &path, Some(3), 0);
    assert_eq!(runs(&c.loaded)[..], kept_b[..3]);
    assert_eq!(count_rows(&path), 3);
    let d = run("read", &path, Some(5), 0);
    assert_eq!(d.loaded, c.loaded, "what was trimmed is gone");
    // No room: none read, none kept, none left.
    let e = run("keep", &path, Some(0), 2);
    assert_eq!(runs(&e.loaded).len(), 0);
    assert_eq!(runs(&e.kept).len(), 0);
    assert_eq!(count_rows(&path), 0);
}

#[test]
fn a_file_of_the_layout_before_runs_opens_and_gains_them() {
    if std::env::var_os(MODE).is_some() {
        return;
    }
    let dir = TempDir::new("history-runs-layout").expect("temp dir");
    let path = dir.path().join("history.db");
    let first = run("keep", &path, None, 3);
    assert_eq!(first.calls, 0);
    // Two of each child's three runs are the handler's.
    let calls = 2;
    {
        // The layout before: the same tables, without `runs`.
        let conn = rusqlite::Connection::open(&path).expect("the file opens");
        conn.execute_batch("DROP TABLE runs").expect("dropped");
    }
    let second = run("keep", &path, None, 3);
    assert_eq!(runs(&second.loaded).len(), 0, "no runs in the old layout");
    assert_eq!(second.calls, calls, "its frames are read as before");
    assert_eq!(count_rows(&path), 3, "the table is made and written");
    let third = run("read", &path, None, 0);
    assert_eq!(third.loaded, second.kept);
    assert_eq!(third.calls, 2 * calls);
    // Still version 2, as a build from before the table checks: it opens the file as before.
    let conn = rusqlite::Connection::open(&path).expect("the file opens");
    let version: String = conn
        .query_row(
            "SELECT value FROM monitor_history WHERE key = 'version'",
            [],
            |row| row.get(0),
        )
        .expect("a version");
    assert_eq!(version, "2");
    let header: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("read");
    assert_eq!(header, 2);
}

#[test]
fn a_run_through_a_site_gone_from_the_code_is_left_out() {
    if std::env::var_os(MODE).is_some() {
        return;
    }
    let dir = TempDir::new("history-runs-gone").expect("temp dir");
    let path = dir.path().join("history.db");
    let first = run("keep", &path, None, 3);
    {
        // The stage's key no longer names a site of this binary, as after a rename.
        let conn = rusqlite::Connection::open(&path).expect("the file opens");
        let changed = conn
            .execute(
                "UPDATE sites SET key = key || '_renamed' WHERE name = 'persisted_stage'",
                [],
            )
            .expect("written");
        assert_eq!(changed, 1);
    }
    let second = run("read", &path, None, 0);
    // Only the route's run does not pass through the stage.
    assert_eq!(runs(&second.loaded)[..], runs(&first.kept)[..1]);
    assert_eq!(root_site(&runs(&second.loaded)[0]), ROUTE);
}

#[test]
fn a_clean_exit_leaves_the_runs_in_the_file_itself() {
    if std::env::var_os(MODE).is_some() {
        return;
    }
    let dir = TempDir::new("history-runs-clean").expect("temp dir");
    let path = dir.path().join("history.db");
    let first = run("clean", &path, None, 3);
    assert_eq!(runs(&first.kept).len(), 3);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    assert_eq!(std::fs::metadata(&wal).map_or(0, |m| m.len()), 0);
    let elsewhere = TempDir::new("history-runs-clean-copy").expect("temp dir");
    let copy = elsewhere.path().join("copy.db");
    std::fs::copy(&path, &copy).expect("copied");
    assert_eq!(run("read", &copy, None, 0).loaded, first.kept);
}

#[test]
fn a_file_closed_and_opened_again_by_one_process_holds_each_run_once() {
    if std::env::var_os(MODE).is_some() {
        return;
    }
    let dir = TempDir::new("history-runs-reopen").expect("temp dir");
    let path = dir.path().join("history.db");
    let first = run("keep", &path, None, 1);
    let second = run("reopen", &path, None, 3);
    assert_eq!(second.loaded, first.kept);
    let kept = runs(&second.kept);
    assert_eq!(kept.len(), 4, "each run once in the buffer");
    assert_eq!(kept[3], runs(&first.kept)[0]);
    assert_eq!(count_rows(&path), 4, "and once in the file");
    assert_eq!(run("read", &path, None, 0).loaded, second.kept);
}

/// FNV-1a, 64 bits, as the file checks a row with.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[test]
fn a_damaged_run_is_a_typed_error_naming_the_file_and_its_row() {
    if std::env::var_os(MODE).is_some() {
        return;
    }
    let dir = TempDir::new("history-runs-damaged").expect("temp dir");
    let good = dir.path().join("good.db");
    run("clean", &good, None, 2);
    let (seq, data): (i64, Vec<u8>) = rusqlite::Connection::open(&good)
        .expect("the file opens")
        .query_row(
            "SELECT seq, data FROM runs ORDER BY seq DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("a run");
    let (json, _) = data.split_at(data.len() - 8);
    let mut stored: Value = serde_json::from_slice(json).expect("JSON");
    stored["spans"][0]["site"] = 999_999.into();
    let mut other_site = serde_json::to_vec(&stored).expect("JSON");
    other_site.extend_from_slice(&fnv1a(&other_site).to_le_bytes());
    let mut flipped = data.clone();
    flipped[json.len() / 2] ^= 0x04;
    let cases: [(&str, &str, &str); 4] = [
        (
            "flipped.db",
            "UPDATE runs SET data = ?1 WHERE seq = ?2",
            "fails its check",
        ),
        (
            "site.db",
            "UPDATE runs SET data = ?1 WHERE seq = ?2",
            "a span of a site the file does not name",
        ),
        (
            "trace.db",
            "UPDATE runs SET trace_id = '0af7651916cd43dd8448eb211c80319c' WHERE ?1 IS NOT NULL \
             AND seq = ?2",
            "filed under trace",
        ),
        (
            "text.db",
            "UPDATE runs SET data = CAST(?1 AS TEXT) WHERE seq = ?2",
            "row",
        ),
    ];
    for (name, update, why) in cases {
        let path = dir.path().join(name);
        std::fs::copy(&good, &path).expect("copied");
        let bytes = if name == "site.db" {
            other_site.clone()
        } else {
            flipped.clone()
        };
        {
            let conn = rusqlite::Connection::open(&path).expect("the file opens");
            let changed = conn
                .execute(update, rusqlite::params![bytes, seq])
                .expect("written");
            assert_eq!(changed, 1, "{name}");
        }
        let before = std::fs::read(&path).expect("read");
        let Err(ConfigError::History(error)) = Config::new().history_path(&path).apply() else {
            panic!("{name}: a damaged run taken");
        };
        assert_eq!(error.path, path, "{name}");
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{name}: {error}"
        );
        match &error.problem {
            HistoryFileProblem::Corrupt { detail } => {
                assert!(
                    detail.contains(&format!("row {seq} of `runs`")),
                    "{name}: {detail}"
                );
                assert!(detail.contains(why), "{name}: {detail}");
            }
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(
            std::fs::read(&path).expect("read"),
            before,
            "{name}: the file changed"
        );
    }
}
