//! What a room's operators do to it and its members: set its topic and
//! kick. On a cluster node both are decided by Redis and applied when
//! the room's channel hands them back (`shared.rs`), a KICK reaching the
//! member on whatever node it is.

use std::time::SystemTime;

use actix::prelude::*;

use super::shared::settled;
use super::{MemberKey, Room};
use crate::core::cluster::wire::Setting;
use crate::core::cluster::Applied;
use crate::core::error::ErrorCode;
use crate::core::event::{Event, UserHost};
use crate::core::member::{Removed, TopicInfo};
use crate::core::names::{Folded, Nick, RoomName};

/// Sets the topic (operators only, unless the topic is unlocked) and
/// announces it to every member.
#[derive(Message)]
#[rtype(result = "Result<RoomName, ErrorCode>")]
pub struct SetTopic {
    /// The setting member.
    pub who: MemberKey,
    /// Its user and host, for the `TOPIC` event.
    pub userhost: UserHost,
    /// The new topic.
    pub text: String,
}

impl Handler<SetTopic> for Room {
    /// At once on a standalone server; once Redis decided on a cluster
    /// node (`shared.rs`).
    type Result = ResponseFuture<Result<RoomName, ErrorCode>>;

    fn handle(&mut self, msg: SetTopic, ctx: &mut Self::Context) -> Self::Result {
        let ready = |res| -> Self::Result { Box::pin(std::future::ready(res)) };
        let Some(nick) = self.nick_of(&msg.who) else {
            return ready(Err(ErrorCode::NotInRoom));
        };
        if self.admission.topic_locked && !self.is_op(&nick) {
            return ready(Err(ErrorCode::NotOwner));
        }
        let what = Setting::Topic(msg.text.clone());
        if let Some(decided) = self.propose(&nick, &msg.userhost, what) {
            return Box::pin(settled(decided, self.name.clone()));
        }
        ready(self.set_topic(nick, msg, ctx))
    }
}

impl Room {
    fn set_topic(
        &mut self,
        nick: Nick,
        msg: SetTopic,
        ctx: &mut Context<Self>,
    ) -> Result<RoomName, ErrorCode> {
        let event = Event::Topic {
            room: self.name.clone(),
            nick: nick.clone(),
            userhost: msg.userhost,
            text: msg.text.clone(),
        };
        self.topic = Some(Box::new(TopicInfo {
            text: msg.text,
            set: Some((nick, SystemTime::now())),
        }));
        self.save();
        self.broadcast(&event, None);
        self.changed(ctx);
        Ok(self.name.clone())
    }
}

/// Removes a member (operators only), announcing `KICK` to every member
/// first.
#[derive(Message)]
#[rtype(result = "Result<(RoomName, Nick), ErrorCode>")]
pub struct Kick {
    /// The kicking member.
    pub who: MemberKey,
    /// Its user and host, for the `KICK` event.
    pub userhost: UserHost,
    /// Who to remove.
    pub target: Folded,
    /// Why.
    pub reason: Option<String>,
}

impl Handler<Kick> for Room {
    /// At once on a standalone server; once Redis decided on a cluster
    /// node (`shared.rs`), where the member kicked may be on any node.
    type Result = ResponseFuture<Result<(RoomName, Nick), ErrorCode>>;

    fn handle(&mut self, msg: Kick, ctx: &mut Self::Context) -> Self::Result {
        let ready = |res| -> Self::Result { Box::pin(std::future::ready(res)) };
        let Some(by) = self.nick_of(&msg.who) else {
            return ready(Err(ErrorCode::NotInRoom));
        };
        if !self.is_op(&by) {
            return ready(Err(ErrorCode::NotOwner));
        }
        if self.shared() {
            let Some(target) = self.anywhere(&msg.target) else {
                return ready(Err(ErrorCode::NoSuchNick));
            };
            let what = Setting::Kick {
                target: target.clone(),
                reason: msg.reason,
            };
            let Some(decided) = self.propose(&by, &msg.userhost, what) else {
                return ready(Err(ErrorCode::Internal));
            };
            let name = self.name.clone();
            return Box::pin(async move {
                match decided.await? {
                    Applied::Changed => Ok((name, target)),
                    // Gone already, from every node.
                    _ => Err(ErrorCode::NoSuchNick),
                }
            });
        }
        ready(self.kick(by, msg, ctx))
    }
}

impl Room {
    fn kick(
        &mut self,
        by: Nick,
        msg: Kick,
        ctx: &mut Context<Self>,
    ) -> Result<(RoomName, Nick), ErrorCode> {
        let (target, nick) = self
            .members
            .get_key_value(&msg.target)
            .map(|(key, m)| (m.id, m.nick(key)))
            .ok_or(ErrorCode::NoSuchNick)?;
        let event = Event::Kick {
            room: self.name.clone(),
            nick: nick.clone(),
            by,
            userhost: msg.userhost,
            reason: msg.reason,
        };
        self.broadcast(&event, None);
        let kicked = MemberKey {
            id: target,
            nick: msg.target,
        };
        let removed = self.remove(&kicked);
        if let Some(session) = removed.and_then(|(_, m)| m.removed.upgrade()) {
            session.do_send(Removed {
                room: self.name.folded().clone(),
            });
        }
        self.changed(ctx);
        Ok((self.name.clone(), nick))
    }
}
