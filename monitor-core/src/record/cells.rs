//! What each model did at a site whose model is named per call (`model = <expression>`, or the
//! model the return value names): a site's calls split by model, so that queries can filter and
//! group such a site by model. A site with a literal model needs none: its own figures are that
//! model's.

use super::stripes::Aggregates;
use crate::usage::entry::{self, ModelEntry, OTHER_MODELS};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// Cells made, at most, over all sites; beyond, a site's further models share its
/// [`OTHER_MODELS`] cell. Each holds a histogram (about 10 KiB), so the number is bounded.
pub const MAX_MODEL_CELLS: usize = 1024;

/// One model's calls at one site.
pub(crate) struct ModelCell {
    model: &'static ModelEntry,
    pub(crate) totals: Aggregates<1>,
    next: AtomicPtr<ModelCell>,
}

impl ModelCell {
    pub(crate) fn model(&self) -> &'static ModelEntry {
        self.model
    }
}

/// A site's cells: a list that only grows, read without a lock.
pub(crate) struct Cells {
    head: AtomicPtr<ModelCell>,
}

static MADE: AtomicUsize = AtomicUsize::new(0);
/// Makes cells one at a time, so that a model gets one cell per site and the cap holds.
static MAKING: Mutex<()> = Mutex::new(());

impl Cells {
    pub(crate) const fn new() -> Cells {
        Cells {
            head: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Every cell, newest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'static ModelCell> {
        // SAFETY: cells are leaked, so every pointer in the list stays valid; a cell is published
        // (Release) only after its fields are written, and read here after an Acquire load.
        let mut next = unsafe { self.head.load(Ordering::Acquire).as_ref() };
        std::iter::from_fn(move || {
            let cell = next?;
            // SAFETY: as above.
            next = unsafe { cell.next.load(Ordering::Acquire).as_ref() };
            Some(cell)
        })
    }

    /// Whether any cell was made.
    pub(crate) fn is_empty(&self) -> bool {
        self.head.load(Ordering::Relaxed).is_null()
    }

    /// The cell of `model`, made on first use.
    pub(crate) fn of(&self, model: &'static ModelEntry) -> &'static ModelCell {
        if let Some(cell) = self.iter().find(|c| std::ptr::eq(c.model, model)) {
            return cell;
        }
        self.make(model)
    }

    #[cold]
    fn make(&self, model: &'static ModelEntry) -> &'static ModelCell {
        let _making = MAKING.lock();
        let full = MADE.load(Ordering::Relaxed) >= MAX_MODEL_CELLS;
        let model = if full {
            entry::model(OTHER_MODELS)
        } else {
            model
        };
        if let Some(cell) = self.iter().find(|c| std::ptr::eq(c.model, model)) {
            return cell;
        }
        MADE.fetch_add(1, Ordering::Relaxed);
        // Leaked on purpose: cells live as long as their sites, and their number is bounded (the
        // cap, plus one `other` cell per site).
        let cell: &'static ModelCell = Box::leak(Box::new(ModelCell {
            model,
            totals: Aggregates::new(),
            next: AtomicPtr::new(self.head.load(Ordering::Relaxed)),
        }));
        self.head
            .store(std::ptr::from_ref(cell).cast_mut(), Ordering::Release);
        cell
    }
}
