//! Queries over the history, with a clock of the test's own. One test in steps: the history is
//! global to the process.

use monitor_core::figures::OutcomeFilter;
use monitor_core::history::{Field, Query, QueryError, TimeRange, query, tick_at};
use monitor_core::pricing::{Price, set_price};
use monitor_core::{Tokens, monitored_handler, pipeline_stage, tracks_tokens};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[tracks_tokens(model = "query-model")]
fn complete(n: u64) -> Tokens {
    Tokens::new(n, 1)
}

#[pipeline_stage(pipeline = "q", stage = "draft")]
fn draft(n: u64) -> Result<u64, String> {
    complete(n);
    if n == 0 {
        Err("nothing to draft".into())
    } else {
        Ok(n)
    }
}

#[pipeline_stage(pipeline = "q", stage = "polish")]
fn polish(n: u64) -> u64 {
    n + 1
}

#[monitored_handler(route = "POST /q")]
fn handle(n: u64) -> Result<u64, String> {
    Ok(polish(draft(n)?))
}

/// Three outcomes with durations set apart: ok at once, a client error after 2 ms, an error after
/// 6 ms.
#[monitored_handler(route = "GET /q/outcomes")]
fn outcomes(kind: u8) -> Result<u8, http::StatusCode> {
    match kind {
        0 => Ok(0),
        1 => {
            std::thread::sleep(Duration::from_millis(6));
            Err(http::StatusCode::BAD_GATEWAY)
        }
        _ => {
            std::thread::sleep(Duration::from_millis(2));
            Err(http::StatusCode::NOT_FOUND)
        }
    }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn queries_filter_group_aggregate_and_chart_the_history() {
    set_price("query-model", Price::per_million(1.0, 1.0)).unwrap();
    let t0 = 1_800_000_000;
    tick_at(at(t0));
    // Ten seconds of traffic, one tick a second: second s makes s + 1 requests, one failing.
    let logos = monitor_core::cache("query-logos");
    for s in 0..10u64 {
        for i in 0..=s {
            let _ = handle(i);
        }
        // s + 1 lookups a second, the first of each second a miss.
        for i in 0..=s {
            logos.record(i > 0);
        }
        if s == 0 {
            for kind in [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2] {
                let _ = outcomes(kind);
            }
        }
        tick_at(at(t0 + s + 1));
    }
    let now = at(t0 + 10);
    let last = |secs| Query::new(TimeRange::Last(Duration::from_secs(secs))).at(now);

    let by_stage = query(&last(60).filter(Field::Pipeline, "q").group_by(Field::Stage)).unwrap();
    let stages: Vec<(String, u64, u64)> = by_stage
        .groups
        .iter()
        .map(|g| (g.key["stage"].clone(), g.figures.calls(), g.figures.errors))
        .collect();
    assert_eq!(
        stages,
        [("draft".to_owned(), 55, 10), ("polish".to_owned(), 45, 0)]
    );
    let draft = &by_stage.groups[0];
    assert_eq!(
        (draft.figures.tokens.input, draft.figures.tokens.output),
        (165, 55),
        "tokens spent inside the stage"
    );
    assert!((draft.figures.cost_usd().unwrap() - 220e-6).abs() < 1e-12);
    assert!((draft.rate_per_sec - 55.0 / 60.0).abs() < 1e-9);
    assert_eq!(draft.series.len(), 10, "a point a second");
    assert_eq!(
        draft
            .series
            .iter()
            .map(|p| p.figures.calls())
            .collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert!(
        draft.figures.durations.p50().as_secs_f64() <= draft.figures.durations.p99().as_secs_f64()
            && draft.figures.durations.p99().as_secs_f64()
                <= draft.figures.durations.max().as_secs_f64()
    );

    // Grouped by kind, filtered by route, coarser points.
    let handlers = query(
        &last(60)
            .filter(Field::Kind, "handler")
            .filter(Field::Route, "POST /q"),
    )
    .unwrap();
    assert_eq!(handlers.groups.len(), 1);
    assert_eq!(
        (
            handlers.groups[0].figures.calls(),
            handlers.groups[0].figures.errors
        ),
        (55, 10)
    );
    let coarse = query(
        &last(10)
            .filter(Field::Site, "handle")
            .resolution(Duration::from_secs(5)),
    )
    .unwrap();
    assert_eq!(
        coarse.groups[0]
            .series
            .iter()
            .map(|p| p.figures.calls())
            .collect::<Vec<_>>(),
        [15, 40]
    );

    // Counting one outcome: 10 of the 55 handler calls failed.
    let by_outcome = |o| {
        let g = &query(&last(60).filter(Field::Site, "handle").outcome(o))
            .unwrap()
            .groups[0];
        (
            g.figures.calls(),
            g.figures.errors,
            g.series.iter().map(|p| p.figures.calls()).sum::<u64>(),
        )
    };
    assert_eq!(by_outcome(OutcomeFilter::Error), (10, 10, 10));
    assert_eq!(by_outcome(OutcomeFilter::Ok), (45, 0, 45));
    assert_eq!(by_outcome(OutcomeFilter::ClientError), (0, 0, 0));
    let q = Query::from_params([("site", "handle"), ("outcome", "error")])
        .unwrap()
        .at(now);
    assert_eq!(query(&q).unwrap().groups[0].figures.calls(), 10);
    assert_eq!(
        Query::from_params([("outcome", "meh")]).unwrap_err(),
        QueryError::InvalidValue {
            field: "outcome".into(),
            value: "meh".into()
        }
    );

    // Each outcome with its own durations.
    let of = |o| {
        query(&last(60).filter(Field::Site, "outcomes").outcome(o))
            .unwrap()
            .groups
            .remove(0)
    };
    let (ok, error, client) = (
        of(OutcomeFilter::Ok),
        of(OutcomeFilter::Error),
        of(OutcomeFilter::ClientError),
    );
    assert_eq!(
        (
            ok.figures.calls(),
            error.figures.calls(),
            client.figures.calls()
        ),
        (10, 3, 3)
    );
    assert!(
        error.figures.durations.p50().as_secs_f64() >= 0.006,
        "{error:?}"
    );
    assert!(
        client.figures.durations.p50().as_secs_f64() >= 0.002,
        "{client:?}"
    );
    // The failures' durations are taken out of the rest.
    assert!(ok.figures.durations.p99().as_secs_f64() < 0.002, "{ok:?}");
    assert_eq!(
        (
            error.figures.errors,
            client.figures.client_errors,
            ok.figures.errors
        ),
        (3, 3, 0)
    );
    // Grouped by outcome: one group per outcome that happened.
    let grouped = query(
        &last(60)
            .filter(Field::Site, "outcomes")
            .group_by(Field::Outcome),
    )
    .unwrap();
    let split: Vec<(String, u64)> = grouped
        .groups
        .iter()
        .map(|g| (g.key["outcome"].clone(), g.figures.calls()))
        .collect();
    assert_eq!(
        split,
        [
            ("client_error".to_owned(), 3),
            ("error".to_owned(), 3),
            ("ok".to_owned(), 10)
        ]
    );
    let q = Query::from_params([
        ("site", "outcomes"),
        ("group_by", "outcome"),
        ("outcome", "error"),
    ])
    .unwrap()
    .at(now);
    assert_eq!(query(&q).unwrap().groups.len(), 1);

    // Only part of the range.
    let between = Query::new(TimeRange::Between {
        from: at(t0 + 8),
        to: at(t0 + 10),
    })
    .filter(Field::Site, "handle");
    assert_eq!(query(&between).unwrap().groups[0].figures.calls(), 9 + 10);

    // From URL parameters, and what is refused.
    let q = Query::from_params([("range", "1m"), ("pipeline", "q"), ("group_by", "stage")])
        .unwrap()
        .at(now);
    assert_eq!(query(&q).unwrap().groups.len(), 2);
    let inverted = Query::new(TimeRange::Between {
        from: at(t0 + 5),
        to: at(t0),
    });
    assert!(matches!(
        query(&inverted),
        Err(QueryError::InvertedRange { .. })
    ));
    assert_eq!(
        Query::from_params([("group_by", "stage,colour")]).unwrap_err(),
        QueryError::UnknownField {
            field: "colour".into()
        }
    );
    assert!(matches!(
        Query::from_params([("range", "fortnight")]),
        Err(QueryError::InvalidValue { .. })
    ));
    let too_fine = last(3600).resolution(Duration::from_millis(100));
    let err = query(&too_fine).unwrap_err();
    assert!(matches!(err, QueryError::ResolutionTooFine { .. }), "{err}");
    // Cache hit ratio over the range and over time.
    let result = query(&last(10).resolution(Duration::from_secs(5))).unwrap();
    let c = result
        .caches
        .iter()
        .find(|c| c.name == "query-logos")
        .unwrap();
    assert_eq!((c.hits, c.misses), (45, 10));
    assert_eq!(
        c.series
            .iter()
            .map(|(_, h, m)| (*h, *m))
            .collect::<Vec<_>>(),
        [(10, 5), (35, 5)]
    );

    // The pipeline's estimate comes from what its stages recorded.
    let estimate = monitor_core::history::estimate("q", &["draft"]).unwrap();
    let names: Vec<&str> = estimate.stages.iter().map(|s| s.stage.as_str()).collect();
    assert_eq!(names, ["draft", "polish"]);
    assert!(
        estimate.remaining_p50 <= estimate.total_p50 && estimate.total_p50 <= estimate.total_p90
    );
    assert!(monitor_core::history::estimate("no-such-pipeline", &[]).is_none());

    let by_kind = query(&last(60).group_by(Field::Kind)).unwrap();
    assert!(by_kind.groups.len() >= 3);
}

#[test]
fn query_parameters_given_twice_an_unknown_kind_or_a_time_past_9999_are_refused() {
    use monitor_core::history::{Query, QueryError};
    let parse = |pairs: &[(&str, &str)]| Query::from_params(pairs.iter().copied());
    assert_eq!(
        parse(&[("range", "5m"), ("range", "1h")]).unwrap_err(),
        QueryError::Repeated {
            field: "range".into()
        }
    );
    assert_eq!(
        parse(&[("site", "a"), ("site", "b")]).unwrap_err(),
        QueryError::Repeated {
            field: "site".into()
        }
    );
    assert!(matches!(
        parse(&[("kind", "garbage")]).unwrap_err(),
        QueryError::InvalidValue { field, .. } if field == "kind"
    ));
    assert!(parse(&[("kind", "stage")]).is_ok());
    assert!(matches!(
        parse(&[("from", "0"), ("to", "99999999999999999")]).unwrap_err(),
        QueryError::InvalidValue { field, .. } if field == "to"
    ));
    assert!(parse(&[("from", "0"), ("to", "253402300799")]).is_ok());
}
