#![deny(warnings)]

use monitor_core::monitored_handler;

struct Request {
    body: String,
}

impl Request {
    #[monitored_handler]
    fn into_body(self) -> String {
        self.body
    }
}

fn main() {
    let request = Request {
        body: "payload".to_owned(),
    };
    assert_eq!(request.into_body(), "payload");

    let site = monitor_core::sites()
        .find(|s| s.name() == "into_body")
        .unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 1);
    assert_eq!(stats.errors, 0);
    assert_eq!(stats.response_bytes, 7);
}
