#![deny(warnings)]

use monitor_core::monitored_handler;

struct Api;

// A method whose own attribute comes through `cfg_attr` is left to it: one site when the
// condition holds (not the block's and its own), none when it does not.
#[monitored_handler]
impl Api {
    fn plain(&self) -> u32 {
        1
    }

    #[cfg_attr(all(), monitored_handler(name = "conditional_on"))]
    fn on(&self) -> u32 {
        2
    }

    #[cfg_attr(any(), monitored_handler)]
    fn off(&self) -> u32 {
        3
    }
}

fn main() {
    let api = Api;
    assert_eq!((api.plain(), api.on(), api.off()), (1, 2, 3));
    let named = |name: &str| monitor_core::sites().filter(|s| s.name() == name).count();
    assert_eq!(named("plain"), 1);
    assert_eq!(monitor_core::sites().find(|s| s.name() == "plain").unwrap().stats().calls(), 1);
    // Once, by its own attribute: not also as `on` by the block's.
    assert_eq!((named("conditional_on"), named("on")), (1, 0));
    let on = monitor_core::sites().find(|s| s.name() == "conditional_on").unwrap();
    assert_eq!(on.stats().calls(), 1);
    // Its condition does not hold: not instrumented, by either attribute.
    assert_eq!(named("off"), 0);
}
