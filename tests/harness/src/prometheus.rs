//! A Prometheus server of the test's own on 127.0.0.1, scraping one target every second.

use crate::{Error, TempDir, free_port};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's `prometheus` package puts its server here.
pub const PROMETHEUS: &str = "/usr/bin/prometheus";
/// And its `promtool` here.
pub const PROMTOOL: &str = "/usr/bin/promtool";

/// The first sample is queryable about 5 s after Prometheus is ready; a busy machine takes longer.
const DEADLINE: Duration = Duration::from_secs(30);

/// A Prometheus server scraping one target every second, with its configuration and data in a
/// directory of its own; stopped, and its data removed, however the test ends.
#[derive(Debug)]
pub struct Prometheus {
    /// `None` between [`kill`](Prometheus::kill) and [`restart`](Prometheus::restart).
    child: Option<Child>,
    port: u16,
    /// Flags beyond the configuration, the data and the address.
    flags: Vec<String>,
    // Last: the directory goes once the server is stopped.
    dir: TempDir,
}

impl Prometheus {
    /// Starts Prometheus on a free loopback port, scraping `http://{target}{metrics_path}` every
    /// second (job `monitor`). Ready once [`wait_ready`](Prometheus::wait_ready) says so.
    pub fn start(target: SocketAddr, metrics_path: &str) -> Result<Prometheus, Error> {
        Prometheus::start_with(target, metrics_path, &[])
    }

    /// As [`start`](Prometheus::start), with `flags` added (`--enable-feature=native-histograms`).
    pub fn start_with(
        target: SocketAddr,
        metrics_path: &str,
        flags: &[&str],
    ) -> Result<Prometheus, Error> {
        let config = scraping(target, metrics_path, "");
        Prometheus::configured("prometheus-test", &config, &[], flags, None)
    }

    /// As [`start`](Prometheus::start), evaluating the rule file `rules` (YAML) every second.
    pub fn start_with_rules(
        target: SocketAddr,
        metrics_path: &str,
        rules: &str,
    ) -> Result<Prometheus, Error> {
        let config = scraping(
            target,
            metrics_path,
            "  evaluation_interval: 1s\nrule_files:\n  - rules.yml\n",
        );
        Prometheus::configured(
            "prometheus-rules",
            &config,
            &[("rules.yml", rules)],
            &[],
            None,
        )
    }

    /// Starts Prometheus on `port` of loopback (a free one when `None`) with the configuration
    /// `config` and `files` beside it, in a directory of its own named after `label`.
    fn configured(
        label: &str,
        config: &str,
        files: &[(&str, &str)],
        flags: &[&str],
        port: Option<u16>,
    ) -> Result<Prometheus, Error> {
        let dir = TempDir::new(label)?;
        std::fs::write(dir.path().join("prometheus.yml"), config)?;
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text)?;
        }
        let mut prometheus = Prometheus {
            child: None,
            port: match port {
                Some(port) => port,
                None => free_port()?,
            },
            flags: flags.iter().map(|f| (*f).to_owned()).collect(),
            dir,
        };
        prometheus.spawn()?;
        Ok(prometheus)
    }

    /// The alerts pending or firing now (`/api/v1/alerts`): each with `labels` and `state`.
    pub async fn alerts(&self, client: &reqwest::Client) -> Result<Vec<Value>, String> {
        self.api(client, "/api/v1/alerts", &[], "alerts").await
    }

    /// The exemplars Prometheus stored (`--enable-feature=exemplar-storage`) for the series
    /// `promql` selects, between `start` and `end` (seconds since the Unix epoch):
    /// `/api/v1/query_exemplars`, one element per series with `seriesLabels` and `exemplars`
    /// (each with `labels`, `value` and `timestamp`).
    pub async fn exemplars(
        &self,
        client: &reqwest::Client,
        promql: &str,
        start: f64,
        end: f64,
    ) -> Result<Vec<Value>, String> {
        let (start, end) = (start.to_string(), end.to_string());
        self.api(
            client,
            "/api/v1/query_exemplars",
            &[("query", promql), ("start", &start), ("end", &end)],
            "",
        )
        .await
    }

    /// The array `field` of the `data` of a successful answer of the HTTP API at `path` (`data`
    /// itself for an empty `field`).
    async fn api(
        &self,
        client: &reqwest::Client,
        path: &str,
        query: &[(&str, &str)],
        field: &str,
    ) -> Result<Vec<Value>, String> {
        let body: Value = client
            .get(self.url(path))
            .query(query)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if body["status"] != "success" {
            return Err(body.to_string());
        }
        let data = if field.is_empty() {
            &body["data"]
        } else {
            &body["data"][field]
        };
        Ok(data.as_array().cloned().unwrap_or_default())
    }

    /// Starts Prometheus on `port` (a free one when `None`) as a remote-write receiver
    /// (`--web.enable-remote-write-receiver`, at `/api/v1/write`), scraping nothing.
    pub fn receiver(port: Option<u16>) -> Result<Prometheus, Error> {
        Prometheus::configured(
            "prometheus-receiver",
            "global:\n  scrape_interval: 1s\n",
            &[],
            &["--web.enable-remote-write-receiver"],
            port,
        )
    }

    fn spawn(&mut self) -> Result<(), Error> {
        let dir = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let child = Command::new(PROMETHEUS)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            .args(&self.flags)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run {PROMETHEUS} (Debian package `prometheus`): {e}"))?;
        self.child = Some(child);
        Ok(())
    }

    /// Kills the server at once (SIGKILL: no shutdown, no flush), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, configuration and data: what it scraped before
    /// is read back from its write-ahead log. Kills it first if it runs.
    pub fn restart(&mut self) -> Result<(), Error> {
        self.kill();
        self.spawn()
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("prometheus.log")
    }

    /// What the server wrote to stdout and stderr, across restarts.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Waits until the server answers `/-/ready`; fails if it exits or takes longer than 30 s.
    pub async fn wait_ready(&mut self, client: &reqwest::Client) -> Result<(), Error> {
        let start = Instant::now();
        loop {
            let Some(child) = self.child.as_mut() else {
                return Err("prometheus is not running".into());
            };
            if let Some(status) = child.try_wait()? {
                return Err(format!("prometheus exited with {status}:\n{}", self.log()).into());
            }
            if let Ok(response) = client.get(self.url("/-/ready")).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if start.elapsed() > DEADLINE {
                return Err(
                    format!("prometheus not ready in {DEADLINE:?}:\n{}", self.log()).into(),
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The result vector of an instant query.
    pub async fn query(
        &self,
        client: &reqwest::Client,
        promql: &str,
    ) -> Result<Vec<Value>, String> {
        self.api(client, "/api/v1/query", &[("query", promql)], "result")
            .await
    }

    /// Polls `promql` until its result passes `check`, or fails after 30 s with the last result
    /// and the log.
    pub async fn poll(
        &self,
        client: &reqwest::Client,
        promql: &str,
        check: impl Fn(&[Value]) -> bool,
    ) -> Result<Vec<Value>, Error> {
        let start = Instant::now();
        loop {
            let result = self.query(client, promql).await;
            if let Ok(result) = &result
                && check(result)
            {
                return Ok(result.clone());
            }
            if start.elapsed() > DEADLINE {
                return Err(format!(
                    "{promql}: last answer {result:?} after {DEADLINE:?}\n--- prometheus log ---\n{}",
                    self.log()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// A configuration scraping `http://{target}{metrics_path}` every second (job `monitor`), with
/// `global_extra` added to its `global` section (and what may follow it).
fn scraping(target: SocketAddr, metrics_path: &str, global_extra: &str) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n{global_extra}\
         scrape_configs:\n  - job_name: monitor\n    metrics_path: {metrics_path}\n    \
         static_configs:\n      - targets: ['{target}']\n"
    )
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The value of a one-element result vector.
pub fn single_value(result: &[Value]) -> Option<f64> {
    match result {
        [only] => only["value"][1].as_str()?.parse().ok(),
        _ => None,
    }
}
