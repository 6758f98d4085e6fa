//! What a call's return value, a panic or a cancellation records on its site.

use http::{Response, StatusCode};
use monitor_core::{monitored_handler, pipeline_stage};
use monitor_tests::shapes::{self, AsyncService, Counter, Greeter, Service};
use monitor_tests::support::{block_on, site};
use std::future::Future;
use std::task::{Context, Waker};

#[test]
fn results_count_errors() {
    assert_eq!(shapes::early_return(1), Ok(8));
    assert!(shapes::early_return(-1).is_err());
    let s = site("early").stats();
    assert_eq!((s.calls(), s.errors, s.client_errors), (2, 1, 0));
}

#[test]
fn every_shape_returns_what_it_did_without_the_attribute() {
    assert_eq!(shapes::free(1), 2);
    assert_eq!(shapes::mut_param(vec![1, 2]), 3);
    assert_eq!(shapes::generic(&5_i32, 3_u8), "5");
    assert_eq!(shapes::lifetimes("a", "b"), "a");
    assert_eq!(shapes::elided("xyz"), "x");
    assert_eq!(shapes::impl_arg([1, 2, 3]), 6);
    assert_eq!(shapes::impl_ret(4).sum::<u32>(), 6);
    assert_eq!(shapes::boxed_dyn(9).unwrap().to_string(), "9");
    let mut counter = Counter {
        n: 1,
        model: "m".into(),
    };
    assert_eq!(counter.by_ref(), 1);
    *counter.by_mut() += 10;
    assert_eq!(counter.by_value(), 12);
    struct Named;
    impl Greeter for Named {
        fn name(&self) -> String {
            "you".into()
        }
    }
    assert_eq!(Named.greet(), "hello you");
    assert_eq!(block_on(shapes::async_fn(4)).unwrap(), 8);
    assert!(block_on(shapes::async_question("x")).is_err());
    assert_eq!(block_on(Service.call(3)), Ok(3));
    assert_eq!(block_on(Service.call(0)), Err("zero".into()));

    for (name, calls, errors) in [
        ("free", 1, 0),
        ("mut_param", 1, 0),
        ("generic", 1, 0),
        ("elided", 1, 0),
        ("impl_ret", 1, 0),
        ("by_mut", 1, 0),
        ("greet", 1, 0),
        ("async_fn", 1, 0),
        ("async_question", 1, 1),
        ("service_call", 2, 1),
    ] {
        let s = site(name).stats();
        assert_eq!((s.calls(), s.errors), (calls, errors), "{name}");
    }
}

#[monitored_handler]
fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap()
}

#[monitored_handler]
fn axum_style(found: bool) -> Result<(StatusCode, String), StatusCode> {
    if found {
        Ok((StatusCode::CREATED, "made".to_owned()))
    } else {
        Err(StatusCode::NOT_FOUND)
    }
}

#[monitored_handler]
fn failing_with_status(code: u16) -> Result<String, (StatusCode, String)> {
    Err((StatusCode::from_u16(code).unwrap(), "no".into()))
}

#[monitored_handler]
fn response(body: &'static str) -> Response<String> {
    Response::builder()
        .status(200)
        .body(body.to_owned())
        .unwrap()
}

#[test]
fn http_statuses_split_server_and_client_errors() {
    for code in [200, 201, 302, 404, 429, 500, 503] {
        status(code);
    }
    let s = site("status").stats();
    assert_eq!((s.calls(), s.errors, s.client_errors), (7, 2, 2));
    assert_eq!(s.status_classes().success, 2);
    assert_eq!(s.status_classes().redirection, 1);
    assert_eq!(s.status_classes().client_error, 2);
    assert_eq!(s.status_classes().server_error, 2);

    assert!(axum_style(true).is_ok());
    assert!(axum_style(false).is_err());
    let s = site("axum_style").stats();
    assert_eq!(
        (s.calls(), s.errors, s.client_errors),
        (2, 0, 1),
        "an Err carrying a 404 is a client error"
    );
    assert_eq!(s.response_bytes, 4);

    let _ = failing_with_status(502);
    let _ = failing_with_status(400);
    let s = site("failing_with_status").stats();
    assert_eq!((s.calls(), s.errors, s.client_errors), (2, 1, 1));
}

#[test]
fn payload_sizes_come_from_arguments_and_return_values() {
    response("twelve bytes");
    let s = site("response").stats();
    assert_eq!(s.status_classes().success, 1);
    assert_eq!(s.response_bytes, 12, "an http body of known length");
    assert_eq!(s.request_bytes, 12, "a &str argument");

    words(vec![1, 2, 3], "abc".to_owned(), b"xy".to_vec());
    let s = site("words").stats();
    assert_eq!(
        s.request_bytes, 5,
        "a String and a Vec<u8> are payloads, a Vec<u32> is not"
    );
    assert_eq!(s.response_bytes, 1, "a &str return value");
}

#[monitored_handler]
fn words(numbers: Vec<u32>, text: String, raw: Vec<u8>) -> &'static str {
    if numbers.len() + text.len() + raw.len() > 3 {
        "y"
    } else {
        "n"
    }
}

#[monitored_handler]
fn panics(really: bool) -> u32 {
    assert!(!really, "boom");
    1
}

#[test]
fn a_panic_is_recorded_as_an_error_and_resumed() {
    let caught = std::panic::catch_unwind(|| panics(true));
    let message = caught.unwrap_err();
    assert_eq!(
        message.downcast_ref::<&str>(),
        Some(&"boom"),
        "the original panic continues"
    );
    assert_eq!(panics(false), 1);
    let s = site("panics").stats();
    assert_eq!((s.calls(), s.errors, s.panics), (2, 1, 1));
}

#[pipeline_stage(pipeline = "cancel")]
async fn waits_forever() -> u32 {
    std::future::pending::<()>().await;
    1
}

#[monitored_handler]
async fn async_panics() -> u32 {
    tokio::task::yield_now().await;
    panic!("async boom")
}

#[test]
fn a_future_dropped_before_it_finished_is_recorded_as_cancelled() {
    let mut future = Box::pin(waits_forever());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(future.as_mut().poll(&mut cx).is_pending());
    drop(future);
    // A future never polled never started.
    drop(waits_forever());
    let s = site("waits_forever").stats();
    assert_eq!((s.calls(), s.cancelled, s.errors), (1, 1, 0));
    assert_eq!(
        s.durations.count(),
        0,
        "a cancelled call's partial time is not a duration"
    );

    let caught = std::panic::catch_unwind(|| block_on(async_panics()));
    assert!(caught.is_err());
    let s = site("async_panics").stats();
    assert_eq!((s.calls(), s.panics, s.errors, s.cancelled), (1, 1, 1, 0));
}

#[test]
fn durations_are_measured() {
    #[monitored_handler]
    fn sleeps() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    sleeps();
    let s = site("sleeps").stats();
    assert!(
        s.durations.max() >= std::time::Duration::from_millis(20),
        "{:?}",
        s.durations.max()
    );
    assert!(
        s.durations.max() < std::time::Duration::from_secs(5),
        "{:?}",
        s.durations.max()
    );
    assert_eq!(s.durations.p50(), s.durations.quantile(0.5));
}

#[test]
fn a_function_returning_a_future_is_timed_through_its_future() {
    assert_eq!(block_on(shapes::returns_impl_future(2)), Ok(2));
    assert!(block_on(shapes::returns_impl_future(0)).is_err());
    // Timing starts at the call, so a future dropped unpolled was cancelled.
    drop(shapes::returns_impl_future(3));
    let s = site("returns_impl_future").stats();
    assert_eq!((s.calls(), s.errors, s.cancelled), (3, 1, 1));

    // A body that is `Box::pin(async move { … })`, as `#[async_trait]` writes it: the same.
    assert_eq!(block_on(shapes::returns_boxed_future("four")).input, 4);
    drop(shapes::returns_boxed_future("never polled"));
    let s = site("returns_boxed_future").stats();
    assert_eq!((s.calls(), s.cancelled, s.tokens.input), (2, 1, 4));
}
