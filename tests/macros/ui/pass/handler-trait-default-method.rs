#![deny(warnings)]

use monitor_core::monitored_handler;

trait Greeter {
    fn name(&self) -> String;

    #[monitored_handler]
    fn greet(&self) -> String {
        format!("hello {}", self.name())
    }
}

struct En;
struct Fr;

impl Greeter for En {
    fn name(&self) -> String {
        "en".to_owned()
    }
}

impl Greeter for Fr {
    fn name(&self) -> String {
        "fr".to_owned()
    }

    fn greet(&self) -> String {
        format!("bonjour {}", self.name())
    }
}

fn main() {
    assert_eq!(En.greet(), "hello en");
    assert_eq!(En.greet(), "hello en");
    // An override is the implementor's own function, not instrumented.
    assert_eq!(Fr.greet(), "bonjour fr");

    let site = monitor_core::sites().find(|s| s.name() == "greet").unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 2);
    assert_eq!(stats.errors, 0);
    assert_eq!(stats.response_bytes, 16);
}
