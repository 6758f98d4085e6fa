//! The demo's `--history PATH`: two runs of the binary with its built-in load, then a third that
//! only serves, all on one file. Each run starts from what the earlier ones recorded, and the
//! dashboard's JSON API of the third answers with the calls of the first two. A demo stopped
//! with SIGTERM exits cleanly, its file alone holding every tick, no `-wal` left with any.

mod support;

use monitor_harness::TempDir;
use support::{Serving, demo, run_to_end};

const TOKEN: &str = "history-test-token-0123";

/// The handler calls a run's `history:` line reports, after `label`.
fn calls_after(stdout: &str, label: &str) -> u64 {
    stdout
        .lines()
        .filter(|l| l.starts_with("history: "))
        .find_map(|l| {
            l.split_once(label)?
                .1
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no `{label}` in: {stdout}"))
}

/// A run with the built-in load and `--no-serve`: its output, once it succeeded.
fn load_run(history: &std::path::Path) -> String {
    run_to_end(
        demo(TOKEN)
            .args(["--requests", "30", "--no-serve", "--history"])
            .arg(history),
    )
}

#[tokio::test]
async fn the_demo_history_spans_its_restarts() {
    let dir = TempDir::new("demo-history").unwrap();
    let path = dir.path().join("logo-history.db");
    let first = load_run(&path);
    assert_eq!(calls_after(&first, "holds "), 0, "{first}");
    let after_first = calls_after(&first, "now holds ");
    assert!(after_first >= 30, "{first}");

    let second = load_run(&path);
    assert_eq!(calls_after(&second, "holds "), after_first, "{second}");
    let after_second = calls_after(&second, "now holds ");
    assert!(after_second >= after_first + 30, "{second}");

    // A run that only serves: its JSON API reads the two runs before it.
    let serving = Serving::start(
        demo(TOKEN)
            .args(["--requests", "0", "--history"])
            .arg(&path),
    );
    let answer = serving
        .get_json("/admin/api/query?range=24h&kind=handler", TOKEN)
        .await;
    let calls: u64 = answer["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["calls"].as_u64().unwrap())
        .sum();
    assert_eq!(calls, after_second, "{answer}");
    // The file is one of the exports, with its health: the serving run's ticks are written too.
    let started = std::time::Instant::now();
    let file = loop {
        let exports = serving.get_json("/admin/api/exports", TOKEN).await;
        let file = exports["exports"]
            .as_array()
            .unwrap_or_else(|| panic!("{exports}"))
            .iter()
            .find(|e| e["exporter"] == "history_file")
            .cloned()
            .unwrap_or_else(|| panic!("no history_file export: {exports}"));
        if file["sent"].as_u64() >= Some(1) || started.elapsed().as_secs() > 10 {
            break file;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    drop(serving);
    assert_eq!(file["endpoint"], path.display().to_string(), "{file}");
    assert!(file["sent"].as_u64() >= Some(1), "{file}");
    assert_eq!(file["failed_attempts"], 0, "{file}");
}

#[test]
fn a_history_path_that_is_not_a_history_is_named_and_left_alone() {
    let dir = TempDir::new("demo-history-bad").unwrap();
    let path = dir.path().join("README.md");
    let text = "# not a history\n".repeat(300);
    std::fs::write(&path, &text).unwrap();
    let out = demo(TOKEN)
        .args(["--requests", "0", "--no-serve", "--history"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        format!(
            "logo-service: history_path: history file {} is not a monitor history (it is not a \
             SQLite database); move it away or name another path",
            path.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[cfg(unix)]
#[test]
fn sigterm_ends_the_demo_with_every_tick_in_the_file_alone() {
    let dir = TempDir::new("demo-history-sigterm").unwrap();
    let path = dir.path().join("logo-history.db");
    let mut serving = Serving::start(
        demo(TOKEN)
            .args(["--requests", "30", "--history"])
            .arg(&path),
    );
    let mut output = String::new();
    for line in serving.lines.by_ref().map_while(Result::ok) {
        output.push_str(&line);
        output.push('\n');
        if line.starts_with("serving until") {
            break;
        }
    }
    let held = calls_after(&output, "now holds ");
    assert!(held >= 30, "{output}");
    let status = serving.terminate();
    assert!(status.success(), "SIGTERM: {status}\n{output}");

    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let logged = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(logged, 0, "the demo left {logged} bytes in its -wal");
    // The file alone, copied elsewhere: the next run starts from every call of this one.
    let elsewhere = TempDir::new("demo-history-sigterm-copy").unwrap();
    let copy = elsewhere.path().join("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    let next = run_to_end(
        demo(TOKEN)
            .args(["--requests", "0", "--no-serve", "--history"])
            .arg(&copy),
    );
    assert_eq!(calls_after(&next, "holds "), held, "{next}");
}
