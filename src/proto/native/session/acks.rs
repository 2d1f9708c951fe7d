//! How a native client hears what became of its messages: `OK MSG #room`,
//! rendered once per room and shared by the room's native members, or the
//! `ERR MSG` of a refusal.

use std::collections::HashMap;
use std::sync::{Mutex, Weak};

use super::*;
use crate::core::outcome::SpellSaid;

/// The native answers to messages said in one room.
pub(super) struct RoomReplies {
    room: RoomName,
    /// `OK MSG <room>`, shared by every stored message's answer.
    pub(super) ok: Bytes,
}

impl SpellSaid for RoomReplies {
    fn spell(&self, said: Said) -> Bytes {
        let (code, text) = match said {
            Said::Stored { .. } => return self.ok.clone(),
            Said::Refused(ErrorCode::ClusterUnavailable) => (
                ErrorCode::ClusterUnavailable,
                format!("the cluster cannot be reached: not sent to {}", self.room),
            ),
            Said::Refused(code) => (code, format!("you are not in {}", self.room)),
            Said::NotStored(_) => (
                ErrorCode::Internal,
                "the message could not be stored".into(),
            ),
        };
        Reply::Err(ProtocolError::new(Verb::Msg, code, text)).to_line()
    }
}

/// Every room's answers to a MSG while a native member holds it: weak, so
/// that a room nobody is in costs one entry until the next sweep.
#[derive(Default)]
pub struct RepliesByRoom(Mutex<HashMap<Folded, Weak<RoomReplies>>>);

impl RepliesByRoom {
    /// The answers of `room`, made on its first native member's JOIN.
    pub(super) fn of(&self, room: &RoomName) -> Arc<RoomReplies> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(replies) = map.get(room.folded()).and_then(Weak::upgrade) {
            return replies;
        }
        // Forget rooms nobody holds any more, now and then: the map stays
        // within twice the rooms in use.
        if map.len() >= 64 && map.len().is_power_of_two() {
            map.retain(|_, replies| replies.strong_count() > 0);
        }
        let replies = Arc::new(RoomReplies {
            ok: Reply::Ok(OkReply::Msg(room.clone())).to_line(),
            room: room.clone(),
        });
        map.insert(room.folded().clone(), Arc::downgrade(&replies));
        replies
    }
}
