#![deny(warnings)]

use monitor_core::monitored_handler;

/// Adds one.
///
/// The doc comment and the attributes below stay on the function.
#[monitored_handler]
#[inline]
#[must_use]
#[allow(clippy::let_and_return)]
#[cfg_attr(all(), doc = "More documentation.")]
fn add_one(x: u32) -> u32 {
    let y = x + 1;
    y
}

/// An attribute that removes the function removes it and its site.
#[monitored_handler]
#[cfg(any())]
fn gone() -> u32 {
    0
}

#[monitored_handler]
#[cfg(all())]
#[inline(never)]
fn kept() -> u32 {
    1
}

fn main() {
    assert_eq!(add_one(1), 2);
    assert_eq!(kept(), 1);

    let site = monitor_core::sites()
        .find(|s| s.name() == "add_one")
        .unwrap();
    assert_eq!(site.stats().calls(), 1);
    let site = monitor_core::sites().find(|s| s.name() == "kept").unwrap();
    assert_eq!(site.stats().calls(), 1);
    assert!(monitor_core::sites().all(|s| s.name() != "gone"));
}
