//! The end of a run: the tail rules that keep it or drop it whole.

use super::*;

/// Why a run was kept, as the root's `monitor.kept` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepReason {
    /// Its root failed: an error, a 5xx, a panic.
    Failed,
    /// Its root was dropped before it finished.
    Cancelled,
    /// Its root took longer than its site's outlier threshold.
    Slow,
    /// It spent more tokens or money than a per-run budget allows.
    OverBudget,
    /// Head sampling drew it.
    Sampled,
}

impl KeepReason {
    /// Every reason, in the order the rules test them.
    pub const ALL: [KeepReason; 5] = [
        KeepReason::Failed,
        KeepReason::Cancelled,
        KeepReason::Slow,
        KeepReason::OverBudget,
        KeepReason::Sampled,
    ];

    /// The name the root's `monitor.kept` attribute and the dashboard use.
    pub fn as_str(self) -> &'static str {
        match self {
            KeepReason::Failed => "failed",
            KeepReason::Cancelled => "cancelled",
            KeepReason::Slow => "slow",
            KeepReason::OverBudget => "over_budget",
            KeepReason::Sampled => "sampled",
        }
    }

    /// The reason named `name`.
    pub fn parse(name: &str) -> Option<KeepReason> {
        KeepReason::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// The trace a raw event being kept names: the run enclosing the call, or the one its root just
/// ended.
pub(crate) fn event_trace() -> Option<TraceId> {
    current_span()
        .map(|(trace_id, _, _)| trace_id)
        .or_else(|| ENDED.try_with(Cell::take).ok().flatten())
}

/// The root of a run ended. With parts handed out still going, the last of them decides.
pub(super) fn end_root(mut f: Box<Fragment>) {
    let _ = ENDED.try_with(|e| e.set(Some(f.trace_id)));
    match f.shared.take() {
        None => decide(f, Vec::new(), Vec::new(), 0),
        Some(shared) => {
            shared.merged.lock().root = Some(f);
            if let Some(shared) = Arc::into_inner(shared) {
                end_shared(shared);
            }
        }
    }
}

pub(super) fn end_shared(shared: Shared) {
    let merged = shared.merged.into_inner();
    // Without a root, its fragment was dropped without ending (a thread exiting mid-run).
    if let Some(root) = merged.root {
        decide(root, merged.spans, merged.extras, merged.dropped_spans);
    }
}

/// Keeps the run or drops it, whole.
fn decide(
    mut f: Box<Fragment>,
    mut parts: Vec<SpanRecord>,
    mut part_extras: Vec<Extra>,
    parts_dropped: u64,
) {
    IN_FLIGHT.fetch_sub(1, Relaxed);
    let max = MAX_SPANS.load(Relaxed);
    let room = max.saturating_sub(f.spans.len());
    if parts.len() > room {
        f.dropped_spans += (parts.len() - room) as u64;
        parts.truncate(room);
    }
    let f_ref = &mut *f;
    append(
        &mut f_ref.spans,
        &mut f_ref.extras,
        &mut parts,
        &mut part_extras,
    );
    f.dropped_spans += parts_dropped;
    let counts = &RUN_COUNTS[crate::record::thread::stripe()];
    if f.dropped_spans > 0 {
        counts.spans_dropped.fetch_add(f.dropped_spans, Relaxed);
    }
    // The root ends last: found from the end.
    let reason = f
        .spans
        .iter()
        .rev()
        .find(|s| s.id == f.root_span)
        .and_then(|root| reason(root, &f));
    match reason {
        Some(reason) => {
            counts.kept[reason as usize].fetch_add(1, Relaxed);
            keep(&f, reason);
        }
        None => {
            counts.unsampled.fetch_add(1, Relaxed);
        }
    }
    recycle(f);
}

fn reason(root: &SpanRecord, f: &Fragment) -> Option<KeepReason> {
    match root.outcome {
        SpanOutcome::Error | SpanOutcome::Panicked => return Some(KeepReason::Failed),
        SpanOutcome::Cancelled => return Some(KeepReason::Cancelled),
        SpanOutcome::Ok | SpanOutcome::ClientError => {}
    }
    if root.units > root.site.outlier_units() {
        return Some(KeepReason::Slow);
    }
    if BUDGETS.load(Relaxed) && over_budget(f) {
        return Some(KeepReason::OverBudget);
    }
    f.head_sampled.then_some(KeepReason::Sampled)
}

/// Whether any site has a token or cost budget: without one, a run's spans need not be read.
static BUDGETS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Records whether any site has a budget (set when objectives are put in force).
pub(crate) fn set_budgets_in_force(any: bool) {
    BUDGETS.store(any, Relaxed);
}

/// Whether a call spent more than its site's per-call budget, or the run more than the per-run
/// budget of a site it passed through.
fn over_budget(f: &Fragment) -> bool {
    let spend = |usage: &Usage| {
        let tokens = usage.tokens.input.saturating_add(usage.tokens.output);
        let picousd = usage
            .cost_picousd
            .map_or(0, |c| c.iter().fold(0u64, |a, b| a.saturating_add(*b)));
        (tokens, picousd)
    };
    let (mut tokens, mut picousd) = (0u64, 0u64);
    let mut run_budget = crate::record::site::Budgets::NONE;
    let mut any = false;
    for span in &f.spans {
        let b = span.site.budgets();
        let usage = f.extra(span).and_then(|e| e.usage.as_ref());
        if b == crate::record::site::Budgets::NONE && usage.is_none() {
            continue;
        }
        if let Some(usage) = usage {
            let (t, p) = spend(usage);
            if t > b.call_tokens || p > b.call_picousd {
                return true;
            }
            tokens = tokens.saturating_add(t);
            picousd = picousd.saturating_add(p);
        }
        any |= b.run_tokens != u64::MAX || b.run_picousd != u64::MAX;
        run_budget.run_tokens = run_budget.run_tokens.min(b.run_tokens);
        run_budget.run_picousd = run_budget.run_picousd.min(b.run_picousd);
    }
    any && (tokens > run_budget.run_tokens || picousd > run_budget.run_picousd)
}
