#![deny(warnings)]

use monitor_core::monitored_handler;

struct Counter {
    n: u64,
}

impl Counter {
    // Mutates `self` and returns a mutable borrow of it.
    #[monitored_handler]
    fn bump(&mut self) -> &mut u64 {
        self.n += 1;
        &mut self.n
    }
}

fn main() {
    let mut counter = Counter { n: 0 };
    *counter.bump() += 10;
    assert_eq!(*counter.bump(), 12);
    assert_eq!(counter.n, 12);

    let site = monitor_core::sites().find(|s| s.name() == "bump").unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 2);
    assert_eq!(stats.errors, 0);
}
