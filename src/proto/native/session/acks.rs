//! How a native client hears what became of its messages: `OK MSG`,
//! rendered once per room it joins, or the `ERR MSG` of a refusal.

use super::*;

/// Spells the answers to one session's messages in one room: `OK MSG`
/// rendered once at JOIN, or the `ERR MSG` of a refusal.
pub(super) struct MsgAcks {
    pub(super) queue: SendQueue,
    pub(super) room: RoomName,
    pub(super) ok: Bytes,
}

impl MsgAcks {
    pub(super) fn new(queue: SendQueue, room: RoomName) -> Self {
        MsgAcks {
            ok: Reply::Ok(OkReply::Msg(room.clone())).to_line(),
            queue,
            room,
        }
    }

    pub(super) fn line(&self, said: Said) -> Bytes {
        let (code, text) = match said {
            Said::Stored { .. } => return self.ok.clone(),
            Said::Refused(code) => (code, format!("you are not in {}", self.room)),
            Said::NotStored(_) => (
                ErrorCode::Internal,
                "the message could not be stored".into(),
            ),
        };
        Reply::Err(ProtocolError::new(Verb::Msg, code, text)).to_line()
    }
}

impl SayAcks for MsgAcks {
    fn settle(&self, answers: &mut dyn Iterator<Item = (Ticket, Said)>) {
        self.queue
            .settle(answers.map(|(ticket, said)| (ticket, self.line(said))));
    }
}
