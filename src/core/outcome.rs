//! Answers the core gives a front end later, after a room or the database
//! has done its part: typed, so that each front end spells them its way.

use std::sync::Arc;
use std::time::SystemTime;

use super::error::ErrorCode;
use crate::transport::send_queue::Ticket;

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

/// Spells [`Said`] answers for one sender in one room, in its protocol,
/// and settles the replies promised for them.
pub trait SayAcks: Send + Sync + 'static {
    /// Settles each ticket with its answer: one call for everything one
    /// commit answers this sender.
    fn settle(&self, answers: &mut dyn Iterator<Item = (Ticket, Said)>);
}

/// Whom to answer once a message's fate is known, and in which place of
/// the sender's replies.
#[derive(Clone)]
pub struct Ack {
    /// The sender's answerer for that room.
    pub to: Arc<dyn SayAcks>,
    /// The reply's place.
    pub ticket: Ticket,
}

impl Ack {
    /// Settles this one answer.
    pub fn settle(self, said: Said) {
        self.to.settle(&mut std::iter::once((self.ticket, said)));
    }

    /// Identifies the answerer, to group one commit's answers by sender.
    pub fn key(&self) -> usize {
        Arc::as_ptr(&self.to) as *const () as usize
    }
}

impl std::fmt::Debug for Ack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ack").field("ticket", &self.ticket).finish()
    }
}
