//! A counting semaphore whose size and queue are read at each acquire
//! (so that a configuration reload applies at once), with a bounded
//! number of waiters: one more is refused rather than queued.

use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

#[derive(Debug, Default)]
struct Counts {
    running: usize,
    waiting: usize,
}

/// The slots of the hashes running at once.
#[derive(Debug, Default)]
pub(super) struct Slots {
    counts: Mutex<Counts>,
    freed: Notify,
}

impl Slots {
    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot once fewer than `max` run, or `None` at once if `queue`
    /// wait already.
    pub(super) async fn acquire(&self, max: usize, queue: usize) -> Option<Slot<'_>> {
        {
            let mut c = self.counts();
            if c.running < max {
                c.running += 1;
                return Some(Slot(self));
            }
            if c.waiting >= queue {
                return None;
            }
            c.waiting += 1;
        }
        let _waiting = Waiting(self);
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            // Registered before the check: a slot freed in between wakes it.
            freed.as_mut().enable();
            {
                let mut c = self.counts();
                if c.running < max {
                    c.running += 1;
                    return Some(Slot(self));
                }
            }
            freed.await;
        }
    }

    /// Hashes waiting now.
    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        self.counts().waiting
    }

    /// Hashes running now.
    #[cfg(test)]
    pub(super) fn running(&self) -> usize {
        self.counts().running
    }
}

/// One waiter, counted until it has a slot or gives up.
struct Waiting<'a>(&'a Slots);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.counts().waiting -= 1;
    }
}

/// One running hash's slot, given back when dropped.
pub(super) struct Slot<'a>(&'a Slots);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.counts().running -= 1;
        // Every waiter checks again: few wait (the queue is bounded).
        self.0.freed.notify_waiters();
    }
}
