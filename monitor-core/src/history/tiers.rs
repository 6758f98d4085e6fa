//! The rollups: frames of what each site added in a period, in tiers of growing width — one frame
//! per tick for the recent past, one per minute further back, one per hour beyond.

use crate::figures::Figures;
use crate::sorted::merge_keyed;
use std::collections::VecDeque;
use std::sync::Arc;

/// One period of one tier: what every site that was active added in it.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// Start and end, in milliseconds since the Unix epoch.
    pub(crate) start_ms: u64,
    pub(crate) end_ms: u64,
    /// By site index in [`sites`](crate::sites) order, ascending.
    pub(crate) sites: Vec<(usize, Figures)>,
    /// For sites that name their model per call, what each model added: by site index, then model.
    pub(crate) models: Vec<((usize, &'static str), Figures)>,
    /// Cache lookups in the period, by cache name: `(hits, misses)`.
    pub(crate) caches: Vec<(String, (u64, u64))>,
}

impl Frame {
    fn merge(&mut self, other: &Frame) {
        self.start_ms = self.start_ms.min(other.start_ms);
        self.end_ms = self.end_ms.max(other.end_ms);
        merge_keyed(&mut self.sites, &other.sites, Figures::add);
        merge_keyed(&mut self.models, &other.models, Figures::add);
        merge_keyed(&mut self.caches, &other.caches, |a, b| {
            a.0 += b.0;
            a.1 += b.1;
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.sites.is_empty() && self.caches.is_empty()
    }

    /// What a site added, with its split by model if it has one.
    pub(crate) fn models_of(&self, site: usize) -> &[((usize, &'static str), Figures)] {
        let from = self.models.partition_point(|((s, _), _)| *s < site);
        let to = self.models.partition_point(|((s, _), _)| *s <= site);
        &self.models[from..to]
    }

    /// Memory the frame holds, approximately: a pass over its entries, made once per frame
    /// filed, never over the whole history.
    pub(crate) fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Frame>()
            + self
                .caches
                .iter()
                .map(|(name, _)| 40 + name.len())
                .sum::<usize>()
            + self
                .sites
                .iter()
                .map(|(_, f)| 8 + f.approx_bytes())
                .sum::<usize>()
            + self
                .models
                .iter()
                .map(|(_, f)| 24 + f.approx_bytes())
                .sum::<usize>()
    }
}

/// Frames of one width, oldest first. Frames are shared with the queries reading them: a query
/// takes the frames it needs and computes without the history's lock, and filing into a frame a
/// query still holds copies it first.
#[derive(Debug)]
pub(crate) struct Tier {
    pub(crate) width_ms: u64,
    /// How far back this tier reaches; a finer tier covers the recent past at a finer width.
    pub(crate) span_ms: u64,
    pub(crate) frames: VecDeque<Arc<Frame>>,
    /// What `frames` hold, approximately, kept up to date as frames come and go.
    pub(crate) bytes: usize,
    /// For a tier filed from its finer neighbour's finished frames: the end of the newest one it
    /// took. What the neighbour holds past this is not in this tier yet.
    pub(crate) filed_to_ms: u64,
}

impl Tier {
    /// Files `frame` into this tier: added to the last frame when it falls in the same slot, else
    /// a frame of its own (the frame itself when it is given by value, a copy otherwise).
    fn file(&mut self, frame: std::borrow::Cow<'_, Frame>) {
        let slot = frame.start_ms / self.width_ms;
        match self.frames.back_mut() {
            Some(last) if last.start_ms / self.width_ms == slot => {
                let before = last.approx_bytes();
                Arc::make_mut(last).merge(&frame);
                self.bytes = (self.bytes + last.approx_bytes()).saturating_sub(before);
            }
            _ => {
                let mut aligned = frame.into_owned();
                aligned.start_ms = slot * self.width_ms;
                self.bytes += aligned.approx_bytes();
                self.frames.push_back(Arc::new(aligned));
            }
        }
    }

    /// Drops the oldest frame; returns the bytes it held.
    pub(crate) fn drop_oldest(&mut self) -> Option<usize> {
        let dropped = self.frames.pop_front()?.approx_bytes();
        self.bytes = self.bytes.saturating_sub(dropped);
        Some(dropped)
    }
}

/// Files a tick's `frame`: the finest tier takes it without a copy, the next adds it to its
/// latest frame, and each tier beyond takes its finer neighbour's frames once they are finished —
/// so a site's figures are added once a tick to the minute tier, and once a minute to the hour
/// tier, not once a tick to each. Queries of such a tier add what it has not taken yet
/// ([`Tier::filed_to_ms`]).
pub(crate) fn file_all(tiers: &mut [Tier], frame: Frame) {
    for coarse in (2..tiers.len()).rev() {
        let (finer, coarser) = tiers.split_at_mut(coarse);
        let (finer, coarser) = (&finer[coarse - 1], &mut coarser[0]);
        // The neighbour's latest frame is finished when this tick's frame falls in a later slot.
        if let Some(last) = finer.frames.back()
            && last.start_ms / finer.width_ms != frame.start_ms / finer.width_ms
            && last.end_ms > coarser.filed_to_ms
        {
            coarser.filed_to_ms = last.end_ms;
            coarser.file(std::borrow::Cow::Borrowed(last));
        }
    }
    let Some((finest, coarser)) = tiers.split_first_mut() else {
        return;
    };
    if let Some(next) = coarser.first_mut() {
        next.file(std::borrow::Cow::Borrowed(&frame));
    }
    finest.file(std::borrow::Cow::Owned(frame));
}
