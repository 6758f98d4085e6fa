//! Subscribers: every tick on a bounded buffer; one that falls behind loses ticks, counted, and
//! never slows the collector or anything it measures.

use super::tick::Tick;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

/// The subscribers of the collector's ticks.
#[derive(Default)]
pub(crate) struct Subscribers {
    list: Vec<Subscriber>,
}

struct Subscriber {
    sender: SyncSender<Arc<Tick>>,
    dropped: Arc<AtomicU64>,
}

impl Subscribers {
    pub(crate) fn add(&mut self, capacity: usize) -> Subscription {
        let (sender, receiver) = sync_channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        self.list.push(Subscriber {
            sender,
            dropped: Arc::clone(&dropped),
        });
        Subscription { receiver, dropped }
    }

    /// Hands `tick` to every subscriber that has room, and forgets those that are gone.
    pub(crate) fn send(&mut self, tick: &Arc<Tick>) {
        self.list
            .retain(|s| match s.sender.try_send(Arc::clone(tick)) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    s.dropped.fetch_add(1, Ordering::Relaxed);
                    true
                }
                Err(TrySendError::Disconnected(_)) => false,
            });
    }
}

/// A consumer of ticks. Its buffer is bounded: when the consumer falls behind, new ticks are
/// dropped (and counted) rather than slowing the collector or anything it measures.
#[derive(Debug)]
pub struct Subscription {
    receiver: Receiver<Arc<Tick>>,
    dropped: Arc<AtomicU64>,
}

impl Subscription {
    /// The next tick, waiting for it; `None` once the collector is gone.
    pub fn recv(&self) -> Option<Arc<Tick>> {
        self.receiver.recv().ok()
    }

    /// The next tick, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Arc<Tick>> {
        self.receiver.recv_timeout(timeout).ok()
    }

    /// The next tick if one is waiting.
    pub fn try_recv(&self) -> Option<Arc<Tick>> {
        self.receiver.try_recv().ok()
    }

    /// Ticks dropped because this subscription's buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
