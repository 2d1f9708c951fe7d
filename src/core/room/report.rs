//! What a room tells whoever keeps the directory of rooms: through
//! [`Recipient`]s, so that a room knows nothing of the directory's type.

use std::sync::Arc;

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
    /// Whether it may be forgotten once empty for `history.empty_room_secs`
    /// ([`Room::is_disposable`]).
    pub disposable: bool,
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

/// Where a room reports its changes and its end: one pair of recipients
/// shared by every room (each `Recipient` is an allocated sender, and a
/// room costs its members' share of every byte it keeps).
#[derive(Clone)]
pub struct Reports(Arc<ReportsTo>);

/// The recipients behind [`Reports`].
pub struct ReportsTo {
    /// Told of every change to the room's summary.
    pub changed: Recipient<RoomChanged>,
    /// Told once the room has emptied and stopped.
    pub closed: Recipient<RoomClosed>,
}

impl Reports {
    /// Reports to `changed` and `closed`.
    pub fn new(changed: Recipient<RoomChanged>, closed: Recipient<RoomClosed>) -> Self {
        Reports(Arc::new(ReportsTo { changed, closed }))
    }
}

impl std::ops::Deref for Reports {
    type Target = ReportsTo;

    fn deref(&self) -> &ReportsTo {
        &self.0
    }
}
