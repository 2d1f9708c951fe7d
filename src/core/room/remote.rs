//! Cluster mode's half of a room (docs/CLUSTER.md): a message said here
//! is published once for every node, and delivered here, as on every
//! node, when Redis hands it back, in the room's one order; this node's
//! members' JOIN, PART and QUIT are published too, and the other nodes'
//! members are kept for NAMES.

use std::collections::{BTreeMap, HashSet};
use std::time::SystemTime;

use actix::prelude::*;

use super::{Names, Room, Say, SayOutside};
use crate::core::cluster::wire::{Change, Incoming, MemberChange, Outgoing, Published, SharedFile};
use crate::core::cluster::{Cluster, Delivered};
use crate::core::event::{no_realname, Event, MsgMeta, UserHost};
use crate::core::member::{deliver_once, Inbox, Listed, SessionId};
use crate::core::names::{Folded, Nick};
use crate::core::outcome::Said;
use crate::core::store::FileRecord;
use crate::core::ErrorCode;

/// What a room of a cluster node keeps of the cluster.
pub(super) struct RoomCluster {
    pub(super) cluster: Cluster,
    /// The members on other nodes, by folded nickname.
    pub(super) remote: BTreeMap<Folded, (Nick, UserHost)>,
    /// Those of them who are operators (`shared.rs`).
    pub(super) remote_ops: HashSet<Folded>,
    /// The room's state version: the last setting change applied here
    /// (`shared.rs`).
    pub(super) state_ver: u64,
    /// The number of the last message delivered here (or, at the first
    /// JOIN, the room's last number then).
    delivered: u64,
    /// Reading what was missed from the stream: what arrives meanwhile
    /// waits here, to be delivered after it.
    catching_up: Option<Vec<Published>>,
}

impl Room {
    /// A room of a cluster node: its messages go through Redis.
    pub fn with_cluster(mut self, cluster: Option<Cluster>) -> Self {
        self.cluster = cluster.map(|cluster| {
            Box::new(RoomCluster {
                cluster,
                remote: BTreeMap::new(),
                remote_ops: HashSet::new(),
                state_ver: 0,
                delivered: 0,
                catching_up: None,
            })
        });
        self
    }

    /// Publishes what a member said; its members (and every other node's)
    /// get it from [`Delivered`]. The sender's `OK MSG` (its ack) comes
    /// once Redis has the message; its number is not known before, so
    /// there is none to answer now.
    pub(super) fn publish(&mut self, msg: Say, userhost: UserHost) -> Option<(u64, SystemTime)> {
        let cluster = &self.cluster.as_deref()?.cluster;
        let fields = Outgoing {
            origin: cluster.node_id(),
            sender: msg.id.number(),
            echo: msg.echo,
            kind: msg.kind,
            from: &msg.from,
            userhost: &userhost,
            account: msg.account.as_deref(),
            tags: msg.tags.as_deref(),
            text: &msg.text,
        }
        .encode();
        let published = cluster.publish(self.name.folded().clone(), fields);
        let ack = msg.ack;
        let room = self.name.clone();
        actix_rt::spawn(async move {
            let said = match published.await {
                Ok((seq, time)) => Said::Stored { seq, time },
                Err(e) => {
                    tracing::warn!(%e, %room, "room message not published");
                    Said::Refused(ErrorCode::ClusterUnavailable)
                }
            };
            if let Some(ack) = ack {
                ack.settle(said);
            }
        });
        None
    }

    /// Publishes what someone outside the room said to it (IRC's `-n`)
    /// as a member's message: every node's members get it from
    /// [`Delivered`]. The future answers its number and time once Redis
    /// has it; `None` on a standalone server.
    pub(super) fn publish_outside(
        &self,
        msg: &SayOutside,
    ) -> Option<impl std::future::Future<Output = Result<(u64, SystemTime), ErrorCode>> + 'static>
    {
        let cluster = &self.cluster.as_deref()?.cluster;
        let fields = Outgoing {
            origin: cluster.node_id(),
            // No member's session: nobody here is left out of it.
            sender: 0,
            echo: true,
            kind: msg.kind,
            from: &msg.from,
            userhost: &msg.userhost,
            account: msg.account.as_deref(),
            tags: msg.tags.as_deref(),
            text: &msg.text,
        }
        .encode();
        let published = cluster.publish(self.name.folded().clone(), fields);
        let room = self.name.clone();
        Some(async move {
            published.await.map_err(|e| {
                tracing::warn!(%e, %room, "room message from outside not published");
                ErrorCode::ClusterUnavailable
            })
        })
    }

    /// Publishes a change of one of this node's members.
    pub(super) fn announce(
        &self,
        change: Change,
        nick: &Nick,
        userhost: &UserHost,
        reason: Option<&str>,
    ) {
        let Some(rc) = self.cluster.as_deref() else {
            return;
        };
        let change = MemberChange {
            change,
            origin: rc.cluster.node_id().to_string(),
            nick: nick.clone(),
            userhost: userhost.clone(),
            reason: reason.map(str::to_string),
            renamed: None,
        };
        rc.cluster.announce(&self.name, &change);
    }

    /// Announces every member of this node again (a `JOIN` each), but
    /// those whose nicknames were `lost`: the node's lease had lapsed and
    /// the other nodes took them out of the room.
    fn announce_again(&self, lost: &std::collections::HashSet<Folded>) {
        for (key, member) in self.members.iter().filter(|(k, _)| !lost.contains(*k)) {
            self.announce(Change::Join, &member.nick(key), &member.userhost, None);
        }
    }

    /// Publishes a change of nickname of one of this node's members.
    pub(super) fn announce_rename(&self, old: &Nick, new: &Nick, userhost: &UserHost) {
        let Some(rc) = self.cluster.as_deref() else {
            return;
        };
        let change = MemberChange {
            change: Change::Rename,
            origin: rc.cluster.node_id().to_string(),
            nick: old.clone(),
            userhost: userhost.clone(),
            reason: None,
            renamed: Some(new.clone()),
        };
        rc.cluster.announce(&self.name, &change);
    }

    /// The last message a joiner is replayed (the later ones it gets as
    /// they are delivered): a cluster node's rooms replay from the
    /// room's stream, up to the last message delivered here; a standalone
    /// room from its database, when it has one.
    pub(super) fn replay_upto(&self) -> Option<u64> {
        match self.cluster.as_deref() {
            Some(rc) => Some(rc.delivered.max(self.messages)),
            None => self.db.as_ref().map(|_| self.messages),
        }
    }

    /// Every node's members, in name order, as a joiner's listing shows
    /// them; `None` when there are only this node's.
    pub(super) fn listed_with_remote(&self) -> Option<Vec<Listed<'_>>> {
        let rc = self.cluster.as_deref()?;
        if rc.remote.is_empty() {
            return None;
        }
        let mut all: Vec<(&Folded, Listed<'_>)> = self
            .members
            .iter()
            .map(|(key, m)| {
                let listed = Listed {
                    nick: &m.display,
                    op: m.op,
                    userhost: &m.userhost,
                };
                (key, listed)
            })
            .chain(
                rc.remote
                    .iter()
                    .filter(|(key, _)| !self.members.contains_key(*key))
                    .map(|(key, (nick, userhost))| {
                        let listed = Listed {
                            nick: nick.as_str(),
                            op: rc.remote_ops.contains(key),
                            userhost,
                        };
                        (key, listed)
                    }),
            )
            .collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        Some(all.into_iter().map(|(_, listed)| listed).collect())
    }

    /// Adds the other nodes' members to a listing, in its order.
    pub(super) fn add_remote(&self, names: &mut Names) {
        let Some(rc) = self.cluster.as_deref() else {
            return;
        };
        if rc.remote.is_empty() {
            return;
        }
        let mut all: Vec<(Nick, UserHost)> = std::mem::take(&mut names.nicks)
            .into_iter()
            .zip(std::mem::take(&mut names.userhosts))
            .chain(
                rc.remote
                    .iter()
                    .filter(|(key, _)| !self.members.contains_key(*key))
                    .map(|(_, (n, u))| (n.clone(), u.clone())),
            )
            .collect();
        all.sort_by(|a, b| a.0.folded().cmp(b.0.folded()));
        (names.nicks, names.userhosts) = all.into_iter().unzip();
        names.ops.extend(
            rc.remote_ops
                .iter()
                .filter(|key| rc.remote.contains_key(*key) && !self.members.contains_key(*key))
                .cloned(),
        );
        names.ops.sort();
    }

    /// A change of another node's member: kept, and shown to the members
    /// here.
    fn remote_change(&mut self, m: MemberChange) {
        let Some(rc) = self.cluster.as_deref_mut() else {
            return;
        };
        if m.origin == rc.cluster.node_id() {
            // Its members here saw it happen.
            return;
        }
        let key = m.nick.folded().clone();
        // The same QUIT or NICK reaches every room the user shares with
        // this node's members: each member is shown it once.
        let sight = match m.change {
            Change::Quit => Some(format!("{} Q {}", m.origin, key.as_str())),
            Change::Rename => m
                .renamed
                .as_ref()
                .map(|new| format!("{} R {} {}", m.origin, key.as_str(), new.folded().as_str())),
            _ => None,
        };
        let event = match m.change {
            Change::Join => {
                rc.cluster
                    .forget_sight(&format!("{} Q {}", m.origin, key.as_str()));
                // Known already (read with the member hash too): shown once.
                if rc
                    .remote
                    .insert(key, (m.nick.clone(), m.userhost.clone()))
                    .is_some()
                {
                    return;
                }
                Event::Join {
                    room: self.name.clone(),
                    nick: m.nick,
                    userhost: m.userhost,
                    realname: no_realname(),
                    account: None,
                }
            }
            Change::Part => {
                rc.remote_ops.remove(&key);
                if rc.remote.remove(&key).is_none() {
                    return;
                }
                Event::Part {
                    room: self.name.clone(),
                    nick: m.nick,
                    userhost: m.userhost,
                    reason: m.reason,
                }
            }
            Change::Quit => {
                rc.remote_ops.remove(&key);
                if rc.remote.remove(&key).is_none() {
                    return;
                }
                Event::Quit {
                    nick: m.nick,
                    userhost: m.userhost,
                    reason: m.reason,
                }
            }
            Change::Rename => {
                let Some(new) = m.renamed else { return };
                rc.remote.remove(&key);
                if rc.remote_ops.remove(&key) {
                    rc.remote_ops.insert(new.folded().clone());
                }
                // Back to the old name: a later change to the new one
                // is another one.
                rc.cluster.forget_sight(&format!(
                    "{} R {} {}",
                    m.origin,
                    new.folded().as_str(),
                    key.as_str()
                ));
                rc.remote
                    .insert(new.folded().clone(), (new.clone(), m.userhost.clone()));
                Event::Nick {
                    old: m.nick,
                    new,
                    userhost: m.userhost,
                }
            }
        };
        match sight {
            Some(sight) => self.show_once(&sight, &event),
            None => self.broadcast(&event, None),
        }
    }

    /// Shows `event` to the members here not shown `sight` yet by
    /// another room.
    fn show_once(&self, sight: &str, event: &Event) {
        let Some(rc) = self.cluster.as_deref() else {
            return;
        };
        let audience: Vec<Inbox> = self
            .members
            .values()
            .filter(|m| rc.cluster.first_sight(sight, m.id.number()))
            .map(|m| m.inbox(self.logs[usize::from(m.log)].encoding))
            .collect();
        deliver_once(vec![audience], event);
    }
}

/// The room's members on every node, as Redis's member hash had them
/// when this node subscribed to the room, and the number of its last
/// message then: the other nodes' members are kept (a JOIN reads them
/// before the member is let in, so that its NAMES shows them).
#[derive(Message)]
#[rtype(result = "()")]
pub struct KnownMembers {
    /// The members.
    pub members: Vec<MemberChange>,
    /// The room's last message number.
    pub seq: u64,
}

impl Handler<KnownMembers> for Room {
    type Result = ();

    fn handle(&mut self, known: KnownMembers, _: &mut Self::Context) {
        let Some(rc) = self.cluster.as_deref_mut() else {
            return;
        };
        rc.delivered = rc.delivered.max(known.seq);
        for m in known.members {
            if m.origin != rc.cluster.node_id() {
                rc.remote
                    .insert(m.nick.folded().clone(), (m.nick, m.userhost));
            }
        }
    }
}

impl Room {
    /// Reads what was published after the last message delivered here
    /// (the subscription was down, or a number was skipped), holding what
    /// arrives meanwhile; then delivers both, in order, once each.
    fn catch_up(&mut self, ctx: &mut Context<Self>) {
        let Some(rc) = self.cluster.as_deref_mut() else {
            return;
        };
        if rc.catching_up.is_some() {
            return;
        }
        rc.catching_up = Some(Vec::new());
        let read = rc.cluster.since(self.name.folded().clone(), rc.delivered);
        // Membership changes are not in the stream: what the other nodes'
        // members are now is read from the member hash instead.
        let members = rc.cluster.members(self.name.folded().clone());
        let both = async move { (members.await, read.await) };
        ctx.spawn(both.into_actor(self).map(|(members, read), act, ctx| {
            match members {
                Ok((members, _)) => act.reconcile(members),
                Err(e) => {
                    tracing::warn!(%e, room = %act.name, "cannot read the room's members on other nodes");
                }
            }
            let missed = match read {
                Ok(missed) => missed,
                Err(e) => {
                    tracing::warn!(%e, room = %act.name, "cannot read the messages missed");
                    Vec::new()
                }
            };
            let held = act
                .cluster
                .as_deref_mut()
                .and_then(|rc| rc.catching_up.take())
                .unwrap_or_default();
            for m in missed {
                act.deliver(m);
            }
            for p in held {
                act.take(p, ctx);
            }
        }));
    }

    /// Makes the other nodes' members those of the member hash (`members`,
    /// read after the subscription was down), showing the members here a
    /// `QUIT` for each one gone meanwhile and a `JOIN` for each new one.
    fn reconcile(&mut self, members: Vec<MemberChange>) {
        let Some(rc) = self.cluster.as_deref_mut() else {
            return;
        };
        let me = rc.cluster.node_id();
        let now: BTreeMap<Folded, (Nick, UserHost)> = members
            .into_iter()
            .filter(|m| m.origin != me)
            .map(|m| (m.nick.folded().clone(), (m.nick, m.userhost)))
            .collect();
        let gone: Vec<(Nick, UserHost)> = rc
            .remote
            .iter()
            .filter(|(key, _)| !now.contains_key(*key))
            .map(|(_, member)| member.clone())
            .collect();
        let came: Vec<(Nick, UserHost)> = now
            .iter()
            .filter(|(key, _)| !rc.remote.contains_key(*key))
            .map(|(_, member)| member.clone())
            .collect();
        rc.remote = now;
        for (nick, userhost) in gone {
            let event = Event::Quit {
                nick,
                userhost,
                reason: None,
            };
            self.broadcast(&event, None);
        }
        for (nick, userhost) in came {
            let event = Event::Join {
                room: self.name.clone(),
                nick,
                userhost,
                realname: no_realname(),
                account: None,
            };
            self.broadcast(&event, None);
        }
    }

    /// Delivers what the subscription or the stream gave, unless it was
    /// delivered already.
    fn take(&mut self, published: Published, ctx: &mut Context<Self>) {
        match published {
            Published::Msg(m) => self.deliver(m),
            Published::Member(change) => self.remote_change(change),
            Published::Setting(change) => self.apply_setting(change, ctx),
            Published::File(file) => self.remote_file(file),
        }
    }

    /// Announces a file shared here by one of this node's members to the
    /// members of every other node (its content is kept in Redis by the
    /// uploader's session, before this).
    pub(super) fn share_file(&self, event: &Event) {
        let (
            Some(rc),
            Event::File {
                target,
                from,
                userhost,
                id,
                size,
                sha256,
                filename,
            },
        ) = (self.cluster.as_deref(), event)
        else {
            return;
        };
        let file = SharedFile {
            origin: rc.cluster.node_id().to_string(),
            userhost: userhost.clone(),
            record: FileRecord {
                id: id.clone(),
                target: target.clone(),
                from: from.clone(),
                size: *size,
                sha256: sha256.clone(),
                filename: filename.clone(),
                stored: SystemTime::now(),
            },
        };
        rc.cluster.share_file(self.name.folded().clone(), &file);
    }

    /// A file shared on another node: announced to the members here.
    fn remote_file(&mut self, file: SharedFile) {
        let Some(rc) = self.cluster.as_deref() else {
            return;
        };
        if file.origin == rc.cluster.node_id() {
            // Its members here were told when it was shared.
            return;
        }
        let r = file.record;
        let event = Event::File {
            target: crate::core::event::FileTarget::Room(self.name.clone()),
            from: r.from,
            userhost: file.userhost,
            id: r.id,
            size: r.size,
            sha256: r.sha256,
            filename: r.filename,
        };
        self.broadcast(&event, None);
    }

    fn deliver(&mut self, m: Incoming) {
        let Some(rc) = self.cluster.as_deref_mut() else {
            return;
        };
        if m.seq <= rc.delivered {
            return;
        }
        rc.delivered = m.seq;
        let own = rc.cluster.node_id() == m.origin;
        // The sender has its answer, not the message, unless it echoes.
        let except = (own && !m.echo).then(|| SessionId::from_number(m.sender));
        self.messages = self.messages.max(m.seq);
        let event = Event::Msg {
            room: self.name.clone(),
            from: m.from,
            userhost: m.userhost,
            text: m.text,
            kind: m.kind,
            meta: MsgMeta {
                seq: m.seq,
                time: m.time,
                tags: m.tags,
                account: m.account,
            },
        };
        self.broadcast(&event, except);
    }
}

impl Handler<Delivered> for Room {
    type Result = ();

    fn handle(&mut self, delivered: Delivered, ctx: &mut Self::Context) {
        let Some(rc) = self.cluster.as_deref_mut() else {
            return;
        };
        let published = match delivered {
            Delivered::Resumed => {
                self.reload_state(ctx);
                return self.catch_up(ctx);
            }
            Delivered::Rejoined(lost) => return self.announce_again(&lost),
            Delivered::Published(p) => p,
        };
        if let Some(held) = rc.catching_up.as_mut() {
            held.push(published);
            return;
        }
        // A number skipped: something was missed (the subscription
        // dropped and came back before the room heard of it).
        if let Published::Msg(m) = &published {
            if rc.delivered > 0 && m.seq > rc.delivered + 1 {
                self.catch_up(ctx);
                if let Some(held) = self
                    .cluster
                    .as_deref_mut()
                    .and_then(|rc| rc.catching_up.as_mut())
                {
                    held.push(published);
                }
                return;
            }
        }
        self.take(published, ctx);
    }
}
