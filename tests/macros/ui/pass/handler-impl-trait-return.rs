#![deny(warnings)]

use monitor_core::monitored_handler;
use std::fmt::Display;

#[monitored_handler]
fn evens(n: u32) -> impl Iterator<Item = u32> {
    (0..n).filter(|x| x % 2 == 0)
}

// `impl Trait` nested in the return type, borrowing from an argument.
#[monitored_handler]
fn parse(s: &str) -> Result<impl Display + '_, String> {
    if s.is_empty() {
        return Err("empty".to_owned());
    }
    Ok(s.trim())
}

fn main() {
    assert_eq!(evens(7).collect::<Vec<_>>(), [0, 2, 4, 6]);
    assert_eq!(parse(" x ").map(|d| d.to_string()), Ok("x".to_owned()));
    assert!(parse("").is_err());

    let site = monitor_core::sites().find(|s| s.name() == "evens").unwrap();
    assert_eq!(site.stats().calls(), 1);
    let site = monitor_core::sites().find(|s| s.name() == "parse").unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 2);
    assert_eq!(stats.errors, 1);
}
