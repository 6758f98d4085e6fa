//! Helpers the integration tests share.

use monitor_core::{Site, sites};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// The one site whose qualified name is `name`: `"render"` for a function, `"Type::render"` for a
/// method instrumented through its impl block (the shared shapes have such methods, whose plain
/// names other tests' functions share).
///
/// # Panics
///
/// If there is not exactly one, listing what it found.
pub fn site(name: &str) -> &'static Site {
    let found: Vec<_> = sites().filter(|s| s.qualified_name() == name).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one site named {name}, found {found:?}"
    );
    found[0]
}

/// Polls a future to completion on this thread, with a waker that does nothing: enough for futures
/// that never wait on anything but a yield.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// A future that is pending once, then ready: makes the future awaiting it take a second poll.
pub async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

/// Waits until `check` holds of a pushing exporter's health (`pusher.health()`), for at most
/// 30 s, and gives that health.
///
/// # Panics
///
/// After 30 s, with the last health seen.
pub fn health_until(
    health: impl Fn() -> monitor_export::push::PushHealth,
    check: impl Fn(&monitor_export::push::PushHealth) -> bool,
) -> monitor_export::push::PushHealth {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let h = health();
        if check(&h) {
            return h;
        }
        assert!(std::time::Instant::now() < deadline, "{h:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
