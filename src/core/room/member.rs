//! One member as its room keeps it, and the events held back for a member
//! whose JOIN is still replaying history.

use std::sync::Arc;

use actix::WeakRecipient;

use crate::core::event::UserHost;
use crate::core::member::{Inbox, MemberHandle, Removed, SessionId};
use crate::core::names::{Folded, Nick};
use crate::transport::broadcast_log::{BroadcastLog, Span};
use crate::transport::send_queue::SendQueue;

/// Separate spans held for one joining member at most (they are separate
/// only around its own messages); past that they are released and events
/// flow again, in order (a replay that slow has lost its race anyway).
const MAX_HELD: usize = 256;

/// A member: its connection and nickname, and which of the room's logs
/// (one per encoding) it reads.
pub(super) struct Member {
    pub(super) id: SessionId,
    /// The nickname as spelled; the map's key is its folded half (kept
    /// once: a member's entry is most of what a room costs per client).
    pub(super) display: Arc<str>,
    pub(super) queue: SendQueue,
    /// Its user and host, for listings (IRC's `userhost-in-names`).
    pub(super) userhost: UserHost,
    /// Where to say it was removed.
    pub(super) removed: WeakRecipient<Removed>,
    /// Its encoding's log in [`super::Room::logs`].
    pub(super) log: u8,
    /// An operator of the room (IRC's `@`): the owner whenever it joins,
    /// and a member an operator made one, for as long as it stays. A flag
    /// here, in the entry's padding, not a set of its own.
    pub(super) op: bool,
    /// Events held back while the member's JOIN replays history, so that
    /// they follow the older HISTORY lines instead of cutting into them:
    /// where they lie in the member's log. Boxed: only joiners have one.
    #[allow(clippy::box_collection)] // 8 bytes per member, not 24
    pub(super) held: Option<Box<Vec<Span>>>,
}

impl Member {
    /// A member for `handle`, reading log number `log`.
    pub(super) fn new(
        handle: MemberHandle,
        nick: &Nick,
        userhost: UserHost,
        log: u8,
        holding: bool,
    ) -> Self {
        Member {
            userhost,
            id: handle.inbox.id,
            display: Arc::clone(nick.display()),
            queue: handle.inbox.queue,
            removed: handle.removed,
            log,
            op: false,
            held: holding.then(Box::default),
        }
    }

    /// Its nickname, put together with the folded key it is listed under.
    pub(super) fn nick(&self, key: &Folded) -> Nick {
        Nick::from_parts(Arc::clone(&self.display), key.clone())
    }

    /// Queues `span` of `log` (the member's own, not empty), or holds it
    /// back; its writer is woken with the others once the thread has run
    /// what was ready.
    pub(super) fn deliver(&mut self, log: &BroadcastLog, span: Span) {
        if let Some(held) = &mut self.held {
            let count = held.len();
            match held.last_mut() {
                Some(last) if last.end == span.start => {
                    last.end = span.end;
                    return;
                }
                _ if count < MAX_HELD => {
                    held.push(span);
                    return;
                }
                _ => {}
            }
            // Past the bound: stop holding, keeping the order.
            self.release(log);
        }
        // A full queue disconnects its own client; others go on.
        let _ = self.queue.push_log_deferred(log, span);
    }

    /// Queues the events held for the member and ends its hold.
    pub(super) fn release(&mut self, log: &BroadcastLog) {
        if let Some(held) = self.held.take() {
            for span in *held {
                let _ = self.queue.push_log(log, span);
            }
            log.unhold();
        }
    }

    /// Where to deliver what concerns this member outside the room.
    pub(super) fn inbox(&self, encoding: crate::core::member::EncodingRef) -> Inbox {
        Inbox {
            id: self.id,
            encoding,
            queue: self.queue.clone(),
        }
    }
}
