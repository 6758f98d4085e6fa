#![deny(unused_must_use)]

use monitor_core::monitored_handler;

#[monitored_handler]
#[must_use]
fn handler() -> u32 {
    1
}

fn main() {
    handler();
}
