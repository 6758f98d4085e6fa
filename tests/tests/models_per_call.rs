//! A token site whose model is named per call is split by model: in queries (`model=` and
//! `group_by=model`), in the snapshot, and in `models()`, with each model's own calls, errors,
//! durations and tokens.

use monitor_core::history::{Field, Query, TimeRange, query, tick_at};
use monitor_core::{TokenUsage, Tokens, tracks_tokens};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

struct Reply {
    model: &'static str,
    tokens: Tokens,
}

impl TokenUsage for Reply {
    fn token_usage(&self) -> Tokens {
        self.tokens
    }
    fn model(&self) -> Option<&str> {
        Some(self.model)
    }
}

struct Client {
    model: String,
}

impl Client {
    #[tracks_tokens(model = self.model.as_str())]
    fn complete(&self, fail: bool) -> Result<Tokens, String> {
        if fail {
            return Err("rate limited".into());
        }
        Ok(Tokens::new(100, 10))
    }
}

/// The model comes from the reply; a failed call names none.
#[tracks_tokens]
fn routed(model: &'static str, fail: bool) -> Result<Reply, String> {
    if fail {
        return Err("no route".into());
    }
    Ok(Reply {
        model,
        tokens: Tokens::new(7, 3),
    })
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn calls_are_split_by_the_model_each_named() {
    let t0 = 1_750_000_000;
    tick_at(at(t0));
    let small = Client {
        model: "small-model".into(),
    };
    let large = Client {
        model: "large-model".into(),
    };
    for i in 0..6 {
        small.complete(i == 0).ok();
    }
    for _ in 0..2 {
        large.complete(false).ok();
    }
    routed("routed-a", false).ok();
    routed("routed-b", false).ok();
    routed("routed-b", false).ok();
    routed("routed-b", true).ok();
    tick_at(at(t0 + 1));

    let run = |q: Query| query(&q.at(at(t0 + 2))).unwrap().groups;
    let range = || Query::new(TimeRange::Last(Duration::from_secs(60)));

    // Grouped by model: each model its calls, errors and tokens.
    let groups = run(range().filter(Field::Kind, "tokens").group_by(Field::Model));
    let group = |model: &str| {
        groups
            .iter()
            .find(|g| g.key.get("model").map(String::as_str) == Some(model))
            .unwrap_or_else(|| panic!("no group for {model}: {groups:?}"))
    };
    let small_group = group("small-model");
    assert_eq!(
        (
            small_group.figures.calls(),
            small_group.figures.errors,
            small_group.figures.tokens.input
        ),
        (6, 1, 500)
    );
    assert!(
        small_group.figures.durations.p50().as_secs_f64() > 0.0
            && small_group.figures.durations.sum().as_secs_f64() > 0.0
    );
    assert_eq!(
        (
            group("large-model").figures.calls(),
            group("large-model").figures.tokens.output
        ),
        (2, 20)
    );
    assert_eq!(
        (
            group("routed-a").figures.calls(),
            group("routed-a").figures.tokens.input
        ),
        (1, 7)
    );
    assert_eq!(
        (
            group("routed-b").figures.calls(),
            group("routed-b").figures.tokens.input
        ),
        (2, 14)
    );
    // The failed routed call named no model.
    assert_eq!(
        (
            group("unknown").figures.calls(),
            group("unknown").figures.errors
        ),
        (1, 1)
    );

    // Filtered by one model: only its calls.
    let only = run(range().filter(Field::Model, "small-model"));
    assert_eq!(only.len(), 1);
    assert_eq!(
        (
            only[0].figures.calls(),
            only[0].figures.errors,
            only[0].figures.tokens.output
        ),
        (6, 1, 50)
    );
    assert!(run(range().filter(Field::Model, "no-such-model")).is_empty());

    // Without a model in the query, the site is one part.
    let by_site = run(range().filter(Field::Site, "complete"));
    assert_eq!(by_site[0].figures.calls(), 8);

    // The read model and `models()` tell the same.
    let snap = monitor_core::snapshot();
    let complete = snap
        .sites
        .iter()
        .find(|s| s.site.name() == "complete")
        .unwrap();
    let mut models: Vec<(&str, u64)> = complete
        .by_model
        .iter()
        .map(|(m, f)| (*m, f.calls()))
        .collect();
    models.sort_unstable();
    assert_eq!(models, [("large-model", 2), ("small-model", 6)]);
    let stats = |name: &str| {
        monitor_core::snapshot::models()
            .into_iter()
            .find(|m| m.model == name)
            .unwrap()
    };
    assert_eq!(
        (
            stats("small-model").figures.token_calls,
            stats("small-model").figures.tokens.input
        ),
        (5, 500)
    );
    assert_eq!(stats("routed-b").figures.token_calls, 2);
}
