//! The macros' trybuild tests (`tests/ui.rs`): the cases are in `ui/pass` and `ui/fail`. A
//! package of its own, so that trybuild's copy of its dependencies is only what the cases use.
