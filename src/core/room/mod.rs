//! A room: its members, owner, key and topic, and the fan-out of messages.

mod report;

pub use report::{Reports, RoomChanged, RoomClosed, RoomSummary};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use actix::prelude::*;
use actix::WeakAddr;
use bytes::{Bytes, BytesMut};

use super::member::{MemberQueue, SessionId};
use crate::config::Config;
use crate::core::names::{Folded, Nick, RoomName};
use crate::core::room_key;
use crate::core::ErrorCode;
use crate::core::Event;
use crate::proto::native::render::{encode_names, with_line, OkReply, Reply};
use crate::proto::native::session::Session;
use crate::proto::native::verb::{ProtocolError, Verb};
use crate::send_queue::SendQueue;
use crate::storage::{Ack, Database, RoomRecord};
use crate::transport::broadcast_log::{BroadcastLog, Span};

/// NAMES lines are split after this many bytes of nicknames.
const NAMES_LINE_BYTES: usize = 400;

/// A shared handle to a room. Cloning it copies a pointer, where cloning an
/// actix `Addr` allocates a sender of its own: a session keeps one per room
/// it is in.
#[derive(Clone)]
pub struct RoomHandle(Arc<HandleInner>);

#[derive(Debug)]
struct HandleInner {
    addr: Addr<Room>,
    /// `OK MSG <room>`, rendered once for every message said in the room.
    ok_msg: Bytes,
}

impl RoomHandle {
    /// Shares `addr`, with the room's `OK MSG` line ([`Room::ok_msg`]).
    pub fn new(addr: Addr<Room>, ok_msg: Bytes) -> Self {
        RoomHandle(Arc::new(HandleInner { addr, ok_msg }))
    }

    /// The `OK MSG` line of this room.
    pub fn ok_msg(&self) -> Bytes {
        self.0.ok_msg.clone()
    }
}

impl std::ops::Deref for RoomHandle {
    type Target = Addr<Room>;

    fn deref(&self) -> &Addr<Room> {
        &self.0.addr
    }
}

/// Names a member in the messages it sends its room: the session, and the
/// folded nickname it is listed under, by which the room finds it.
#[derive(Debug, Clone)]
pub struct MemberKey {
    /// The session.
    pub id: SessionId,
    /// Its nickname, folded.
    pub nick: Folded,
}

impl MemberKey {
    /// The key of session `id` under `nick`.
    pub fn new(id: SessionId, nick: &Nick) -> Self {
        MemberKey {
            id,
            nick: nick.folded().clone(),
        }
    }
}

/// Tells a session it is no longer in a room (it was kicked).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Removed {
    /// The room, folded.
    pub room: Folded,
}

struct Member {
    id: SessionId,
    /// The nickname as spelled (the map's key is its folded form).
    nick: Nick,
    queue: SendQueue,
    /// Weak: a strong handle costs an allocation per member.
    session: WeakAddr<Session>,
    /// Events held back while the member's JOIN replays history, so that
    /// they follow the older HISTORY lines instead of cutting into them:
    /// where they lie in the room's log. Boxed: only joiners have one.
    #[allow(clippy::box_collection)] // 8 bytes per member, not 24
    held: Option<Box<Vec<Span>>>,
}

/// Separate spans held for one joining member at most (they are separate
/// only around its own messages); past that they are released and events
/// flow again, in order (a replay that slow has lost its race anyway).
const MAX_HELD: usize = 256;

impl Member {
    fn deliver(&mut self, log: &BroadcastLog, span: Span) {
        if let Some(held) = &mut self.held {
            let count = held.len();
            match held.last_mut() {
                Some(last) if last.end == span.start => {
                    last.end = span.end;
                    return;
                }
                _ if count < MAX_HELD => {
                    held.push(span);
                    return;
                }
                _ => {}
            }
            // Past the bound: stop holding, keeping the order.
            self.release(log);
        }
        // A full queue disconnects its own client; others go on.
        let _ = self.queue.push_log(log, span);
    }

    /// Queues the events held for the member and ends its hold.
    fn release(&mut self, log: &BroadcastLog) {
        if let Some(held) = self.held.take() {
            for span in *held {
                let _ = self.queue.push_log(log, span);
            }
            log.unhold();
        }
    }
}

/// One chat room.
pub struct Room {
    name: RoomName,
    reports: Reports,
    max_members: usize,
    /// Members by folded nickname: sorted for NAMES, found by the
    /// [`MemberKey`] in each message. One map, not one per lookup: a
    /// member's entry is most of what a room costs per client.
    members: BTreeMap<Folded, Member>,
    /// Every line sent to members, kept once while their queues need it.
    log: BroadcastLog,
    owner: Option<Nick>,
    /// The salted hash of the key of a private room.
    key_hash: Option<String>,
    topic: Option<String>,
    created: SystemTime,
    /// Messages said so far; the last one's sequence number.
    messages: u64,
    /// Where messages and the room itself are stored, when history is on;
    /// a stored room outlives its last member.
    db: Option<Database>,
    /// `OK MSG <room>`, rendered once for every message said here.
    ok_msg: Bytes,
}

impl Room {
    /// A new, empty room; its first joiner becomes the owner.
    pub fn new(name: RoomName, reports: Reports, config: &Config, db: Option<Database>) -> Self {
        Room {
            ok_msg: Reply::Ok(OkReply::Msg(name.clone())).to_line(),
            name,
            reports,
            max_members: config.limits.max_room_members,
            members: BTreeMap::new(),
            log: BroadcastLog::new(config.limits.sendq_bytes),
            owner: None,
            key_hash: None,
            topic: None,
            created: SystemTime::now(),
            messages: 0,
            db,
        }
    }

    /// A room as the database remembers it, with no members yet.
    pub fn restore(
        name: RoomName,
        record: RoomRecord,
        reports: Reports,
        config: &Config,
        db: Database,
    ) -> Self {
        let max_nick = config.limits.max_nick_len;
        Room {
            owner: record.owner.and_then(|o| {
                Nick::parse(&o, max_nick.max(crate::proto::native::client::NAME_LIMIT)).ok()
            }),
            key_hash: record.key_hash,
            topic: record.topic,
            created: record.created,
            messages: record.messages,
            ..Room::new(name, reports, config, Some(db))
        }
    }

    /// The room's `OK MSG` line, for its handle.
    pub fn ok_msg(&self) -> Bytes {
        self.ok_msg.clone()
    }

    fn record(&self) -> RoomRecord {
        RoomRecord {
            name: self.name.as_str().to_string(),
            owner: self.owner.as_ref().map(|o| o.as_str().to_string()),
            key_hash: self.key_hash.clone(),
            topic: self.topic.clone(),
            created: self.created,
            messages: self.messages,
        }
    }

    /// Stores the room's owner, key and topic, where history is kept.
    fn save(&self) {
        if let Some(db) = &self.db {
            db.save_room(self.record());
        }
    }

    fn broadcast(&mut self, event: &Event, except: Option<SessionId>) {
        if self.members.is_empty() {
            return;
        }
        let span = with_line(|buf| event.encode(buf), |line| self.log.append(line));
        for m in self.members.values_mut() {
            if Some(m.id) != except {
                m.deliver(&self.log, span);
            }
        }
    }

    fn member_queues(&self) -> Vec<MemberQueue> {
        self.members
            .values()
            .map(|m| MemberQueue {
                id: m.id,
                queue: m.queue.clone(),
            })
            .collect()
    }

    fn is_owner(&self, nick: &Nick) -> bool {
        self.owner
            .as_ref()
            .is_some_and(|o| o.folded() == nick.folded())
    }

    /// Renders the NAMES listing, then `ok` if given, as one buffer.
    fn names_reply(&self, ok: Option<OkReply>) -> Bytes {
        // Room for typical nicknames and line headers: a big room's
        // listing is then written without regrowing.
        let mut buf = BytesMut::with_capacity(64 + self.members.len() * 16);
        encode_names(
            &mut buf,
            &self.name,
            self.members.values().map(|m| &m.nick),
            NAMES_LINE_BYTES,
        );
        if let Some(ok) = ok {
            Reply::Ok(ok).encode(&mut buf);
        }
        buf.freeze()
    }

    /// The key the member `who` is listed under, if it is a member.
    fn find(&self, who: &MemberKey) -> Option<&Folded> {
        match self.members.get_key_value(&who.nick) {
            Some((key, m)) if m.id == who.id => Some(key),
            // Listed under another nickname: a NICK change crossed this
            // message on its way.
            _ => self
                .members
                .iter()
                .find(|(_, m)| m.id == who.id)
                .map(|(key, _)| key),
        }
    }

    fn get(&self, who: &MemberKey) -> Option<&Member> {
        self.members.get(self.find(who)?)
    }

    /// Removes a member.
    fn remove(&mut self, who: &MemberKey) -> Option<Member> {
        let key = self.find(who)?.clone();
        let member = self.members.remove(&key)?;
        if member.held.is_some() {
            self.log.unhold();
        }
        Some(member)
    }

    fn summary(&self) -> RoomSummary {
        RoomSummary {
            name: self.name.clone(),
            members: self.members.len(),
            private: self.key_hash.is_some(),
            topic: self.topic.clone(),
            listed: !self.members.is_empty() || (self.db.is_some() && self.owner.is_some()),
        }
    }

    /// Tells the directory what changed, or closes the room once empty
    /// (unless it is stored: then it waits, empty, for its next member).
    fn changed(&mut self, ctx: &mut Context<Self>) {
        if self.members.is_empty() && self.db.is_none() {
            self.reports.closed.do_send(RoomClosed {
                name: self.name.folded().clone(),
                addr: ctx.address(),
            });
            ctx.stop();
        } else {
            self.reports.changed.do_send(RoomChanged {
                summary: self.summary(),
            });
        }
    }
}

impl Actor for Room {
    type Context = Context<Self>;
}

/// What a successful JOIN tells the session.
#[derive(Debug, Clone)]
pub struct Joined {
    /// The room's name as first spelled.
    pub name: RoomName,
    /// For a new member where history is kept: replay messages numbered up
    /// to this (those said before the JOIN; later ones arrive as events,
    /// held by the room until the session sends [`Replayed`]).
    pub replay_upto: Option<u64>,
}

/// Adds a member. On success the room has already queued, to the joiner,
/// `JOIN` (also sent to everyone else) and the `NAMES` lines; the session
/// adds the history and `OK JOIN`.
#[derive(Message)]
#[rtype(result = "Result<Joined, ErrorCode>")]
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
    pub session: WeakAddr<Session>,
}

/// What checking a JOIN's key found.
enum KeyCheck {
    /// The room is public, or the key matches.
    Pass,
    /// The creator's key, hashed, makes the room private.
    Create(Option<String>),
    /// Wrong or missing key.
    Fail,
}

impl Room {
    fn admit(&mut self, msg: Join, ctx: &mut Context<Self>) -> Result<Joined, ErrorCode> {
        if self.members.len() >= self.max_members {
            return Err(ErrorCode::RoomFull);
        }
        let join = Event::Join {
            room: self.name.clone(),
            nick: msg.nick.clone(),
        };
        self.broadcast(&join, None);
        let replays = self.db.is_some();
        if replays {
            self.log.hold();
        }
        self.members.insert(
            msg.nick.folded().clone(),
            Member {
                id: msg.id,
                nick: msg.nick.clone(),
                queue: msg.queue.clone(),
                session: msg.session,
                held: replays.then(Box::default),
            },
        );
        let _ = msg.queue.push(join.to_line());
        let _ = msg.queue.push(self.names_reply(None));
        self.changed(ctx);
        Ok(Joined {
            name: self.name.clone(),
            replay_upto: self.db.as_ref().map(|_| self.messages),
        })
    }
}

impl Handler<Join> for Room {
    // Atomic: no other message reaches the room while a key is hashed.
    type Result = AtomicResponse<Self, Result<Joined, ErrorCode>>;

    fn handle(&mut self, msg: Join, ctx: &mut Self::Context) -> Self::Result {
        let done = |res| AtomicResponse::new(Box::pin(actix::fut::ready(res)));
        let who = MemberKey::new(msg.id, &msg.nick);
        if self.find(&who).is_some() {
            let _ = msg.queue.push(self.names_reply(None));
            return done(Ok(Joined {
                name: self.name.clone(),
                replay_upto: None,
            }));
        }
        let creating = self.members.is_empty() && self.owner.is_none();
        if !creating && self.key_hash.is_none() {
            // Public: a key given anyway is ignored.
            return done(self.admit(msg, ctx));
        }
        if creating && msg.key.is_none() {
            self.owner = Some(msg.nick.clone());
            let res = self.admit(msg, ctx);
            self.save();
            return done(res);
        }
        // Hashing and verifying take milliseconds: off the actor thread.
        let key = msg.key.clone().unwrap_or_default();
        let stored = self.key_hash.clone();
        let given = msg.key.is_some();
        let check = tokio::task::spawn_blocking(move || match (creating, stored) {
            (true, _) => KeyCheck::Create(Some(room_key::hash_key(&key))),
            (false, Some(hash)) if given && room_key::verify_key(&key, &hash) => KeyCheck::Pass,
            _ => KeyCheck::Fail,
        });
        AtomicResponse::new(Box::pin(actix::fut::wrap_future(check).map(
            move |check, room: &mut Room, ctx| match check {
                Ok(KeyCheck::Pass) => room.admit(msg, ctx),
                Ok(KeyCheck::Create(hash)) => {
                    // Another creator cannot have come first: the room
                    // handled nothing else meanwhile.
                    room.owner = Some(msg.nick.clone());
                    room.key_hash = hash;
                    let res = room.admit(msg, ctx);
                    room.save();
                    res
                }
                Ok(KeyCheck::Fail) => Err(ErrorCode::BadKey),
                Err(_) => Err(ErrorCode::Internal),
            },
        )))
    }
}

/// The session has queued a new member's history and `OK JOIN`: release
/// the events held for it meanwhile.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Replayed {
    /// The joined member.
    pub who: MemberKey,
}

impl Handler<Replayed> for Room {
    type Result = ();

    fn handle(&mut self, msg: Replayed, _: &mut Self::Context) {
        if let Some(key) = self.find(&msg.who).cloned() {
            if let Some(member) = self.members.get_mut(&key) {
                member.release(&self.log);
            }
        }
    }
}

/// Removes a member, announcing `PART` to the others.
#[derive(Message)]
#[rtype(result = "Result<RoomName, ErrorCode>")]
pub struct Part {
    /// The leaving member.
    pub who: MemberKey,
    /// Why.
    pub reason: Option<String>,
}

impl Handler<Part> for Room {
    type Result = Result<RoomName, ErrorCode>;

    fn handle(&mut self, msg: Part, ctx: &mut Self::Context) -> Self::Result {
        let member = self.remove(&msg.who).ok_or(ErrorCode::NotInRoom)?;
        let part = Event::Part {
            room: self.name.clone(),
            nick: member.nick,
            reason: msg.reason,
        };
        self.broadcast(&part, None);
        self.changed(ctx);
        Ok(self.name.clone())
    }
}

/// Removes a member that is quitting, silently: the session announces one
/// `QUIT` to everyone it shared a room with. Returns the remaining members
/// when asked to.
#[derive(Message)]
#[rtype(result = "Vec<MemberQueue>")]
pub struct Leave {
    /// The quitting member.
    pub who: MemberKey,
    /// Whether the QUIT is announced (not at shutdown, when everyone goes).
    pub announce: bool,
}

impl Handler<Leave> for Room {
    type Result = MessageResult<Leave>;

    fn handle(&mut self, msg: Leave, ctx: &mut Self::Context) -> Self::Result {
        if self.remove(&msg.who).is_none() {
            return MessageResult(Vec::new());
        }
        let rest = if msg.announce {
            self.member_queues()
        } else {
            Vec::new()
        };
        self.changed(ctx);
        MessageResult(rest)
    }
}

/// A member said something: fan it out to the other members, and store it
/// where history is kept.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Say {
    /// The speaking session.
    pub id: SessionId,
    /// Its nickname.
    pub from: Nick,
    /// The text.
    pub text: String,
    /// Where history is kept: the sender's queue, to be sent `OK MSG` once
    /// the message is stored (it promised it with `expect_ack`).
    pub ack: Option<SendQueue>,
}

impl Handler<Say> for Room {
    type Result = ();

    fn handle(&mut self, msg: Say, _: &mut Self::Context) {
        let who = MemberKey::new(msg.id, &msg.from);
        if self.find(&who).is_none() {
            // Kicked while the message was on its way.
            if let Some(queue) = msg.ack {
                queue.ack(
                    Reply::Err(ProtocolError::new(
                        Verb::Msg,
                        ErrorCode::NotInRoom,
                        format!("you are not in {}", self.name),
                    ))
                    .to_line(),
                );
            }
            return;
        }
        self.messages += 1;
        let event = Event::Msg {
            room: self.name.clone(),
            from: msg.from,
            text: msg.text,
        };
        self.broadcast(&event, Some(msg.id));
        if let (Some(db), Event::Msg { from, text, .. }) = (&self.db, event) {
            let ack = msg.ack.map(|queue| Ack {
                queue,
                ok: self.ok_msg.clone(),
            });
            db.append(
                &self.name,
                self.messages,
                SystemTime::now(),
                from,
                text,
                ack,
            );
        }
    }
}

/// A member's nickname changed. Returns every member, for the `NICK` event.
#[derive(Message)]
#[rtype(result = "Vec<MemberQueue>")]
pub struct Rename {
    /// The renamed member, under its old nickname.
    pub who: MemberKey,
    /// Its new nickname.
    pub new: Nick,
}

impl Handler<Rename> for Room {
    type Result = MessageResult<Rename>;

    fn handle(&mut self, msg: Rename, _: &mut Self::Context) -> Self::Result {
        let Some(key) = self.find(&msg.who).cloned() else {
            return MessageResult(Vec::new());
        };
        let Some(mut member) = self.members.remove(&key) else {
            return MessageResult(Vec::new());
        };
        let old = std::mem::replace(&mut member.nick, msg.new.clone());
        self.members.insert(msg.new.folded().clone(), member);
        // Ownership belongs to the nickname and follows its changes.
        if self.is_owner(&old) {
            self.owner = Some(msg.new);
            self.save();
        }
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
        let ok = OkReply::Names(self.name.clone(), self.members.len());
        let _ = msg.queue.push(self.names_reply(Some(ok)));
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
            private: self.key_hash.is_some(),
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
    /// The setting member.
    pub who: MemberKey,
    /// The new topic.
    pub text: String,
}

impl Handler<SetTopic> for Room {
    type Result = Result<RoomName, ErrorCode>;

    fn handle(&mut self, msg: SetTopic, ctx: &mut Self::Context) -> Self::Result {
        let nick = &self.get(&msg.who).ok_or(ErrorCode::NotInRoom)?.nick;
        if !self.is_owner(nick) {
            return Err(ErrorCode::NotOwner);
        }
        let line = Event::Topic {
            room: self.name.clone(),
            nick: nick.clone(),
            text: msg.text.clone(),
        };
        self.topic = Some(msg.text);
        self.save();
        self.broadcast(&line, None);
        self.changed(ctx);
        Ok(self.name.clone())
    }
}

/// Removes a member (owner only), announcing `KICK` to every member first.
#[derive(Message)]
#[rtype(result = "Result<(RoomName, Nick), ErrorCode>")]
pub struct Kick {
    /// The kicking member.
    pub who: MemberKey,
    /// Who to remove.
    pub target: Folded,
    /// Why.
    pub reason: Option<String>,
}

impl Handler<Kick> for Room {
    type Result = Result<(RoomName, Nick), ErrorCode>;

    fn handle(&mut self, msg: Kick, ctx: &mut Self::Context) -> Self::Result {
        let by = self.get(&msg.who).ok_or(ErrorCode::NotInRoom)?.nick.clone();
        if !self.is_owner(&by) {
            return Err(ErrorCode::NotOwner);
        }
        let (target, nick) = self
            .members
            .get(&msg.target)
            .map(|m| (m.id, m.nick.clone()))
            .ok_or(ErrorCode::NoSuchNick)?;
        let line = Event::Kick {
            room: self.name.clone(),
            nick: nick.clone(),
            by,
            reason: msg.reason,
        };
        self.broadcast(&line, None);
        let kicked = MemberKey {
            id: target,
            nick: msg.target,
        };
        if let Some(session) = self.remove(&kicked).and_then(|m| m.session.upgrade()) {
            session.do_send(Removed {
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
    /// The sharing member.
    pub who: MemberKey,
    /// The `FILE` event.
    pub event: Event,
}

impl Handler<ShareFile> for Room {
    type Result = Result<(), ErrorCode>;

    fn handle(&mut self, msg: ShareFile, _: &mut Self::Context) -> Self::Result {
        if self.find(&msg.who).is_none() {
            return Err(ErrorCode::NotInRoom);
        }
        self.broadcast(&msg.event, Some(msg.who.id));
        Ok(())
    }
}
