//! The handle a room holds for each member's connection, and delivery to
//! several rooms' members at once.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::send_queue::SendQueue;

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
