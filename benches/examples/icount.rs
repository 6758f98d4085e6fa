use monitor_benches::{bare, body};
use monitor_core::monitored_handler;
use std::hint::black_box;

#[monitored_handler]
#[inline(never)]
fn handler(x: u64) -> u64 {
    body(x)
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let n = 1_000_000u64;
    if which == "off" {
        monitor_core::set_enabled(false);
    }
    for i in 0..n {
        if which == "bare" { black_box(bare(black_box(i))); } else { black_box(handler(black_box(i))); }
    }
}
