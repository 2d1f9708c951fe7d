//! The writers a thread's rooms gave something to write and have not woken
//! yet: one list per thread, not one per room, woken together at the end
//! of a turn by one task ([`SendQueue::push_log_deferred`]).
//!
//! A room that fans a message out to many members, message after message,
//! would otherwise wake each member's writer at the first line, and the
//! writer would run before the room had the next: a write per message per
//! member. Gathered here, a writer wakes once after the thread has run
//! everything that was ready (every room's messages from every session
//! read this turn, for every room at once) and writes all it is owed in
//! one write. A lone message still goes out at once: nothing else is waiting.
//! Under load, batches are woken every other turn ([`TURNS_PER_BATCH`]).
//! While a batch is gathered, a session's own replies join it too
//! ([`Writer::defer`]): its `OK MSG` and the copies its rooms queue for
//! it later in the turn go out in one write, not two.
//!
//! The list lives in a thread-local: actix runs a thread's actors and
//! their writers on one `LocalSet`, so the task that wakes them is a
//! local task of that thread, and no room keeps a list (or a pointer to
//! one) of its own.
//!
//! [`SendQueue::push_log_deferred`]: super::SendQueue::push_log_deferred
//! [`Writer::defer`]: super::Writer::defer

use std::cell::RefCell;
use std::task::Waker;

thread_local! {
    static DEFERRED: RefCell<Deferred> = const {
        RefCell::new(Deferred {
            wakers: Vec::new(),
            scheduled: false,
            batch: 0,
        })
    };
}

/// This thread's writers waiting for their wake-up.
struct Deferred {
    /// At most one per writer per wait: a queue hands out its waker only
    /// to the first push after its writer ran dry.
    wakers: Vec<Waker>,
    /// The task that wakes them runs, or is about to.
    scheduled: bool,
    /// The number of the batch being gathered (it wraps: a writer waits
    /// for one batch, never 256).
    batch: u8,
}

/// Wakes `waker` with the others of this turn, after what is ready has
/// run; returns the number of the batch it is in. Must be called on a
/// `LocalSet` (an actix arbiter's thread).
pub(super) fn wake_later(waker: Waker) -> u8 {
    let (spawn, batch) = DEFERRED.with(|d| {
        let mut d = d.borrow_mut();
        d.wakers.push(waker);
        (!std::mem::replace(&mut d.scheduled, true), d.batch)
    });
    if spawn {
        drop(tokio::task::spawn_local(wake_turn_by_turn()));
    }
    batch
}

/// Whether this thread's rooms are handing out writes in batches (one is
/// being gathered): the thread is fanning messages out.
pub(super) fn batching() -> bool {
    DEFERRED.with(|d| d.borrow().scheduled)
}

/// Whether batch `batch` is still being gathered (not woken yet).
pub(super) fn gathering(batch: u8) -> bool {
    DEFERRED.with(|d| {
        let d = d.borrow();
        d.scheduled && d.batch == batch
    })
}

/// The task that wakes the deferred writers, one batch per turn, until a
/// turn gathers none.
async fn wake_turn_by_turn() {
    // Dropped unfinished (its runtime shutting down), the task lets the
    // next push on this thread start another.
    let _reset = Unschedule;
    let mut batch = Vec::new();
    loop {
        // `yield_now` waits for the runtime to have run what was ready
        // and looked at its sockets again.
        tokio::task::yield_now().await;
        DEFERRED.with(|d| {
            let mut d = d.borrow_mut();
            std::mem::swap(&mut d.wakers, &mut batch);
            d.scheduled = !batch.is_empty();
            d.batch = d.batch.wrapping_add(1);
        });
        if batch.is_empty() {
            return;
        }
        // Waking only queues the writers' tasks: none runs in this loop.
        for w in batch.drain(..) {
            w.wake();
        }
        if batch.capacity() > KEEP_WAKERS {
            // A burst's list (ten thousand clients joining at once) is
            // not kept for good: this one goes back to the thread next.
            batch = Vec::new();
        }
        // Under load, the next batch waits a turn more: by then the
        // writers just woken have run, and each of the next batch carries
        // two turns' worth. (Waking every turn, a writer woken late in a
        // turn was woken again at its end with a few lines.)
        for _ in 1..TURNS_PER_BATCH {
            tokio::task::yield_now().await;
        }
    }
}

/// Wakers a batch's list keeps room for once woken (16 bytes each).
const KEEP_WAKERS: usize = 1024;

/// Turns between two batches while writers keep being given more; the
/// first batch after a quiet spell goes out after one.
const TURNS_PER_BATCH: usize = 2;

/// Marks the task gone, however it ends.
struct Unschedule;

impl Drop for Unschedule {
    fn drop(&mut self) {
        // The thread may be tearing down its locals: then nothing is left
        // to wake.
        let _ = DEFERRED.try_with(|d| {
            if let Ok(mut d) = d.try_borrow_mut() {
                d.scheduled = false;
            }
        });
    }
}

/// Writers of this thread waiting for their wake-up.
#[cfg(test)]
pub(super) fn waiting() -> usize {
    DEFERRED.with(|d| d.borrow().wakers.len())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Wake, Waker};

    use bytes::Bytes;

    use super::*;
    use crate::transport::send_queue::{SendQueue, Writer};

    /// A waker that counts its wake-ups.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Yields until the thread's batch task has woken what it gathered.
    async fn until_woken(batch: u8) {
        while gathering(batch) {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_reply_waits_for_the_turns_batch_only_while_the_thread_fans_out() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let queue = SendQueue::new(100_000);
                let mut writer = Writer::new(queue.clone());
                let count = Arc::new(Count::default());
                let waker = Waker::from(count.clone());
                let mut cx = Context::from_waker(&waker);
                let mut batch = None;

                // A quiet thread: the reply is written at once.
                queue.push(Bytes::from_static(b"OK MSG #a\n")).unwrap();
                assert!(!writer.defer(&mut batch, &mut cx));
                assert_eq!(batch, None);

                // A room deferred another member's writer: the thread fans
                // out, and the reply waits for that batch, once.
                let theirs = wake_later(Waker::noop().clone());
                assert!(writer.defer(&mut batch, &mut cx));
                assert_eq!(batch, Some(theirs));
                assert!(writer.defer(&mut batch, &mut cx));
                assert_eq!(waiting(), 2, "the link's waker joined the batch once");
                until_woken(theirs).await;
                assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken with the batch");
                assert!(!writer.defer(&mut batch, &mut cx), "then it writes");
                assert_eq!(batch, None);

                // Owing a full write, it never waits.
                let next = wake_later(Waker::noop().clone());
                queue
                    .push(Bytes::from(vec![b'x'; super::super::writer::MAX_BATCH]))
                    .unwrap();
                assert!(!writer.defer(&mut batch, &mut cx));
                assert_eq!(batch, None);
                until_woken(next).await;
            })
            .await;
    }
}
