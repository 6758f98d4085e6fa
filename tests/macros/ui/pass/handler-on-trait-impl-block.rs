#![deny(warnings)]

use monitor_core::monitored_handler;

trait Service {
    type Output;
    const NAME: &'static str;

    fn call(&self, request: &str) -> Result<Self::Output, String>;

    fn describe(&self) -> String {
        Self::NAME.to_owned()
    }
}

macro_rules! constant {
    ($name:ident = $value:expr) => {
        fn $name(&self) -> u32 {
            $value
        }
    };
}

struct Echo;

/// A trait impl: its methods are sites; its associated type and const, and a macro call that
/// makes a method, pass through untouched.
#[monitored_handler(cache = "echoes")]
impl Service for Echo {
    type Output = Option<String>;
    const NAME: &'static str = "echo";

    fn call(&self, request: &str) -> Result<Option<String>, String> {
        if request.is_empty() {
            return Err("empty".to_owned());
        }
        Ok((request != "miss").then(|| request.to_owned()))
    }
}

#[monitored_handler]
impl Echo {
    constant!(answer = 42);

    fn shout(&self, text: String) -> String {
        text.to_uppercase()
    }
}

fn main() {
    assert_eq!(Echo.call("hello"), Ok(Some("hello".to_owned())));
    assert_eq!(Echo.call("miss"), Ok(None));
    assert!(Echo.call("").is_err());
    assert_eq!(Echo.describe(), "echo");
    assert_eq!(Echo.answer(), 42);
    assert_eq!(Echo.shout("hi".to_owned()), "HI");

    let call = monitor_core::sites()
        .find(|s| s.qualified_name() == "Echo::call")
        .unwrap();
    assert_eq!(call.type_name(), Some("Echo"));
    assert_eq!(call.cache(), Some("echoes"));
    let stats = call.stats();
    assert_eq!((stats.calls(), stats.errors), (3, 1));
    let cache = monitor_core::caches::all()
        .into_iter()
        .find(|c| c.name == "echoes")
        .unwrap();
    assert_eq!((cache.hits, cache.misses), (1, 1));

    let shout = monitor_core::sites()
        .find(|s| s.qualified_name() == "Echo::shout")
        .unwrap();
    assert_eq!(shout.stats().calls(), 1);
    assert_eq!(shout.stats().request_bytes, 2);
    // A default body the impl does not override, and a method a macro call makes, are not sites.
    assert!(monitor_core::sites().all(|s| s.function() != "describe" && s.function() != "answer"));
}
