//! A room: its members, owner, key and topic, and the fan-out of events.
//!
//! The room knows nothing of wire formats. It renders each event once per
//! [`Encoding`](super::member::Encoding) among its members, into that encoding's
//! [`BroadcastLog`], and gives every member's queue the span the line
//! occupies there: a message costs one rendering per encoding present (one
//! today) and a span per member, whatever the room's size.

mod close;
mod handlers;
mod member;
mod moderation;
mod remote;
mod report;
mod rights;
mod settings;
mod shared;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use actix::prelude::*;

pub use close::Close;
pub use handlers::{
    Audience, GetInfo, GetNames, Join, JoinStep, Joined, KeyProof, KeyWork, Leave, Names, Part,
    Reencode, Rename, Replayed, RoomInfo, Say, SayOutside, ShareFile, Tag,
};
use member::{HeldBack, Member};
pub use moderation::{Kick, SetTopic};
pub use remote::KnownMembers;
pub use report::{Reports, ReportsTo, RoomChanged, RoomClosed, RoomSummary};
use rights::Rights;
pub use rights::{announce_login, Grant, SetAccount, SetOwner};
pub use settings::{
    Admission, Ban, GetBans, Invite, IsOp, ModeRequest, SetMode, ACCOUNT_BAN, MAX_BANS, MAX_INVITES,
};
pub use shared::KnownState;

use super::cluster::wire::Change;
use super::event::{Event, UserHost};
use super::member::{same_encoding, EncodingRef, Inbox, MemberHandle, SessionId, TopicInfo};
use super::names::{Folded, Nick, RoomName, STORED_NAME_LIMIT};
use super::scratch::with_line;
use crate::config::SharedConfig;
use crate::core::store::{Database, RoomRecord};
use crate::transport::broadcast_log::{BroadcastLog, Span};

/// A shared handle to a room: its address and its name. Cloning it copies
/// a pointer, where cloning an actix `Addr` allocates a sender of its own;
/// a session keeps one per room it is in, and reads the room's name from
/// it rather than keeping a copy (one allocation per room, not one more
/// per member).
#[derive(Clone)]
pub struct RoomHandle(Arc<Handle>);

/// What a [`RoomHandle`] shares.
struct Handle {
    name: RoomName,
    addr: Addr<Room>,
}

impl RoomHandle {
    /// Shares `addr`, the room named `name` (as first spelled).
    pub fn new(name: RoomName, addr: Addr<Room>) -> Self {
        RoomHandle(Arc::new(Handle { name, addr }))
    }

    /// The room's name as first spelled.
    pub fn name(&self) -> &RoomName {
        &self.0.name
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

/// The lines of one encoding, kept once for all its members.
struct EncodedLog {
    encoding: EncodingRef,
    log: BroadcastLog,
    /// Members reading it: an encoding nobody reads is not rendered.
    readers: usize,
    /// Where the event broadcast last lies in it.
    last: Span,
    /// Its encoding shows when a message was received.
    shows_time: bool,
}

/// Encodings one room renders at most: more than every front end's
/// together (native 1, IRC 128 per listener: one per combination of the
/// capabilities that change how events look), so that no member is ever
/// refused for its encoding; the bound is the `u8` a member keeps.
const MAX_ENCODINGS: usize = 255;

/// One chat room.
pub struct Room {
    name: RoomName,
    reports: Reports,
    /// The configuration in force: `limits.max_room_members` at each
    /// join, `limits.sendq_bytes` for each new log.
    config: SharedConfig,
    /// Members by folded nickname: sorted for NAMES, found by the
    /// [`MemberKey`] in each message. One map, not one per lookup: a
    /// member's entry is most of what a room costs per client.
    members: BTreeMap<Folded, Member>,
    /// One log per encoding among the members, in the order they came.
    logs: Vec<EncodedLog>,
    /// Events held back for members whose JOIN is replaying history.
    held: HeldBack,
    owner: Option<Nick>,
    /// The salted hash of the key of a private room.
    key_hash: Option<String>,
    /// Boxed: most rooms have none, and the room's actor (with its task)
    /// then fits a smaller allocation (768 bytes, not 896).
    topic: Option<Box<TopicInfo>>,
    /// The limit, invite-only, the topic lock and invitations.
    admission: Admission,
    /// What the room keeps by account (its owning account, operators by
    /// account, which members are logged in to which); boxed and made at
    /// first use: most rooms never see an account.
    rights: Option<Box<Rights>>,
    created: SystemTime,
    /// Messages said so far; the last one's sequence number.
    messages: u64,
    /// Where messages and the room itself are stored, when history is on;
    /// a stored room outlives its last member.
    db: Option<Database>,
    /// Cluster mode: where its messages are published, and its members
    /// on other nodes (`remote.rs`); boxed, as most of a room is kept
    /// small.
    cluster: Option<Box<remote::RoomCluster>>,
}

impl Room {
    /// A new, empty room; its first joiner becomes the owner.
    pub fn new(
        name: RoomName,
        reports: Reports,
        config: &SharedConfig,
        db: Option<Database>,
    ) -> Self {
        Room {
            name,
            reports,
            config: config.clone(),
            members: BTreeMap::new(),
            logs: Vec::new(),
            held: HeldBack::default(),
            owner: None,
            key_hash: None,
            topic: None,
            admission: Admission::default(),
            rights: None,
            created: SystemTime::now(),
            messages: 0,
            db,
            cluster: None,
        }
    }

    /// A room as the database remembers it, with no members yet.
    pub fn restore(
        name: RoomName,
        record: RoomRecord,
        reports: Reports,
        config: &SharedConfig,
        db: Database,
    ) -> Self {
        let max_nick = config.load().limits.max_nick_len;
        let rights = Rights::restore(&record);
        let admission = Admission::restore(&record.bans);
        Room {
            rights,
            admission,
            owner: record
                .owner
                .and_then(|o| Nick::parse(&o, max_nick.max(STORED_NAME_LIMIT)).ok()),
            key_hash: record.key_hash,
            topic: record
                .topic
                .map(|text| Box::new(TopicInfo { text, set: None })),
            created: record.created,
            messages: record.messages,
            ..Room::new(name, reports, config, Some(db))
        }
    }

    fn record(&self) -> RoomRecord {
        RoomRecord {
            name: self.name.as_str().to_string(),
            owner: self.owner.as_ref().map(|o| o.as_str().to_string()),
            key_hash: self.key_hash.clone(),
            topic: self.topic.as_ref().map(|t| t.text.clone()),
            created: self.created,
            messages: self.messages,
            owner_account: self
                .rights
                .as_ref()
                .and_then(|r| r.owner.as_ref())
                .map(|o| o.as_str().to_string()),
            ops: self
                .rights
                .as_ref()
                .map(|r| r.ops.iter().map(|o| o.as_str().to_string()).collect())
                .unwrap_or_default(),
            bans: self.admission.ban_records(),
        }
    }

    /// Stores the room's owner, key and topic, where history is kept.
    fn save(&self) {
        if let Some(db) = &self.db {
            db.save_room(self.record());
        }
    }

    /// The number of `encoding`'s log, made if it is the first member of
    /// that encoding; `None` when the room renders too many already.
    fn log_for(&mut self, encoding: EncodingRef) -> Option<u8> {
        if let Some(i) = self
            .logs
            .iter()
            .position(|l| same_encoding(&*l.encoding, &*encoding))
        {
            return u8::try_from(i).ok();
        }
        if self.logs.len() >= MAX_ENCODINGS {
            return None;
        }
        // Most rooms only ever render one encoding: no room for four.
        self.logs.reserve_exact(1);
        self.logs.push(EncodedLog {
            encoding,
            log: BroadcastLog::new(self.config.load().limits.sendq_bytes),
            readers: 0,
            last: Span { start: 0, end: 0 },
            shows_time: encoding.shows_time(),
        });
        u8::try_from(self.logs.len() - 1).ok()
    }

    /// Renders `event` once per encoding read, and queues it for every
    /// member but `except`.
    fn broadcast(&mut self, event: &Event, except: Option<SessionId>) {
        if self.members.is_empty() {
            return;
        }
        for l in self.logs.iter_mut().filter(|l| l.readers > 0) {
            l.last = with_line(
                |buf| l.encoding.event(event, buf),
                |line| l.log.append(line),
            );
        }
        // One encoding among the members is the usual case, and the loop
        // below runs once per member: no lookup of the member's log there.
        // An empty span is an event the encoding shows nothing of.
        if let [only] = self.logs.as_slice() {
            let (log, span) = (&only.log, only.last);
            if span.is_empty() {
                return;
            }
            let held = &mut self.held;
            let deliver = |m: &mut Member| held.deliver(m, log, span);
            // The sender left out by a test of one id, not of an Option.
            match except {
                Some(id) => self
                    .members
                    .values_mut()
                    .filter(|m| m.id != id)
                    .for_each(deliver),
                None => self.members.values_mut().for_each(deliver),
            }
            return;
        }
        for m in self.members.values_mut() {
            if Some(m.id) != except {
                let log = self.logs.get(usize::from(m.log));
                if let Some(l) = log.filter(|l| !l.last.is_empty()) {
                    self.held.deliver(m, &l.log, l.last);
                }
            }
        }
    }

    /// When a message said now was received: the clock is read only where
    /// the time is kept (history) or shown (a member's encoding with
    /// server time; a sender that echoes a message itself has its own
    /// encoding among the members'). Elsewhere it is never seen.
    fn message_time(&self) -> SystemTime {
        if self.db.is_some() || self.logs.iter().any(|l| l.shows_time && l.readers > 0) {
            SystemTime::now()
        } else {
            SystemTime::UNIX_EPOCH
        }
    }

    /// Where to deliver what concerns every member outside the room.
    fn inboxes(&self) -> Vec<Inbox> {
        self.members
            .values()
            .map(|m| m.inbox(self.logs[usize::from(m.log)].encoding))
            .collect()
    }

    /// Whether `nick` may run the room: set its topic (while locked),
    /// kick, change its settings, invite into it while invite-only.
    fn is_op(&self, nick: &Nick) -> bool {
        self.members.get(nick.folded()).is_some_and(|m| m.op)
    }

    /// Whether session `id`, named `nick`, owns the room: by its account
    /// when an account owns the room, else by its nickname.
    fn is_owner(&self, id: SessionId, nick: &Nick) -> bool {
        match self.rights.as_ref().and_then(|r| r.owner.as_ref()) {
            Some(account) => self
                .account_of(id)
                .is_some_and(|a| a.folded() == account.folded()),
            None => self
                .owner
                .as_ref()
                .is_some_and(|o| o.folded() == nick.folded()),
        }
    }

    /// The account session `id` is logged in to, if it is a member that is.
    fn account_of(&self, id: SessionId) -> Option<&Nick> {
        self.rights.as_ref()?.account_of(id)
    }

    /// The key the member `who` is listed under, if it is a member.
    fn find(&self, who: &MemberKey) -> Option<&Folded> {
        self.find_by(who.id, &who.nick).map(|(key, _)| key)
    }

    /// The key session `id`, named `nick`, is listed under, and its entry,
    /// if it is a member.
    fn find_by(&self, id: SessionId, nick: &Folded) -> Option<(&Folded, &Member)> {
        match self.members.get_key_value(nick) {
            Some((key, m)) if m.id == id => Some((key, m)),
            // Listed under another nickname: a NICK change crossed this
            // message on its way.
            _ => self.members.iter().find(|(_, m)| m.id == id),
        }
    }

    /// The nickname of the member `who`, if it is a member.
    fn nick_of(&self, who: &MemberKey) -> Option<Nick> {
        let key = self.find(who)?;
        Some(self.members.get(key)?.nick(key))
    }

    /// Adds a member, reading `log`.
    fn insert(
        &mut self,
        handle: MemberHandle,
        nick: Nick,
        userhost: UserHost,
        log: u8,
        holding: bool,
    ) {
        let l = &mut self.logs[usize::from(log)];
        l.readers += 1;
        if holding {
            l.log.hold();
        }
        let id = handle.inbox.id;
        if self.cluster.is_some() {
            self.announce(Change::Join, &nick, &userhost, None);
        }
        let mut member = Member::new(handle, &nick, userhost, log);
        member.op = self.is_owner(id, &nick) || self.is_op_account(id);
        if member.op && self.cluster.is_some() {
            self.mark_op(&nick, true);
        }
        if holding {
            self.held.hold(&mut member);
        }
        self.members.insert(nick.folded().clone(), member);
    }

    /// Removes a member; returns its nickname too.
    fn remove(&mut self, who: &MemberKey) -> Option<(Nick, Member)> {
        let key = self.find(who)?.clone();
        let mut member = self.members.remove(&key)?;
        self.note_account(member.id, None);
        let nick = member.nick(&key);
        if member.op && self.cluster.is_some() {
            self.mark_op(&nick, false);
        }
        let l = &mut self.logs[usize::from(member.log)];
        l.readers -= 1;
        if self.held.forget(&mut member).is_some() {
            l.log.unhold();
        }
        Some((nick, member))
    }

    /// What LIST shows of the room, as the directory keeps it.
    pub fn summary(&self) -> RoomSummary {
        RoomSummary {
            name: self.name.clone(),
            members: self.members.len(),
            private: self.key_hash.is_some(),
            secret: self.admission.secret,
            topic: self.topic.as_ref().map(|t| t.text.clone()),
            listed: !self.members.is_empty() || (self.db.is_some() && self.owner.is_some()),
            disposable: self.is_disposable(),
        }
    }

    /// Whether the room may be forgotten (from memory and the database)
    /// once it has been so for `history.empty_room_secs`: it is empty,
    /// never held a message, and has no key and no topic: nothing of it
    /// is worth keeping, and anyone may make it again with a JOIN. The one
    /// rule for it. (A nickname's ownership is not worth keeping: anyone
    /// may take the nickname.)
    pub fn is_disposable(&self) -> bool {
        self.members.is_empty()
            && self.messages == 0
            && self.key_hash.is_none()
            // A topic cleared (from IRC) is no topic.
            && self.topic.as_ref().is_none_or(|t| t.text.is_empty())
            // Owned by an account, or holding bans or operators: kept.
            && !self.keeps_rights()
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

/// The directory finds the room empty and disposable for long enough:
/// the room forgets itself (its database row, then its actor) if it
/// still is; answers whether it did.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct Expire;

impl Handler<Expire> for Room {
    type Result = bool;

    fn handle(&mut self, _: Expire, ctx: &mut Self::Context) -> bool {
        // Someone may have joined, or set a topic, since the directory
        // looked.
        if !self.is_disposable() {
            return false;
        }
        if let Some(db) = &self.db {
            db.delete_room(&self.name);
        }
        self.reports.closed.do_send(RoomClosed {
            name: self.name.folded().clone(),
            addr: ctx.address(),
        });
        ctx.stop();
        true
    }
}
