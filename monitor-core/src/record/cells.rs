//! What each model did at a site whose model is named per call (`model = <expression>`, or the
//! model the return value names): a site's calls split by model, so that queries can filter and
//! group such a site by model. A site with a literal model needs none: its own figures are that
//! model's.

use super::stripes::Aggregates;
use crate::usage::entry::{self, ModelEntry, Named, OTHER_MODELS};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// Cells made, at most, over all sites; beyond, a site's further models share its
/// [`OTHER_MODELS`] cell. Each holds a histogram (about 10 KiB), so the number is bounded.
pub const MAX_MODEL_CELLS: usize = 1024;

/// One model's calls at one site.
pub(crate) struct ModelCell {
    model: &'static ModelEntry,
    pub(crate) totals: Aggregates<1>,
    response_model: ResponseModel,
    next: AtomicPtr<ModelCell>,
}

impl ModelCell {
    pub(crate) fn model(&self) -> &'static ModelEntry {
        self.model
    }

    /// Keeps the model the latest response named, when it is not the cell's.
    pub(crate) fn note_response(&self, named: Named<'_>) {
        if !matches!(named, Named::Nothing) {
            self.response_model
                .note_for(named, self.model, self.model.provider());
        }
    }

    /// The model the latest response named, when not the cell's own.
    pub(crate) fn response_model(&self) -> Option<&'static ModelEntry> {
        self.response_model.get()
    }
}

/// The model the latest response of some calls named (`gen_ai.response.model`), kept only when
/// it is not the model asked for: providers answer `gpt-4o` with `gpt-4o-2024-08-06`.
pub(crate) struct ResponseModel(AtomicPtr<ModelEntry>);

impl ResponseModel {
    pub(crate) const fn new() -> ResponseModel {
        ResponseModel(AtomicPtr::new(std::ptr::null_mut()))
    }

    pub(crate) fn get(&self) -> Option<&'static ModelEntry> {
        // SAFETY: null or a `&'static ModelEntry` (entries are never freed).
        unsafe { self.0.load(Ordering::Relaxed).as_ref() }
    }

    /// Kept when `named` is not `asked`. Comparing names first: a response that names the model
    /// kept already costs a string compare, not a lookup.
    pub(crate) fn note_for(&self, named: Named<'_>, asked: &ModelEntry, provider: Option<&str>) {
        let name = match named {
            Named::Nothing => return,
            Named::Name(name) => name,
            Named::Entry(entry) => entry.name(),
        };
        if name == asked.name() || self.get().is_some_and(|kept| kept.name() == name) {
            return;
        }
        let entry = match named {
            Named::Entry(entry) => entry,
            _ => entry::model(name, provider),
        };
        self.0
            .store(std::ptr::from_ref(entry).cast_mut(), Ordering::Relaxed);
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
            entry::model(OTHER_MODELS, model.provider())
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
            response_model: ResponseModel::new(),
            next: AtomicPtr::new(self.head.load(Ordering::Relaxed)),
        }));
        self.head
            .store(std::ptr::from_ref(cell).cast_mut(), Ordering::Release);
        cell
    }
}
