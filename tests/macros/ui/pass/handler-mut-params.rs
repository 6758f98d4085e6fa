#![deny(warnings)]

use monitor_core::monitored_handler;

#[monitored_handler]
fn append(mut bytes: Vec<u8>, mut times: u8) -> Vec<u8> {
    while times > 0 {
        bytes.push(b'!');
        times -= 1;
    }
    bytes
}

fn main() {
    assert_eq!(append(b"hey".to_vec(), 2), b"hey!!");

    let site = monitor_core::sites()
        .find(|s| s.name() == "append")
        .unwrap();
    let stats = site.stats();
    assert_eq!(stats.calls(), 1);
    assert_eq!(stats.errors, 0);
    assert_eq!(stats.request_bytes, 3);
    assert_eq!(stats.response_bytes, 5);
}
