//! Prometheus remote write against the real Prometheus (Debian's 2.42, started here with
//! `--web.enable-remote-write-receiver` on 127.0.0.1): what PromQL reads of the pushed series is
//! exactly what the calls were; a receiver that is down and then comes up loses nothing beyond the
//! queue's bound, and the drops are counted; a 429's `Retry-After` is honoured and a 400 is not
//! retried.

use monitor_core::monitored_handler;
use monitor_export::remote_write::RemoteWrite;
use monitor_harness::{PROMETHEUS, Prometheus, Receiver, single_value};
use monitor_tests::support::health_until;
use std::time::Duration;

#[monitored_handler]
fn rw_exact(fail: bool) -> Result<(), String> {
    if fail {
        Err("refused".to_owned())
    } else {
        Ok(())
    }
}

#[monitored_handler]
fn rw_down_then_up() -> Result<(), String> {
    Ok(())
}

/// Skips (or, in CI, fails) without Debian's Prometheus.
fn have_prometheus() -> bool {
    let found = std::path::Path::new(PROMETHEUS).exists();
    assert!(
        found || !monitor_harness::in_ci(),
        "CI needs Debian's prometheus (scripts/deps.sh)"
    );
    if !found {
        eprintln!("skipped: no {}", PROMETHEUS);
    }
    found
}

async fn value(prometheus: &Prometheus, client: &reqwest::Client, promql: &str, expected: f64) {
    prometheus
        .poll(client, promql, |r| single_value(r) == Some(expected))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pushed_series_read_back_exactly() {
    if !have_prometheus() {
        return;
    }
    let client = reqwest::Client::new();
    let mut prometheus = Prometheus::receiver(None).unwrap();
    prometheus.wait_ready(&client).await.unwrap();
    for i in 0..137 {
        let _ = rw_exact(i % 4 == 0);
    }
    let pusher = RemoteWrite::new(prometheus.url("/api/v1/write"))
        .interval(Duration::from_millis(200))
        .label("instance", "rw-test")
        .label("job", "monitor")
        .start()
        .unwrap();
    let series = |outcome: &str| {
        format!(
            r#"monitor_calls_total{{site="rw_exact",outcome="{outcome}",instance="rw-test",job="monitor"}}"#
        )
    };
    value(&prometheus, &client, &series("ok"), 102.0).await;
    value(&prometheus, &client, &series("error"), 35.0).await;
    value(
        &prometheus,
        &client,
        r#"monitor_call_duration_seconds_count{site="rw_exact"}"#,
        137.0,
    )
    .await;
    // More calls: the next push carries them.
    for _ in 0..50 {
        let _ = rw_exact(false);
    }
    value(&prometheus, &client, &series("ok"), 152.0).await;
    // The exporter's own health travels with the data.
    // (Every exporter of the process is in it: this test's, by its endpoint.)
    let endpoint = prometheus.url("/api/v1/write");
    prometheus
        .poll(
            &client,
            &format!(
                r#"monitor_export_payloads_total{{exporter="remote_write",endpoint="{endpoint}",result="sent",instance="rw-test"}}"#
            ),
            |r| single_value(r).is_some_and(|n| n >= 1.0),
        )
        .await
        .unwrap();
    let health = pusher.health();
    assert!(
        health.sent >= 2 && health.failed_attempts == 0,
        "{health:?}"
    );
    pusher.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_then_up_loses_nothing_beyond_the_queue() {
    if !have_prometheus() {
        return;
    }
    let client = reqwest::Client::new();
    let port = monitor_harness::free_port().unwrap();
    for _ in 0..40 {
        rw_down_then_up().unwrap();
    }
    let pusher = RemoteWrite::new(format!("http://127.0.0.1:{port}/api/v1/write"))
        .interval(Duration::from_millis(100))
        .max_queue(5)
        .backoff(Duration::from_millis(50), Duration::from_millis(200))
        .timeout(Duration::from_secs(2))
        .label("instance", "rw-down")
        .start()
        .unwrap();
    // Nobody listens: attempts fail, the queue fills to its bound, the oldest are dropped.
    let down = health_until(
        || pusher.health(),
        |h| h.dropped >= 3 && h.failed_attempts >= 3,
    );
    assert_eq!(down.sent, 0);
    assert!(down.queued <= 5, "{down:?}");
    assert!(down.last_error.is_some());
    for _ in 0..25 {
        rw_down_then_up().unwrap();
    }
    let mut prometheus = Prometheus::receiver(Some(port)).unwrap();
    prometheus.wait_ready(&client).await.unwrap();
    let series = r#"monitor_calls_total{site="rw_down_then_up",outcome="ok",instance="rw-down"}"#;
    value(&prometheus, &client, series, 65.0).await;
    health_until(|| pusher.health(), |h| h.sent >= 6);
    // Every payload made is sent, dropped or still queued: nothing vanished.
    let h = &pusher.stop();
    assert_eq!(
        h.made,
        h.sent + h.dropped + h.rejected + h.queued as u64,
        "{h:?}"
    );
    assert_eq!(h.rejected, 0);
    // What Prometheus holds of the series: one sample per payload it accepted (the queue's five
    // from while it was down among them), none of those dropped.
    let held = prometheus
        .query(&client, &format!("count_over_time({series}[10m])"))
        .await
        .unwrap();
    let held = single_value(&held).unwrap();
    assert!(
        held >= 5.0 && held <= h.sent as f64 + 1.0,
        "held {held}, {h:?}"
    );
}

#[test]
fn a_429s_retry_after_is_honoured_and_a_400_is_not_retried() {
    let receiver = Receiver::start(
        "/api/v1/write",
        vec![
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: 2\r\n".to_owned(),
            "HTTP/1.1 400 Bad Request\r\n".to_owned(),
        ],
    )
    .unwrap();
    let pusher = RemoteWrite::new(receiver.url.clone())
        .interval(Duration::from_secs(60))
        .backoff(Duration::from_millis(10), Duration::from_millis(10))
        .start()
        .unwrap();
    let first = receiver.next(Duration::from_secs(10)).unwrap();
    let second = receiver.next(Duration::from_secs(10)).unwrap();
    // The body is a snappy-compressed WriteRequest, with the protocol's headers.
    assert_eq!(first.header("content-encoding"), Some("snappy"));
    assert_eq!(
        first.header("x-prometheus-remote-write-version"),
        Some("0.1.0")
    );
    let body = snap::raw::Decoder::new()
        .decompress_vec(&first.body)
        .expect("snappy");
    let request: monitor_export::remote_write::WriteRequest =
        prost::Message::decode(body.as_slice()).expect("a WriteRequest");
    assert!(!request.timeseries.is_empty());
    // The same payload again, not after the 10 ms backoff: after the two seconds the server asked.
    assert_eq!(first.body, second.body);
    assert!(
        second.at - first.at >= Duration::from_secs(2),
        "{:?}",
        second.at - first.at
    );
    let h = health_until(|| pusher.health(), |h| h.rejected == 1);
    // Retried after the 429, refused for good with the 400.
    assert_eq!((h.failed_attempts, h.sent, h.queued), (1, 0, 0), "{h:?}");
    assert!(
        h.last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("HTTP 400")),
        "{h:?}"
    );
    // Stopping pushes one last snapshot, which this receiver accepts.
    pusher.stop();
    assert!(receiver.next(Duration::from_secs(10)).is_ok());
}

/// An endpoint nothing could be pushed to is refused when the pusher starts, not failed on every
/// push, in words that name the exporter but not a password the URL was given.
#[test]
fn an_endpoint_that_is_not_an_http_url_is_refused_at_start() {
    for endpoint in [
        "127.0.0.1:9090/api/v1/write",
        "ftp://127.0.0.1/api/v1/write",
        "http://alice:pw1/pw2@127.0.0.1:9090/api/v1/write",
    ] {
        let err = RemoteWrite::new(endpoint).start().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{endpoint}");
        let words = err.to_string();
        assert!(words.starts_with("the remote_write endpoint "), "{words}");
        assert!(!words.contains("pw1") && !words.contains("pw2"), "{words}");
    }
}
