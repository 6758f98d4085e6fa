#![deny(warnings)]

use monitor_core::monitored_handler;

struct User {
    name: String,
}

impl User {
    // Returns a borrow of `self`: the body must still be able to lend from it.
    #[monitored_handler]
    fn name(&self) -> &str {
        &self.name
    }
}

fn main() {
    let user = User {
        name: "ada".to_owned(),
    };
    assert_eq!(user.name(), "ada");
    assert_eq!(user.name(), "ada");

    let site = monitor_core::sites().find(|s| s.name() == "name").unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 2);
    assert_eq!(stats.errors, 0);
    assert_eq!(stats.response_bytes, 6);
}
