//! Final replies owed to a client, released in the order their commands
//! came: a reply that is ready waits behind the ones still owed before it.

use std::collections::VecDeque;

use std::task::Waker;

use bytes::Bytes;

/// A place in a connection's order of final replies, taken when a command
/// is read and filled by whatever answers it (a room, the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ticket(u64);

/// The replies owed to one connection, oldest first.
#[derive(Debug, Default)]
pub(super) struct Owed {
    /// Oldest first; `None` while its answer has not come.
    replies: VecDeque<Option<Bytes>>,
    /// The ticket of the next reply promised.
    next: u64,
    /// How many of `replies` are still `None`.
    unsettled: usize,
    /// Woken when a promise is settled (kept here, not in the queue: only
    /// a connection with promises out ever waits for one).
    pub(super) waiter: Option<Waker>,
}

impl Owed {
    /// Takes the next place.
    pub(super) fn promise(&mut self) -> Ticket {
        self.replies.push_back(None);
        self.unsettled += 1;
        let ticket = Ticket(self.next);
        self.next += 1;
        ticket
    }

    /// Places a reply that is ready behind those still owed; hands it
    /// back when nothing is owed, to be queued at once.
    pub(super) fn queue_behind(&mut self, line: Bytes) -> Option<Bytes> {
        if self.replies.is_empty() {
            return Some(line);
        }
        self.replies.push_back(Some(line));
        self.next += 1;
        None
    }

    /// Fills `ticket`'s place. A ticket filled twice, or never promised,
    /// is ignored.
    pub(super) fn settle(&mut self, ticket: Ticket, line: Bytes) {
        let first = self.next - self.replies.len() as u64;
        let Some(slot) = ticket
            .0
            .checked_sub(first)
            .and_then(|i| self.replies.get_mut(usize::try_from(i).ok()?))
        else {
            return;
        };
        if slot.is_none() {
            *slot = Some(line);
            self.unsettled -= 1;
        }
    }

    /// How many replies are free to go, and their bytes.
    pub(super) fn ready(&self) -> (usize, usize) {
        self.replies
            .iter()
            .map_while(Option::as_ref)
            .fold((0, 0), |(n, len), line| (n + 1, len + line.len()))
    }

    /// The replies now free to go, oldest first.
    pub(super) fn release(&mut self) -> impl Iterator<Item = Bytes> + '_ {
        std::iter::from_fn(|| match self.replies.front() {
            Some(Some(_)) => self.replies.pop_front().flatten(),
            _ => None,
        })
    }

    /// Replies promised and not yet given.
    pub(super) fn unsettled(&self) -> usize {
        self.unsettled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn released(owed: &mut Owed) -> Vec<Bytes> {
        owed.release().collect()
    }

    #[test]
    fn replies_leave_in_ticket_order_whatever_order_they_come_in() {
        let mut owed = Owed::default();
        let a = owed.promise();
        let b = owed.promise();
        assert_eq!(owed.queue_behind(Bytes::from_static(b"c")), None);
        owed.settle(b, Bytes::from_static(b"b"));
        assert!(released(&mut owed).is_empty(), "a is still owed");
        assert_eq!(owed.unsettled(), 1);
        owed.settle(a, Bytes::from_static(b"a"));
        assert_eq!(released(&mut owed), ["a", "b", "c"]);
        assert_eq!(owed.unsettled(), 0);
        // Nothing owed: a ready reply goes straight out.
        assert_eq!(
            owed.queue_behind(Bytes::from_static(b"d")),
            Some(Bytes::from_static(b"d"))
        );
    }

    #[test]
    fn a_ticket_settled_twice_or_unknown_changes_nothing() {
        let mut owed = Owed::default();
        let a = owed.promise();
        owed.settle(a, Bytes::from_static(b"a"));
        owed.settle(a, Bytes::from_static(b"again"));
        owed.settle(Ticket(99), Bytes::from_static(b"never"));
        assert_eq!(released(&mut owed), ["a"]);
        owed.settle(a, Bytes::from_static(b"late"));
        assert!(released(&mut owed).is_empty());
        assert_eq!(owed.unsettled(), 0);
    }
}
