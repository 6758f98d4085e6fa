#![deny(warnings)]

use monitor_core::monitored_handler;

/// `#[tracing::instrument]` above: it wraps the function `#[monitored_handler]` made.
#[tracing::instrument]
#[monitored_handler]
fn traced_outside(x: u32) -> Result<u32, String> {
    if x == 0 {
        return Err("zero".to_owned());
    }
    Ok(x)
}

/// `#[tracing::instrument]` below: `#[monitored_handler]` instruments what it made.
#[monitored_handler]
#[tracing::instrument]
fn traced_inside(x: u32) -> Result<u32, String> {
    if x == 0 {
        return Err("zero".to_owned());
    }
    Ok(x)
}

#[tracing::instrument]
#[monitored_handler]
async fn async_traced_outside(x: u32) -> Result<u32, String> {
    tokio::task::yield_now().await;
    (x > 0).then_some(x).ok_or_else(|| "zero".to_owned())
}

#[monitored_handler]
#[tracing::instrument(skip(x))]
async fn async_traced_inside(x: u32) -> Result<u32, String> {
    tokio::task::yield_now().await;
    (x > 0).then_some(x).ok_or_else(|| "zero".to_owned())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for x in [0, 1] {
        let _ = traced_outside(x);
        let _ = traced_inside(x);
        let _ = runtime.block_on(async_traced_outside(x));
        let _ = runtime.block_on(async_traced_inside(x));
    }
    for name in [
        "traced_outside",
        "traced_inside",
        "async_traced_outside",
        "async_traced_inside",
    ] {
        let site = monitor_core::sites().find(|s| s.name() == name).unwrap();
        let stats = site.stats();
        assert_eq!((stats.calls(), stats.errors), (2, 1), "{name}");
    }
}
