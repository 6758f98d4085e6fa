#![deny(warnings)]

use monitor_core::{monitored_handler, pipeline_stage};

/// # Safety
///
/// None needed; `unsafe` is part of the shape under test.
#[monitored_handler]
pub unsafe fn r#sh_unsafe(x: u32) -> u32 {
    x + 1
}

#[pipeline_stage(pipeline = "raw")]
fn r#match(r#type: &str) -> usize {
    r#type.len()
}

fn main() {
    // SAFETY: the function has no precondition.
    assert_eq!(unsafe { r#sh_unsafe(1) }, 2);
    assert_eq!(r#match("abc"), 3);

    let site = monitor_core::sites()
        .find(|s| s.function() == "sh_unsafe")
        .expect("the site is named without `r#`");
    assert_eq!(site.name(), "sh_unsafe");
    assert_eq!(site.stats().calls(), 1);
    assert!(monitor_core::sites().all(|s| !s.name().starts_with("r#")));

    let site = monitor_core::sites()
        .find(|s| s.pipeline() == Some("raw"))
        .unwrap();
    assert_eq!((site.name(), site.stage()), ("match", Some("match")));
    assert_eq!(site.stats().calls(), 1);
}
