#![deny(warnings)]

use monitor_core::pipeline_stage;
use std::fmt::Display;

#[pipeline_stage(pipeline = "text", stage = "longest")]
fn longest<'a, 'b: 'a, T>(a: &'a T, b: &'b T) -> &'a T
where
    T: AsRef<str> + ?Sized,
{
    if a.as_ref().len() >= b.as_ref().len() {
        a
    } else {
        b
    }
}

#[pipeline_stage(pipeline = "text")]
fn join<T, const N: usize>(items: [T; N], separator: &str) -> String
where
    T: Display,
{
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(separator)
}

fn main() {
    assert_eq!(longest("ab", "abc"), "abc");
    assert_eq!(longest(&"xyz".to_owned(), &"x".to_owned()), "xyz");
    assert_eq!(join([1, 2, 3], "-"), "1-2-3");
    assert_eq!(join(['a', 'b'], ""), "ab");

    // One site per function, whatever the type arguments.
    let site = monitor_core::sites()
        .find(|s| s.stage() == Some("longest"))
        .unwrap();
    assert_eq!(site.pipeline(), Some("text"));
    assert_eq!(site.stats().calls(), 2);

    let site = monitor_core::sites()
        .find(|s| s.stage() == Some("join"))
        .unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 2);
    assert_eq!(stats.errors, 0);
}
