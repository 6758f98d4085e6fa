//! The other clients of a run: SSE listeners that read and ones that stop reading, clients that
//! hang up mid-body, and a flood of idle connections.
// Shared by the suite's two binaries (`load.rs`, `load_faults.rs`), each of which uses a part.
#![allow(dead_code)]

use crate::demo::{Demo, TOKEN};
use monitor_harness::Error;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

const STREAM_PATH: &str = "/admin/api/stream";

/// SSE clients reading `/admin/api/stream`, each counting the tick events it received.
pub(crate) struct Listeners {
    ticks: Vec<Arc<AtomicU64>>,
    streaming: Arc<AtomicUsize>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<Result<(), String>>>,
}

impl Listeners {
    pub(crate) fn start(demo: &Demo, n: usize) -> Listeners {
        let client = reqwest::Client::new();
        let (stop, stopped) = watch::channel(false);
        let streaming = Arc::new(AtomicUsize::new(0));
        let ticks: Vec<_> = (0..n).map(|_| Arc::new(AtomicU64::new(0))).collect();
        let tasks = ticks
            .iter()
            .map(|ticks| {
                tokio::spawn(listen(
                    client.clone(),
                    demo.url(STREAM_PATH),
                    Arc::clone(ticks),
                    Arc::clone(&streaming),
                    stopped.clone(),
                ))
            })
            .collect();
        Listeners {
            ticks,
            streaming,
            stop,
            tasks,
        }
    }

    /// Waits until every listener has its stream open, for at most `within`.
    pub(crate) async fn wait_streaming(&self, within: Duration) -> Result<(), Error> {
        let start = Instant::now();
        while self.streaming.load(Ordering::Relaxed) < self.tasks.len() {
            if self.tasks.iter().any(JoinHandle::is_finished) || start.elapsed() > within {
                return Err(format!(
                    "{} of {} SSE listeners streaming after {:?}",
                    self.streaming.load(Ordering::Relaxed),
                    self.tasks.len(),
                    start.elapsed()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// The ticks each listener has received so far.
    pub(crate) fn ticks(&self) -> Vec<u64> {
        self.ticks
            .iter()
            .map(|t| t.load(Ordering::Relaxed))
            .collect()
    }

    /// Stops every listener; the ticks each received, or the first listener's failure (its
    /// stream refused or ended by the server).
    pub(crate) async fn stop(mut self) -> Result<Vec<u64>, Error> {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            task.await??;
        }
        Ok(self.ticks())
    }
}

async fn listen(
    client: reqwest::Client,
    url: String,
    ticks: Arc<AtomicU64>,
    streaming: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let mut response = client
        .get(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(format!("the stream answered {}", response.status()));
    }
    streaming.fetch_add(1, Ordering::Relaxed);
    let mut pending = Vec::new();
    loop {
        let chunk = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return Ok(()),
            chunk = response.chunk() => chunk.map_err(|e| e.to_string())?,
        };
        let Some(chunk) = chunk else {
            return Err("the server ended the stream".to_owned());
        };
        pending.extend_from_slice(&chunk);
        // An event ends with a blank line; a chunk may hold several, or part of one.
        while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = pending.drain(..end + 2).collect();
            if event.split(|&b| b == b'\n').any(|l| l == b"event: tick") {
                ticks.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Opens `n` SSE streams and reads each one's response head (a 200: the stream was granted), then
/// never reads again: the server's writes pile up in the sockets. Dropping them hangs up.
pub(crate) async fn stalled_listeners(demo: &Demo, n: usize) -> Result<Vec<TcpStream>, Error> {
    let request = format!(
        "GET {STREAM_PATH} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n",
        demo.addr()
    );
    let mut streams = Vec::new();
    for _ in 0..n {
        let mut stream = TcpStream::connect(demo.addr()).await?;
        stream.write_all(request.as_bytes()).await?;
        let (head, _) = read_head(&mut stream).await?;
        if !head.starts_with("HTTP/1.1 200") {
            return Err(format!("a stream was refused: {head}").into());
        }
        streams.push(stream);
    }
    Ok(streams)
}

/// Sends `n` `POST /api/logos` that declare a body of 1,000 bytes, each sending 13 and hanging
/// up.
pub(crate) async fn posts_cut_short(demo: &Demo, n: usize) -> Result<usize, Error> {
    let request = format!(
        "POST /api/logos HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n\r\n{{\"prompt\": \"a",
        demo.addr()
    );
    for _ in 0..n {
        let mut stream = TcpStream::connect(demo.addr()).await?;
        stream.write_all(request.as_bytes()).await?;
        stream.shutdown().await?;
    }
    Ok(n)
}

/// Sends `n` `GET {path}`, reads each response's head and half its body, and hangs up; the number
/// whose head said 200.
pub(crate) async fn gets_read_half(demo: &Demo, path: &str, n: usize) -> Result<u64, Error> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", demo.addr());
    let mut ok = 0;
    for _ in 0..n {
        let mut stream = TcpStream::connect(demo.addr()).await?;
        stream.write_all(request.as_bytes()).await?;
        let (head, body) = read_head(&mut stream).await?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .ok_or_else(|| format!("no Content-Length in {head}"))?;
        let mut half = vec![0; (length / 2).saturating_sub(body.len())];
        stream.read_exact(&mut half).await?;
        ok += u64::from(head.starts_with("HTTP/1.1 200"));
    }
    Ok(ok)
}

/// Reads up to the end of a response's head (at most 64 KiB, for at most 10 s): the head, and
/// what came after it.
async fn read_head(stream: &mut TcpStream) -> Result<(String, Vec<u8>), Error> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 1024];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buffer.split_off(end + 4);
            return Ok((String::from_utf8_lossy(&buffer).into_owned(), rest));
        }
        if buffer.len() > 64 * 1024 {
            return Err("a response head of more than 64 KiB".into());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left, stream.read(&mut chunk)).await??;
        if n == 0 {
            return Err(format!(
                "the connection closed before a response head: {:?}",
                String::from_utf8_lossy(&buffer)
            )
            .into());
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

/// A plain `GET {url}` on a new connection, within `within`: its status, or why not.
pub(crate) async fn fresh_get(url: &str, within: Duration) -> Result<u16, String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(within)
        .build()
        .map_err(|e| e.to_string())?;
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    response.bytes().await.map_err(|e| e.to_string())?;
    Ok(status)
}

/// New clients, one after the other, for `how_long`: how long each waited for its answer to
/// `GET {url}` (given up after `each_within`), and what it was.
pub(crate) async fn probe_for(
    url: String,
    how_long: Duration,
    each_within: Duration,
) -> Vec<(Duration, Result<u16, String>)> {
    let start = Instant::now();
    let mut probes = Vec::new();
    while start.elapsed() < how_long {
        let asked = Instant::now();
        let answer = fresh_get(&url, each_within).await;
        probes.push((asked.elapsed(), answer));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    probes
}

/// Connections that connect and never send a byte, each held until [`release`](IdleFlood::release).
pub(crate) struct IdleFlood {
    /// Handshakes completed (the kernel's, whether or not the server has accepted them yet).
    connected: Arc<AtomicUsize>,
    /// Of those, the ones the server has closed (its header-read timeout).
    closed_by_server: Arc<AtomicUsize>,
    /// Connects that failed outright.
    failed: Arc<AtomicUsize>,
    release: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl IdleFlood {
    /// Starts `n` connects to `addr` at once. Those the server's queue has no room for stay in the
    /// kernel's retries until they get in or the flood is released.
    pub(crate) fn open(addr: SocketAddr, n: usize) -> IdleFlood {
        let (release, released) = watch::channel(false);
        let connected = Arc::new(AtomicUsize::new(0));
        let closed_by_server = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let tasks = (0..n)
            .map(|_| {
                let (connected, closed, failed) = (
                    Arc::clone(&connected),
                    Arc::clone(&closed_by_server),
                    Arc::clone(&failed),
                );
                let mut released = released.clone();
                tokio::spawn(async move {
                    let stream = tokio::select! {
                        _ = released.wait_for(|r| *r) => return,
                        stream = TcpStream::connect(addr) => stream,
                    };
                    let Ok(mut stream) = stream else {
                        failed.fetch_add(1, Ordering::Relaxed);
                        return;
                    };
                    connected.fetch_add(1, Ordering::Relaxed);
                    let mut byte = [0u8; 1];
                    tokio::select! {
                        _ = released.wait_for(|r| *r) => {}
                        // The server sends nothing to a client that sent nothing: this ends only
                        // when it closes the connection.
                        _ = stream.read(&mut byte) => {
                            closed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        IdleFlood {
            connected,
            closed_by_server,
            failed,
            release,
            tasks,
        }
    }

    /// Hangs up every connection and connect still held; what the flood did.
    pub(crate) async fn release(self) -> Result<FloodReport, Error> {
        let _ = self.release.send(true);
        for task in self.tasks {
            task.await?;
        }
        Ok(FloodReport {
            connected: self.connected.load(Ordering::Relaxed),
            closed_by_server: self.closed_by_server.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        })
    }
}

/// What an idle flood did, when it was released.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FloodReport {
    pub(crate) connected: usize,
    pub(crate) closed_by_server: usize,
    pub(crate) failed: usize,
}

/// Raises this process's soft limit on open descriptors (which the demo and wrk, started after,
/// inherit) to its hard limit; the soft limit now.
pub(crate) fn raise_descriptor_limit() -> Result<u64, Error> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit(2) and setrlimit(2) with a valid, initialised struct of the right type.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
    }
    Ok(limit.rlim_cur)
}
