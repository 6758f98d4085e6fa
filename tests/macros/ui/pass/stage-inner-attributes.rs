#![deny(warnings)]

use monitor_core::{Tokens, pipeline_stage, tracks_tokens};

// The inner attribute must still cover the body: the unused variable would otherwise be an error.
#[pipeline_stage(pipeline = "inner")]
fn stage() -> u32 {
    #![allow(unused_variables)]
    let unused = 1;
    2
}

#[tracks_tokens(model = "m")]
fn tokens() -> Tokens {
    #![allow(unused_mut)]
    let mut output = 3;
    Tokens {
        input: 1,
        output,
        ..Tokens::default()
    }
}

fn main() {
    assert_eq!(stage(), 2);
    assert_eq!(tokens().output, 3);

    let site = monitor_core::sites().find(|s| s.name() == "stage").unwrap();
    assert_eq!(site.stats().calls(), 1);
    let site = monitor_core::sites()
        .find(|s| s.name() == "tokens")
        .unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 1);
    assert_eq!(stats.tokens.output, 3);
}
