//! Which stripe of every site's counters this thread writes.
//!
//! A thread owns one of the first stripes while it lives and writes it with plain loads and
//! stores; threads beyond the owners share the rest with atomic adds. No cache line is written by
//! two threads at once.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// Stripes a thread can own: only its owner writes them, with plain loads and stores.
pub(crate) const OWNED_STRIPES: usize = 4;
/// Stripes the threads beyond the owners share, written with atomic read-modify-writes.
pub(crate) const SHARED_STRIPES: usize = 2;
pub(crate) const STRIPES: usize = OWNED_STRIPES + SHARED_STRIPES;

const NO_STRIPE: usize = usize::MAX;
const ALL_OWNED: u32 = (1 << OWNED_STRIPES) - 1;

/// Which owned stripes a live thread holds, one bit each.
static OWNED: AtomicU32 = AtomicU32::new(0);
static NEXT_SHARED: AtomicUsize = AtomicUsize::new(0);

struct ThreadState {
    stripe: Cell<usize>,
}

thread_local! {
    // Const-initialised and without `Drop`: access is a plain TLS offset, and it never fails,
    // even while the thread is being torn down.
    static STATE: ThreadState = const { ThreadState { stripe: Cell::new(NO_STRIPE) } };
    // Gives an owned stripe back when its thread exits, so short-lived threads do not use them up.
    static OWNER: Owner = const { Owner(Cell::new(NO_STRIPE)) };
}

struct Owner(Cell<usize>);

impl Drop for Owner {
    fn drop(&mut self) {
        let stripe = self.0.get();
        if stripe < OWNED_STRIPES {
            // Destructors that run after this one may still record: send them to a shared stripe
            // before another thread can take this one.
            STATE.with(|s| s.stripe.set(shared_stripe()));
            // Release: the next owner sees every store this thread made to the stripe.
            OWNED.fetch_and(!(1 << stripe), Ordering::Release);
        }
    }
}

fn shared_stripe() -> usize {
    OWNED_STRIPES + NEXT_SHARED.fetch_add(1, Ordering::Relaxed) % SHARED_STRIPES
}

/// This thread's stripe of every site's aggregates, always below [`STRIPES`]: one it owns (below
/// [`OWNED_STRIPES`]) while there is one free, a shared one otherwise.
#[inline(always)]
pub(crate) fn stripe() -> usize {
    STATE.with(|s| {
        let stripe = s.stripe.get();
        // One test covers both "not assigned yet" and, for the compiler, "in bounds".
        if stripe < STRIPES {
            stripe
        } else {
            assign_stripe(s)
        }
    })
}

#[cold]
fn assign_stripe(state: &ThreadState) -> usize {
    // Acquire: this thread's loads of the stripe see the previous owner's last stores.
    let claimed = OWNED.fetch_update(Ordering::AcqRel, Ordering::Acquire, |taken| {
        (taken != ALL_OWNED).then(|| taken | (1 << (!taken).trailing_zeros()))
    });
    let stripe = match claimed {
        Ok(taken) => {
            let stripe = (!taken).trailing_zeros() as usize;
            if OWNER.try_with(|owner| owner.0.set(stripe)).is_ok() {
                stripe
            } else {
                // The thread is exiting and could not give it back: don't take it.
                OWNED.fetch_and(!(1 << stripe), Ordering::Release);
                shared_stripe()
            }
        }
        Err(_) => shared_stripe(),
    };
    state.stripe.set(stripe);
    stripe.min(STRIPES - 1)
}
