//! Answers the core gives a front end later, after a room or the database
//! has done its part: typed, so that each front end spells them its way.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use super::error::ErrorCode;
use crate::transport::send_queue::{SendQueue, Ticket};

/// What became of a message said in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    /// Delivered and durably stored.
    Stored {
        /// Its number in the room.
        seq: u64,
        /// When it was said.
        time: SystemTime,
    },
    /// Refused by the room (the sender was no longer a member).
    Refused(ErrorCode),
    /// Delivered, but the database could not store it.
    NotStored(StoreFailure),
}

/// Why a message could not be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFailure {
    /// The database thread is gone.
    Unavailable,
    /// Writing the message failed (a full disk, say).
    WriteFailed,
    /// The transaction holding it could not be committed.
    CommitFailed,
}

/// How a front end spells what became of a message said in one room:
/// one value per room and front end, shared by its members there, so that
/// the common answer (`OK MSG #room` natively) is rendered once per room.
pub trait SpellSaid: Send + Sync + 'static {
    /// The final reply for `said`.
    fn spell(&self, said: Said) -> Bytes;
}

/// Where to answer once a message's fate is known: the sender's queue, the
/// place of the reply in it, and how the sender's protocol spells it.
#[derive(Clone)]
pub struct Ack {
    /// The sender's queue.
    pub queue: SendQueue,
    /// The reply's place.
    pub ticket: Ticket,
    /// The sender's protocol, for the room the message was said in.
    pub spell: Arc<dyn SpellSaid>,
}

impl Ack {
    /// Settles this one answer.
    pub fn settle(self, said: Said) {
        self.queue.settle([(self.ticket, self.spell.spell(said))]);
    }

    /// Identifies the sender, to group one commit's answers by sender.
    pub fn key(&self) -> usize {
        self.queue.key()
    }
}

impl std::fmt::Debug for Ack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ack").field("ticket", &self.ticket).finish()
    }
}
