#![deny(warnings)]

use monitor_core::monitored_handler;
use std::fmt::Display;

#[monitored_handler]
fn total(items: impl IntoIterator<Item = u32>) -> u32 {
    items.into_iter().sum()
}

#[monitored_handler]
fn show(value: &impl Display, suffix: impl AsRef<str>) -> String {
    format!("{value}{}", suffix.as_ref())
}

fn main() {
    assert_eq!(total([1, 2, 3]), 6);
    assert_eq!(total(vec![4]), 4);
    assert_eq!(show(&7, "!"), "7!");

    let site = monitor_core::sites().find(|s| s.name() == "total").unwrap();
    assert_eq!(site.stats().calls(), 2);
    let site = monitor_core::sites().find(|s| s.name() == "show").unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 1);
    assert_eq!(stats.response_bytes, 2);
}
