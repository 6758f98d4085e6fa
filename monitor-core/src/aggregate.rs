//! A site's running totals: written by every call with relaxed atomics, read by [`Site::stats`].
//!
//! The totals are split into stripes, one per group of threads, each on its own cache lines, so
//! threads calling the same function do not fight over one line. Reading sums the stripes.
//!
//! [`Site::stats`]: crate::Site::stats

use crate::histogram::{BUCKETS, Histogram, bucket_of};
use crate::outcome::Outcome;
use crate::tokens::Tokens;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::context::{OWNED_STRIPES, STRIPES};

/// Counters of one stripe. Aligned to 128 bytes: x86 prefetches cache lines in pairs.
#[repr(C, align(128))]
pub(crate) struct Stripe {
    sum_units: AtomicU64,
    max_units: AtomicU64,
    errors: AtomicU64,
    client_errors: AtomicU64,
    panics: AtomicU64,
    cancelled: AtomicU64,
    request_bytes: AtomicU64,
    response_bytes: AtomicU64,
    /// Calls whose return value carried an HTTP status, by class: 1xx … 5xx.
    status_classes: [AtomicU64; 5],
    token_calls: AtomicU64,
    input_tokens: AtomicU64,
    output_tokens: AtomicU64,
    cached_input_tokens: AtomicU64,
    /// Cost of the calls whose model has a price, in millionths of a millionth of a US dollar.
    cost_picousd: AtomicU64,
    unpriced_calls: AtomicU64,
    /// Heap bytes allocated inside calls and not inside an instrumented call they made (feature
    /// `alloc`).
    allocated_bytes: AtomicU64,
    /// An owned stripe's latest duration, not yet in `buckets` ([`NOTHING_PARKED`] if none).
    parked: AtomicU64,
    buckets: [AtomicU64; BUCKETS],
}

const NOTHING_PARKED: u64 = u64::MAX;

#[allow(clippy::declare_interior_mutable_const)] // a template for array repetition, never shared
const ZERO: AtomicU64 = AtomicU64::new(0);

/// Adds to a counter. Only the stripe's owner writes an owned stripe, so a load and a store do; a
/// shared stripe needs the atomic add. Readers see either value, never a torn one.
#[inline(always)]
pub(crate) fn add<const OWNED: bool>(counter: &AtomicU64, n: u64) {
    if OWNED {
        counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
    } else {
        counter.fetch_add(n, Relaxed);
    }
}

impl Stripe {
    #[inline(always)]
    fn record_duration<const OWNED: bool>(&self, units: u64) {
        if OWNED {
            // A store whose address depends on the clock reading just taken stalls the core until
            // the reading is in (~6 ns here: about as much as all the rest of recording). So the
            // owner parks the duration at a fixed address and files the one parked by its previous
            // call, whose bucket is known at once. Readers count the parked one too. The order —
            // park, then file — lets a reader miss a call for an instant, never count one twice.
            let previous = self.parked.load(Relaxed);
            self.parked.store(units, Relaxed);
            if previous != NOTHING_PARKED {
                add::<true>(&self.buckets[bucket_of(previous)], 1);
            }
        } else {
            self.buckets[bucket_of(units)].fetch_add(1, Relaxed);
        }
        add::<OWNED>(&self.sum_units, units);
        if units > self.max_units.load(Relaxed) {
            if OWNED {
                self.max_units.store(units, Relaxed);
            } else {
                self.max_units.fetch_max(units, Relaxed);
            }
        }
    }

    #[inline(always)]
    fn record_usage<const OWNED: bool>(&self, usage: Usage) {
        add::<OWNED>(&self.token_calls, 1);
        add::<OWNED>(&self.input_tokens, usage.tokens.input);
        add::<OWNED>(&self.output_tokens, usage.tokens.output);
        add::<OWNED>(&self.cached_input_tokens, usage.tokens.cached_input);
        match usage.cost_picousd {
            Some(cost) => add::<OWNED>(&self.cost_picousd, cost),
            None => add::<OWNED>(&self.unpriced_calls, 1),
        }
    }

    const fn new() -> Self {
        Stripe {
            sum_units: ZERO,
            max_units: ZERO,
            errors: ZERO,
            client_errors: ZERO,
            panics: ZERO,
            cancelled: ZERO,
            request_bytes: ZERO,
            response_bytes: ZERO,
            status_classes: [ZERO; 5],
            token_calls: ZERO,
            input_tokens: ZERO,
            output_tokens: ZERO,
            cached_input_tokens: ZERO,
            cost_picousd: ZERO,
            unpriced_calls: ZERO,
            allocated_bytes: ZERO,
            parked: AtomicU64::new(NOTHING_PARKED),
            buckets: [ZERO; BUCKETS],
        }
    }
}

/// Token usage and its cost, credited to a site.
#[derive(Clone, Copy)]
pub(crate) struct Usage {
    pub(crate) tokens: Tokens,
    /// `None` when the model has no price.
    pub(crate) cost_picousd: Option<u64>,
}

pub(crate) struct Aggregates {
    stripes: [Stripe; STRIPES],
    /// Durations of failed calls and of client errors, so that queries can tell the durations of
    /// each outcome. Made on the site's first such call: a site that never fails pays a pointer.
    failures: std::sync::OnceLock<Box<Failures>>,
}

/// Durations by bucket of the calls that failed, and of those answered with a 4xx. Written on the
/// cold path of a failed call only, with atomic adds: no striping needed.
pub(crate) struct Failures {
    errors: [AtomicU64; BUCKETS],
    client_errors: [AtomicU64; BUCKETS],
}

impl Failures {
    fn new() -> Box<Failures> {
        Box::new(Failures {
            errors: [ZERO; BUCKETS],
            client_errors: [ZERO; BUCKETS],
        })
    }

    fn read(counters: &[AtomicU64; BUCKETS], scale: f64) -> Histogram {
        let mut h = Histogram::in_units(scale);
        for (index, n) in counters.iter().enumerate() {
            let n = n.load(Relaxed);
            if n > 0 {
                h.add_raw(index, n);
            }
        }
        h
    }
}

/// Plain totals read off the stripes.
#[derive(Default)]
pub(crate) struct Totals {
    pub(crate) durations: Histogram,
    pub(crate) errors: u64,
    pub(crate) client_errors: u64,
    pub(crate) panics: u64,
    pub(crate) cancelled: u64,
    pub(crate) request_bytes: u64,
    pub(crate) response_bytes: u64,
    pub(crate) status_classes: [u64; 5],
    pub(crate) token_calls: u64,
    pub(crate) tokens: Tokens,
    pub(crate) cost_picousd: u64,
    pub(crate) unpriced_calls: u64,
    pub(crate) allocated_bytes: u64,
    /// Durations of the failed calls; `None` while the site has had none.
    pub(crate) error_durations: Option<Histogram>,
    /// Durations of the calls answered with a 4xx; `None` while the site has had none.
    pub(crate) client_error_durations: Option<Histogram>,
}

impl Aggregates {
    pub(crate) const fn new() -> Self {
        Aggregates {
            stripes: [const { Stripe::new() }; STRIPES],
            failures: std::sync::OnceLock::new(),
        }
    }

    #[inline(always)]
    fn mine(&self) -> &Stripe {
        &self.stripes[crate::context::stripe()]
    }

    /// One finished call, whose duration is `units` of the clock ([`crate::clock::since`]). The
    /// common case — no error, no status, no sizes — touches one bucket, the sum and (rarely) the
    /// maximum; on a stripe this thread owns, with plain loads and stores.
    #[inline(always)]
    pub(crate) fn record(&self, units: u64, outcome: &Outcome, request_bytes: u64) {
        let details = Details::of(outcome, request_bytes);
        let index = crate::context::stripe();
        let s = &self.stripes[index];
        if index < OWNED_STRIPES {
            s.record_duration::<true>(units);
        } else {
            s.record_duration::<false>(units);
        }
        if !details.is_empty() {
            let Details {
                error,
                client_error,
                status_class,
                response_bytes,
                request_bytes,
            } = details;
            record_details(
                s,
                &self.failures,
                units,
                error,
                client_error,
                status_class,
                response_bytes,
                request_bytes,
            );
        }
    }

    /// A call that unwound: an error, with its duration up to the panic.
    #[cold]
    pub(crate) fn record_panic(&self, units: u64, request_bytes: u64) {
        let s = self.mine();
        s.panics.fetch_add(1, Relaxed);
        self.record(units, &Outcome::PANICKED, request_bytes);
    }

    /// A future dropped before it finished. Its partial duration is left out of the histogram.
    #[cold]
    pub(crate) fn record_cancelled(&self) {
        self.mine().cancelled.fetch_add(1, Relaxed);
    }

    /// Tokens of one metered call, credited to this site (its own, or an enclosing stage's).
    pub(crate) fn record_usage(&self, usage: Usage) {
        let index = crate::context::stripe();
        if index < OWNED_STRIPES {
            self.stripes[index].record_usage::<true>(usage);
        } else {
            self.stripes[index].record_usage::<false>(usage);
        }
    }

    /// Heap bytes allocated by the site's own code during a call or a poll.
    #[cfg(feature = "alloc")]
    pub(crate) fn record_allocated(&self, bytes: u64) {
        if bytes == 0 {
            return;
        }
        let index = crate::context::stripe();
        if index < OWNED_STRIPES {
            add::<true>(&self.stripes[index].allocated_bytes, bytes);
        } else {
            add::<false>(&self.stripes[index].allocated_bytes, bytes);
        }
    }

    pub(crate) fn totals(&self) -> Totals {
        let mut t = Totals {
            durations: Histogram::in_units(crate::clock::nanos_per_unit()),
            ..Totals::default()
        };
        for s in &self.stripes {
            for (index, n) in s.buckets.iter().enumerate() {
                let n = n.load(Relaxed);
                if n > 0 {
                    t.durations.add_raw(index, n);
                }
            }
            let parked = s.parked.load(Relaxed);
            if parked != NOTHING_PARKED {
                t.durations.add_raw(bucket_of(parked), 1);
            }
            t.durations
                .add_sum_max(s.sum_units.load(Relaxed), s.max_units.load(Relaxed));
            t.errors += s.errors.load(Relaxed);
            t.client_errors += s.client_errors.load(Relaxed);
            t.panics += s.panics.load(Relaxed);
            t.cancelled += s.cancelled.load(Relaxed);
            t.request_bytes += s.request_bytes.load(Relaxed);
            t.response_bytes += s.response_bytes.load(Relaxed);
            for (total, n) in t.status_classes.iter_mut().zip(&s.status_classes) {
                *total += n.load(Relaxed);
            }
            t.token_calls += s.token_calls.load(Relaxed);
            t.tokens.input += s.input_tokens.load(Relaxed);
            t.tokens.output += s.output_tokens.load(Relaxed);
            t.tokens.cached_input += s.cached_input_tokens.load(Relaxed);
            t.cost_picousd += s.cost_picousd.load(Relaxed);
            t.unpriced_calls += s.unpriced_calls.load(Relaxed);
            t.allocated_bytes += s.allocated_bytes.load(Relaxed);
        }
        if let Some(f) = self.failures.get() {
            let scale = t.durations.nanos_per_unit();
            t.error_durations = Some(Failures::read(&f.errors, scale));
            t.client_error_durations = Some(Failures::read(&f.client_errors, scale));
        }
        t
    }
}

/// Errors, statuses and sizes: off the common path.
#[cold]
#[inline(never)]
// Scalars rather than a struct: they travel in registers, so the caller stores nothing.
#[allow(clippy::too_many_arguments)]
fn record_details(
    s: &Stripe,
    failures: &std::sync::OnceLock<Box<Failures>>,
    units: u64,
    error: bool,
    client_error: bool,
    status_class: u8,
    response_bytes: u64,
    request_bytes: u64,
) {
    if error {
        s.errors.fetch_add(1, Relaxed);
    }
    if client_error {
        s.client_errors.fetch_add(1, Relaxed);
    }
    if error || client_error {
        let f = failures.get_or_init(Failures::new);
        let by_bucket = if error { &f.errors } else { &f.client_errors };
        by_bucket[bucket_of(units)].fetch_add(1, Relaxed);
    }
    if let Some(counter) = s.status_classes.get(usize::from(status_class)) {
        counter.fetch_add(1, Relaxed);
    }
    if response_bytes > 0 {
        s.response_bytes.fetch_add(response_bytes, Relaxed);
    }
    if request_bytes > 0 {
        s.request_bytes.fetch_add(request_bytes, Relaxed);
    }
}

/// What a call adds beyond its duration, in plain scalars: for most return types they are
/// constants, and the test for "nothing to add" compiles away.
#[derive(Clone, Copy)]
struct Details {
    error: bool,
    client_error: bool,
    /// 0 for 1xx … 4 for 5xx; 255 for none.
    status_class: u8,
    response_bytes: u64,
    request_bytes: u64,
}

impl Details {
    #[inline(always)]
    fn of(outcome: &Outcome, request_bytes: u64) -> Details {
        Details {
            error: outcome.is_error(),
            client_error: outcome.is_client_error(),
            status_class: outcome.status_class().map_or(u8::MAX, |class| class as u8),
            response_bytes: outcome.response_bytes.unwrap_or(0),
            request_bytes,
        }
    }

    #[inline(always)]
    fn is_empty(&self) -> bool {
        !self.error
            && !self.client_error
            && self.status_class == u8::MAX
            && self.response_bytes == 0
            && self.request_bytes == 0
    }
}
