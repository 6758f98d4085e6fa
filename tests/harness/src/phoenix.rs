//! An Arize Phoenix of the test's own on 127.0.0.1: a real trace backend that takes OTLP/HTTP
//! traces at `/v1/traces` and gives back the spans it stored through its REST API.

use crate::{Error, TempDir, free_port};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The version `scripts/deps.sh` installs.
pub const PHOENIX_VERSION: &str = "20.26.1";

/// Phoenix starts in about 14 s on an idle machine of this size, and took 50 s beside two busy
/// builds.
const READY_DEADLINE: Duration = Duration::from_secs(180);

/// Where `scripts/deps.sh` installs Phoenix's `phoenix` command: a virtual environment of its own
/// under `$XDG_CACHE_HOME` (else `~/.cache`), `monitor/phoenix-{PHOENIX_VERSION}/`; or what
/// `MONITOR_PHOENIX` names.
pub fn phoenix_command() -> PathBuf {
    if let Some(path) = std::env::var_os("MONITOR_PHOENIX") {
        return PathBuf::from(path);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache
        .join("monitor")
        .join(format!("phoenix-{PHOENIX_VERSION}"))
        .join("bin")
        .join("phoenix")
}

/// A Phoenix server with its database in a directory of its own, offline (no telemetry, no
/// external resources); stopped, and its data removed, however the test ends.
#[derive(Debug)]
pub struct Phoenix {
    child: Child,
    port: u16,
    // Last: the directory goes once the server is stopped.
    dir: TempDir,
}

impl Phoenix {
    /// Starts `phoenix serve` on free loopback ports. Ready once
    /// [`wait_ready`](Phoenix::wait_ready) says so.
    pub fn start() -> Result<Phoenix, Error> {
        let dir = TempDir::new("phoenix")?;
        let port = free_port()?;
        let grpc = free_port()?;
        let log = std::fs::File::create(dir.path().join("phoenix.log"))?;
        let command = phoenix_command();
        let child = Command::new(&command)
            .arg("serve")
            .env("PHOENIX_WORKING_DIR", dir.path())
            .env("PHOENIX_HOST", "127.0.0.1")
            .env("PHOENIX_PORT", port.to_string())
            .env("PHOENIX_GRPC_PORT", grpc.to_string())
            .env("PHOENIX_ALLOW_EXTERNAL_RESOURCES", "false")
            .env("PHOENIX_TELEMETRY_ENABLED", "false")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot run {} (scripts/deps.sh installs Arize Phoenix): {e}",
                    command.display()
                )
            })?;
        Ok(Phoenix { child, port, dir })
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// What the server wrote to stdout and stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("phoenix.log")).unwrap_or_default()
    }

    /// Waits until the server answers `/healthz`; fails if it exits or takes longer than 180 s.
    pub async fn wait_ready(&mut self, client: &reqwest::Client) -> Result<(), Error> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("phoenix exited with {status}:\n{}", self.log()).into());
            }
            if let Ok(response) = client.get(self.url("/healthz")).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if start.elapsed() > READY_DEADLINE {
                return Err(
                    format!("phoenix not ready in {READY_DEADLINE:?}:\n{}", self.log()).into(),
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Every span of `project` Phoenix has stored, in OTLP's shape (`GET
    /// /v1/projects/{project}/spans/otlpv1`: ids in hex, times in Unix nanoseconds, attributes as
    /// key-value pairs), page by page, at most 50 pages of 1,000; an unknown project has none.
    /// Phoenix keeps the OpenInference span kind (`openinference.span.kind`), not OpenTelemetry's:
    /// `kind` is always `SPAN_KIND_INTERNAL`, and `trace_state` is not kept.
    pub async fn spans(
        &self,
        client: &reqwest::Client,
        project: &str,
    ) -> Result<Vec<Value>, Error> {
        let mut spans = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..50 {
            let mut request = client
                .get(self.url(&format!("/v1/projects/{project}/spans/otlpv1")))
                .query(&[("limit", "1000")]);
            if let Some(cursor) = &cursor {
                request = request.query(&[("cursor", cursor)]);
            }
            let response = request.send().await?;
            if response.status() == reqwest::StatusCode::NOT_FOUND {
                return Ok(Vec::new());
            }
            if !response.status().is_success() {
                return Err(format!("spans of {project}: HTTP {}", response.status()).into());
            }
            let page: Value = response.json().await?;
            spans.extend(page["data"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(spans),
            }
        }
        Err(format!("spans of {project}: more than 50 pages").into())
    }
}

impl Drop for Phoenix {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
