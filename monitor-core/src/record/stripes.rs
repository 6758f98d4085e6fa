//! A site's running totals: written by every call, read into [`Figures`].
//!
//! The totals are split into stripes, one per group of threads, each on its own cache lines, so
//! threads calling the same function do not fight over one line (see `thread.rs`). Each stripe
//! also says which parts of it were ever written, so that reading a site costs what the site
//! used — the stripes of the threads that called it, the bands of durations its calls fell in —
//! and not a pass over every counter it has.

use super::outcome::Outcome;
use super::thread::{self, OWNED_STRIPES, STRIPES};
use crate::figures::histogram::{BUCKETS, Histogram, bucket_of};
use crate::figures::{Figures, TOKEN_BUCKETS, token_bucket};
use crate::usage::entry::Usage;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering, Ordering::Relaxed};

/// Buckets per bit of a stripe's `used` mask: 64, two powers of two of durations.
const CHUNK_SHIFT: u32 = 6;
const CHUNKS: usize = BUCKETS >> CHUNK_SHIFT;
/// The bit of `used` that says a counter other than the durations was written.
const OTHER: u64 = 1 << 63;
/// The bit of `used` that says a duration was parked (an owned stripe's first call files none).
const PARKED: u64 = 1 << 62;
const _: () = assert!(CHUNKS < 62 && CHUNKS << CHUNK_SHIFT == BUCKETS);

/// Counters of one stripe. Aligned to 128 bytes: x86 prefetches cache lines in pairs.
#[repr(C, align(128))]
pub(crate) struct Stripe {
    sum_units: AtomicU64,
    max_units: AtomicU64,
    /// An owned stripe's latest duration plus one, not yet in `buckets`; 0 if none. (Plus one so
    /// that a site's counters start as all zero bytes: its `static` then takes no space in the
    /// binary, and no page of memory until a thread records into it.)
    parked: AtomicU64,
    errors: AtomicU64,
    client_errors: AtomicU64,
    panics: AtomicU64,
    request_bytes: AtomicU64,
    response_bytes: AtomicU64,
    /// Calls whose return value carried an HTTP status, by class: 1xx … 5xx.
    status_classes: [AtomicU64; 5],
    token_calls: AtomicU64,
    input_tokens: AtomicU64,
    output_tokens: AtomicU64,
    cached_input_tokens: AtomicU64,
    cache_write_tokens: AtomicU64,
    reasoning_tokens: AtomicU64,
    /// Cost of the calls whose model has a price, in millionths of a millionth of a US dollar.
    cost_picousd: AtomicU64,
    /// The same, by kind of token ([`TokenKind::ALL`](crate::usage::TokenKind::ALL)).
    cost_by_kind: [AtomicU64; 5],
    unpriced_calls: AtomicU64,
    /// A token site's calls by their input and output tokens (`Figures::tokens_per_call`).
    tokens_per_call: [[AtomicU64; TOKEN_BUCKETS]; 2],
    /// Heap bytes allocated inside calls and not inside an instrumented call they made (feature
    /// `alloc`).
    allocated_bytes: AtomicU64,
    buckets: [AtomicU64; BUCKETS],
    /// Calls that were spans of a run kept as a trace (`Figures::traces_kept`). Last, so that the
    /// counters every call writes keep the places (and cache lines) they had.
    traces_kept: AtomicU64,
}

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

/// Sets `bits` in a `used` mask unless they are set: a load of a line every call reads, and a
/// store the first time only.
#[inline(always)]
fn mark<const OWNED: bool>(used: &AtomicU64, bits: u64) {
    let now = used.load(Relaxed);
    if now & bits != bits {
        if OWNED {
            used.store(now | bits, Relaxed);
        } else {
            used.fetch_or(bits, Relaxed);
        }
    }
}

#[inline(always)]
fn chunk_bit(bucket: usize) -> u64 {
    1 << (bucket >> CHUNK_SHIFT)
}

/// Adds the buckets of the chunks `used` marks to `into`, in ascending order.
fn read_buckets(counters: &[AtomicU64; BUCKETS], used: u64, into: &mut Histogram) {
    let mut chunks = used & !(OTHER | PARKED);
    while chunks != 0 {
        let chunk = chunks.trailing_zeros() as usize;
        chunks &= chunks - 1;
        let from = chunk << CHUNK_SHIFT;
        for (offset, n) in counters[from..from + (1 << CHUNK_SHIFT)].iter().enumerate() {
            // Acquire, paired with the owner's Release when it files a parked duration: a reader
            // that sees the duration filed sees the next one parked (`Stripe::read_into`).
            let n = n.load(Ordering::Acquire);
            if n > 0 {
                into.add_raw(from + offset, n);
            }
        }
    }
}

impl Stripe {
    #[inline(always)]
    fn record_duration<const OWNED: bool>(&self, used: &AtomicU64, units: u64) {
        if OWNED {
            // A store whose address depends on the clock reading just taken stalls the core until
            // the reading is in (~6 ns here: about as much as all the rest of recording). So the
            // owner parks the duration at a fixed address and files the one parked by its previous
            // call, whose bucket is known at once. Readers count the parked one too. The order —
            // park, then file — lets a reader miss a call for an instant, never count one twice.
            let previous = self.parked.load(Relaxed);
            // A call of 2^64 - 1 units (never: 200 years of a 3 GHz counter) would park as none.
            self.parked.store(units.wrapping_add(1), Relaxed);
            if previous != 0 {
                let bucket = bucket_of(previous - 1);
                // Release (a plain store on x86): the park above is seen first.
                let filed = &self.buckets[bucket];
                filed.store(filed.load(Relaxed).wrapping_add(1), Ordering::Release);
                mark::<true>(used, chunk_bit(bucket));
            } else {
                // The stripe's first call: nothing filed yet, but something to read.
                mark::<true>(used, PARKED);
            }
        } else {
            let bucket = bucket_of(units);
            self.buckets[bucket].fetch_add(1, Relaxed);
            mark::<false>(used, chunk_bit(bucket));
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
    fn record_usage<const OWNED: bool>(&self, used: &AtomicU64, usage: &Usage, share: Share) {
        let t = &usage.tokens;
        add::<OWNED>(&self.token_calls, share.calls);
        add::<OWNED>(&self.input_tokens, t.input);
        add::<OWNED>(&self.output_tokens, t.output);
        add::<OWNED>(&self.cached_input_tokens, t.cached_input);
        add::<OWNED>(&self.cache_write_tokens, t.cache_write);
        add::<OWNED>(&self.reasoning_tokens, t.reasoning);
        match usage.cost_picousd {
            Some(by_kind) => {
                let mut total = 0u64;
                for (counter, cost) in self.cost_by_kind.iter().zip(by_kind) {
                    add::<OWNED>(counter, cost);
                    total = total.wrapping_add(cost);
                }
                add::<OWNED>(&self.cost_picousd, total);
            }
            None => add::<OWNED>(&self.unpriced_calls, share.calls),
        }
        if share.per_call {
            let [inputs, outputs] = &self.tokens_per_call;
            add::<OWNED>(&inputs[token_bucket(t.input)], 1);
            add::<OWNED>(&outputs[token_bucket(t.output)], 1);
        }
        mark::<OWNED>(used, OTHER);
    }

    const fn new() -> Self {
        Stripe {
            sum_units: ZERO,
            max_units: ZERO,
            parked: ZERO,
            errors: ZERO,
            client_errors: ZERO,
            panics: ZERO,
            request_bytes: ZERO,
            response_bytes: ZERO,
            status_classes: [ZERO; 5],
            token_calls: ZERO,
            input_tokens: ZERO,
            output_tokens: ZERO,
            cached_input_tokens: ZERO,
            cache_write_tokens: ZERO,
            reasoning_tokens: ZERO,
            cost_picousd: ZERO,
            cost_by_kind: [ZERO; 5],
            unpriced_calls: ZERO,
            tokens_per_call: [const { [ZERO; TOKEN_BUCKETS] }; 2],
            allocated_bytes: ZERO,
            buckets: [ZERO; BUCKETS],
            traces_kept: ZERO,
        }
    }

    /// Adds what this stripe holds to `f`, given its `used` mask (not 0).
    fn read_into(&self, used: u64, f: &mut Figures) {
        // The buckets, then the parked duration: the owner parks, then files the duration it
        // parked before, so this order can miss a call for an instant but never count one twice
        // (the other order did, in `tests/tests/read_model_threads.rs`).
        read_buckets(&self.buckets, used, &mut f.durations);
        let parked = self.parked.load(Relaxed);
        if parked != 0 {
            f.durations.add_raw(bucket_of(parked - 1), 1);
        }
        f.durations
            .add_sum_max(self.sum_units.load(Relaxed), self.max_units.load(Relaxed));
        if used & OTHER == 0 {
            return;
        }
        let c = |counter: &AtomicU64| counter.load(Relaxed);
        f.errors += c(&self.errors);
        f.client_errors += c(&self.client_errors);
        f.panics += c(&self.panics);
        f.request_bytes += c(&self.request_bytes);
        f.response_bytes += c(&self.response_bytes);
        for (total, n) in f.statuses.iter_mut().zip(&self.status_classes) {
            *total += c(n);
        }
        f.token_calls += c(&self.token_calls);
        f.tokens.input += c(&self.input_tokens);
        f.tokens.output += c(&self.output_tokens);
        f.tokens.cached_input += c(&self.cached_input_tokens);
        f.tokens.cache_write += c(&self.cache_write_tokens);
        f.tokens.reasoning += c(&self.reasoning_tokens);
        f.cost_picousd += c(&self.cost_picousd);
        for (total, n) in f.cost_by_kind.iter_mut().zip(&self.cost_by_kind) {
            *total += c(n);
        }
        f.unpriced_calls += c(&self.unpriced_calls);
        for (totals, counters) in f.tokens_per_call.iter_mut().zip(&self.tokens_per_call) {
            for (total, n) in totals.iter_mut().zip(counters) {
                *total += c(n);
            }
        }
        f.allocated_bytes += c(&self.allocated_bytes);
        f.traces_kept += c(&self.traces_kept);
    }
}

/// The totals of a site, or of one model's calls at a site: `N` stripes, and the durations of
/// failed calls apart. All zero bytes when new: an attribute's expansion puts a site's totals in a
/// `static` of their own, which takes no space in the binary. Not public API. Used by generated
/// code.
#[doc(hidden)]
pub struct Aggregates<const N: usize = STRIPES> {
    /// Each stripe's `used` mask: which 64-bucket chunks of its durations hold a count, a bit
    /// each, and [`PARKED`] and [`OTHER`]. Together on one line, apart from the stripes: a reader
    /// learns from one load which stripes, and which parts of them, to read; the calls read it
    /// and write it about once per band of durations.
    used: Used<N>,
    stripes: [Stripe; N],
    /// Durations of failed calls and of client errors, so that queries can tell the durations of
    /// each outcome. Made on the first such call: a site that never fails pays a pointer.
    failures: FailuresCell,
    /// Times to first chunk and per chunk of streamed calls, made on the first one.
    streams: Lazy<Streams>,
    /// Durations of the calls that carried an HTTP status, by status, made on the first one.
    statuses: Lazy<Statuses>,
    /// How long each cancelled call ran until it was dropped, made on the first one. Their count
    /// is the count of cancelled calls: one record, so that a reader cannot see a cancelled call
    /// without its duration (an exporter that puts every call in a duration histogram would
    /// count fewer calls than one that counts outcomes).
    cancelled: Lazy<SparseDurations>,
}

/// What the owner of a token site's usage is credited with beyond the tokens: the call itself
/// (`calls` 1) or only more tokens of a call already counted (a stream's later polls, 0); and
/// whether the call's tokens go into the per-call buckets (the token site's own record).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Share {
    pub(crate) calls: u64,
    pub(crate) per_call: bool,
}

/// What a streamed call adds when it ends: its items, and its times.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StreamEnd {
    pub(crate) chunks: u64,
    /// Clock units from the call to its first item, if it yielded one.
    pub(crate) first_chunk_units: Option<u64>,
    /// Clock units per item after the first, if it yielded two or more.
    pub(crate) per_chunk_units: Option<u64>,
}

/// The durations of a site's failed calls, made on its first failure.
type FailuresCell = Lazy<Failures>;

/// A value made on first use. A pointer rather than a `OnceLock`, whose empty state is not zero
/// bytes: the site's totals must be, to take no space in the binary.
struct Lazy<T>(AtomicPtr<T>);

/// Made on first use by [`Lazy`].
trait Empty {
    fn empty() -> Self;
}

impl Empty for Failures {
    fn empty() -> Failures {
        Failures {
            errors: Durations::new(),
            client_errors: Durations::new(),
        }
    }
}

impl Empty for Streams {
    fn empty() -> Streams {
        Streams {
            chunks: ZERO,
            first_chunk: Durations::new(),
            per_output_chunk: Durations::new(),
        }
    }
}

impl Empty for Statuses {
    fn empty() -> Statuses {
        Statuses {
            slots: [const { AtomicPtr::new(std::ptr::null_mut()) }; MAX_STATUS_CODES],
        }
    }
}

impl Empty for SparseDurations {
    fn empty() -> SparseDurations {
        SparseDurations::new()
    }
}

impl<T: Empty> Lazy<T> {
    const fn new() -> Lazy<T> {
        Lazy(AtomicPtr::new(std::ptr::null_mut()))
    }

    fn get(&self) -> Option<&T> {
        // SAFETY: the pointer is null or a leaked `Box<T>` published with Release (see
        // `get_or_make`), never freed while the site lives: sites live for the whole process.
        unsafe { self.0.load(Ordering::Acquire).as_ref() }
    }

    #[cold]
    fn get_or_make(&self) -> &T {
        match self.get() {
            Some(made) => made,
            None => published(&self.0, T::empty),
        }
    }
}

/// What `cell` points to, made by `make` and published in it if it is null. Two threads that both
/// find it null both make one; the first to publish wins and the other's is dropped, never
/// shared. What is published is never freed: sites live for the whole process.
#[cold]
fn published<T>(cell: &AtomicPtr<T>, make: impl FnOnce() -> T) -> &T {
    let made = Box::into_raw(Box::new(make()));
    match cell.compare_exchange(
        std::ptr::null_mut(),
        made,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        // SAFETY: just published, and never freed.
        Ok(_) => unsafe { &*made },
        Err(theirs) => {
            // SAFETY: `made` came from `Box::into_raw` above and nothing else has it.
            drop(unsafe { Box::from_raw(made) });
            // SAFETY: published by the thread that won, with Release, and never freed.
            unsafe { &*theirs }
        }
    }
}

/// Durations of the calls that failed, and of those answered with a 4xx. Written on the cold path
/// of a failed call only, with atomic adds: no striping needed.
struct Failures {
    errors: Durations,
    client_errors: Durations,
}

/// Streamed calls' items and times, written once per call when it ends, with atomic adds.
struct Streams {
    chunks: AtomicU64,
    first_chunk: Durations,
    per_output_chunk: Durations,
}

/// Distinct HTTP statuses a site keeps the durations of: calls with a status beyond these are in
/// their outcome's durations, not in one of a status of their own.
pub const MAX_STATUS_CODES: usize = 16;

/// The durations of a site's calls by their HTTP status (`http.response.status_code`): a slot per
/// status, claimed by the first call with it. Written with atomic adds, on the path every call
/// with a status takes already (its class is counted there); a slot holds the bands of durations
/// its calls fell in, not every bucket, so a status costs a few hundred bytes, not 10 KiB.
struct Statuses {
    slots: [AtomicPtr<StatusSlot>; MAX_STATUS_CODES],
}

struct StatusSlot {
    status: u16,
    durations: SparseDurations,
}

impl Statuses {
    fn add(&self, status: u16, units: u64) {
        for slot in &self.slots {
            // SAFETY: null, or a leaked `Box<StatusSlot>` published with Release, never freed.
            let kept = match unsafe { slot.load(Ordering::Acquire).as_ref() } {
                Some(kept) => kept,
                None => published(slot, || StatusSlot {
                    status,
                    durations: SparseDurations::new(),
                }),
            };
            if kept.status == status {
                kept.durations.add(units);
                return;
            }
        }
    }

    fn read_into(&self, into: &mut Vec<(u16, Histogram)>, nanos_per_unit: f64) {
        for slot in &self.slots {
            // SAFETY: as in `add`.
            let Some(slot) = (unsafe { slot.load(Ordering::Acquire).as_ref() }) else {
                break;
            };
            let mut h = Histogram::in_units(nanos_per_unit);
            slot.durations.read_into(&mut h);
            if !h.is_empty() {
                into.push((slot.status, h));
            }
        }
        into.sort_by_key(|(status, _)| *status);
    }
}

/// Durations whose 64-bucket chunks are made on their first value.
struct SparseDurations {
    used: AtomicU64,
    sum_units: AtomicU64,
    max_units: AtomicU64,
    chunks: [AtomicPtr<[AtomicU64; 1 << CHUNK_SHIFT]>; CHUNKS],
}

impl SparseDurations {
    const fn new() -> SparseDurations {
        SparseDurations {
            used: ZERO,
            sum_units: ZERO,
            max_units: ZERO,
            chunks: [const { AtomicPtr::new(std::ptr::null_mut()) }; CHUNKS],
        }
    }

    fn add(&self, units: u64) {
        let bucket = bucket_of(units);
        let cell = &self.chunks[bucket >> CHUNK_SHIFT];
        // SAFETY: null, or a leaked box published with Release, never freed.
        let chunk = match unsafe { cell.load(Ordering::Acquire).as_ref() } {
            Some(chunk) => chunk,
            None => published(cell, || [ZERO; 1 << CHUNK_SHIFT]),
        };
        chunk[bucket & ((1 << CHUNK_SHIFT) - 1)].fetch_add(1, Relaxed);
        mark::<false>(&self.used, chunk_bit(bucket));
        self.sum_units.fetch_add(units, Relaxed);
        // A locked read-modify-write only for a new maximum: most calls are not one.
        if units > self.max_units.load(Relaxed) {
            self.max_units.fetch_max(units, Relaxed);
        }
    }

    fn read_into(&self, h: &mut Histogram) {
        let mut chunks = self.used.load(Relaxed);
        while chunks != 0 {
            let index = chunks.trailing_zeros() as usize;
            chunks &= chunks - 1;
            // SAFETY: as in `add`; a chunk marked used was made before it was marked.
            let Some(chunk) = (unsafe { self.chunks[index].load(Ordering::Acquire).as_ref() })
            else {
                continue;
            };
            for (offset, n) in chunk.iter().enumerate() {
                let n = n.load(Relaxed);
                if n > 0 {
                    h.add_raw((index << CHUNK_SHIFT) + offset, n);
                }
            }
        }
        h.add_sum_max(self.sum_units.load(Relaxed), self.max_units.load(Relaxed));
    }
}

struct Durations {
    used: AtomicU64,
    sum_units: AtomicU64,
    max_units: AtomicU64,
    buckets: [AtomicU64; BUCKETS],
}

impl Durations {
    const fn new() -> Durations {
        Durations {
            used: ZERO,
            sum_units: ZERO,
            max_units: ZERO,
            buckets: [ZERO; BUCKETS],
        }
    }

    fn add(&self, units: u64) {
        let bucket = bucket_of(units);
        self.buckets[bucket].fetch_add(1, Relaxed);
        mark::<false>(&self.used, chunk_bit(bucket));
        self.sum_units.fetch_add(units, Relaxed);
        // A locked read-modify-write only for a new maximum: most calls are not one.
        if units > self.max_units.load(Relaxed) {
            self.max_units.fetch_max(units, Relaxed);
        }
    }

    fn read_into(&self, h: &mut Histogram) {
        read_buckets(&self.buckets, self.used.load(Relaxed), h);
        h.add_sum_max(self.sum_units.load(Relaxed), self.max_units.load(Relaxed));
    }
}

#[repr(align(64))]
struct Used<const N: usize>([AtomicU64; N]);

impl<const N: usize> std::fmt::Debug for Aggregates<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aggregates").finish_non_exhaustive()
    }
}

impl<const N: usize> Default for Aggregates<N> {
    fn default() -> Self {
        Aggregates::new()
    }
}

impl<const N: usize> Aggregates<N> {
    /// No calls yet. Not public API. Used by generated code.
    pub const fn new() -> Self {
        Aggregates {
            used: Used([ZERO; N]),
            stripes: [const { Stripe::new() }; N],
            failures: Lazy::new(),
            streams: Lazy::new(),
            statuses: Lazy::new(),
            cancelled: Lazy::new(),
        }
    }

    /// This thread's stripe, and whether the thread owns it. With one stripe (a model's calls at
    /// a site), every thread shares it.
    #[inline(always)]
    fn stripe(&self) -> (&Stripe, &AtomicU64, bool) {
        if N == STRIPES {
            let index = thread::stripe();
            (
                &self.stripes[index],
                &self.used.0[index],
                index < OWNED_STRIPES,
            )
        } else {
            (&self.stripes[0], &self.used.0[0], false)
        }
    }

    /// One finished call, whose duration is `units` of the clock. The common case — no error, no
    /// status, no sizes — touches one bucket, the sum and (rarely) the maximum; on a stripe this
    /// thread owns, with plain loads and stores.
    #[inline(always)]
    pub(crate) fn record(&self, units: u64, outcome: &Outcome, request_bytes: u64) {
        let details = Details::of(outcome, request_bytes);
        let (s, used, owned) = self.stripe();
        if owned {
            s.record_duration::<true>(used, units);
        } else {
            s.record_duration::<false>(used, units);
        }
        if !details.is_empty() {
            let Details {
                error,
                client_error,
                status,
                response_bytes,
                request_bytes,
            } = details;
            record_details(
                s,
                used,
                owned,
                self,
                units,
                error,
                client_error,
                status,
                response_bytes,
                request_bytes,
            );
        }
    }

    /// A call that unwound: an error, with its duration up to the panic.
    #[cold]
    pub(crate) fn record_panic(&self, units: u64, request_bytes: u64) {
        let (s, _, _) = self.stripe();
        s.panics.fetch_add(1, Relaxed);
        self.record(units, &Outcome::PANICKED, request_bytes);
    }

    /// A future dropped before it finished, after `units` of the clock: kept apart from the
    /// durations of the calls that finished.
    #[cold]
    pub(crate) fn record_cancelled(&self, units: u64) {
        self.cancelled.get_or_make().add(units);
        let (_, used, _) = self.stripe();
        used.fetch_or(OTHER, Relaxed);
    }

    /// Tokens of one metered call, credited to this site (its own, or an enclosing stage's).
    #[inline(always)]
    pub(crate) fn record_usage(&self, usage: &Usage, share: Share) {
        let (s, used, owned) = self.stripe();
        if owned {
            s.record_usage::<true>(used, usage, share);
        } else {
            s.record_usage::<false>(used, usage, share);
        }
    }

    /// The items and times of a streamed call that ended.
    #[cold]
    pub(crate) fn record_stream(&self, end: StreamEnd) {
        let streams = self.streams.get_or_make();
        streams.chunks.fetch_add(end.chunks, Relaxed);
        if let Some(units) = end.first_chunk_units {
            streams.first_chunk.add(units);
        }
        if let Some(units) = end.per_chunk_units {
            streams.per_output_chunk.add(units);
        }
        let (_, used, _) = self.stripe();
        used.fetch_or(OTHER, Relaxed);
    }

    /// Heap bytes allocated by the site's own code during a call or a poll.
    #[cfg(feature = "alloc")]
    pub(crate) fn record_allocated(&self, bytes: u64) {
        let (s, used, owned) = self.stripe();
        if owned {
            add::<true>(&s.allocated_bytes, bytes);
            mark::<true>(used, OTHER);
        } else {
            add::<false>(&s.allocated_bytes, bytes);
            mark::<false>(used, OTHER);
        }
    }

    /// `n` calls of the site were spans of a run kept as a trace: counted when the run ends.
    pub(crate) fn record_kept(&self, n: u64) {
        let (s, used, owned) = self.stripe();
        if owned {
            add::<true>(&s.traces_kept, n);
            mark::<true>(used, OTHER);
        } else {
            add::<false>(&s.traces_kept, n);
            mark::<false>(used, OTHER);
        }
    }

    /// Everything recorded so far. Reads only the stripes threads wrote and, in them, the bands
    /// of durations calls fell in; never blocks a call being recorded.
    pub(crate) fn read(&self) -> Figures {
        let mut f = Figures::in_units(super::clock::nanos_per_unit());
        for (s, used) in self.stripes.iter().zip(&self.used.0) {
            let used = used.load(Relaxed);
            if used != 0 {
                s.read_into(used, &mut f);
            }
        }
        if let Some(failures) = self.failures.get() {
            failures.errors.read_into(&mut f.error_durations);
            failures
                .client_errors
                .read_into(&mut f.client_error_durations);
        }
        if let Some(streams) = self.streams.get() {
            f.chunks += streams.chunks.load(Relaxed);
            streams.first_chunk.read_into(&mut f.first_chunk);
            streams.per_output_chunk.read_into(&mut f.per_output_chunk);
        }
        if let Some(statuses) = self.statuses.get() {
            statuses.read_into(&mut f.status_durations, f.durations.nanos_per_unit());
        }
        if let Some(cancelled) = self.cancelled.get() {
            cancelled.read_into(&mut f.cancelled_durations);
            f.cancelled = f.cancelled_durations.count();
        }
        f
    }
}

/// Errors, statuses and sizes: off the common path.
#[cold]
#[inline(never)]
// Scalars rather than a struct: they travel in registers, so the caller stores nothing.
#[allow(clippy::too_many_arguments)]
fn record_details<const N: usize>(
    s: &Stripe,
    used: &AtomicU64,
    owned: bool,
    totals: &Aggregates<N>,
    units: u64,
    error: bool,
    client_error: bool,
    status: u16,
    response_bytes: u64,
    request_bytes: u64,
) {
    // The stripe's own counters with plain stores when this thread owns it, as on the hot path:
    // a locked add costs a few nanoseconds each, and every call with a status comes here.
    let add = |counter: &AtomicU64, n: u64| {
        if owned {
            self::add::<true>(counter, n);
        } else {
            self::add::<false>(counter, n);
        }
    };
    if error {
        add(&s.errors, 1);
    }
    if client_error {
        add(&s.client_errors, 1);
    }
    if error || client_error {
        let f = totals.failures.get_or_make();
        if error { &f.errors } else { &f.client_errors }.add(units);
    }
    if status != 0 {
        add(&s.status_classes[usize::from(status / 100 - 1)], 1);
        totals.statuses.get_or_make().add(status, units);
    }
    if response_bytes > 0 {
        add(&s.response_bytes, response_bytes);
    }
    if request_bytes > 0 {
        add(&s.request_bytes, request_bytes);
    }
    if owned {
        mark::<true>(used, OTHER);
    } else {
        mark::<false>(used, OTHER);
    }
}

/// What a call adds beyond its duration, in plain scalars: for most return types they are
/// constants, and the test for "nothing to add" compiles away.
#[derive(Clone, Copy)]
struct Details {
    error: bool,
    client_error: bool,
    /// The HTTP status, 100 to 599; 0 for none (or one outside those).
    status: u16,
    response_bytes: u64,
    request_bytes: u64,
}

impl Details {
    #[inline(always)]
    fn of(outcome: &Outcome, request_bytes: u64) -> Details {
        Details {
            error: outcome.is_error(),
            client_error: outcome.is_client_error(),
            status: if outcome.status_class().is_some() {
                outcome.status
            } else {
                0
            },
            response_bytes: outcome.response_bytes.unwrap_or(0),
            request_bytes,
        }
    }

    #[inline(always)]
    fn is_empty(&self) -> bool {
        !self.error
            && !self.client_error
            && self.status == 0
            && self.response_bytes == 0
            && self.request_bytes == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_sees_every_band_and_stripe_written() {
        let a: Aggregates = Aggregates::new();
        assert!(a.read().is_empty());
        // Durations in bands far apart, and a parked one.
        for units in [10, 100, 5_000, 1 << 20, 1 << 30, 7] {
            a.record(units, &Outcome::OK, 0);
        }
        let f = a.read();
        assert_eq!(f.calls(), 6);
        assert_eq!(
            f.durations.sum_units(),
            10 + 100 + 5_000 + (1 << 20) + (1 << 30) + 7
        );
        let shared: Aggregates<1> = Aggregates::new();
        shared.record(3, &Outcome::OK, 9);
        let f = shared.read();
        assert_eq!((f.calls(), f.request_bytes), (1, 9));
    }

    #[test]
    fn a_cancelled_call_is_counted_with_its_time_until_dropped() {
        let a: Aggregates = Aggregates::new();
        a.record(10, &Outcome::OK, 0);
        a.record_cancelled(5_000);
        a.record_cancelled(7);
        let f = a.read();
        assert_eq!((f.calls(), f.finished(), f.cancelled), (3, 1, 2));
        assert_eq!(f.cancelled_durations.count(), f.cancelled);
        assert_eq!(f.cancelled_durations.sum_units(), 5_007);
        assert_eq!(f.durations.count(), 1, "not among the finished calls");
    }
}
