#![deny(warnings)]

use monitor_core::monitored_handler;
use std::future::Future;
use std::pin::Pin;

/// A recursive `async fn`: the recursive call is boxed, as Rust requires; every level is a call.
#[monitored_handler]
async fn factorial(n: u64) -> u64 {
    if n == 0 {
        return 1;
    }
    n * Box::pin(factorial(n - 1)).await
}

/// The same through a function that returns the boxed future itself.
#[monitored_handler]
fn fibonacci(n: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        if n < 2 {
            n
        } else {
            fibonacci(n - 1).await + fibonacci(n - 2).await
        }
    })
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(factorial(4)), 24);
    assert_eq!(runtime.block_on(fibonacci(4)), 3);

    let site = |name: &str| monitor_core::sites().find(|s| s.name() == name).unwrap();
    assert_eq!(site("factorial").stats().calls(), 5);
    // fib(4) calls fib(3) and fib(2), …: 9 calls in all.
    assert_eq!(site("fibonacci").stats().calls(), 9);
    assert_eq!(site("fibonacci").stats().cancelled, 0);
}
