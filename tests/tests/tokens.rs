//! Token usage, models, prices, and crediting the enclosing stage and handler.

use monitor_core::pricing::{Price, PriceTable, PricingError, set_price};
use monitor_core::snapshot::models;
use monitor_core::usage::UNKNOWN_MODEL;
use monitor_core::{TokenUsage, Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use monitor_tests::support::{block_on, site};
use std::future::Future;
use std::task::{Context, Poll, Waker};

const EPS: f64 = 1e-9;

#[tracks_tokens(model = "tok-literal")]
fn literal(input: u64) -> Tokens {
    Tokens::new(input, 10)
}

#[test]
fn a_literal_model_is_priced_from_the_table() {
    set_price("tok-literal", Price::per_million(2.0, 8.0)).unwrap();
    literal(1_000_000);
    literal(500_000);
    let s = site("literal").stats();
    assert_eq!(
        (s.calls(), s.token_calls, s.tokens.input, s.tokens.output),
        (2, 2, 1_500_000, 20)
    );
    let expected = 1.5 * 2.0 + 20.0 * 8.0 / 1e6;
    assert!(
        (s.cost_usd().unwrap() - expected).abs() < EPS,
        "{:?}",
        s.cost_usd()
    );
    let model = models()
        .into_iter()
        .find(|m| m.model == "tok-literal")
        .unwrap();
    assert_eq!(
        (model.figures.token_calls, model.figures.tokens.input),
        (2, 1_500_000)
    );
    assert!((model.figures.cost_usd().unwrap() - expected).abs() < EPS);
}

#[tracks_tokens(model = "tok-never-priced")]
fn unpriced() -> Tokens {
    Tokens::new(7, 3)
}

#[test]
fn a_model_without_a_price_counts_tokens_and_leaves_cost_unknown() {
    unpriced();
    let s = site("unpriced").stats();
    assert_eq!(
        (s.tokens.input, s.tokens.output, s.unpriced_calls),
        (7, 3, 1)
    );
    assert_eq!(s.cost_usd(), None, "unknown, never 0");
    assert!(s.known_cost_usd().abs() < EPS);
    let model = models()
        .into_iter()
        .find(|m| m.model == "tok-never-priced")
        .unwrap();
    assert_eq!((model.figures.cost_usd(), model.price), (None, None));
}

#[derive(Debug)]
struct Completion {
    model: String,
    usage: Tokens,
}

impl TokenUsage for Completion {
    fn token_usage(&self) -> Tokens {
        self.usage
    }
    fn model(&self) -> Option<&str> {
        Some(&self.model)
    }
}

struct Client {
    model: String,
}

impl Client {
    #[tracks_tokens(model = self.model.as_str(), provider = "test")]
    fn complete(&self, prompt: &str) -> Result<Completion, String> {
        if prompt.is_empty() {
            return Err("empty prompt".into());
        }
        Ok(Completion {
            model: "ignored-when-the-attribute-names-one".into(),
            usage: Tokens::new(100, 50).cached(40),
        })
    }

    #[tracks_tokens]
    async fn answered_by(&self) -> Result<Completion, String> {
        Ok(Completion {
            model: self.model.clone(),
            usage: Tokens::new(1, 2),
        })
    }
}

#[test]
fn an_expression_model_is_evaluated_per_call() {
    set_price(
        "tok-expr-a",
        Price::per_million(1.0, 1.0).with_cached_input(0.5),
    )
    .unwrap();
    let a = Client {
        model: "tok-expr-a".into(),
    };
    let b = Client {
        model: "tok-expr-b".into(),
    };
    a.complete("hi").unwrap();
    b.complete("hi").unwrap();
    assert!(a.complete("").is_err());

    let s = site("complete").stats();
    assert_eq!(
        (s.calls(), s.errors, s.token_calls),
        (3, 1, 2),
        "an Err reports no tokens"
    );
    assert_eq!((s.tokens.input, s.tokens.cached_input), (200, 80));
    assert_eq!(s.cost_usd(), None, "tok-expr-b has no price");
    // tok-expr-a: 60 fresh input at 1.0, 40 cached at 0.5, 50 output at 1.0 per million
    assert!((s.known_cost_usd() - (60.0 + 20.0 + 50.0) / 1e6).abs() < EPS);

    let by_model: Vec<_> = models()
        .into_iter()
        .filter(|m| m.model.starts_with("tok-expr-"))
        .collect();
    assert_eq!(by_model.len(), 2);
    assert!(by_model.iter().all(|m| m.figures.token_calls == 1));
    assert!(
        !models()
            .iter()
            .any(|m| m.model == "ignored-when-the-attribute-names-one")
    );
}

#[test]
fn without_a_model_argument_the_return_value_names_it() {
    let client = Client {
        model: "tok-from-response".into(),
    };
    block_on(client.answered_by()).unwrap();
    let model = models()
        .into_iter()
        .find(|m| m.model == "tok-from-response")
        .unwrap();
    assert_eq!(
        (
            model.figures.token_calls,
            model.figures.tokens.input,
            model.figures.tokens.output
        ),
        (1, 1, 2)
    );
}

#[tracks_tokens]
fn nameless() -> Tokens {
    Tokens::new(1, 1)
}

#[test]
fn a_call_that_names_no_model_counts_under_unknown() {
    nameless();
    let model = models()
        .into_iter()
        .find(|m| m.model == UNKNOWN_MODEL)
        .unwrap();
    assert!(model.figures.token_calls >= 1);
    assert_eq!(model.figures.cost_usd(), None);
}

#[tracks_tokens(model = "tok-never-reported")]
fn never_reports() -> Option<Tokens> {
    None
}

#[tracks_tokens(model = "tok-never-reported")]
fn always_refused() -> Result<Tokens, String> {
    Err("refused".into())
}

#[test]
fn a_model_none_of_whose_calls_reported_usage_is_listed_with_its_calls() {
    never_reports();
    never_reports();
    always_refused().unwrap_err();
    let model = models()
        .into_iter()
        .find(|m| m.model == "tok-never-reported")
        .expect("listed, though it reported no usage");
    let f = &model.figures;
    // Three calls from two sites, one failed; none reported usage, so it is unknown, not zero.
    assert_eq!((f.calls(), f.errors, f.token_calls), (3, 1, 0));
    assert_eq!(f.tokens, Tokens::default());
}

// A stage that awaits metered calls, yielding in between, so its polls interleave with others.
#[tracks_tokens(model = "tok-stage")]
async fn metered(input: u64) -> Tokens {
    Yield(false).await;
    Tokens::new(input, 1)
}

#[pipeline_stage(pipeline = "attribution", stage = "left")]
async fn left() -> u64 {
    let mut total = 0;
    for _ in 0..3 {
        total += metered(1).await.input;
        Yield(false).await;
    }
    total
}

#[pipeline_stage(pipeline = "attribution", stage = "right")]
async fn right() -> u64 {
    let mut total = 0;
    for _ in 0..2 {
        total += metered(1000).await.input;
        Yield(false).await;
    }
    total
}

#[monitored_handler]
async fn both_stages() -> u64 {
    Join(Box::pin(left()), Box::pin(right()), None, None)
        .await
        .iter()
        .sum()
}

#[test]
fn tokens_are_credited_per_poll_to_the_enclosing_stage_and_handler() {
    set_price("tok-stage", Price::per_million(1.0, 0.0)).unwrap();
    // Both stages run interleaved on one thread: per-thread attribution would mix them up.
    assert_eq!(block_on(both_stages()), 3 + 2000);
    let l = site("left").stats();
    let r = site("right").stats();
    assert_eq!((l.token_calls, l.tokens.input), (3, 3));
    assert_eq!((r.token_calls, r.tokens.input), (2, 2000));
    assert!((r.cost_usd().unwrap() - 2000.0 / 1e6).abs() < EPS);
    let h = site("both_stages").stats();
    assert_eq!(
        (h.token_calls, h.tokens.input),
        (5, 2003),
        "the handler gets every call inside it"
    );
}

#[test]
fn a_stage_future_moving_between_threads_keeps_its_tokens() {
    #[pipeline_stage(pipeline = "attribution", stage = "travelling")]
    async fn travelling() -> u64 {
        metered(5).await.input + metered(5).await.input
    }
    let mut future = Box::pin(travelling());
    let mut cx = Context::from_waker(Waker::noop());
    // Poll it on a different thread each time until it finishes.
    let total = loop {
        let (f, poll) = std::thread::spawn(move || {
            let mut cx = Context::from_waker(Waker::noop());
            let poll = future.as_mut().poll(&mut cx);
            (future, poll)
        })
        .join()
        .unwrap();
        future = f;
        if let Poll::Ready(total) = poll {
            break total;
        }
    };
    let _ = &mut cx;
    assert_eq!(total, 10);
    let s = site("travelling").stats();
    assert_eq!((s.calls(), s.token_calls, s.tokens.input), (1, 2, 10));
}

#[test]
fn tokens_outside_any_stage_are_credited_to_no_stage() {
    #[pipeline_stage(pipeline = "attribution", stage = "idle")]
    fn idle() {}
    idle();
    block_on(metered(1));
    assert_eq!(site("idle").stats().token_calls, 0);
}

#[test]
fn price_tables_load_from_json_and_reject_bad_input() {
    let table = PriceTable::from_json_str(
        r#"{ "models": { "a": { "input": 2.5, "output": 10, "cached_input": 1.25 }, "b": { "input": 0.1, "output": 0.2 } } }"#,
    )
    .unwrap();
    assert_eq!(
        table.get("a"),
        Some(&Price::per_million(2.5, 10.0).with_cached_input(1.25))
    );
    assert_eq!(table.get("b").unwrap().cached_input, None);

    let err = PriceTable::from_json_str(r#"{ "models": { "a": { "input": -1, "output": 1 } } }"#)
        .unwrap_err();
    assert!(
        matches!(&err, PricingError::InvalidRate { model, key, .. } if model == "a" && key == "input"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "price table: `input` of model `a` is -1, but must be a finite number of USD, 0 or more"
    );

    let err = PriceTable::from_json_str(r#"{ "models": { "a": { "input": 1, "ouput": 1 } } }"#)
        .unwrap_err();
    assert!(err.to_string().contains("unknown key `ouput`"), "{err}");
    assert!(
        matches!(&err, PricingError::UnknownKey { model, key, .. } if model == "a" && key == "ouput"),
        "{err:?}"
    );

    let temp = monitor_harness::TempDir::new("tokens").unwrap();
    let dir = temp.path();
    let path = dir.join("prices.json");
    std::fs::write(
        &path,
        "{ \"models\": {\n  \"x\": { \"input\": 1, \"output\": 2 },\n  oops\n} }",
    )
    .unwrap();
    let err = PriceTable::from_json_file(&path).unwrap_err();
    assert!(
        matches!(err, PricingError::Parse { line: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(&path.display().to_string()));
    let err = PriceTable::from_json_file(dir.join("missing.json")).unwrap_err();
    assert!(matches!(err, PricingError::Io { .. }), "{err:?}");
    drop(temp);

    assert!(set_price("c", Price::per_million(f64::NAN, 1.0)).is_err());
    assert_eq!(
        monitor_core::pricing::price_of("c"),
        None,
        "a rejected price is not set"
    );
}

// --- a tiny join for two futures, so the test needs no runtime ---

struct Yield(bool);

impl Future for Yield {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

type Boxed = std::pin::Pin<Box<dyn Future<Output = u64>>>;

struct Join(Boxed, Boxed, Option<u64>, Option<u64>);

impl Future for Join {
    type Output = [u64; 2];
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<[u64; 2]> {
        let this = &mut *self;
        if this.2.is_none()
            && let Poll::Ready(v) = this.0.as_mut().poll(cx)
        {
            this.2 = Some(v);
        }
        if this.3.is_none()
            && let Poll::Ready(v) = this.1.as_mut().poll(cx)
        {
            this.3 = Some(v);
        }
        match (this.2, this.3) {
            (Some(a), Some(b)) => Poll::Ready([a, b]),
            _ => Poll::Pending,
        }
    }
}

#[test]
fn an_async_trait_method_evaluates_its_model_expression() {
    use monitor_tests::shapes::{Counter, Llm};
    let counter = Counter {
        n: 3,
        model: "tok-async-trait".into(),
    };
    assert_eq!(block_on(counter.complete("abcd")), Ok(Tokens::new(4, 3)));
    let model = models()
        .into_iter()
        .find(|m| m.model == "tok-async-trait")
        .unwrap();
    assert_eq!(
        (
            model.figures.token_calls,
            model.figures.tokens.input,
            model.figures.tokens.output
        ),
        (1, 4, 3)
    );
    assert_eq!(site("async_trait_complete").stats().token_calls, 1);
}

/// A provider's response names the model: a huge name is cut, not kept (nor exported) whole.
struct Verbose(String);

impl TokenUsage for Verbose {
    fn token_usage(&self) -> Tokens {
        Tokens::new(1, 1)
    }
    fn model(&self) -> Option<&str> {
        Some(&self.0)
    }
}

#[tracks_tokens]
fn verbose(name: String) -> Verbose {
    Verbose(name)
}

#[test]
fn a_model_name_from_a_response_is_bounded() {
    verbose(format!("long-{}", "é".repeat(10_000)));
    let model = models()
        .into_iter()
        .find(|m| m.model.starts_with("long-"))
        .expect("the model is counted");
    assert!(
        model.model.len() <= monitor_core::usage::MAX_MODEL_NAME,
        "{}",
        model.model.len()
    );
    assert!(model.model.len() >= monitor_core::usage::MAX_MODEL_NAME - 1);
}
