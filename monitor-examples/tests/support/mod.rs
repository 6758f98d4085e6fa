//! Running the demo binary from the demo's tests: to the end, or serving in the background.
//! Each test binary uses a part of this.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};

/// The demo on a free loopback port, four requests in flight, with `token` for its dashboard.
pub(crate) fn demo(token: &str) -> Command {
    let mut demo = Command::new(env!("CARGO_BIN_EXE_logo-service"));
    demo.args(["--concurrency", "4", "--addr", "127.0.0.1:0"])
        .env("MONITOR_DASHBOARD_TOKEN", token);
    demo
}

/// Runs `demo` to its end: its output, once it succeeded.
pub(crate) fn run_to_end(demo: &mut Command) -> String {
    let out = demo.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A demo serving in the background, killed when dropped.
pub(crate) struct Serving {
    child: Child,
    /// `http://127.0.0.1:{port}`.
    pub(crate) base: String,
    /// The rest of its output.
    pub(crate) lines: Lines<BufReader<ChildStdout>>,
}

impl Serving {
    /// Starts `demo` and waits for the line that says where it serves.
    pub(crate) fn start(demo: &mut Command) -> Serving {
        let mut child = demo.stdout(Stdio::piped()).spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = lines
            .by_ref()
            .map_while(Result::ok)
            .take(20)
            .find_map(|l| l.strip_prefix("logo-service on ").map(str::to_owned))
            .expect("the demo says where it serves");
        Serving { child, base, lines }
    }

    /// The JSON of `GET {base}{path}` with the dashboard's `token`.
    pub(crate) async fn get_json(&self, path: &str, token: &str) -> serde_json::Value {
        reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Serving {
    /// Sends SIGTERM, as `kill`, systemd or a container runtime stop a service, and waits for
    /// the demo to exit.
    #[cfg(unix)]
    pub(crate) fn terminate(mut self) -> std::process::ExitStatus {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: `kill` has no memory-safety preconditions; the pid is our child's, not reaped.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        self.child.wait().unwrap()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
