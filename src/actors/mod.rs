//! The actors and the messages between them.
//!
//! - [`Session`]: one per connection. Reads [`Frame`]s,
//!   parses them into commands, answers the client through its
//!   [`SendQueue`], and talks to rooms and the registry.
//! - [`Room`]: one per room. Owns the member list, the owner,
//!   key and topic, and fans each message out: it renders the line once
//!   into its [`BroadcastLog`] and gives every member's [`SendQueue`] the
//!   span it occupies.
//! - [`NickRegistry`]: one per server. Keeps
//!   nicknames unique and knows every room's address and summary.
//!
//! The flow of one `MSG #room hi`: the session's reader yields the line,
//! the parser makes it a [`Command::Msg`](crate::parser::Command::Msg), the
//! session checks its own membership list and sends [`room::Say`] to the
//! room, which renders `MSG #room alice hi` once into its log and queues
//! that span for every other member; each member's writer hands
//! everything queued to one vectored write, straight from the log. Without history the session
//! queues `OK MSG #room` at once; with it (the default) the room hands the
//! message to the [`Database`] thread, which stores it with the rest of its
//! 2 ms group commit and sends `OK MSG` back through the [`Relay`] task on
//! this thread.
//!
//! [`Database`]: crate::storage::Database
//! [`Relay`]: crate::storage::Relay
//! [`Frame`]: crate::codec::Frame
//! [`SendQueue`]: crate::send_queue::SendQueue
//! [`BroadcastLog`]: crate::broadcast_log::BroadcastLog

pub mod files;
pub mod registry;
pub mod room;
pub mod session;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::send_queue::SendQueue;

pub use registry::NickRegistry;
pub use room::Room;
pub use session::Session;

/// Identifies one connection for the lifetime of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(u64);

impl SessionId {
    /// A fresh id.
    pub fn next() -> SessionId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        SessionId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// Where to deliver lines for one connection: its id (to tell recipients
/// apart when several rooms are merged) and its queue.
#[derive(Debug, Clone)]
pub struct MemberQueue {
    /// The connection.
    pub id: SessionId,
    /// Its outgoing queue.
    pub queue: SendQueue,
}

/// Pushes `line` once to each distinct connection in `groups` (the member
/// lists of several rooms, which overlap).
pub fn deliver_once(groups: Vec<Vec<MemberQueue>>, line: &bytes::Bytes) {
    // A full or closing queue is its own connection's problem.
    if let [only] = groups.as_slice() {
        // One room's members are distinct already: no set to build, which
        // matters when thousands leave a big room.
        for r in only {
            let _ = r.queue.push(line.clone());
        }
        return;
    }
    let mut seen = std::collections::HashSet::new();
    for r in groups.into_iter().flatten() {
        if seen.insert(r.id) {
            let _ = r.queue.push(line.clone());
        }
    }
}
