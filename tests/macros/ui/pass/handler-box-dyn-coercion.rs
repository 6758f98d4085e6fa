#![deny(warnings)]

use monitor_core::monitored_handler;
use std::fmt::Display;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

// `Box<u32>` becomes `Box<dyn Display>` only because the declared return type asks for it.
#[monitored_handler]
fn make(n: u32) -> Result<Box<dyn Display>, String> {
    if n == 0 {
        return Err("zero".to_owned());
    }
    Ok(Box::new(n))
}

#[monitored_handler]
fn make_plain(n: u32) -> Box<dyn Display> {
    if n == 0 {
        return Box::new("zero");
    }
    Box::new(n)
}

#[monitored_handler]
async fn make_async(n: u32) -> Result<Box<dyn Display>, String> {
    if n == 0 {
        return Err("zero".to_owned());
    }
    Ok(Box::new(n))
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

fn main() {
    assert_eq!(make(3).unwrap().to_string(), "3");
    assert!(make(0).is_err());
    assert_eq!(make_plain(4).to_string(), "4");
    assert_eq!(make_plain(0).to_string(), "zero");
    assert_eq!(block_on(make_async(5)).unwrap().to_string(), "5");

    let site = monitor_core::sites().find(|s| s.name() == "make").unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 2);
    assert_eq!(stats.errors, 1);
    let site = monitor_core::sites()
        .find(|s| s.name() == "make_plain")
        .unwrap();
    assert_eq!(site.stats().calls(), 2);
    let site = monitor_core::sites()
        .find(|s| s.name() == "make_async")
        .unwrap();
    assert_eq!(site.stats().calls(), 1);
}
