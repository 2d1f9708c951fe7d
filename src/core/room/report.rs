//! What a room tells whoever keeps the directory of rooms: through
//! [`Recipient`]s, so that a room knows nothing of the directory's type.

use actix::prelude::*;

use super::Room;
use crate::core::names::{Folded, RoomName};

/// What LIST shows of a room; rooms keep the registry's copy current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSummary {
    /// The room's name as first spelled.
    pub name: RoomName,
    /// How many members it has.
    pub members: usize,
    /// Whether it needs a key.
    pub private: bool,
    /// Whether it is hidden from those outside it (LIST shows it to its
    /// members only).
    pub secret: bool,
    /// Its topic.
    pub topic: Option<String>,
    /// Whether LIST, NAMES and INFO show it: it has members, or it is a
    /// stored room that outlives them.
    pub listed: bool,
}

/// A room's members, privacy or topic changed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RoomChanged {
    /// The room's new summary.
    pub summary: RoomSummary,
}

/// A room emptied and stopped.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RoomClosed {
    /// The room's name.
    pub name: Folded,
    /// The stopped room, so a newer room of that name is left alone.
    pub addr: Addr<Room>,
}

/// Where a room reports its changes and its end.
#[derive(Clone)]
pub struct Reports {
    /// Told of every change to the room's summary.
    pub changed: Recipient<RoomChanged>,
    /// Told once the room has emptied and stopped.
    pub closed: Recipient<RoomClosed>,
}
