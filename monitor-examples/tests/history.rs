//! The demo's `--history PATH`: two runs of the binary with its built-in load, then a third that
//! only serves, all on one file. Each run starts from what the earlier ones recorded, and the
//! dashboard's JSON API of the third answers with the calls of the first two.

use monitor_harness::TempDir;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

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

fn demo() -> Command {
    let mut demo = Command::new(env!("CARGO_BIN_EXE_logo-service"));
    demo.args(["--concurrency", "4", "--addr", "127.0.0.1:0"])
        .env("MONITOR_DASHBOARD_TOKEN", TOKEN);
    demo
}

/// A run with the built-in load and `--no-serve`: its output, once it succeeded.
fn load_run(history: &std::path::Path) -> String {
    let out = demo()
        .args(["--requests", "30", "--no-serve", "--history"])
        .arg(history)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
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
    let mut child = demo()
        .args(["--requests", "0", "--history"])
        .arg(&path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines
        .by_ref()
        .map_while(Result::ok)
        .take(20)
        .find_map(|l| l.strip_prefix("logo-service on ").map(str::to_owned))
        .expect("the demo says where it serves");
    let answer: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/admin/api/query?range=24h&kind=handler"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The file is one of the exports, with its health: the serving run's ticks are written too.
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    let file = loop {
        let exports: serde_json::Value = client
            .get(format!("{base}/admin/api/exports"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(file["endpoint"], path.display().to_string(), "{file}");
    assert!(file["sent"].as_u64() >= Some(1), "{file}");
    assert_eq!(file["failed_attempts"], 0, "{file}");
    let calls: u64 = answer["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["calls"].as_u64().unwrap())
        .sum();
    assert_eq!(calls, after_second, "{answer}");
}

#[test]
fn a_history_path_that_is_not_a_history_is_named_and_left_alone() {
    let dir = TempDir::new("demo-history-bad").unwrap();
    let path = dir.path().join("README.md");
    let text = "# not a history\n".repeat(300);
    std::fs::write(&path, &text).unwrap();
    let out = demo()
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
