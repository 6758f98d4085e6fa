//! The macros' UI tests: every function shape they must accept compiles, runs and is recorded
//! (`ui/pass`), and every misuse is rejected with one error at the offending token (`ui/fail`).
//!
//! Regenerate the expected errors with `TRYBUILD=overwrite cargo test -p monitor-tests-ui --test ui`,
//! then read every `.stderr` that changed.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}
