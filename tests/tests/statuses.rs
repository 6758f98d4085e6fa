//! Durations by exact HTTP status (`Figures::status_durations`, what exporters label
//! `http.response.status_code`): counted exactly from real threads, bounded per site, split by
//! outcome with the rest of a site's figures.

use http::StatusCode;
use monitor_core::figures::OutcomeFilter;
use monitor_core::site::MAX_STATUS_CODES;
use monitor_core::{Figures, monitored_handler};

#[monitored_handler]
fn answer_with(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[monitored_handler]
fn answer_any(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[monitored_handler]
fn status_or_not(with_status: bool) -> Result<StatusCode, String> {
    if with_status {
        Ok(StatusCode::CREATED)
    } else {
        Err("no status".into())
    }
}

fn figures_of(name: &str) -> Figures {
    let snapshot = monitor_core::snapshot();
    let site = snapshot
        .sites
        .iter()
        .find(|s| s.site.name() == name)
        .unwrap_or_else(|| panic!("no site {name}"));
    Figures::clone(&site.figures)
}

fn counts(f: &Figures) -> Vec<(u16, u64)> {
    f.status_durations
        .iter()
        .map(|(status, h)| (*status, h.count()))
        .collect()
}

#[test]
fn every_status_is_counted_exactly_from_many_threads() {
    const THREADS: u64 = 8;
    const CALLS: u64 = 5_000;
    const CODES: [u16; 5] = [200, 201, 404, 500, 503];
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            scope.spawn(move || {
                for i in 0..CALLS {
                    answer_with(CODES[((t + i) % 5) as usize]);
                }
            });
        }
    });
    let f = figures_of("answer_with");
    let each = THREADS * CALLS / 5;
    assert_eq!(
        counts(&f),
        CODES.iter().map(|c| (*c, each)).collect::<Vec<_>>()
    );
    assert_eq!(f.calls(), THREADS * CALLS);
    assert_eq!(f.statuses, [0, 2 * each, 0, each, 2 * each]);
    // By outcome: each part keeps its own statuses, and their durations add up to the part's.
    let ok = f.with_outcome(OutcomeFilter::Ok);
    assert_eq!(counts(&ok), [(200, each), (201, each)]);
    assert_eq!(ok.durations.count(), 2 * each);
    let client = f.with_outcome(OutcomeFilter::ClientError);
    assert_eq!(counts(&client), [(404, each)]);
    let failed = f.with_outcome(OutcomeFilter::Error);
    assert_eq!(counts(&failed), [(500, each), (503, each)]);
    let summed: u64 = f.status_durations.iter().map(|(_, h)| h.count()).sum();
    assert_eq!(summed, f.durations.count());
}

#[test]
fn a_site_keeps_at_most_its_bound_of_statuses_and_counts_every_call_still() {
    let codes: Vec<u16> = (200..200 + MAX_STATUS_CODES as u16 + 10).collect();
    for code in &codes {
        answer_any(*code);
        answer_any(*code);
    }
    let f = figures_of("answer_any");
    assert_eq!(f.status_durations.len(), MAX_STATUS_CODES);
    assert!(f.status_durations.iter().all(|(_, h)| h.count() == 2));
    assert_eq!(f.calls(), 2 * codes.len() as u64);
    assert_eq!(f.statuses[1], 2 * codes.len() as u64);
}

#[test]
fn calls_without_a_status_are_in_no_status_s_durations() {
    for i in 0..9 {
        let _ = status_or_not(i % 3 == 0);
    }
    let f = figures_of("status_or_not");
    assert_eq!(counts(&f), [(201, 3)]);
    assert_eq!((f.calls(), f.errors), (9, 6));
    // What has no status is the rest: the site's durations less those by status.
    let rest = f.durations.count() - f.status_durations[0].1.count();
    assert_eq!(rest, 6);
}
