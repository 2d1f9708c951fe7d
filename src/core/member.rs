//! The handle a room holds for each member's connection: who it is, how
//! its protocol spells events, where its lines go, and how to tell it that
//! it was removed. Also delivery to several rooms' members at once.

use std::sync::atomic::{AtomicU64, Ordering};

use actix::prelude::*;
use actix::WeakRecipient;
use bytes::{Bytes, BytesMut};

use super::event::{Event, UserHost};
use super::names::{Folded, Nick, RoomName};
use super::scratch::rendered;
use crate::transport::send_queue::SendQueue;

/// Identifies one connection for the lifetime of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(u64);

impl SessionId {
    /// A fresh id.
    pub fn next() -> SessionId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        SessionId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// Its number, for another node to hand back (`SessionId::from_number`).
    pub fn number(self) -> u64 {
        self.0
    }

    /// The id numbered `n` by [`SessionId::number`] on this node.
    pub(crate) fn from_number(n: u64) -> SessionId {
        SessionId(n)
    }
}

/// How one protocol spells what rooms push to their members: a room
/// renders each event once per encoding among its members and hands every
/// member of that encoding the same bytes.
///
/// An encoding is a `'static` value (a front end keeps one per variant it
/// speaks, e.g. per set of negotiated capabilities), so a member handle
/// carries a reference, not an allocation.
pub trait Encoding: Send + Sync + 'static {
    /// Tells encodings apart: equal keys render identically.
    fn key(&self) -> &'static str;
    /// Appends the wire form of `event` to `buf`.
    fn event(&self, event: &Event, buf: &mut BytesMut);
    /// Whether it shows when a message was received (IRC's `server-time`):
    /// a room reads the clock for a message only where it is shown or
    /// stored.
    fn shows_time(&self) -> bool;
    /// Appends the listing of a room's members sent to a new member.
    fn names(&self, listing: Listing<'_>, buf: &mut BytesMut);
}

/// One member as a listing shows it.
#[derive(Debug, Clone, Copy)]
pub struct Listed<'a> {
    /// The nickname as spelled.
    pub nick: &'a str,
    /// Whether it is an operator of the room (its owner, unless it gave
    /// that up, or a member an operator made one).
    pub op: bool,
    /// Its user and host (IRC's `userhost-in-names`).
    pub userhost: &'a UserHost,
}

/// The topic of a room, and who set it when, where known (a topic kept
/// in the database across a restart has lost both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// The topic.
    pub text: String,
    /// Who set it and when.
    pub set: Option<(Nick, std::time::SystemTime)>,
}

/// What a new member is told of a room after its JOIN: its members, and
/// for protocols that show them there (IRC) its topic and privacy.
pub struct Listing<'a> {
    /// The room.
    pub room: &'a RoomName,
    /// The member the listing is for.
    pub to: &'a Nick,
    /// Whether the room needs a key.
    pub private: bool,
    /// Whether the room is hidden from those outside it.
    pub secret: bool,
    /// The topic, if one is set.
    pub topic: Option<&'a TopicInfo>,
    /// The members, sorted by folded nickname.
    pub members: &'a mut dyn Iterator<Item = Listed<'a>>,
}

/// A thin reference to an encoding: 8 bytes where `&dyn Encoding` takes
/// 16, which every handle and directory entry of a connection keeps.
#[derive(Clone, Copy)]
pub struct EncodingRef(&'static &'static dyn Encoding);

impl EncodingRef {
    /// Refers to `encoding` (a static holding the `&dyn`).
    pub const fn new(encoding: &'static &'static dyn Encoding) -> Self {
        EncodingRef(encoding)
    }
}

impl std::ops::Deref for EncodingRef {
    type Target = dyn Encoding;

    fn deref(&self) -> &(dyn Encoding + 'static) {
        *self.0
    }
}

/// Whether two encodings render alike.
pub fn same_encoding(a: &dyn Encoding, b: &dyn Encoding) -> bool {
    a.key() == b.key()
}

/// Renders `event` in `encoding`, once, to be shared by every recipient.
pub fn render(encoding: &dyn Encoding, event: &Event) -> Bytes {
    rendered(|buf| encoding.event(event, buf))
}

/// Tells a member's session it is no longer in a room (it was kicked).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Removed {
    /// The room, folded.
    pub room: Folded,
}

/// Where to deliver events for one connection: its id (to tell recipients
/// apart when several rooms are merged), its encoding and its queue. The
/// directory keeps one per nickname, for private messages.
#[derive(Clone)]
pub struct Inbox {
    /// The connection.
    pub id: SessionId,
    /// How its protocol spells events.
    pub encoding: EncodingRef,
    /// Its outgoing queue.
    pub queue: SendQueue,
}

/// One connection as a room holds it: where its events go, and its
/// session, told when a room removes it. Weak: a room must not keep a gone
/// connection's actor alive.
#[derive(Clone)]
pub struct MemberHandle {
    /// Where its events go.
    pub inbox: Inbox,
    /// Its session, told when a room removes it.
    pub removed: WeakRecipient<Removed>,
}

impl std::fmt::Debug for MemberHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberHandle")
            .field("id", &self.inbox.id)
            .field("encoding", &self.inbox.encoding.key())
            .finish_non_exhaustive()
    }
}

impl Inbox {
    /// Queues `event`, rendered in the connection's encoding.
    pub fn send(&self, event: &Event) {
        let line = render(&*self.encoding, event);
        if !line.is_empty() {
            // A full or closing queue is its own connection's problem.
            let _ = self.queue.push(line);
        }
    }
}

/// Pushes `event` once to each distinct connection in `groups` (the member
/// lists of several rooms, which overlap), rendered once per encoding.
pub fn deliver_once(groups: Vec<Vec<Inbox>>, event: &Event) {
    let mut rendered: Vec<(EncodingRef, Bytes)> = Vec::new();
    let mut line = |encoding: EncodingRef| -> Bytes {
        if let Some((_, line)) = rendered
            .iter()
            .find(|(e, _)| same_encoding(&**e, &*encoding))
        {
            return line.clone();
        }
        let line = render(&*encoding, event);
        rendered.push((encoding, line.clone()));
        line
    };
    // A full or closing queue is its own connection's problem; an
    // encoding that shows nothing of the event gets nothing.
    let push = |r: &Inbox, line: Bytes| {
        if !line.is_empty() {
            let _ = r.queue.push(line);
        }
    };
    if let [only] = groups.as_slice() {
        // One room's members are distinct already: no set to build, which
        // matters when thousands leave a big room.
        for r in only {
            push(r, line(r.encoding));
        }
        return;
    }
    let mut seen = std::collections::HashSet::new();
    for r in groups.into_iter().flatten() {
        if seen.insert(r.id) {
            push(&r, line(r.encoding));
        }
    }
}
