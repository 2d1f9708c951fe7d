//! A room: its members, owner, key and topic, and the fan-out of messages.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use actix::prelude::*;
use bytes::{Bytes, BytesMut};

use super::registry::{NickRegistry, RoomChanged, RoomClosed, RoomSummary};
use super::{MemberQueue, SessionId};
use crate::config::Config;
use crate::names::{Folded, Nick, RoomName};
use crate::protocol::ErrorCode;
use crate::reply::{Event, OkReply, Reply};
use crate::send_queue::SendQueue;

/// NAMES lines are split after this many bytes of nicknames.
const NAMES_LINE_BYTES: usize = 400;

/// Tells a session it is no longer in a room (it was kicked).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Removed {
    /// The room, folded.
    pub room: Folded,
}

struct Member {
    nick: Nick,
    queue: SendQueue,
    session: Recipient<Removed>,
}

/// One chat room.
pub struct Room {
    name: RoomName,
    registry: Addr<NickRegistry>,
    max_members: usize,
    members: HashMap<SessionId, Member>,
    /// Members by folded nickname, for sorted NAMES and KICK by name.
    by_nick: BTreeMap<Folded, SessionId>,
    owner: Option<Nick>,
    key: Option<String>,
    topic: Option<String>,
    created: SystemTime,
    messages: u64,
}

impl Room {
    /// A new, empty room; its first joiner becomes the owner.
    pub fn new(name: RoomName, registry: Addr<NickRegistry>, config: &Config) -> Self {
        Room {
            name,
            registry,
            max_members: config.limits.max_room_members,
            members: HashMap::new(),
            by_nick: BTreeMap::new(),
            owner: None,
            key: None,
            topic: None,
            created: SystemTime::now(),
            messages: 0,
        }
    }

    fn broadcast(&self, line: &Bytes, except: Option<SessionId>) {
        for (id, m) in &self.members {
            if Some(*id) != except {
                // A full queue disconnects its own client; others go on.
                let _ = m.queue.push(line.clone());
            }
        }
    }

    fn member_queues(&self) -> Vec<MemberQueue> {
        self.members
            .iter()
            .map(|(id, m)| MemberQueue {
                id: *id,
                queue: m.queue.clone(),
            })
            .collect()
    }

    fn is_owner(&self, nick: &Nick) -> bool {
        self.owner
            .as_ref()
            .is_some_and(|o| o.folded() == nick.folded())
    }

    fn names(&self) -> Vec<Nick> {
        self.by_nick
            .values()
            .filter_map(|id| self.members.get(id))
            .map(|m| m.nick.clone())
            .collect()
    }

    /// Renders the NAMES listing and its OK, as one buffer.
    fn names_reply(&self, then: Option<OkReply>) -> Bytes {
        let mut buf = BytesMut::new();
        let mut line: Vec<Nick> = Vec::new();
        let mut width = 0;
        for nick in self.names() {
            width += nick.as_str().len() + 1;
            line.push(nick);
            if width >= NAMES_LINE_BYTES {
                Reply::Names {
                    room: self.name.clone(),
                    nicks: std::mem::take(&mut line),
                }
                .encode(&mut buf);
                width = 0;
            }
        }
        if !line.is_empty() || self.members.is_empty() {
            Reply::Names {
                room: self.name.clone(),
                nicks: line,
            }
            .encode(&mut buf);
        }
        let ok = then.unwrap_or_else(|| OkReply::Names(self.name.clone(), self.members.len()));
        Reply::Ok(ok).encode(&mut buf);
        buf.freeze()
    }

    fn remove(&mut self, id: SessionId) -> Option<Member> {
        let member = self.members.remove(&id)?;
        self.by_nick.remove(member.nick.folded());
        Some(member)
    }

    fn summary(&self) -> RoomSummary {
        RoomSummary {
            name: self.name.clone(),
            members: self.members.len(),
            private: self.key.is_some(),
            topic: self.topic.clone(),
        }
    }

    /// Tells the registry what changed, or closes the room once empty.
    fn changed(&mut self, ctx: &mut Context<Self>) {
        if self.members.is_empty() {
            self.registry.do_send(RoomClosed {
                name: self.name.folded().clone(),
                addr: ctx.address(),
            });
            ctx.stop();
        } else {
            self.registry.do_send(RoomChanged {
                summary: self.summary(),
            });
        }
    }
}

impl Actor for Room {
    type Context = Context<Self>;
}

/// Adds a member. On success the room has already queued, to the joiner,
/// `JOIN` (also sent to everyone else), the `NAMES` lines and `OK JOIN`.
#[derive(Message)]
#[rtype(result = "Result<RoomName, ErrorCode>")]
pub struct Join {
    /// The joining session.
    pub id: SessionId,
    /// Its nickname.
    pub nick: Nick,
    /// The key it gave.
    pub key: Option<String>,
    /// Its outgoing queue.
    pub queue: SendQueue,
    /// Where to say it was kicked.
    pub session: Recipient<Removed>,
}

impl Handler<Join> for Room {
    type Result = Result<RoomName, ErrorCode>;

    fn handle(&mut self, msg: Join, ctx: &mut Self::Context) -> Self::Result {
        if self.members.contains_key(&msg.id) {
            let _ = msg
                .queue
                .push(self.names_reply(Some(OkReply::Join(self.name.clone()))));
            return Ok(self.name.clone());
        }
        if self.members.is_empty() && self.owner.is_none() {
            // The creator: owner, and its key makes the room private.
            self.owner = Some(msg.nick.clone());
            self.key = msg.key.clone();
        } else if let Some(key) = &self.key {
            if msg.key.as_deref() != Some(key.as_str()) {
                return Err(ErrorCode::BadKey);
            }
        }
        if self.members.len() >= self.max_members {
            return Err(ErrorCode::RoomFull);
        }
        let join = Event::Join {
            room: self.name.clone(),
            nick: msg.nick.clone(),
        }
        .to_line();
        self.broadcast(&join, None);
        self.by_nick.insert(msg.nick.folded().clone(), msg.id);
        self.members.insert(
            msg.id,
            Member {
                nick: msg.nick,
                queue: msg.queue.clone(),
                session: msg.session,
            },
        );
        let _ = msg.queue.push(join);
        let _ = msg
            .queue
            .push(self.names_reply(Some(OkReply::Join(self.name.clone()))));
        self.changed(ctx);
        Ok(self.name.clone())
    }
}

/// Removes a member, announcing `PART` to the others.
#[derive(Message)]
#[rtype(result = "Result<RoomName, ErrorCode>")]
pub struct Part {
    /// The leaving session.
    pub id: SessionId,
    /// Why.
    pub reason: Option<String>,
}

impl Handler<Part> for Room {
    type Result = Result<RoomName, ErrorCode>;

    fn handle(&mut self, msg: Part, ctx: &mut Self::Context) -> Self::Result {
        let member = self.remove(msg.id).ok_or(ErrorCode::NotInRoom)?;
        let part = Event::Part {
            room: self.name.clone(),
            nick: member.nick,
            reason: msg.reason,
        }
        .to_line();
        self.broadcast(&part, None);
        self.changed(ctx);
        Ok(self.name.clone())
    }
}

/// Removes a member that is quitting, silently: the session announces one
/// `QUIT` to everyone it shared a room with. Returns the remaining members.
#[derive(Message)]
#[rtype(result = "Vec<MemberQueue>")]
pub struct Leave {
    /// The quitting session.
    pub id: SessionId,
}

impl Handler<Leave> for Room {
    type Result = MessageResult<Leave>;

    fn handle(&mut self, msg: Leave, ctx: &mut Self::Context) -> Self::Result {
        if self.remove(msg.id).is_none() {
            return MessageResult(Vec::new());
        }
        let rest = self.member_queues();
        self.changed(ctx);
        MessageResult(rest)
    }
}

/// A member said something: fan it out to the other members.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Say {
    /// The speaking session.
    pub id: SessionId,
    /// Its nickname.
    pub from: Nick,
    /// The text.
    pub text: String,
}

impl Handler<Say> for Room {
    type Result = ();

    fn handle(&mut self, msg: Say, _: &mut Self::Context) {
        if !self.members.contains_key(&msg.id) {
            // Kicked while the message was on its way.
            return;
        }
        self.messages += 1;
        let line = Event::Msg {
            room: self.name.clone(),
            from: msg.from,
            text: msg.text,
        }
        .to_line();
        self.broadcast(&line, Some(msg.id));
    }
}

/// A member's nickname changed. Returns every member, for the `NICK` event.
#[derive(Message)]
#[rtype(result = "Vec<MemberQueue>")]
pub struct Rename {
    /// The renamed session.
    pub id: SessionId,
    /// Its new nickname.
    pub new: Nick,
}

impl Handler<Rename> for Room {
    type Result = MessageResult<Rename>;

    fn handle(&mut self, msg: Rename, _: &mut Self::Context) -> Self::Result {
        let Some(member) = self.members.get_mut(&msg.id) else {
            return MessageResult(Vec::new());
        };
        // Ownership belongs to the nickname and follows its changes.
        if self
            .owner
            .as_ref()
            .is_some_and(|o| o.folded() == member.nick.folded())
        {
            self.owner = Some(msg.new.clone());
        }
        self.by_nick.remove(member.nick.folded());
        self.by_nick.insert(msg.new.folded().clone(), msg.id);
        member.nick = msg.new;
        MessageResult(self.member_queues())
    }
}

/// Asks for the NAMES listing; the room queues it (and its `OK`) directly.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SendNames {
    /// Where to queue the listing.
    pub queue: SendQueue,
}

impl Handler<SendNames> for Room {
    type Result = ();

    fn handle(&mut self, msg: SendNames, _: &mut Self::Context) {
        let _ = msg.queue.push(self.names_reply(None));
    }
}

/// What `INFO <room>` shows.
#[derive(Debug, Clone)]
pub struct RoomInfo {
    /// The room.
    pub name: RoomName,
    /// How many members.
    pub members: usize,
    /// The owner's nickname.
    pub owner: Option<Nick>,
    /// Whether a key is needed.
    pub private: bool,
    /// When it was created.
    pub created: SystemTime,
    /// Its topic.
    pub topic: Option<String>,
    /// Messages said in it.
    pub messages: u64,
}

/// Asks for [`RoomInfo`].
#[derive(Message)]
#[rtype(result = "RoomInfo")]
pub struct GetInfo;

impl Handler<GetInfo> for Room {
    type Result = MessageResult<GetInfo>;

    fn handle(&mut self, _: GetInfo, _: &mut Self::Context) -> Self::Result {
        MessageResult(RoomInfo {
            name: self.name.clone(),
            members: self.members.len(),
            owner: self.owner.clone(),
            private: self.key.is_some(),
            created: self.created,
            topic: self.topic.clone(),
            messages: self.messages,
        })
    }
}

/// Sets the topic (owner only) and announces it to every member.
#[derive(Message)]
#[rtype(result = "Result<RoomName, ErrorCode>")]
pub struct SetTopic {
    /// The setting session.
    pub id: SessionId,
    /// The new topic.
    pub text: String,
}

impl Handler<SetTopic> for Room {
    type Result = Result<RoomName, ErrorCode>;

    fn handle(&mut self, msg: SetTopic, ctx: &mut Self::Context) -> Self::Result {
        let member = self.members.get(&msg.id).ok_or(ErrorCode::NotInRoom)?;
        if !self.is_owner(&member.nick) {
            return Err(ErrorCode::NotOwner);
        }
        let line = Event::Topic {
            room: self.name.clone(),
            nick: member.nick.clone(),
            text: msg.text.clone(),
        }
        .to_line();
        self.topic = Some(msg.text);
        self.broadcast(&line, None);
        self.changed(ctx);
        Ok(self.name.clone())
    }
}

/// Removes a member (owner only), announcing `KICK` to every member first.
#[derive(Message)]
#[rtype(result = "Result<(RoomName, Nick), ErrorCode>")]
pub struct Kick {
    /// The kicking session.
    pub id: SessionId,
    /// Who to remove.
    pub target: Folded,
    /// Why.
    pub reason: Option<String>,
}

impl Handler<Kick> for Room {
    type Result = Result<(RoomName, Nick), ErrorCode>;

    fn handle(&mut self, msg: Kick, ctx: &mut Self::Context) -> Self::Result {
        let by = self
            .members
            .get(&msg.id)
            .ok_or(ErrorCode::NotInRoom)?
            .nick
            .clone();
        if !self.is_owner(&by) {
            return Err(ErrorCode::NotOwner);
        }
        let target = *self.by_nick.get(&msg.target).ok_or(ErrorCode::NoSuchNick)?;
        let nick = self
            .members
            .get(&target)
            .ok_or(ErrorCode::NoSuchNick)?
            .nick
            .clone();
        let line = Event::Kick {
            room: self.name.clone(),
            nick: nick.clone(),
            by,
            reason: msg.reason,
        }
        .to_line();
        self.broadcast(&line, None);
        if let Some(member) = self.remove(target) {
            member.session.do_send(Removed {
                room: self.name.folded().clone(),
            });
        }
        self.changed(ctx);
        Ok((self.name.clone(), nick))
    }
}

/// A member shared a file with the room: announce it to the others.
#[derive(Message)]
#[rtype(result = "Result<(), ErrorCode>")]
pub struct ShareFile {
    /// The sharing session.
    pub id: SessionId,
    /// The `FILE` event.
    pub event: Event,
}

impl Handler<ShareFile> for Room {
    type Result = Result<(), ErrorCode>;

    fn handle(&mut self, msg: ShareFile, _: &mut Self::Context) -> Self::Result {
        if !self.members.contains_key(&msg.id) {
            return Err(ErrorCode::NotInRoom);
        }
        self.broadcast(&msg.event.to_line(), Some(msg.id));
        Ok(())
    }
}
