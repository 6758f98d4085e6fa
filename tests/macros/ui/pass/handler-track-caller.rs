#![deny(warnings)]

use monitor_core::monitored_handler;
use std::panic::Location;

// `#[track_caller]` stays, and `Location::caller()` in the body still names the caller.
#[monitored_handler]
#[track_caller]
fn caller_line() -> u32 {
    Location::caller().line()
}

fn main() {
    let line = line!();
    assert_eq!(caller_line(), line + 1);

    let site = monitor_core::sites()
        .find(|s| s.name() == "caller_line")
        .unwrap();
    assert_eq!(site.stats().calls(), 1);
}
