//! The figures of a set of calls: counts by outcome and status, bytes, tokens by kind, cost, heap
//! bytes, and the duration histograms — one type, [`Figures`], that every view holds.
//!
//! Reach for it when you read what was recorded: [`Site::stats`](crate::Site::stats), each site
//! of a [`Snapshot`](crate::Snapshot), each group and point of a
//! [`history::query`](crate::history::query), each tick and each model give `Figures`, added,
//! subtracted and split by outcome the same way everywhere, with the values derived from them
//! (quantiles, rates, costs) as its methods and its histograms'.

// The figures of a set of calls, defined once.
//
// A site's stripes are read into [`Figures`]; the history keeps the difference of two readings
// (only the buckets that grew); queries, models and exporters add them up. `Site::stats`, the
// snapshot's sites and models, the query's groups and points and the ticks hold it. A new
// counter is a field here and its place in `counters_mut` and `counter_values` (a test checks
// they agree; the history file stores the counters in that order, and refuses a file written
// with another number of them), filled where it is recorded, and exported by a row of
// monitor-export's `rules::SITE_COUNTERS`. Adding, subtracting and merging are written once,
// below.
pub(crate) mod histogram;
mod stats;

pub use histogram::Histogram;
pub use stats::{KindCosts, StatusClasses};

use crate::sorted::merge_keyed;
use crate::usage::Tokens;

/// What a set of calls did: counts by outcome, statuses, payload bytes, tokens, cost, heap bytes,
/// and the durations of the finished calls, with those of the failed calls and of the calls
/// answered with a 4xx apart.
///
/// Counts are exact: N threads × M calls are N·M recorded. Durations come from a log-linear
/// [`Histogram`] (32 buckets per power of two), whose quantiles are within 1.6 % of the exact
/// sample quantile (the tests measure 1.25 % at worst over five distributions) and whose maximum
/// is exact. Every reader of the runtime sees
/// these: [`Site::stats`](crate::Site::stats) returns them, [`crate::Snapshot`] holds them per
/// site and per model, the history keeps what each tick added, and each group and point of a
/// query holds them.
///
/// # Examples
///
/// ```
/// use monitor_core::Figures;
/// use std::time::Duration;
///
/// let mut a = Figures::default();
/// a.durations.record(Duration::from_millis(5));
/// a.errors = 1;
/// a.error_durations.record(Duration::from_millis(5));
/// let mut b = a.clone();
/// b.durations.record(Duration::from_millis(7));
///
/// let added = b.since(&a);
/// assert_eq!(added.calls(), 1);
/// assert_eq!(added.errors, 0);
/// let mut both = a.clone();
/// both.add(&b);
/// assert_eq!((both.calls(), both.errors), (3, 2));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Figures {
    /// Durations of the calls that finished (returned or panicked).
    pub durations: Histogram,
    /// Durations of the failed calls (a part of `durations`).
    pub error_durations: Histogram,
    /// Durations of the calls answered with a 4xx (a part of `durations`).
    pub client_error_durations: Histogram,
    /// Failed calls: an `Err` without a 4xx status, a 5xx status, or a panic.
    pub errors: u64,
    /// Calls whose outcome carried a 4xx status; not in `errors`.
    pub client_errors: u64,
    /// Calls that panicked (also in `errors`).
    pub panics: u64,
    /// Futures dropped before they finished; not in `durations`.
    pub cancelled: u64,
    /// How long each cancelled call had run when its future was dropped (for a request, until
    /// the client went away): a call each, as many as `cancelled`, and not in `durations`. What
    /// lets an exporter that reports every request as a duration (OTLP's
    /// `http.server.request.duration`) count the cancelled ones too.
    pub cancelled_durations: Histogram,
    /// Calls whose outcome carried an HTTP status, by class: 1xx … 5xx.
    pub statuses: [u64; 5],
    /// Request payload bytes.
    pub request_bytes: u64,
    /// Response payload bytes.
    pub response_bytes: u64,
    /// Metered calls counted here: a token site's own, or those made inside a stage or handler.
    pub token_calls: u64,
    /// Their tokens.
    pub tokens: Tokens,
    /// Cost of the metered calls whose model had a price, in millionths of a millionth of a USD.
    pub cost_picousd: u64,
    /// The part of `cost_picousd` each kind of token cost, in the order of
    /// [`TokenKind::ALL`](crate::usage::TokenKind::ALL).
    pub cost_by_kind: [u64; 5],
    /// Metered calls whose model had no price.
    pub unpriced_calls: u64,
    /// A token site's own calls by their input (`[0]`) and output (`[1]`) tokens, at the
    /// OpenTelemetry GenAI boundaries: bucket `k` counts the calls with at most
    /// [`TOKEN_BOUNDS`]`[k]` tokens and more than the bound before; the last, those above all.
    pub tokens_per_call: [[u64; TOKEN_BUCKETS]; 2],
    /// Heap bytes allocated by the calls' own code (feature `alloc`, with `MonitoredAlloc`).
    pub allocated_bytes: u64,
    /// Items yielded by streamed calls.
    pub chunks: u64,
    /// Calls that were part of a run kept as a trace (a trace kept whole by the tail rules:
    /// failed, cancelled, slow, over budget or head-sampled). Filled by the traces work; 0 until
    /// then.
    pub traces_kept: u64,
    /// Time from the call to a streamed call's first item, for each call that yielded one.
    pub first_chunk: Histogram,
    /// Time per output chunk of each streamed call with two items or more: from its first item to
    /// its last, divided by the items after the first.
    pub per_output_chunk: Histogram,
    /// Durations of the calls that carried an HTTP status, by status (a part of `durations`),
    /// ascending: what exporters label `http.response.status_code`. A site keeps up to
    /// [`MAX_STATUS_CODES`](crate::record::MAX_STATUS_CODES) statuses; calls with others are in
    /// `durations` and their outcome's durations only.
    pub status_durations: Vec<(u16, Histogram)>,
    /// For each latency threshold the site counts against (a latency objective's), the calls
    /// that finished in more: `(threshold in nanoseconds, calls)`, ascending. Counted exactly as
    /// each call is recorded, not read off the buckets.
    pub slow_calls: Vec<(u64, u64)>,
}

/// Upper bounds of the token buckets of [`Figures::tokens_per_call`]: the explicit boundaries the
/// OpenTelemetry GenAI conventions give `gen_ai.client.token.usage`, 1, 4, 16 … 4^13.
pub const TOKEN_BOUNDS: [u64; 14] = {
    let mut bounds = [1; 14];
    let mut k = 1;
    while k < 14 {
        bounds[k] = bounds[k - 1] * 4;
        k += 1;
    }
    bounds
};

/// Buckets of [`Figures::tokens_per_call`]: one per bound, and one above them.
pub const TOKEN_BUCKETS: usize = TOKEN_BOUNDS.len() + 1;

/// The bucket of [`Figures::tokens_per_call`] that counts a call of `n` tokens.
#[inline]
pub(crate) fn token_bucket(n: u64) -> usize {
    // ceil(log4(n)) for n ≥ 2, from the bit length of n - 1; 0 for 0 and 1.
    let bits = 64 - n.saturating_sub(1).leading_zeros() as usize;
    bits.div_ceil(2).min(TOKEN_BUCKETS - 1)
}

/// The outcomes of a set of calls, each call in exactly one: what exporters label `outcome`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcomes {
    /// Finished without an error or a 4xx.
    pub ok: u64,
    /// Failed without panicking.
    pub error: u64,
    /// Answered with a 4xx.
    pub client_error: u64,
    /// Panicked.
    pub panic: u64,
    /// Dropped before finishing.
    pub cancelled: u64,
}

impl Outcomes {
    /// The label values, in the order of [`Outcomes::counts`].
    pub const NAMES: [&'static str; 5] = ["ok", "error", "client_error", "panic", "cancelled"];

    /// The counts in the order of [`Outcomes::NAMES`].
    pub fn counts(&self) -> [u64; 5] {
        [
            self.ok,
            self.error,
            self.client_error,
            self.panic,
            self.cancelled,
        ]
    }
}

/// The outcomes a query can count, and [`Figures::with_outcome`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutcomeFilter {
    /// Calls that neither failed nor were answered with a 4xx (cancelled calls excluded).
    Ok,
    /// Failed calls: an error, a 5xx, or a panic.
    Error,
    /// Calls answered with a 4xx.
    ClientError,
}

impl OutcomeFilter {
    /// `ok`, `error` or `client_error`.
    pub fn parse(name: &str) -> Option<OutcomeFilter> {
        match name {
            "ok" => Some(OutcomeFilter::Ok),
            "error" => Some(OutcomeFilter::Error),
            "client_error" => Some(OutcomeFilter::ClientError),
            _ => None,
        }
    }

    pub(crate) const ALL: [OutcomeFilter; 3] = [
        OutcomeFilter::Ok,
        OutcomeFilter::Error,
        OutcomeFilter::ClientError,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            OutcomeFilter::Ok => "ok",
            OutcomeFilter::Error => "error",
            OutcomeFilter::ClientError => "client_error",
        }
    }
}

/// Plain counters in [`Figures`] outside arrays.
const SCALARS: usize = 22;
/// Every plain counter in [`Figures`].
#[cfg(any(test, feature = "persist"))]
pub(crate) const COUNTERS: usize = SCALARS + 5 + 2 * TOKEN_BUCKETS;

impl Figures {
    /// Figures with nothing in them, their durations counted in units of `nanos_per_unit`
    /// nanoseconds (the record path's clock units).
    pub(crate) fn in_units(nanos_per_unit: f64) -> Figures {
        Figures {
            durations: Histogram::in_units(nanos_per_unit),
            error_durations: Histogram::in_units(nanos_per_unit),
            client_error_durations: Histogram::in_units(nanos_per_unit),
            first_chunk: Histogram::in_units(nanos_per_unit),
            per_output_chunk: Histogram::in_units(nanos_per_unit),
            cancelled_durations: Histogram::in_units(nanos_per_unit),
            ..Figures::default()
        }
    }

    /// Every plain counter, in one order: what `add`, `since` and `max_with` walk. A new counter
    /// goes here and in [`counter_values`](Self::counter_values), in the same place (a test
    /// checks they agree).
    pub(crate) fn counters_mut(&mut self) -> impl Iterator<Item = &mut u64> {
        let [
            informational,
            success,
            redirection,
            client_error,
            server_error,
        ] = &mut self.statuses;
        let Tokens {
            input,
            output,
            cached_input,
            cache_write,
            reasoning,
        } = &mut self.tokens;
        let scalars: [&mut u64; SCALARS] = [
            &mut self.errors,
            &mut self.client_errors,
            &mut self.panics,
            &mut self.cancelled,
            informational,
            success,
            redirection,
            client_error,
            server_error,
            &mut self.request_bytes,
            &mut self.response_bytes,
            &mut self.token_calls,
            input,
            output,
            cached_input,
            cache_write,
            reasoning,
            &mut self.cost_picousd,
            &mut self.unpriced_calls,
            &mut self.allocated_bytes,
            &mut self.chunks,
            &mut self.traces_kept,
        ];
        scalars
            .into_iter()
            .chain(&mut self.cost_by_kind)
            .chain(self.tokens_per_call.iter_mut().flatten())
    }

    pub(crate) fn counter_values(&self) -> impl Iterator<Item = u64> + '_ {
        let [
            informational,
            success,
            redirection,
            client_error,
            server_error,
        ] = self.statuses;
        let Tokens {
            input,
            output,
            cached_input,
            cache_write,
            reasoning,
        } = self.tokens;
        let scalars: [u64; SCALARS] = [
            self.errors,
            self.client_errors,
            self.panics,
            self.cancelled,
            informational,
            success,
            redirection,
            client_error,
            server_error,
            self.request_bytes,
            self.response_bytes,
            self.token_calls,
            input,
            output,
            cached_input,
            cache_write,
            reasoning,
            self.cost_picousd,
            self.unpriced_calls,
            self.allocated_bytes,
            self.chunks,
            self.traces_kept,
        ];
        scalars
            .into_iter()
            .chain(self.cost_by_kind)
            .chain(self.tokens_per_call.iter().flatten().copied())
    }

    fn zip_counters(&mut self, other: &Figures, f: impl Fn(u64, u64) -> u64) {
        for (mine, theirs) in self.counters_mut().zip(other.counter_values()) {
            *mine = f(*mine, theirs);
        }
    }

    /// Calls made: finished, panicked, or dropped before they finished.
    pub fn calls(&self) -> u64 {
        self.durations.count() + self.cancelled
    }

    /// Calls that finished (their durations are in `durations`).
    pub fn finished(&self) -> u64 {
        self.durations.count()
    }

    /// Each call in exactly one outcome. `errors` counts panics too; here they are apart.
    pub fn outcomes(&self) -> Outcomes {
        let finished = self.finished();
        Outcomes {
            ok: finished
                .saturating_sub(self.errors)
                .saturating_sub(self.client_errors),
            error: self.errors.saturating_sub(self.panics),
            client_error: self.client_errors,
            panic: self.panics,
            cancelled: self.cancelled,
        }
    }

    /// Calls by HTTP status class: [`statuses`](Self::statuses) by name.
    pub fn status_classes(&self) -> StatusClasses {
        StatusClasses::from_counts(self.statuses)
    }

    /// Streamed calls that yielded an item: the calls [`first_chunk`](Self::first_chunk) is of.
    pub fn streamed_calls(&self) -> u64 {
        self.first_chunk.count()
    }

    /// Failed calls per call, 0 without calls.
    pub fn error_rate(&self) -> f64 {
        let calls = self.calls();
        if calls == 0 {
            0.0
        } else {
            self.errors as f64 / calls as f64
        }
    }

    /// The cost of the priced calls, in USD.
    pub fn known_cost_usd(&self) -> f64 {
        picousd_to_usd(self.cost_picousd)
    }

    /// What tokens of `kind` cost, in USD, over the priced calls.
    pub fn cost_usd_of(&self, kind: crate::usage::TokenKind) -> f64 {
        picousd_to_usd(self.cost_by_kind[kind as usize])
    }

    /// What each kind of token cost, in USD, over the priced calls:
    /// [`cost_by_kind`](Self::cost_by_kind) by name.
    pub fn kind_costs(&self) -> KindCosts {
        KindCosts::from_picousd(self.cost_by_kind)
    }

    /// The cost in USD, or `None` when a call had no price: a partial sum would understate it.
    pub fn cost_usd(&self) -> Option<f64> {
        (self.unpriced_calls == 0).then(|| self.known_cost_usd())
    }

    /// Whether nothing at all was recorded.
    pub fn is_empty(&self) -> bool {
        self.calls() == 0 && self.token_calls == 0 && self.allocated_bytes == 0
    }

    /// Adds `other`'s calls to these.
    pub fn add(&mut self, other: &Figures) {
        self.zip_counters(other, u64::saturating_add);
        self.durations.merge(&other.durations);
        self.error_durations.merge(&other.error_durations);
        self.client_error_durations
            .merge(&other.client_error_durations);
        self.first_chunk.merge(&other.first_chunk);
        self.per_output_chunk.merge(&other.per_output_chunk);
        self.cancelled_durations.merge(&other.cancelled_durations);
        merge_keyed(
            &mut self.status_durations,
            &other.status_durations,
            Histogram::merge,
        );
        merge_keyed(&mut self.slow_calls, &other.slow_calls, |a, b| {
            *a = a.saturating_add(*b);
        });
    }

    /// What these figures hold beyond `before`, an earlier reading of the same calls. Counters
    /// only grow, so a lower reading (racing a writer) adds nothing rather than going negative.
    pub fn since(&self, before: &Figures) -> Figures {
        let mut d = Figures {
            durations: self.durations.since(&before.durations),
            error_durations: self.error_durations.since(&before.error_durations),
            client_error_durations: self
                .client_error_durations
                .since(&before.client_error_durations),
            first_chunk: self.first_chunk.since(&before.first_chunk),
            per_output_chunk: self.per_output_chunk.since(&before.per_output_chunk),
            cancelled_durations: self.cancelled_durations.since(&before.cancelled_durations),
            status_durations: self
                .status_durations
                .iter()
                .filter_map(|(status, now)| {
                    let added = match before
                        .status_durations
                        .binary_search_by_key(status, |s| s.0)
                    {
                        Ok(at) => now.since(&before.status_durations[at].1),
                        Err(_) => now.clone(),
                    };
                    (!added.is_empty()).then_some((*status, added))
                })
                .collect(),
            slow_calls: self
                .slow_calls
                .iter()
                .filter_map(|(threshold, now)| {
                    let earlier = before
                        .slow_calls
                        .binary_search_by_key(threshold, |s| s.0)
                        .map_or(0, |at| before.slow_calls[at].1);
                    let added = now.saturating_sub(earlier);
                    (added > 0).then_some((*threshold, added))
                })
                .collect(),
            ..Figures::default()
        };
        for ((diff, now), earlier) in d
            .counters_mut()
            .zip(self.counter_values())
            .zip(before.counter_values())
        {
            *diff = now.saturating_sub(earlier);
        }
        d
    }

    /// Field by field, the higher of these and `other`, two readings of the same counters: a
    /// reading never shows less than an earlier one did. Returns whether these held anything
    /// above `other`, that is whether the result differs from it.
    pub(crate) fn max_with(&mut self, other: &Figures) -> bool {
        let mut rose = false;
        for (mine, theirs) in self.counters_mut().zip(other.counter_values()) {
            rose |= *mine > theirs;
            *mine = (*mine).max(theirs);
        }
        rose |= self.durations.max_with(&other.durations);
        rose |= self.error_durations.max_with(&other.error_durations);
        rose |= self
            .client_error_durations
            .max_with(&other.client_error_durations);
        rose |= self.first_chunk.max_with(&other.first_chunk);
        rose |= self.per_output_chunk.max_with(&other.per_output_chunk);
        rose |= self
            .cancelled_durations
            .max_with(&other.cancelled_durations);
        for (status, theirs) in &other.status_durations {
            match self.status_durations.binary_search_by_key(status, |s| s.0) {
                Ok(at) => rose |= self.status_durations[at].1.max_with(theirs),
                Err(at) => self.status_durations.insert(at, (*status, theirs.clone())),
            }
        }
        rose |= self.status_durations.len() > other.status_durations.len();
        for (threshold, theirs) in &other.slow_calls {
            match self.slow_calls.binary_search_by_key(threshold, |s| s.0) {
                Ok(at) => {
                    let mine = &mut self.slow_calls[at].1;
                    rose |= *mine > *theirs;
                    *mine = (*mine).max(*theirs);
                }
                Err(at) => self.slow_calls.insert(at, (*threshold, *theirs)),
            }
        }
        rose |= self.slow_calls.len() > other.slow_calls.len();
        rose
    }

    /// Calls that finished within `threshold`, when the site counts its calls against it (see
    /// [`slow_calls`](Self::slow_calls)).
    pub fn finished_within(&self, threshold: std::time::Duration) -> Option<u64> {
        let nanos = u64::try_from(threshold.as_nanos()).unwrap_or(u64::MAX);
        let at = self.slow_calls.binary_search_by_key(&nanos, |s| s.0).ok()?;
        Some(self.finished().saturating_sub(self.slow_calls[at].1))
    }

    /// Only the calls with `outcome`, with their own durations. Bytes, tokens, cost, heap bytes,
    /// chunks, traces kept and slow calls are not kept by outcome: they are left out (0).
    pub fn with_outcome(&self, outcome: OutcomeFilter) -> Figures {
        let mut part = Figures {
            durations: Histogram::in_units(self.durations.nanos_per_unit()),
            ..Figures::default()
        };
        let classes = match outcome {
            OutcomeFilter::Ok => 100..400,
            OutcomeFilter::Error => 500..600,
            OutcomeFilter::ClientError => 400..500,
        };
        part.status_durations = self
            .status_durations
            .iter()
            .filter(|(status, _)| classes.contains(status))
            .cloned()
            .collect();
        match outcome {
            OutcomeFilter::Ok => {
                part.durations = self
                    .durations
                    .without(&[&self.error_durations, &self.client_error_durations]);
            }
            OutcomeFilter::Error => {
                part.durations = self.error_durations.clone();
                part.error_durations = self.error_durations.clone();
                part.errors = self.errors;
                part.panics = self.panics;
            }
            OutcomeFilter::ClientError => {
                part.durations = self.client_error_durations.clone();
                part.client_error_durations = self.client_error_durations.clone();
                part.client_errors = self.client_errors;
            }
        }
        part
    }

    /// The durations of the calls not in [`status_durations`](Self::status_durations) — those
    /// that carried no HTTP status (a panic, an `Err` without one, a return value without one),
    /// or a status beyond the site's bound — as `(succeeded, failed)`: the rest of `durations`,
    /// split the way `error_durations` splits it.
    ///
    /// # Examples
    ///
    /// ```
    /// use monitor_core::Figures;
    /// use monitor_core::figures::Histogram;
    /// use std::time::Duration;
    ///
    /// let mut f = Figures::default();
    /// let mut created = Histogram::default();
    /// for ms in [1, 2, 3, 4] {
    ///     f.durations.record(Duration::from_millis(ms));
    /// }
    /// created.record(Duration::from_millis(1));
    /// f.status_durations = vec![(201, created)];
    /// f.errors = 1;
    /// f.error_durations.record(Duration::from_millis(4));
    ///
    /// let (succeeded, failed) = f.durations_without_status();
    /// assert_eq!((succeeded.count(), failed.count()), (2, 1));
    /// ```
    pub fn durations_without_status(&self) -> (Histogram, Histogram) {
        let statuses: Vec<&Histogram> = self.status_durations.iter().map(|(_, h)| h).collect();
        let rest = self.durations.without(&statuses);
        let failed_with_status: Vec<&Histogram> = self
            .status_durations
            .iter()
            .filter(|(status, _)| *status >= 500)
            .map(|(_, h)| h)
            .collect();
        let failed = self.error_durations.without(&failed_with_status);
        (rest.without(&[&failed]), failed)
    }

    /// Memory these figures hold, approximately, in bytes.
    pub(crate) fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Figures>()
            + self.durations.approx_bytes()
            + self.error_durations.approx_bytes()
            + self.client_error_durations.approx_bytes()
            + self.first_chunk.approx_bytes()
            + self.per_output_chunk.approx_bytes()
            + self.cancelled_durations.approx_bytes()
            - 6 * std::mem::size_of::<Histogram>()
            + self
                .status_durations
                .iter()
                .map(|(_, h)| 8 + h.approx_bytes())
                .sum::<usize>()
            + 16 * self.slow_calls.len()
    }
}

/// Millionths of a millionth of a USD, in USD.
pub(crate) fn picousd_to_usd(picousd: u64) -> f64 {
    picousd as f64 / 1e12
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_buckets_follow_the_bounds() {
        for (k, bound) in TOKEN_BOUNDS.iter().enumerate() {
            assert_eq!(token_bucket(*bound), k, "{bound}");
            assert_eq!(token_bucket(bound + 1), k + 1, "{bound} + 1");
        }
        assert_eq!(
            (token_bucket(0), token_bucket(u64::MAX)),
            (0, TOKEN_BUCKETS - 1)
        );
        assert_eq!(TOKEN_BOUNDS[13], 67_108_864);
    }

    #[test]
    fn the_two_lists_of_counters_agree() {
        let mut f = Figures::default();
        for (i, counter) in f.counters_mut().enumerate() {
            *counter = i as u64 + 1;
        }
        let values: Vec<u64> = f.counter_values().collect();
        assert_eq!(values, (1..=COUNTERS as u64).collect::<Vec<_>>());
    }

    #[test]
    fn since_is_the_inverse_of_add() {
        let mut a = Figures::default();
        a.durations.record(std::time::Duration::from_micros(10));
        a.tokens.output = 7;
        a.statuses[1] = 1;
        let mut b = a.clone();
        b.add(&a);
        b.add(&a);
        let d = b.since(&a);
        let mut twice = a.clone();
        twice.add(&a);
        assert!(d.counter_values().eq(twice.counter_values()));
        assert_eq!(d.durations.count(), 2);
        assert_eq!(d.durations.sum(), twice.durations.sum());
    }
}
