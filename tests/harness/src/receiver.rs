//! An HTTP receiver of the test's own on 127.0.0.1, for the pushing exporters: it keeps every
//! request (its head and body, when it came) and answers each with the next scripted answer, then
//! with 204s.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc::{Receiver as Channel, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// One request the receiver took.
#[derive(Debug, Clone)]
pub struct Received {
    /// When it came.
    pub at: Instant,
    /// The request line and headers, lowercased.
    pub head: String,
    /// The body, as sent.
    pub body: Vec<u8>,
}

impl Received {
    /// The value of header `name` (lowercase), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            (n.trim() == name).then(|| v.trim())
        })
    }
}

/// The receiver: its URL, and the requests as they come.
#[derive(Debug)]
pub struct Receiver {
    /// `http://127.0.0.1:{port}{path}`.
    pub url: String,
    requests: Channel<Received>,
}

impl Receiver {
    /// Listens on a free port; `answers` are status lines with headers, each ending in `\r\n`
    /// (`"HTTP/1.1 429 Too Many Requests\r\nretry-after: 2\r\n"`). Serves at most 200 requests.
    pub fn start(path: &str, answers: Vec<String>) -> std::io::Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}{path}", listener.local_addr()?);
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut answers = answers.into_iter();
            for stream in listener.incoming().take(200) {
                let Ok(mut stream) = stream else { continue };
                let Some(received) = read_request(&mut stream) else {
                    continue;
                };
                let answer = answers
                    .next()
                    .unwrap_or_else(|| "HTTP/1.1 204 No Content\r\n".to_owned());
                let _ = stream.write_all(
                    format!("{answer}content-length: 0\r\nconnection: close\r\n\r\n").as_bytes(),
                );
                if tx.send(received).is_err() {
                    return;
                }
            }
        });
        Ok(Receiver { url, requests: rx })
    }

    /// The next request, waiting at most `within`.
    pub fn next(&self, within: Duration) -> Result<Received, RecvTimeoutError> {
        self.requests.recv_timeout(within)
    }
}

/// Reads the head, then the body its `Content-Length` declares.
fn read_request(stream: &mut std::net::TcpStream) -> Option<Received> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut seen = Vec::new();
    let mut buffer = [0u8; 65536];
    let body_start = loop {
        let n = stream.read(&mut buffer).ok()?;
        if n == 0 {
            return None;
        }
        seen.extend_from_slice(&buffer[..n]);
        if let Some(at) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&seen[..body_start]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while seen.len() < body_start + length {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buffer[..n]),
        }
    }
    Some(Received {
        at: Instant::now(),
        head,
        body: seen[body_start..].to_vec(),
    })
}
