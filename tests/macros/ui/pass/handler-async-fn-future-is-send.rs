#![deny(warnings)]

use monitor_core::{monitored_handler, tracks_tokens, Tokens};
use std::rc::Rc;

fn assert_send<T: Send>(_: &T) {}

#[monitored_handler]
async fn plain(x: u32) -> u32 {
    tokio::task::yield_now().await;
    x + 1
}

/// A value that is not `Send`, held only between two awaits: the body's future is `Send`, and the
/// wrapper keeps it so (it adds nothing that is not `Send` across an await).
#[monitored_handler]
async fn between_awaits(x: u32) -> u32 {
    tokio::task::yield_now().await;
    let doubled = {
        let shared = Rc::new(x);
        *shared * 2
    };
    tokio::task::yield_now().await;
    doubled
}

#[tracks_tokens(model = "gpt-4o")]
async fn complete(prompt: String) -> Result<Tokens, String> {
    tokio::task::yield_now().await;
    Ok(Tokens::new(prompt.len() as u64, 2))
}

struct Client;

#[monitored_handler]
impl Client {
    async fn fetch(&self, key: &str) -> String {
        tokio::task::yield_now().await;
        key.to_owned()
    }
}

fn main() {
    let client = Client;
    assert_send(&plain(1));
    assert_send(&between_awaits(1));
    assert_send(&complete("abc".to_owned()));
    assert_send(&client.fetch("k"));

    // On a multi-threaded runtime, where a task may move between threads at each await.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let results = runtime.block_on(async {
        let a = tokio::spawn(plain(1));
        let b = tokio::spawn(between_awaits(4));
        let c = tokio::spawn(complete("abc".to_owned()));
        (a.await.unwrap(), b.await.unwrap(), c.await.unwrap())
    });
    assert_eq!(results, (2, 8, Ok(Tokens::new(3, 2))));
    assert_eq!(runtime.block_on(client.fetch("k")), "k");

    for name in ["plain", "between_awaits", "complete"] {
        let site = monitor_core::sites().find(|s| s.name() == name).unwrap();
        assert_eq!(site.stats().calls(), 1, "{name}");
    }
    let complete = monitor_core::sites().find(|s| s.name() == "complete").unwrap();
    assert_eq!(complete.stats().tokens.input, 3);
    let fetch = monitor_core::sites()
        .find(|s| s.qualified_name() == "Client::fetch")
        .unwrap();
    assert_eq!(fetch.stats().calls(), 1);
}
