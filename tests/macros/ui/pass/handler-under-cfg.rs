#![deny(warnings)]

use monitor_core::monitored_handler;

#[cfg(all())]
#[monitored_handler]
fn compiled_in() -> u32 {
    1
}

#[cfg(any())]
#[monitored_handler]
fn compiled_out() -> u32 {
    2
}

#[cfg_attr(all(), monitored_handler(name = "via_cfg_attr", route = "GET /on"))]
fn cfg_attr_on() -> u32 {
    3
}

#[cfg_attr(any(), monitored_handler)]
fn cfg_attr_off() -> u32 {
    4
}

#[cfg_attr(all(), monitored_handler)]
async fn cfg_attr_async() -> u32 {
    5
}

fn main() {
    assert_eq!(compiled_in(), 1);
    assert_eq!(cfg_attr_on(), 3);
    assert_eq!(cfg_attr_off(), 4);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(cfg_attr_async()), 5);

    let site = |name: &str| monitor_core::sites().find(|s| s.name() == name);
    assert_eq!(site("compiled_in").unwrap().stats().calls(), 1);
    assert!(site("compiled_out").is_none());
    let on = site("via_cfg_attr").unwrap();
    assert_eq!((on.function(), on.route()), ("cfg_attr_on", Some("GET /on")));
    assert_eq!(on.stats().calls(), 1);
    assert!(site("cfg_attr_off").is_none());
    assert_eq!(site("cfg_attr_async").unwrap().stats().calls(), 1);
}
