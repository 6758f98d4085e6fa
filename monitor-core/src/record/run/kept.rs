//! Kept runs: a run the rules kept, held compactly and read as spans.

use super::*;

/// One run kept as a trace: its spans, root first, each with its parent, its times and the
/// figures of its call.
///
/// Held compactly — a kept span is about 100 bytes, plus the message, tokens and stream figures
/// of the calls that have them — and read as [`KeptSpan`]s ([`spans`](Self::spans)), made on
/// each read: keeping a run costs its thread a copy of its spans, not a conversion of each.
#[derive(Clone)]
#[non_exhaustive]
pub struct KeptRun {
    /// The trace.
    pub trace_id: TraceId,
    /// The span in another process the run continued, when a `traceparent` came in.
    pub remote_parent: Option<SpanId>,
    /// The `tracestate` that came with it.
    pub tracestate: Option<String>,
    /// Why it was kept.
    pub kept: KeepReason,
    /// Whether head sampling drew it (a run kept by the tail rules alone was not).
    pub head_sampled: bool,
    /// When its root started.
    pub start: SystemTime,
    /// Spans beyond the per-run limit, not kept.
    pub dropped_spans: u64,
    /// The root first, then by start. Never empty.
    spans: Box<[KeptRecord]>,
    /// What only some spans have, by [`KeptRecord::extra`].
    extras: Box<[KeptExtra]>,
}

/// A kept span as a run holds it: times in nanoseconds, what only some spans have beside it.
#[derive(Debug, Clone, Copy)]
struct KeptRecord {
    site: &'static Site,
    id: SpanId,
    /// 0 for the root.
    parent: u64,
    offset_ns: u64,
    duration_ns: u64,
    request_bytes: u64,
    /// [`NO_BYTES`] when unknown.
    response_bytes: u64,
    error_type: Option<&'static str>,
    model: Option<&'static str>,
    /// 1 + its extra's position in the run's `extras`; 0 for none.
    extra: u32,
    status: u16,
    outcome: SpanOutcome,
}

/// What only some kept spans have: the fields of [`KeptSpan`] they fill.
#[derive(Debug, Clone, Default)]
struct KeptExtra {
    error_message: Option<String>,
    response_model: Option<&'static str>,
    tokens: Option<Tokens>,
    cost_by_kind_usd: Option<[f64; 5]>,
    chunks: Option<u64>,
    first_chunk: Option<Duration>,
}

impl KeptExtra {
    fn is_empty(&self) -> bool {
        self.error_message.is_none()
            && self.response_model.is_none()
            && self.tokens.is_none()
            && self.cost_by_kind_usd.is_none()
            && self.chunks.is_none()
            && self.first_chunk.is_none()
    }
}

/// One call of a kept run.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct KeptSpan {
    /// Its id.
    pub id: SpanId,
    /// The span it ran under: `None` for the root (whose parent is the run's remote parent).
    pub parent: Option<SpanId>,
    /// The instrumented function (or the route, for a request no handler served).
    #[serde(serialize_with = "site_name")]
    pub site: &'static Site,
    /// From the run's start to this call's.
    pub offset: Duration,
    /// How long it took.
    pub duration: Duration,
    /// How it ended.
    pub outcome: SpanOutcome,
    /// Its HTTP status, when its value or the layer told one.
    pub status: Option<u16>,
    /// The error's type, for a failed call.
    pub error_type: Option<&'static str>,
    /// The error's message, redacted.
    pub error_message: Option<String>,
    /// Request payload bytes.
    pub request_bytes: u64,
    /// Response payload bytes, when known.
    pub response_bytes: Option<u64>,
    /// The model a metered call asked for.
    pub model: Option<&'static str>,
    /// The model the response named, when it named one.
    pub response_model: Option<&'static str>,
    /// The tokens a metered call reported.
    pub tokens: Option<Tokens>,
    /// What they cost, in US dollars, by kind ([`TokenKind::ALL`](crate::usage::TokenKind::ALL)
    /// order); `None` when the model has no price.
    pub cost_by_kind_usd: Option<[f64; 5]>,
    /// For a streamed call: its chunks.
    pub chunks: Option<u64>,
    /// For a streamed call that yielded anything: the time to its first chunk.
    pub first_chunk: Option<Duration>,
}

fn site_name<S: serde::Serializer>(site: &&'static Site, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(site.qualified_name())
}

impl KeptSpan {
    /// What its tokens cost, in US dollars; `None` when unpriced or not metered.
    pub fn cost_usd(&self) -> Option<f64> {
        self.cost_by_kind_usd.map(|c| c.iter().sum())
    }

    /// Whether it is a failed call (an error, a 5xx, a panic).
    pub fn failed(&self) -> bool {
        matches!(self.outcome, SpanOutcome::Error | SpanOutcome::Panicked)
    }
}

impl KeptRun {
    /// The root span's id, without making the span.
    pub(super) fn root_id(&self) -> Option<SpanId> {
        self.spans.first().map(|s| s.id)
    }

    /// The run of fragment `f`, kept for `reason`. A copy of each record, not a conversion to
    /// `KeptSpan`: this runs on the thread that ended the run, and a run may hold a thousand
    /// spans.
    pub(super) fn from_fragment(f: &Fragment, reason: KeepReason) -> KeptRun {
        let scale = clock::scale();
        let nanos = |units: u64| clock::nanos(units, scale);
        let mut extras = Vec::new();
        let mut spans: Vec<KeptRecord> = Vec::with_capacity(f.spans.len());
        let mut counted: Option<(&'static Site, u64)> = None;
        // The root first, then the others as they ended: in a run of plain calls one after another,
        // that is by start already, and the sort below only checks it.
        let root = f.spans.iter().rposition(|s| s.id == f.root_span);
        let (before, after) = match root {
            Some(i) => (&f.spans[..i], &f.spans[i..]),
            None => (&f.spans[..], &[][..]),
        };
        for s in after
            .iter()
            .take(1)
            .chain(before)
            .chain(after.iter().skip(1))
        {
            // Counted per site, once for each stretch of its spans.
            match &mut counted {
                Some((site, n)) if std::ptr::eq(*site, s.site) => *n += 1,
                _ => {
                    if let Some((site, n)) = counted {
                        site.record_kept(n);
                    }
                    counted = Some((s.site, 1));
                }
            }
            let extra = match f.extra(s) {
                None => 0,
                Some(x) => {
                    let usage = x.usage;
                    extras.push(KeptExtra {
                        error_message: x
                            .message
                            .as_deref()
                            .map(crate::errors::redact::redact_cached),
                        response_model: x.response_model,
                        tokens: usage.map(|u| u.tokens),
                        cost_by_kind_usd: usage
                            .and_then(|u| u.cost_picousd)
                            .map(|c| c.map(|p| p as f64 / 1e12)),
                        chunks: x.stream.map(|e| e.chunks),
                        first_chunk: x
                            .stream
                            .and_then(|e| e.first_chunk_units)
                            .map(clock::to_duration),
                    });
                    extras.len() as u32
                }
            };
            spans.push(KeptRecord {
                site: s.site,
                id: SpanId::from_raw(s.id).unwrap_or_else(SpanId::random),
                parent: s.parent,
                offset_ns: nanos(s.start.saturating_sub(f.start_units)),
                duration_ns: nanos(s.units),
                request_bytes: s.request_bytes,
                response_bytes: s.response_bytes,
                error_type: s.error_type,
                model: s.model.map(ModelEntry::name),
                extra,
                status: s.status,
                outcome: s.outcome,
            });
        }
        if let Some((site, n)) = counted {
            site.record_kept(n);
        }
        // The root first, then by start (a parent starts before its children).
        if !spans.is_sorted_by_key(|s| (s.parent != 0, s.offset_ns)) {
            spans.sort_by_key(|s| (s.parent != 0, s.offset_ns));
        }
        KeptRun {
            trace_id: f.trace_id,
            remote_parent: f.remote_parent,
            tracestate: f.tracestate.clone(),
            kept: reason,
            head_sampled: f.head_sampled,
            start: clock::wall_time_of(f.start_units),
            dropped_spans: f.dropped_spans,
            spans: spans.into_boxed_slice(),
            extras: extras.into_boxed_slice(),
        }
    }
}

impl KeptRun {
    /// A run of these spans, the root first: how a run read back from elsewhere (the history
    /// file) is made. `None` without a root.
    #[cfg_attr(not(feature = "persist"), allow(dead_code))]
    #[allow(clippy::too_many_arguments)] // the run's fields, each read from a different place
    pub(crate) fn from_spans(
        trace_id: TraceId,
        remote_parent: Option<SpanId>,
        tracestate: Option<String>,
        kept: KeepReason,
        head_sampled: bool,
        start: SystemTime,
        spans: Vec<KeptSpan>,
        dropped_spans: u64,
    ) -> Option<KeptRun> {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let mut extras = Vec::new();
        let records: Box<[KeptRecord]> = spans
            .into_iter()
            .map(|s| {
                let extra = KeptExtra {
                    error_message: s.error_message,
                    response_model: s.response_model,
                    tokens: s.tokens,
                    cost_by_kind_usd: s.cost_by_kind_usd,
                    chunks: s.chunks,
                    first_chunk: s.first_chunk,
                };
                KeptRecord {
                    site: s.site,
                    id: s.id,
                    parent: s.parent.map_or(0, SpanId::get),
                    offset_ns: nanos(s.offset),
                    duration_ns: nanos(s.duration),
                    request_bytes: s.request_bytes,
                    response_bytes: s.response_bytes.unwrap_or(NO_BYTES),
                    error_type: s.error_type,
                    model: s.model,
                    extra: if extra.is_empty() {
                        0
                    } else {
                        extras.push(extra);
                        extras.len() as u32
                    },
                    status: s.status.unwrap_or(0),
                    outcome: s.outcome,
                }
            })
            .collect();
        if records.first().is_none_or(|root| root.parent != 0) {
            return None;
        }
        Some(KeptRun {
            trace_id,
            remote_parent,
            tracestate,
            kept,
            head_sampled,
            start,
            dropped_spans,
            spans: records,
            extras: extras.into_boxed_slice(),
        })
    }

    /// Its spans, the root first, then by start (a parent starts before its children). Each is
    /// made as it is read.
    pub fn spans(&self) -> impl DoubleEndedIterator<Item = KeptSpan> + ExactSizeIterator + '_ {
        self.spans.iter().map(|r| self.view(r))
    }

    /// How many spans it kept.
    pub fn span_count(&self) -> usize {
        self.spans.len()
    }

    /// The site of each span, in the order of [`spans`](Self::spans): what a filter by site,
    /// route or pipeline reads, without making the spans.
    pub fn sites(&self) -> impl Iterator<Item = &'static Site> + '_ {
        self.spans.iter().map(|r| r.site)
    }

    fn view(&self, r: &KeptRecord) -> KeptSpan {
        let x = r
            .extra
            .checked_sub(1)
            .and_then(|i| self.extras.get(i as usize));
        KeptSpan {
            id: r.id,
            parent: SpanId::from_raw(r.parent),
            site: r.site,
            offset: Duration::from_nanos(r.offset_ns),
            duration: Duration::from_nanos(r.duration_ns),
            outcome: r.outcome,
            status: (r.status != 0).then_some(r.status),
            error_type: r.error_type,
            error_message: x.and_then(|x| x.error_message.clone()),
            request_bytes: r.request_bytes,
            response_bytes: (r.response_bytes != NO_BYTES).then_some(r.response_bytes),
            model: r.model,
            response_model: x.and_then(|x| x.response_model),
            tokens: x.and_then(|x| x.tokens),
            cost_by_kind_usd: x.and_then(|x| x.cost_by_kind_usd),
            chunks: x.and_then(|x| x.chunks),
            first_chunk: x.and_then(|x| x.first_chunk),
        }
    }

    /// The root span.
    pub fn root(&self) -> KeptSpan {
        self.view(&self.spans[0])
    }

    /// How long the run took: its root's duration.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.spans[0].duration_ns)
    }

    /// The tokens of the spans under `span` (itself included), added; each metered call counted
    /// once, where it happened. `root().id` gives the run's.
    pub fn tokens_under(&self, span: SpanId) -> Tokens {
        self.under(span)
            .filter_map(|s| s.tokens)
            .fold(Tokens::default(), Tokens::plus)
    }

    /// What the spans under `span` (itself included) cost, in US dollars, and whether any of
    /// them was unpriced (then the sum is of the priced ones).
    pub fn cost_under(&self, span: SpanId) -> (f64, bool) {
        let mut unpriced = false;
        let mut usd = 0.0;
        for s in self.under(span).filter(|s| s.tokens.is_some()) {
            match s.cost_usd() {
                Some(c) => usd += c,
                None => unpriced = true,
            }
        }
        (usd, unpriced)
    }

    /// `span` and every span below it.
    pub fn under(&self, span: SpanId) -> impl Iterator<Item = KeptSpan> + '_ {
        // A set, not a list: the dashboard reads every listed run's totals through this, and a
        // run may hold a thousand spans.
        let mut inside = HashSet::from([span.get()]);
        // Spans are sorted by start, so a parent comes before its children.
        self.spans
            .iter()
            .filter(move |s| {
                let below = s.id == span || (s.parent != 0 && inside.contains(&s.parent));
                if below && s.id != span {
                    inside.insert(s.id.get());
                }
                below
            })
            .map(|r| self.view(r))
    }

    /// The span with this id.
    pub fn span(&self, id: SpanId) -> Option<KeptSpan> {
        self.spans.iter().find(|s| s.id == id).map(|r| self.view(r))
    }
}

/// Its fields, and its spans as [`KeptSpan`]s.
impl std::fmt::Debug for KeptRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Spans<'a>(&'a KeptRun);
        impl std::fmt::Debug for Spans<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_list().entries(self.0.spans()).finish()
            }
        }
        f.debug_struct("KeptRun")
            .field("trace_id", &self.trace_id)
            .field("remote_parent", &self.remote_parent)
            .field("tracestate", &self.tracestate)
            .field("kept", &self.kept)
            .field("head_sampled", &self.head_sampled)
            .field("start", &self.start)
            .field("spans", &Spans(self))
            .field("dropped_spans", &self.dropped_spans)
            .finish()
    }
}

/// As the dashboard and the history file's tests read a run: its fields, and its spans as
/// [`KeptSpan`]s.
impl serde::Serialize for KeptRun {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Spans<'a>(&'a KeptRun);
        impl serde::Serialize for Spans<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.spans())
            }
        }
        let mut run = s.serialize_struct("KeptRun", 8)?;
        run.serialize_field("trace_id", &self.trace_id)?;
        run.serialize_field("remote_parent", &self.remote_parent)?;
        run.serialize_field("tracestate", &self.tracestate)?;
        run.serialize_field("kept", &self.kept)?;
        run.serialize_field("head_sampled", &self.head_sampled)?;
        run.serialize_field("start", &self.start)?;
        run.serialize_field("spans", &Spans(self))?;
        run.serialize_field("dropped_spans", &self.dropped_spans)?;
        run.end()
    }
}
