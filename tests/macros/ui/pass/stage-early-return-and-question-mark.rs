#![deny(warnings)]

use monitor_core::pipeline_stage;
use std::future::Future;
use std::num::ParseIntError;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

#[derive(Debug, PartialEq)]
enum StageError {
    Negative,
    Parse,
}

impl From<ParseIntError> for StageError {
    fn from(_: ParseIntError) -> Self {
        StageError::Parse
    }
}

// `return` and `?` leave through the instrumentation, and `?` still converts the error.
#[pipeline_stage(pipeline = "numbers", stage = "parse")]
fn parse(s: &str) -> Result<i32, StageError> {
    if s.starts_with('-') {
        return Err(StageError::Negative);
    }
    let n: i32 = s.parse()?;
    if n == 0 {
        return Ok(-1);
    }
    Ok(n)
}

#[pipeline_stage(pipeline = "numbers", stage = "parse_async")]
async fn parse_async(s: &str) -> Result<i32, StageError> {
    if s.starts_with('-') {
        return Err(StageError::Negative);
    }
    let n: i32 = s.parse()?;
    Ok(n)
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
    assert_eq!(parse("12"), Ok(12));
    assert_eq!(parse("0"), Ok(-1));
    assert_eq!(parse("-3"), Err(StageError::Negative));
    assert_eq!(parse("x"), Err(StageError::Parse));
    assert_eq!(block_on(parse_async("5")), Ok(5));
    assert_eq!(block_on(parse_async("-5")), Err(StageError::Negative));
    assert_eq!(block_on(parse_async("y")), Err(StageError::Parse));

    let site = monitor_core::sites()
        .find(|s| s.stage() == Some("parse"))
        .unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 4);
    assert_eq!(stats.errors, 2);

    let site = monitor_core::sites()
        .find(|s| s.stage() == Some("parse_async"))
        .unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 3);
    assert_eq!(stats.errors, 2);
}
