#![deny(warnings)]

use monitor_core::monitored_handler;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls `future` until it is ready; enough for futures that only yield.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// Returns `Pending` once, so the instrumented future really is suspended.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|_| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            Poll::Pending
        }
    })
    .await;
}

#[monitored_handler(route = "GET /double/{n}")]
async fn double(n: &str) -> Result<u32, std::num::ParseIntError> {
    yield_once().await;
    let n: u32 = n.parse()?;
    Ok(n * 2)
}

fn main() {
    assert_eq!(block_on(double("21")), Ok(42));
    assert!(block_on(double("x")).is_err());

    let site = monitor_core::sites()
        .find(|s| s.name() == "double")
        .unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 2);
    assert_eq!(stats.errors, 1);
    assert_eq!(stats.cancelled, 0);
    assert_eq!(stats.request_bytes, 3);
}
