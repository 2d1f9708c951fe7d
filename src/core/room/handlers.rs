//! What a room is asked, and how it answers: one message type per request,
//! answered with typed values (an [`ErrorCode`] for a refusal).

use std::sync::Arc;
use std::time::SystemTime;

use actix::prelude::*;
use bytes::{Bytes, BytesMut};

use super::{MemberKey, Room};
use crate::core::cluster::wire::{Change, Setting};
use crate::core::error::ErrorCode;
use crate::core::event::{Event, MsgKind, MsgMeta, UserHost};
use crate::core::member::{
    EncodingRef, Inbox, Listed, Listing, MemberHandle, SessionId, TopicInfo,
};
use crate::core::names::{Folded, Nick, RoomName};
use crate::core::outcome::{Ack, Said};

/// What a successful JOIN tells the session.
#[derive(Debug, Clone)]
pub struct Joined {
    /// The room's name as first spelled.
    pub name: RoomName,
    /// For a new member where history is kept: replay messages numbered up
    /// to this (those said before the JOIN; later ones arrive as events,
    /// held by the room until the session sends [`Replayed`]).
    pub replay_upto: Option<u64>,
    /// The `JOIN` and listing the joiner is to send itself, when it asked
    /// for them ([`Join::hand_back`]).
    pub welcome: Option<Bytes>,
    /// The room holds the member's events until [`Replayed`].
    pub held: bool,
}

/// Adds a member. On success the room has already queued, to the joiner,
/// the `JOIN` event (also sent to everyone else) and the member listing;
/// the session adds the history and its final reply.
///
/// A room never hashes a key itself (that takes milliseconds, and the
/// room would answer nobody meanwhile): where a key must be checked or
/// hashed first it answers [`JoinStep::CheckKey`], and the JOIN is sent
/// again with the [`KeyProof`] (see
/// [`Services::enter_room`](crate::core::services::Services::enter_room),
/// which does it through the password gate).
#[derive(Message)]
#[rtype(result = "Result<JoinStep, ErrorCode>")]
pub struct Join {
    /// The joining connection.
    pub member: MemberHandle,
    /// Its nickname.
    pub nick: Nick,
    /// Its user and host, for the `JOIN` event.
    pub userhost: UserHost,
    /// Its real name, for the `JOIN` event (`""` where none).
    pub realname: Arc<str>,
    /// The key it gave.
    pub key: Option<String>,
    /// The account it is logged in to, if any (for ownership, operators
    /// by account and `$a:` bans).
    pub account: Option<Nick>,
    /// Hand the joiner's `JOIN` and listing back in [`Joined`] instead of
    /// queuing them, holding its events until [`Replayed`] (an IRC client
    /// tags them as the answer to its labeled JOIN).
    pub hand_back: bool,
    /// The key, checked or hashed since the room asked for it.
    pub proof: Option<KeyProof>,
}

/// What a room answers a JOIN.
#[derive(Debug)]
pub enum JoinStep {
    /// In.
    Joined(Joined),
    /// Not yet: the key must be checked or hashed first.
    CheckKey(KeyWork),
}

/// The hashing a JOIN needs before the room can answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyWork {
    /// Check the key given against the room's stored hash.
    Verify {
        /// The stored hash (`room_key` format).
        hash: String,
    },
    /// The joiner creates the room with a key: hash it.
    Create,
}

/// A key checked or hashed outside the room: made only by the core.
#[derive(Debug, Clone)]
pub struct KeyProof(Proof);

#[derive(Debug, Clone)]
enum Proof {
    /// The key given matches this stored hash.
    Matches(String),
    /// The creator's key, hashed.
    Created(String),
}

impl KeyProof {
    /// The key given matched the stored `hash` the room asked to check.
    pub(crate) fn matches(hash: String) -> Self {
        KeyProof(Proof::Matches(hash))
    }

    /// The creator's key, hashed.
    pub(crate) fn created(hash: String) -> Self {
        KeyProof(Proof::Created(hash))
    }
}

/// The joiner's user and host, from its `JOIN` event.
fn join_userhost(join: &Event) -> UserHost {
    match join {
        Event::Join { userhost, .. } => userhost.clone(),
        _ => UserHost::native(),
    }
}

impl Room {
    fn admit(&mut self, msg: Join, ctx: &mut Context<Self>) -> Result<Joined, ErrorCode> {
        if self.members.len() >= self.config.load().limits.max_room_members {
            return Err(ErrorCode::RoomFull);
        }
        let mask = format!("{}!{}", msg.nick.as_str(), msg.userhost.as_str());
        // A cluster node counts every node's members against `+l`.
        let count = self.member_count();
        let invited = self.admission.is_invited(msg.nick.folded());
        self.admission.admit(
            msg.nick.folded(),
            &mask,
            msg.account.as_ref().map(Nick::folded),
            count,
        )?;
        if invited {
            self.used_invitation(msg.nick.folded());
        }
        let log = self
            .log_for(msg.member.inbox.encoding)
            .ok_or(ErrorCode::RoomFull)?;
        let join = Event::Join {
            room: self.name.clone(),
            nick: msg.nick.clone(),
            userhost: msg.userhost,
            realname: msg.realname,
            account: msg.account.clone(),
        };
        self.broadcast(&join, None);
        let encoding = msg.member.inbox.encoding;
        let queue = msg.member.inbox.queue.clone();
        let replay_upto = self.replay_upto();
        let held = replay_upto.is_some() || msg.hand_back;
        self.note_account(msg.member.inbox.id, msg.account);
        self.insert(
            msg.member,
            msg.nick.clone(),
            join_userhost(&join),
            log,
            held,
        );
        let welcome = self.welcome(encoding, &msg.nick, Some(&join));
        let welcome = if msg.hand_back {
            Some(welcome)
        } else {
            // As the joiner's reply: a big room's listing is paced, not
            // counted against the joiner's queue all at once.
            let _ = queue.reply(welcome);
            None
        };
        self.changed(ctx);
        Ok(Joined {
            name: self.name.clone(),
            replay_upto,
            welcome,
            held,
        })
    }

    /// What a joiner is sent: the `JOIN` event (unless it was a member
    /// already), then the member listing, in its encoding, as one buffer
    /// sized for typical nicknames: a big room's listing is then written
    /// without regrowing or copying.
    fn welcome(&self, encoding: EncodingRef, to: &Nick, join: Option<&Event>) -> Bytes {
        let mut buf = BytesMut::with_capacity(64 + self.members.len() * 16);
        if let Some(join) = join {
            encoding.event(join, &mut buf);
        }
        // A cluster node lists the other nodes' members too.
        let everyone = self.listed_with_remote();
        let mut local;
        let mut all;
        let members: &mut dyn Iterator<Item = Listed<'_>> = match everyone {
            Some(everyone) => {
                all = everyone.into_iter();
                &mut all
            }
            None => {
                local = self.members.values().map(|m| Listed {
                    nick: &m.display,
                    op: m.op,
                    userhost: &m.userhost,
                });
                &mut local
            }
        };
        encoding.names(
            Listing {
                room: &self.name,
                to,
                private: self.key_hash.is_some(),
                secret: self.admission.secret,
                topic: self.topic.as_deref(),
                members,
            },
            &mut buf,
        );
        buf.freeze()
    }
}

impl Handler<Join> for Room {
    type Result = Result<JoinStep, ErrorCode>;

    fn handle(&mut self, msg: Join, ctx: &mut Self::Context) -> Self::Result {
        let who = MemberKey::new(msg.member.inbox.id, &msg.nick);
        if self.find(&who).is_some() {
            let encoding = msg.member.inbox.encoding;
            let welcome = self.welcome(encoding, &msg.nick, None);
            let welcome = if msg.hand_back {
                Some(welcome)
            } else {
                let _ = msg.member.inbox.queue.reply(welcome);
                None
            };
            return Ok(JoinStep::Joined(Joined {
                name: self.name.clone(),
                replay_upto: None,
                welcome,
                held: false,
            }));
        }
        let creating = self.member_count() == 0 && self.owner.is_none();
        let proof = msg.proof.as_ref().map(|p| &p.0);
        if creating {
            let hash = match (&msg.key, proof) {
                (None, _) => None,
                (Some(_), Some(Proof::Created(hash))) => Some(hash.clone()),
                (Some(_), _) => return Ok(JoinStep::CheckKey(KeyWork::Create)),
            };
            self.set_creator(&msg.nick, msg.account.clone());
            self.key_hash = hash.clone();
            // Made here: Redis keeps who made it, unless another node's
            // JOIN made it first (then that one's owner and key win).
            let what = Setting::Create {
                account: msg.account.clone(),
                key_hash: hash,
            };
            self.propose_in_background(&msg.nick, &msg.userhost, what);
            let res = self.admit(msg, ctx);
            self.save();
            return res.map(JoinStep::Joined);
        }
        match (&self.key_hash, &msg.key, proof) {
            // Public: a key given anyway is ignored.
            (None, _, _) => self.admit(msg, ctx).map(JoinStep::Joined),
            (Some(_), None, _) => Err(ErrorCode::BadKey),
            // Checked against the key in force (not one changed since).
            (Some(hash), Some(_), Some(Proof::Matches(checked))) if checked == hash => {
                self.admit(msg, ctx).map(JoinStep::Joined)
            }
            (Some(hash), Some(_), _) => {
                Ok(JoinStep::CheckKey(KeyWork::Verify { hash: hash.clone() }))
            }
        }
    }
}

/// The session has queued a new member's history and its final reply:
/// release the events held for it meanwhile.
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
                let log = &self.logs[usize::from(member.log)].log;
                self.held.release(member, log);
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
    /// Its user and host, for the `PART` event.
    pub userhost: UserHost,
    /// Why.
    pub reason: Option<String>,
}

impl Handler<Part> for Room {
    type Result = Result<RoomName, ErrorCode>;

    fn handle(&mut self, msg: Part, ctx: &mut Self::Context) -> Self::Result {
        let (nick, _) = self.remove(&msg.who).ok_or(ErrorCode::NotInRoom)?;
        if self.cluster.is_some() {
            self.announce(Change::Part, &nick, &msg.userhost, msg.reason.as_deref());
        }
        let part = Event::Part {
            room: self.name.clone(),
            nick,
            userhost: msg.userhost,
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
#[rtype(result = "Vec<Inbox>")]
pub struct Leave {
    /// The quitting member.
    pub who: MemberKey,
    /// Whether the QUIT is announced (not at shutdown, when everyone goes).
    pub announce: bool,
    /// Why it quit, for the other nodes' `QUIT` lines (cluster mode);
    /// shared by every room of the member.
    pub reason: Option<std::sync::Arc<str>>,
}

impl Handler<Leave> for Room {
    type Result = MessageResult<Leave>;

    fn handle(&mut self, msg: Leave, ctx: &mut Self::Context) -> Self::Result {
        let Some((nick, member)) = self.remove(&msg.who) else {
            return MessageResult(Vec::new());
        };
        if self.cluster.is_some() {
            self.announce(Change::Quit, &nick, &member.userhost, msg.reason.as_deref());
        }
        let rest = if msg.announce {
            self.inboxes()
        } else {
            Vec::new()
        };
        self.changed(ctx);
        MessageResult(rest)
    }
}

/// A member said something: fan it out to the other members, and store it
/// where history is kept. Answers the message's number and time (for an
/// echo its sender renders itself); `None` if it was refused.
#[derive(Message)]
#[rtype(result = "Option<(u64, SystemTime)>")]
pub struct Say {
    /// The speaking session.
    pub id: SessionId,
    /// Its nickname (with `id`, how the room finds the member: no key of
    /// its own, for this message is sent most). Its user and host are the
    /// member's: this message is kept small, for it is sent most.
    pub from: Nick,
    /// The text.
    pub text: String,
    /// A message or a notice (stored alike: history keeps no kind).
    pub kind: MsgKind,
    /// The sender's client-only tags (IRC), relayed and not stored.
    pub tags: Option<Arc<str>>,
    /// The account the sender is logged in to (IRC `account-tag`), from
    /// its own session: the room looks nothing up. Relayed, not stored.
    pub account: Option<Arc<str>>,
    /// The sender gets the message too, as the others do (IRC
    /// `echo-message`), with the same number and time.
    pub echo: bool,
    /// Where history is kept: whom to answer once the message is stored,
    /// or refused.
    pub ack: Option<Ack>,
}

impl Handler<Say> for Room {
    type Result = Option<(u64, SystemTime)>;

    fn handle(&mut self, msg: Say, _: &mut Self::Context) -> Self::Result {
        let Some((_, member)) = self.find_by(msg.id, msg.from.folded()) else {
            // Kicked while the message was on its way.
            if let Some(ack) = msg.ack {
                ack.settle(Said::Refused(ErrorCode::NotInRoom));
            }
            return None;
        };
        let userhost = member.userhost.clone();
        if self.cluster.is_some() {
            return self.publish(msg, userhost);
        }
        self.messages += 1;
        // One clock read: what IRC shows as `time` is what the store keeps.
        let time = self.message_time();
        let event = Event::Msg {
            room: self.name.clone(),
            from: msg.from,
            userhost,
            text: msg.text,
            kind: msg.kind,
            meta: MsgMeta {
                seq: self.messages,
                time,
                tags: msg.tags,
                account: msg.account,
            },
        };
        self.broadcast(&event, (!msg.echo).then_some(msg.id));
        // Once per message, not per member: the sender is a member here.
        crate::telemetry::message_said(self.members.len() - usize::from(!msg.echo));
        // Taken apart where it lies: matching a tuple of it would copy
        // the event (most of a message's size) for every message.
        if let Some(db) = &self.db {
            if let Event::Msg { from, text, .. } = event {
                db.append(&self.name, self.messages, time, from, text, msg.ack);
            }
        }
        Some((self.messages, time))
    }
}

/// A member's encoding changed (an IRC client asked for a capability
/// that changes how events look): its later events are rendered in the
/// new one.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reencode {
    /// The member.
    pub who: MemberKey,
    /// Its new encoding.
    pub encoding: EncodingRef,
}

impl Handler<Reencode> for Room {
    type Result = ();

    fn handle(&mut self, msg: Reencode, _: &mut Self::Context) {
        let Some(key) = self.find(&msg.who).cloned() else {
            return;
        };
        let Some(new) = self.log_for(msg.encoding) else {
            return;
        };
        let Some(member) = self.members.get_mut(&key) else {
            return;
        };
        let old = usize::from(member.log);
        if old == usize::from(new) {
            return;
        }
        // What was held for it lies in the old log: delivered first.
        self.held.release(member, &self.logs[old].log);
        member.log = new;
        self.logs[old].readers -= 1;
        self.logs[usize::from(new)].readers += 1;
    }
}

/// Asks for every member's inbox (to tell them of something that is not
/// the room's own event, such as an away message).
#[derive(Message)]
#[rtype(result = "Vec<Inbox>")]
pub struct Audience;

impl Handler<Audience> for Room {
    type Result = MessageResult<Audience>;

    fn handle(&mut self, _: Audience, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.inboxes())
    }
}

/// A member sent client-only tags and no text (IRC `TAGMSG`): relayed to
/// the others (to itself too with `echo`), never stored.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Tag {
    /// The sending session.
    pub id: SessionId,
    /// Its nickname.
    pub from: Nick,
    /// Its user and host.
    pub userhost: UserHost,
    /// When it came, its number and its tags (made by the sender's
    /// session, which may echo it itself).
    pub meta: MsgMeta,
    /// The sender gets it too.
    pub echo: bool,
}

impl Handler<Tag> for Room {
    type Result = ();

    fn handle(&mut self, msg: Tag, _: &mut Self::Context) {
        if self.find_by(msg.id, msg.from.folded()).is_none() {
            return;
        }
        let event = Event::TagMsg {
            target: crate::core::FileTarget::Room(self.name.clone()),
            from: msg.from,
            userhost: msg.userhost,
            meta: msg.meta,
        };
        self.broadcast(&event, (!msg.echo).then_some(msg.id));
    }
}

/// Someone outside the room says something to it, which it allows only
/// when its operators let anyone speak (IRC's `-n`): fanned out to every
/// member and stored like a member's message. The native protocol never
/// sends it (a native `MSG` needs membership).
#[derive(Message)]
#[rtype(result = "Result<(u64, SystemTime), ErrorCode>")]
pub struct SayOutside {
    /// The speaker.
    pub from: Nick,
    /// Its user and host.
    pub userhost: UserHost,
    /// The text.
    pub text: String,
    /// A message or a notice.
    pub kind: MsgKind,
    /// The sender's client-only tags (IRC), relayed and not stored.
    pub tags: Option<Arc<str>>,
    /// The account the speaker is logged in to, relayed, not stored.
    pub account: Option<Arc<str>>,
}

impl Handler<SayOutside> for Room {
    /// The message's number and time, for the echo its sender (no member
    /// the room could echo to) renders itself: at once on a standalone
    /// server, once Redis has it on a cluster node (`remote.rs`).
    type Result = ResponseFuture<Result<(u64, SystemTime), ErrorCode>>;

    fn handle(&mut self, msg: SayOutside, _: &mut Self::Context) -> Self::Result {
        // Members on any node count.
        if self.admission.members_only || self.member_count() == 0 {
            return Box::pin(std::future::ready(Err(ErrorCode::NotInRoom)));
        }
        if let Some(published) = self.publish_outside(&msg) {
            return Box::pin(published);
        }
        Box::pin(std::future::ready(Ok(self.say_outside(msg))))
    }
}

impl Room {
    fn say_outside(&mut self, msg: SayOutside) -> (u64, SystemTime) {
        self.messages += 1;
        let time = self.message_time();
        let event = Event::Msg {
            room: self.name.clone(),
            from: msg.from,
            userhost: msg.userhost,
            text: msg.text,
            kind: msg.kind,
            meta: MsgMeta {
                seq: self.messages,
                time,
                tags: msg.tags,
                account: msg.account,
            },
        };
        self.broadcast(&event, None);
        if let Some(db) = &self.db {
            if let Event::Msg { from, text, .. } = event {
                db.append(&self.name, self.messages, time, from, text, None);
            }
        }
        (self.messages, time)
    }
}

/// A member's nickname changed. Returns every member, for the `NICK` event.
#[derive(Message)]
#[rtype(result = "Vec<Inbox>")]
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
        let old = member.nick(&key);
        member.display = msg.new.display().clone();
        if self.cluster.is_some() {
            self.announce_rename(&old, &msg.new, &member.userhost);
            if member.op {
                self.mark_op(&old, false);
                self.mark_op(&msg.new, true);
            }
        }
        self.members.insert(msg.new.folded().clone(), member);
        // A nickname's ownership (no account's) follows its changes.
        if !self.owned_by_account()
            && self
                .owner
                .as_ref()
                .is_some_and(|o| o.folded() == old.folded())
        {
            self.owner = Some(msg.new);
            self.save();
        }
        MessageResult(self.inboxes())
    }
}

/// The member listing of a room.
#[derive(Debug, Clone)]
pub struct Names {
    /// The room.
    pub name: RoomName,
    /// Its members, sorted by folded nickname.
    pub nicks: Vec<Nick>,
    /// Their users and hosts, in the same order.
    pub userhosts: Vec<UserHost>,
    /// Its owner, if any.
    pub owner: Option<Nick>,
    /// Its operators (folded), sorted.
    pub ops: Vec<Folded>,
    /// Whether a key is needed.
    pub private: bool,
    /// Whether it is hidden from those outside it.
    pub secret: bool,
}

/// Asks for [`Names`].
#[derive(Message)]
#[rtype(result = "Names")]
pub struct GetNames;

impl Handler<GetNames> for Room {
    type Result = MessageResult<GetNames>;

    fn handle(&mut self, _: GetNames, _: &mut Self::Context) -> Self::Result {
        let mut names = Names {
            name: self.name.clone(),
            nicks: self.members.iter().map(|(key, m)| m.nick(key)).collect(),
            userhosts: self.members.values().map(|m| m.userhost.clone()).collect(),
            owner: self.owner.clone(),
            ops: self
                .members
                .iter()
                .filter(|(_, m)| m.op)
                .map(|(key, _)| key.clone())
                .collect(),
            private: self.key_hash.is_some(),
            secret: self.admission.secret,
        };
        if self.cluster.is_some() {
            self.add_remote(&mut names);
        }
        MessageResult(names)
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
    /// The owning account, if an account owns it.
    pub owner_account: Option<Nick>,
    /// Whether a key is needed.
    pub private: bool,
    /// When it was created.
    pub created: SystemTime,
    /// Its topic, and who set it when where known.
    pub topic: Option<TopicInfo>,
    /// Messages said in it.
    pub messages: u64,
    /// At most this many members, if limited.
    pub limit: Option<u32>,
    /// Only invited users may join.
    pub invite_only: bool,
    /// Only operators set the topic.
    pub topic_locked: bool,
    /// Only members speak.
    pub members_only: bool,
    /// Hidden from those outside it.
    pub secret: bool,
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
            owner_account: self.owner_account(),
            private: self.key_hash.is_some(),
            created: self.created,
            topic: self.topic.as_deref().cloned(),
            messages: self.messages,
            limit: self.admission.limit,
            invite_only: self.admission.invite_only,
            topic_locked: self.admission.topic_locked,
            members_only: self.admission.members_only,
            secret: self.admission.secret,
        })
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
        self.share_file(&msg.event);
        Ok(())
    }
}
