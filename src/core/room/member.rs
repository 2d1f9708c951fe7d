//! One member as its room keeps it, and the events held back for a member
//! whose JOIN is still replaying history.

use ecow::EcoString;

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
/// (one per encoding) it reads. 64 bytes: with its 16-byte key, eleven
/// fit a B-tree node of 896 bytes (a room of ten costs one node), where
/// 72 took a node of 1,024.
pub(super) struct Member {
    pub(super) id: SessionId,
    /// The nickname as spelled; the map's key is its folded half (kept
    /// once: a member's entry is most of what a room costs per client).
    pub(super) display: EcoString,
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
    /// Its events are held back while its JOIN replays history (they lie
    /// in the room's [`HeldBack`] table): a flag in the padding too.
    pub(super) holding: bool,
}

impl Member {
    /// A member for `handle`, reading log number `log`.
    pub(super) fn new(handle: MemberHandle, nick: &Nick, userhost: UserHost, log: u8) -> Self {
        Member {
            userhost,
            id: handle.inbox.id,
            display: nick.display().clone(),
            queue: handle.inbox.queue,
            removed: handle.removed,
            log,
            op: false,
            holding: false,
        }
    }

    /// Its nickname, put together with the folded key it is listed under.
    pub(super) fn nick(&self, key: &Folded) -> Nick {
        Nick::from_parts(self.display.clone(), key.clone())
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

/// Events held back for members whose JOIN is still replaying history,
/// so that they follow the older HISTORY lines instead of cutting into
/// them: where they lie in each member's log. A table of the room's, not
/// a field of every member: only joiners have any, for a moment.
#[derive(Default)]
pub(super) struct HeldBack(Vec<(SessionId, Vec<Span>)>);

impl HeldBack {
    /// Holds `member`'s events from now on, until [`HeldBack::release`].
    pub(super) fn hold(&mut self, member: &mut Member) {
        if !member.holding {
            member.holding = true;
            self.0.push((member.id, Vec::new()));
        }
    }

    /// Queues `span` of `log` (the member's own, not empty), or holds it
    /// back; its writer is woken with the others once the thread has run
    /// what was ready.
    #[inline]
    pub(super) fn deliver(&mut self, member: &mut Member, log: &BroadcastLog, span: Span) {
        if member.holding {
            self.deliver_held(member, log, span);
        } else {
            // A full queue disconnects its own client; others go on.
            let _ = member.queue.push_log_deferred(log, span);
        }
    }

    /// Out of line: the loop over the members stays small.
    #[cold]
    #[inline(never)]
    fn deliver_held(&mut self, member: &mut Member, log: &BroadcastLog, span: Span) {
        if let Some((_, held)) = self.0.iter_mut().find(|(id, _)| *id == member.id) {
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
        }
        // Past the bound: stop holding, keeping the order.
        self.release(member, log);
        let _ = member.queue.push_log_deferred(log, span);
    }

    /// Queues the events held for `member` and ends its hold.
    pub(super) fn release(&mut self, member: &mut Member, log: &BroadcastLog) {
        if let Some(spans) = self.forget(member) {
            for span in spans {
                let _ = member.queue.push_log(log, span);
            }
            log.unhold();
        }
    }

    /// Ends `member`'s hold without delivering what was held (it left);
    /// returns the held spans if it was holding.
    pub(super) fn forget(&mut self, member: &mut Member) -> Option<Vec<Span>> {
        if !std::mem::take(&mut member.holding) {
            return None;
        }
        let i = self.0.iter().position(|(id, _)| *id == member.id)?;
        let (_, spans) = self.0.swap_remove(i);
        if self.0.is_empty() {
            // Joins come in bursts: keep no slots between them.
            self.0 = Vec::new();
        }
        Some(spans)
    }
}
