//! The demo's binary as a process of the test's own, and what its monitor counted, read through the
//! dashboard's API as any client would.
// Shared by the suite's two binaries (`load.rs`, `load_faults.rs`), each of which uses a part.
#![allow(dead_code)]

use monitor_harness::{Error, TempDir};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The dashboard's token in every run of the suite.
pub(crate) const TOKEN: &str = "load-suite-token-0123456789abcdef";

/// The measured site: `GET /api/logos/{id}`.
pub(crate) const MEASURED_SITE: &str = "get_logo";

/// `logo-service --requests 0` on a free loopback port: no built-in load, only serving. Killed
/// however the test ends.
pub(crate) struct Demo {
    child: Child,
    addr: SocketAddr,
    // Its stderr, kept for failure messages; removed after the process is gone.
    dir: TempDir,
}

impl Demo {
    /// Starts the binary with `env` added to the environment, and waits for the address it
    /// prints.
    pub(crate) fn start(env: &[(&str, &str)]) -> Result<Demo, Error> {
        let dir = TempDir::new("load-demo")?;
        let stderr = std::fs::File::create(dir.path().join("stderr.log"))?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_logo-service"))
            .args(["--requests", "0", "--addr", "127.0.0.1:0"])
            .env("MONITOR_DASHBOARD_TOKEN", TOKEN)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()?;
        let stdout = child.stdout.take();
        // The guard first: from here on, every way out kills the process.
        let mut demo = Demo {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            dir,
        };
        let stdout = stdout.ok_or("the demo has no stdout")?;
        let (lines, first) = std::sync::mpsc::channel();
        // Read to the end, so that the pipe never fills and holds the demo up.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let line = first
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| format!("the demo printed no address:\n{}", demo.log()))?;
        demo.addr = line
            .strip_prefix("logo-service on http://")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("not the demo's address: {line:?}"))?;
        Ok(demo)
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What it wrote to stderr.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Its resident size now and its peak, in KiB (`VmRSS` and `VmHWM` of /proc/<pid>/status).
    pub(crate) fn rss_kib(&self) -> Result<(u64, u64), Error> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().strip_suffix("kB"))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| format!("no {name} in /proc/<pid>/status:\n{status}"))
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client for the API: a new connection per request, so that none is a kept-alive one the
/// server has since closed for idleness.
pub(crate) fn api_client() -> Result<reqwest::Client, Error> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()?)
}

/// Makes `n` logos through `POST /api/logos`; their paths under `GET /api/logos/{id}`.
pub(crate) async fn create_logos(
    client: &reqwest::Client,
    demo: &Demo,
    n: usize,
) -> Result<Vec<String>, Error> {
    let mut paths = Vec::new();
    // The simulated model is rate-limited now and then (a 503 after its retries): a few more
    // tries than logos.
    for attempt in 0..3 * n {
        if paths.len() == n {
            break;
        }
        let response = client
            .post(demo.url("/api/logos"))
            .json(&serde_json::json!({ "prompt": format!("a lighthouse bakery, load {attempt}") }))
            .send()
            .await?;
        if response.status() == reqwest::StatusCode::CREATED {
            let logo: Value = response.json().await?;
            let id = logo["id"].as_str().ok_or("a logo without an id")?;
            paths.push(format!("/api/logos/{id}"));
        }
    }
    if paths.len() < n {
        return Err(format!("only {} of {n} logos were made", paths.len()).into());
    }
    Ok(paths)
}

/// `GET /admin/api/{path}` with the token: its JSON.
async fn api(client: &reqwest::Client, demo: &Demo, path: &str) -> Result<Value, Error> {
    Ok(client
        .get(demo.url(&format!("/admin/api/{path}")))
        .bearer_auth(TOKEN)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// The demo's heap in use now, in bytes, as its monitor counts it (`MonitoredAlloc`): unlike its
/// resident size, it falls again when memory is freed.
pub(crate) async fn heap_bytes(client: &reqwest::Client, demo: &Demo) -> Result<u64, Error> {
    let body = api(client, demo, "memory").await?;
    body["now"]["heap_bytes"]
        .as_u64()
        .ok_or_else(|| format!("no heap in {body}").into())
}

/// What the monitor counted for one site: its calls, by status class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) calls: u64,
    pub(crate) success: u64,
    pub(crate) client_error: u64,
    pub(crate) server_error: u64,
    pub(crate) cancelled: u64,
}

impl Counts {
    /// What `self` counted beyond `before`.
    pub(crate) fn since(self, before: Counts) -> Counts {
        Counts {
            calls: self.calls - before.calls,
            success: self.success - before.success,
            client_error: self.client_error - before.client_error,
            server_error: self.server_error - before.server_error,
            cancelled: self.cancelled - before.cancelled,
        }
    }
}

/// Every handler site's counts, by site name (a route site is named after its route, such as
/// `POST /api/logos`), from `/admin/api/sites?kind=handler`.
pub(crate) async fn site_counts(client: &reqwest::Client, demo: &Demo) -> Result<Sites, Error> {
    let body = api(client, demo, "sites?kind=handler").await?;
    let mut sites = BTreeMap::new();
    for site in body["sites"].as_array().ok_or("no sites in the answer")? {
        let stats = &site["stats"];
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        let name = site["name"].as_str().ok_or("a site without a name")?;
        let counts = Counts {
            calls: n(&stats["calls"]),
            success: n(&stats["statuses"]["success"]),
            client_error: n(&stats["statuses"]["client_error"]),
            server_error: n(&stats["statuses"]["server_error"]),
            cancelled: n(&stats["cancelled"]),
        };
        // The layer's sites for requests no handler served have no function.
        let route_site = site["function"].as_str().is_none_or(str::is_empty);
        sites.insert(name.to_owned(), (counts, route_site));
    }
    Ok(Sites(sites))
}

/// The handler sites' counts at one moment, each with whether it is a route site.
#[derive(Debug, Clone)]
pub(crate) struct Sites(BTreeMap<String, (Counts, bool)>);

impl Sites {
    /// The counts of the site named `name` (all zero for one not made yet: a route site is made
    /// by its first request).
    pub(crate) fn get(&self, name: &str) -> Counts {
        self.0.get(name).map(|(c, _)| *c).unwrap_or_default()
    }

    /// What the site named `name` counted beyond `before`.
    pub(crate) fn since(&self, before: &Sites, name: &str) -> Counts {
        self.get(name).since(before.get(name))
    }

    /// The calls all route sites counted beyond `before`: requests no instrumented handler served.
    pub(crate) fn route_calls_since(&self, before: &Sites) -> u64 {
        self.0
            .iter()
            .filter(|(_, (_, route_site))| *route_site)
            .map(|(name, _)| self.since(before, name).calls)
            .sum()
    }
}
