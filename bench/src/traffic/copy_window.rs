//! The room-wide in-flight cap of the `shared-window` rhythm, counted in
//! copies received by the members rather than in acknowledgements.
//!
//! A room of M members allows `messages` messages in flight in total: a
//! sender takes M - 1 copies' worth of the cap before it writes a message
//! (every other member gets one copy), and the members give the cap back
//! one copy at a time as they read them. A message is no longer in flight
//! once its last copy has been read, however fast its sender heard back.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

/// One room's cap on copies not yet received.
pub struct CopyWindow {
    /// Copies allowed in flight: messages times copies per message.
    cap: u64,
    /// Copies one message makes (the room's members but its sender).
    per_msg: u64,
    /// Copies written and not yet received.
    owed: AtomicU64,
    /// Rung each time the cap goes from full to having room for a message.
    freed: Notify,
}

impl CopyWindow {
    /// A cap of `messages` messages of `per_msg` copies each.
    pub fn new(messages: u64, per_msg: u64) -> Self {
        let per_msg = per_msg.max(1);
        CopyWindow {
            cap: messages.max(1).saturating_mul(per_msg),
            per_msg,
            owed: AtomicU64::new(0),
            freed: Notify::new(),
        }
    }

    /// Takes one message's copies if the cap has room for them.
    pub fn try_take(&self) -> bool {
        self.owed
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |owed| {
                (owed + self.per_msg <= self.cap).then_some(owed + self.per_msg)
            })
            .is_ok()
    }

    /// Takes one message's copies, waiting until the cap has room.
    /// Cancel-safe: dropped while waiting, it has taken nothing.
    pub async fn take(&self) {
        loop {
            let freed = self.freed.notified();
            if self.try_take() {
                // Room for more: pass the wake-up on to the next sender.
                if self.has_room() {
                    self.freed.notify_one();
                }
                return;
            }
            freed.await;
        }
    }

    /// Gives back `copies` (received by members, or never to come: a
    /// refused message's); whether the cap went from full to having room,
    /// in which case a waiting sender was woken.
    pub fn give_back(&self, copies: u64) -> bool {
        if copies == 0 {
            return false;
        }
        let before = self
            .owed
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |owed| {
                Some(owed.saturating_sub(copies))
            })
            .unwrap_or_else(|owed| owed);
        let after = before.saturating_sub(copies);
        let opened = before + self.per_msg > self.cap && after + self.per_msg <= self.cap;
        if opened {
            self.freed.notify_one();
        }
        opened
    }

    /// Copies of one message.
    pub fn per_msg(&self) -> u64 {
        self.per_msg
    }

    /// Copies written and not yet received.
    pub fn owed(&self) -> u64 {
        self.owed.load(Ordering::Acquire)
    }

    fn has_room(&self) -> bool {
        self.owed() + self.per_msg <= self.cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn the_cap_counts_copies_of_every_message_in_flight() {
        // 3 messages in flight, 4 copies each (a room of 5).
        let w = CopyWindow::new(3, 4);
        assert!(w.try_take());
        assert!(w.try_take());
        assert!(w.try_take());
        assert_eq!(w.owed(), 12);
        assert!(!w.try_take(), "3 messages in flight fill the cap");
        // 3 copies of the first message read: it is still in flight.
        assert!(!w.give_back(3));
        assert!(!w.try_take());
        // Its last copy read: room for exactly one message.
        assert!(w.give_back(1));
        assert!(w.try_take());
        assert!(!w.try_take());
    }

    #[test]
    fn copies_of_different_messages_add_up() {
        let w = CopyWindow::new(2, 4);
        assert!(w.try_take() && w.try_take());
        // Two copies of each message read: a message's worth in all.
        assert!(!w.give_back(2));
        assert!(w.give_back(2));
        assert!(w.try_take());
        assert!(!w.try_take());
    }

    #[test]
    fn only_the_change_from_full_to_open_wakes() {
        let w = CopyWindow::new(4, 2);
        assert!(w.try_take());
        // Not full: giving back opens nothing new.
        assert!(!w.give_back(2));
        assert_eq!(w.owed(), 0);
        // More than owed (a late refusal) cannot go below zero.
        assert!(!w.give_back(10));
        assert_eq!(w.owed(), 0);
        assert!(!w.give_back(0));
    }

    #[tokio::test]
    async fn waiting_senders_are_woken_one_message_at_a_time() {
        let w = Arc::new(CopyWindow::new(1, 3));
        w.take().await;
        let (went_on, mut gone) = tokio::sync::mpsc::unbounded_channel();
        for i in 0..2 {
            let (w, went_on) = (Arc::clone(&w), went_on.clone());
            tokio::spawn(async move {
                w.take().await;
                let _ = went_on.send(i);
            });
        }
        tokio::task::yield_now().await;
        assert!(gone.try_recv().is_err(), "the cap is full");
        // One message received in full: one sender goes on, not both.
        assert!(w.give_back(3));
        let limit = Duration::from_secs(5);
        let first = tokio::time::timeout(limit, gone.recv()).await.unwrap();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(gone.try_recv().is_err(), "only {first:?} went on");
        assert_eq!(w.owed(), 3);
        assert!(w.give_back(3));
        let second = tokio::time::timeout(limit, gone.recv()).await.unwrap();
        assert_ne!(first, second);
    }

    #[tokio::test]
    async fn room_for_several_wakes_several() {
        let w = Arc::new(CopyWindow::new(2, 1));
        w.take().await;
        w.take().await;
        let a = tokio::spawn({
            let w = Arc::clone(&w);
            async move { w.take().await }
        });
        let b = tokio::spawn({
            let w = Arc::clone(&w);
            async move { w.take().await }
        });
        tokio::task::yield_now().await;
        // Both messages received at once: the one woken passes it on.
        assert!(w.give_back(2));
        let both = async {
            a.await.unwrap();
            b.await.unwrap();
        };
        tokio::time::timeout(Duration::from_secs(5), both)
            .await
            .expect("both senders went on");
        assert_eq!(w.owed(), 2);
    }
}

#[cfg(test)]
mod stress {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn no_sender_is_left_waiting() {
        let w = Arc::new(CopyWindow::new(10, 9));
        let (tx, _) = tokio::sync::broadcast::channel::<u64>(100_000);
        let mut rx: Vec<_> = (0..9).map(|_| tx.subscribe()).collect();
        let mut tasks = Vec::new();
        for r in rx.drain(..) {
            let w = Arc::clone(&w);
            tasks.push(tokio::spawn(async move {
                let mut r = r;
                let mut n = 0u64;
                loop {
                    let mut got = 0;
                    match r.recv().await {
                        Ok(u64::MAX) | Err(_) => return n,
                        Ok(_) => got += 1,
                    }
                    while let Ok(m) = r.try_recv() {
                        if m == u64::MAX {
                            w.give_back(got);
                            return n + got;
                        }
                        got += 1;
                    }
                    n += got;
                    w.give_back(got);
                    if n.is_multiple_of(7) {
                        tokio::task::yield_now().await;
                    }
                }
            }));
        }
        let mut senders = Vec::new();
        for s in 0..10u64 {
            let (w, tx) = (Arc::clone(&w), tx.clone());
            senders.push(tokio::spawn(async move {
                for i in 0..20_000u64 {
                    if !w.try_take() {
                        tokio::time::timeout(Duration::from_secs(2), w.take())
                            .await
                            .unwrap_or_else(|_| {
                                panic!("sender {s} stuck at {i}, owed {}", w.owed())
                            });
                    }
                    let _ = tx.send(i);
                    if i.is_multiple_of(3) {
                        tokio::task::yield_now().await;
                    }
                }
            }));
        }
        for s in senders {
            s.await.unwrap();
        }
        tx.send(u64::MAX).unwrap();
        for t in tasks {
            t.await.unwrap();
        }
    }
}
