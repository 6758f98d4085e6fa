#![deny(warnings)]

use monitor_core::site::SiteKind;
use monitor_core::monitored_handler;

#[monitored_handler(route = "POST /echo")]
fn echo(body: String) -> String {
    body.to_uppercase()
}

fn main() {
    assert_eq!(echo("hello".to_owned()), "HELLO");
    assert_eq!(echo("hi".to_owned()), "HI");

    let site = monitor_core::sites().find(|s| s.name() == "echo").unwrap();
    assert_eq!(site.kind(), SiteKind::Handler);
    assert_eq!(site.function(), "echo");
    assert_eq!(site.route(), Some("POST /echo"));
    let stats = site.stats();
    assert_eq!(stats.calls(), 2);
    assert_eq!(stats.errors, 0);
    assert_eq!(stats.request_bytes, 7);
    assert_eq!(stats.response_bytes, 7);
}
