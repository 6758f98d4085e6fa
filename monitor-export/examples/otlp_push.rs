//! OTLP/HTTP metrics pushed from a thread of their own, with no async runtime: a few instrumented
//! calls, the exporter the `Monitor` guard owns, and its last push at shutdown. The receiver is one
//! this example starts on 127.0.0.1, which decodes each payload with the official message types;
//! with `OTEL_EXPORTER_OTLP_ENDPOINT` set (an OpenTelemetry Collector, Jaeger, Phoenix…) it pushes
//! there instead, each push bounded by a 2-second timeout, and says how that went.
//!
//! Run it with `cargo run -p monitor-export --features otlp --example otlp_push`.

use monitor_core::{Config, Tokens, monitored_handler, tracks_tokens};
use monitor_export::otlp::Otlp;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

#[monitored_handler(route = "GET /api/items/{id}")]
fn get_item(id: u64) -> Result<String, String> {
    if id.is_multiple_of(5) {
        return Err(format!("item {id} is gone"));
    }
    Ok(format!("item {id}"))
}

#[tracks_tokens(model = "gpt-4o-mini", provider = "openai")]
fn summarise(text: &str) -> Tokens {
    Tokens::new(text.len() as u64, 12)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (otlp, payloads) = match std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Some(_) => (Otlp::from_env()?, None),
        None => {
            let (url, payloads) = receiver()?;
            (
                Otlp::new(url).resource("service.name", "otlp-example"),
                Some(payloads),
            )
        }
    };
    // Nothing listening, or a receiver that never answers, costs at most this per push: the
    // example ends either way.
    let otlp = otlp.timeout(Duration::from_secs(2));
    println!("pushing to {}", otlp.endpoint());

    let mut monitor = monitor_core::init(Config::new())?;
    monitor.own_exporter(otlp.start()?);
    for id in 1..=20 {
        if let Ok(item) = get_item(id) {
            summarise(&item);
        }
    }
    // The last tick, and the exporter's last push of everything recorded.
    let report = monitor.shutdown();
    for health in &report.exporters {
        let error = health.last_error.as_deref().unwrap_or("none");
        println!(
            "{}: {} payloads sent, {} failed attempts, last error: {error}",
            health.exporter, health.sent, health.failed_attempts
        );
    }

    let Some(payloads) = payloads else {
        return Ok(());
    };
    // Each push is a whole cumulative snapshot: the last one holds every call.
    let last = payloads
        .try_iter()
        .last()
        .ok_or("the receiver got nothing")?;
    let request: ExportMetricsServiceRequest = prost::Message::decode(last.as_slice())?;
    let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
    println!(
        "\nthe last payload: {} bytes, {} metrics",
        last.len(),
        metrics.len()
    );
    let mut calls = 0.0;
    for m in metrics {
        let points = match &m.data {
            Some(metric::Data::Sum(sum)) => sum.data_points.len(),
            Some(metric::Data::Gauge(gauge)) => gauge.data_points.len(),
            Some(metric::Data::Histogram(h)) => h.data_points.len(),
            Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len(),
            _ => 0,
        };
        println!("  {:<48} {points:>3} points", m.name);
        if let (Some(metric::Data::Sum(sum)), "monitor.calls") = (&m.data, m.name.as_str()) {
            for point in &sum.data_points {
                if let Some(number_data_point::Value::AsDouble(n)) = point.value {
                    calls += n;
                }
            }
        }
    }
    // 20 handler calls and 16 metered ones.
    println!("monitor.calls, all sites and outcomes: {calls}");
    if calls != 36.0 {
        return Err(format!("36 calls made, {calls} pushed").into());
    }
    Ok(())
}

/// A receiver of OTLP/HTTP on 127.0.0.1: each request's body goes to the channel, answered with a
/// 200. It serves at most 16 requests, each read within 5 seconds.
fn receiver() -> std::io::Result<(String, mpsc::Receiver<Vec<u8>>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/v1/metrics", listener.local_addr()?);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Some(body) = stream.ok().and_then(|mut s| read_body(&mut s)) else {
                continue;
            };
            if tx.send(body).is_err() {
                return;
            }
        }
    });
    Ok((url, rx))
}

/// Reads a request's head, then the body its `Content-Length` says, and answers 200.
fn read_body(stream: &mut TcpStream) -> Option<Vec<u8>> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 16384];
    let (head_end, length) = loop {
        let n = stream.read(&mut buffer).ok().filter(|n| *n > 0)?;
        seen.extend_from_slice(&buffer[..n]);
        if let Some(at) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..at]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse::<usize>().ok())?;
            break (at + 4, length);
        }
        if seen.len() > 64 * 1024 {
            return None; // no head is that long
        }
    };
    while seen.len() < head_end + length {
        let n = stream.read(&mut buffer).ok().filter(|n| *n > 0)?;
        seen.extend_from_slice(&buffer[..n]);
    }
    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    stream.write_all(answer).ok()?;
    Some(seen[head_end..head_end + length].to_vec())
}
