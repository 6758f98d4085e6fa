//! Errors: sites that fail more than they usually do, and the most frequent error.

use super::read::{BASELINE, Key, RECENT, SITE_FIELDS, history, key_of, subject};
use super::words::{percent, span, times};
use super::{Insight, Severity};
use crate::history::query::{GroupResult, TimeRange};
use crate::snapshot::ErrorSummary;
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Calls a site needs in each of [`RECENT`] and [`BASELINE`] before its error rates are compared:
/// below that, one error moves the rate by several points.
const MIN_CALLS_FOR_RATE: u64 = 20;

/// Errors a site needs in [`RECENT`] to be said to fail more: a rise of one or two errors is noise.
const MIN_RECENT_ERRORS: u64 = 5;

/// How many times the usual error rate the recent one must be to count as rising.
const ERROR_RISE_FACTOR: f64 = 2.0;

/// How much higher, in absolute terms, the recent error rate must be (0.05 = 5 points): doubling
/// 0.1 % to 0.2 % is not worth a warning.
const ERROR_RISE_MIN: f64 = 0.05;

/// Characters of an error pattern quoted in a message; the rest is cut.
const MAX_PATTERN_CHARS: usize = 120;

/// Sites whose error rate in the last [`RECENT`] is well above the one in the [`BASELINE`] before.
pub(super) fn rising_errors(now: SystemTime) -> Vec<Insight> {
    let split = now.checked_sub(RECENT).unwrap_or(UNIX_EPOCH);
    let start = split.checked_sub(BASELINE).unwrap_or(UNIX_EPOCH);
    let window = |from, to| {
        history(TimeRange::Between { from, to }, now, None, &SITE_FIELDS)
            .map(|r| r.groups)
            .unwrap_or_default()
    };
    let before: BTreeMap<Key, GroupResult> = window(start, split)
        .into_iter()
        .map(|g| (g.key.clone(), g))
        .collect();
    let mut rising: Vec<(f64, Insight)> = window(split, now)
        .into_iter()
        .filter_map(|recent| {
            let usual = before.get(&recent.key)?;
            let (now_rate, usual_rate) = (recent.figures.error_rate(), usual.figures.error_rate());
            let rises = recent.figures.calls() >= MIN_CALLS_FOR_RATE
                && usual.figures.calls() >= MIN_CALLS_FOR_RATE
                && recent.figures.errors >= MIN_RECENT_ERRORS
                && now_rate >= usual_rate * ERROR_RISE_FACTOR
                && now_rate - usual_rate >= ERROR_RISE_MIN;
            rises.then(|| {
                let message = format!(
                    "Errors are rising in {}: {} of calls failed in the last {} ({} of {}), up \
                     from {} in the {} before",
                    subject(&recent.key),
                    percent(now_rate),
                    span(RECENT),
                    recent.figures.errors,
                    recent.figures.calls(),
                    percent(usual_rate),
                    span(BASELINE),
                );
                (
                    now_rate,
                    Insight::new(Severity::Warning, "rising_errors", message),
                )
            })
        })
        .collect();
    rising.sort_by(|a, b| b.0.total_cmp(&a.0));
    rising.into_iter().map(|(_, insight)| insight).collect()
}

/// The most frequent error pattern.
pub(super) fn error_pattern(summary: &ErrorSummary) -> Option<Insight> {
    let top = summary.patterns.first()?;
    let mut pattern: String = top.pattern.chars().take(MAX_PATTERN_CHARS).collect();
    if top.pattern.chars().nth(MAX_PATTERN_CHARS).is_some() {
        pattern.push('…');
    }
    Some(Insight::new(
        Severity::Info,
        "error_pattern",
        format!(
            "The most frequent error is \"{pattern}\": {} in {}",
            times(top.count),
            subject(&key_of(top.site)),
        ),
    ))
}
