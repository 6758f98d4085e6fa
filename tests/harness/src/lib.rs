//! What the integration tests start beside the code under test, and stop however a test ends: a
//! real Prometheus server of their own ([`Prometheus`]), a real Arize Phoenix ([`Phoenix`]), an
//! HTTP receiver for pushed payloads ([`Receiver`]), a server speaking OpenAI's HTTP API for real
//! LLM clients ([`OpenAiServer`]) and temporary directories ([`TempDir`]);
//! and whether they run in CI ([`in_ci`]), where a missing tool fails a test rather than skips it.
//!
//! Shared by the dashboard's Prometheus test, the price engine's test of LiteLLM's file, the
//! demo's load suite and its trace test, so that each does these things the same way.

pub mod openai;
mod phoenix;
mod prometheus;
mod receiver;

pub use openai::OpenAiServer;
pub use phoenix::{PHOENIX_VERSION, Phoenix, phoenix_command};
pub use prometheus::{PROMETHEUS, PROMTOOL, Prometheus, single_value};
pub use receiver::{Received, Receiver};

use std::path::{Path, PathBuf};

/// The error of a helper: what went wrong, with the log of the process that failed where there
/// is one.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// A directory of the test's own under the system's temporary directory, removed with all it
/// holds when dropped.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// A new empty directory whose name starts with `monitor-{label}-`, then the process id and
    /// the time, so that parallel tests and runs never share one.
    pub fn new(label: &str) -> std::io::Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path =
            std::env::temp_dir().join(format!("monitor-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir { path })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A port free on 127.0.0.1 now, for a server that takes its port as an argument.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Whether the tests run in CI: `CI` set to anything but empty, `false` or `0`. There, what a test
/// needs and does not find (a tool, a file `scripts/deps.sh` fetches) fails it; elsewhere the test
/// says what it skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}
