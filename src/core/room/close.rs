//! A server operator closes a room: every member is told and removed, the
//! room's record and its messages leave the database, and the room stops
//! (the next JOIN of that name makes a new, empty room).

use actix::prelude::*;

use super::{Room, RoomClosed};
use crate::core::event::{Event, UserHost};
use crate::core::member::Removed;
use crate::core::names::Nick;

/// Closes the room: see the module's notes. Answers how many members were
/// removed.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct Close {
    /// The operator's nickname.
    pub by: Nick,
    /// Its user and host.
    pub userhost: UserHost,
    /// Why, as members are told.
    pub reason: Option<String>,
}

impl Handler<Close> for Room {
    type Result = usize;

    fn handle(&mut self, msg: Close, ctx: &mut Self::Context) -> usize {
        let members = std::mem::take(&mut self.members);
        let removed = members.len();
        for (key, member) in members {
            let Some(log) = self.logs.get(usize::from(member.log)) else {
                continue;
            };
            // One line per member: IRC's names the member it removes.
            member.inbox(log.encoding).send(&Event::Closed {
                room: self.name.clone(),
                member: member.nick(&key),
                by: msg.by.clone(),
                userhost: msg.userhost.clone(),
                reason: msg.reason.clone(),
            });
            if let Some(session) = member.removed.upgrade() {
                session.do_send(Removed {
                    room: self.name.folded().clone(),
                });
            }
        }
        if let Some(db) = self.db.take() {
            db.delete_room(&self.name);
        }
        self.reports.closed.do_send(RoomClosed {
            name: self.name.folded().clone(),
            addr: ctx.address(),
        });
        ctx.stop();
        removed
    }
}
