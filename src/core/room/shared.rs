//! A cluster node's room settings (docs/CLUSTER.md, "Room state across
//! nodes"): owner, key, topic, modes, bans and operators are the
//! cluster's, kept in Redis. A TOPIC, MODE or KICK asked here is checked
//! here (is the asker an operator?), decided by Redis (`cluster/setting.rs`)
//! and applied, here as on every node, when the room's channel hands it
//! back: in the room's one order, with its messages. A node's room reads
//! the state before it answers a JOIN ([`KnownState`]).

use std::future::Future;
use std::time::SystemTime;

use actix::prelude::*;

use super::settings::Ban;
use super::{Room, RoomChanged};
use crate::core::cluster::wire::{Setting, SettingChange};
use crate::core::cluster::{Applied, RoomState};
use crate::core::error::ErrorCode;
use crate::core::event::{Event, RoomMode, UserHost};
use crate::core::member::{Removed, TopicInfo};
use crate::core::names::{Folded, Nick};

/// The room's settings as Redis had them when this node subscribed to
/// it (`None`: it has none there): taken on before a JOIN is answered.
#[derive(Message)]
#[rtype(result = "()")]
pub struct KnownState(pub Option<RoomState>);

impl Handler<KnownState> for Room {
    type Result = ();

    fn handle(&mut self, known: KnownState, _: &mut Self::Context) {
        if let Some(state) = known.0 {
            self.take_state(state);
        }
    }
}

/// Proposes changes of one room's settings to Redis, from outside the
/// room's actor.
pub(super) struct Proposer {
    cluster: crate::core::cluster::Cluster,
    room: crate::core::names::RoomName,
}

impl Proposer {
    /// Has Redis decide `what`, asked by `by`: what Redis made of it,
    /// `CLUSTER_UNAVAILABLE` when it did not answer.
    pub(super) fn propose(
        &self,
        by: &Nick,
        userhost: &UserHost,
        what: Setting,
    ) -> impl Future<Output = Result<Applied, ErrorCode>> + 'static {
        let change = SettingChange {
            ver: 0,
            time: SystemTime::UNIX_EPOCH,
            origin: self.cluster.node_id().to_string(),
            by: by.clone(),
            userhost: userhost.clone(),
            what,
        };
        let decided = self.cluster.change(&self.room, &change);
        let room = self.room.clone();
        async move {
            decided.await.map_err(|e| {
                tracing::warn!(%e, %room, "room setting not changed");
                ErrorCode::ClusterUnavailable
            })
        }
    }
}

impl Room {
    /// Whether this room's settings are the cluster's.
    pub(super) fn shared(&self) -> bool {
        self.cluster.is_some()
    }

    /// Has Redis decide `what`, asked by `by`: `None` on a standalone
    /// server; else what Redis made of it, `CLUSTER_UNAVAILABLE` when it
    /// did not answer.
    pub(super) fn propose(
        &self,
        by: &Nick,
        userhost: &UserHost,
        what: Setting,
    ) -> Option<impl Future<Output = Result<Applied, ErrorCode>> + 'static> {
        Some(self.proposer()?.propose(by, userhost, what))
    }

    /// [`Room::propose`] without waiting for Redis's answer (a failure is
    /// logged): the room's channel brings the change back to every node,
    /// this one too. False on a standalone server.
    pub(super) fn propose_in_background(
        &self,
        by: &Nick,
        userhost: &UserHost,
        what: Setting,
    ) -> bool {
        let Some(decided) = self.propose(by, userhost, what) else {
            return false;
        };
        actix_rt::spawn(async move {
            let _ = decided.await;
        });
        true
    }

    /// What proposes changes of this room's settings once the room has
    /// answered (after a lookup): `None` on a standalone server.
    pub(super) fn proposer(&self) -> Option<Proposer> {
        let rc = self.cluster.as_deref()?;
        Some(Proposer {
            cluster: rc.cluster.clone(),
            room: self.name.clone(),
        })
    }

    /// The account member `target` (folded), on whatever node, is logged
    /// in to: this node's members' from the room, another node's from
    /// its user's card in Redis. `None` on a standalone server.
    pub(super) fn account_anywhere(
        &self,
        target: &Nick,
    ) -> Option<impl Future<Output = Result<Option<Nick>, ErrorCode>> + 'static> {
        let rc = self.cluster.as_deref()?;
        let local = self
            .members
            .get(target.folded())
            .map(|m| self.account_of(m.id).cloned());
        let located = local.is_none().then(|| rc.cluster.locate(target));
        Some(async move {
            match (local, located) {
                (Some(account), _) => Ok(account),
                (None, Some(located)) => match located.await {
                    Ok(user) => Ok(user.and_then(|u| u.card.account)),
                    Err(e) => {
                        tracing::warn!(%e, "cannot read a user's card");
                        Err(ErrorCode::ClusterUnavailable)
                    }
                },
                (None, None) => Ok(None),
            }
        })
    }

    /// Makes member `target`, on whatever node, an operator (`on`) or no
    /// longer one, by its account too when it is logged in to one (read
    /// first: [`Room::account_anywhere`]), as Redis decides.
    pub(super) fn propose_op(
        &self,
        by: &Nick,
        userhost: &UserHost,
        target: Nick,
        on: bool,
    ) -> Option<impl Future<Output = Result<Applied, ErrorCode>> + 'static> {
        let account = self.account_anywhere(&target)?;
        let proposer = self.proposer()?;
        let (by, userhost) = (by.clone(), userhost.clone());
        // The bound is checked against this node's copy.
        let listed: Vec<Folded> = self
            .rights
            .as_ref()
            .map(|r| r.ops.iter().map(|o| o.folded().clone()).collect())
            .unwrap_or_default();
        Some(async move {
            let account = account.await?;
            if let Some(a) = account.as_ref().filter(|_| on) {
                if !listed.contains(a.folded()) && listed.len() >= super::rights::MAX_OP_ACCOUNTS {
                    return Err(ErrorCode::BadSyntax);
                }
            }
            let what = Setting::Op {
                target,
                on,
                account,
            };
            proposer.propose(&by, &userhost, what).await
        })
    }

    /// The member `target` (folded), here or on another node: its
    /// nickname as spelled.
    pub(super) fn anywhere(&self, target: &Folded) -> Option<Nick> {
        if let Some((key, m)) = self.members.get_key_value(target) {
            return Some(m.nick(key));
        }
        let rc = self.cluster.as_deref()?;
        rc.remote.get(target).map(|(nick, _)| nick.clone())
    }

    /// Every member, on every node.
    pub(super) fn member_count(&self) -> usize {
        let remote = self.cluster.as_deref().map_or(0, |rc| {
            rc.remote
                .keys()
                .filter(|k| !self.members.contains_key(*k))
                .count()
        });
        self.members.len() + remote
    }

    /// An invitation was used up here: the other nodes' JOINs no longer
    /// find it.
    pub(super) fn used_invitation(&self, nick: &Folded) {
        if let Some(rc) = self.cluster.as_deref() {
            let done = rc.cluster.mark_invite(&self.name, nick, false);
            actix_rt::spawn(async move {
                if let Err(e) = done.await {
                    tracing::warn!(%e, "used invitation not deleted in Redis");
                }
            });
        }
    }

    /// Tells Redis whether member `nick` of this node is an operator
    /// (for the other nodes' listings).
    pub(super) fn mark_op(&self, nick: &Nick, on: bool) {
        if let Some(rc) = self.cluster.as_deref() {
            rc.cluster.mark_op(&self.name, nick, on);
        }
    }

    /// Takes on the state Redis keeps, unless this room has applied a
    /// later change already.
    pub(super) fn take_state(&mut self, s: RoomState) {
        let Some(rc) = self.cluster.as_deref_mut() else {
            return;
        };
        if s.ver < rc.state_ver {
            return;
        }
        // Stored (where history is kept) once per change, not per JOIN.
        let newer = s.ver > rc.state_ver || rc.state_ver == 0;
        rc.state_ver = s.ver;
        rc.remote_ops = s
            .ops
            .iter()
            .map(|n| n.folded().clone())
            .filter(|k| !self.members.contains_key(k))
            .collect();
        self.owner = s.owner;
        match s.owner_account {
            Some(account) => self.rights_mut().owner = Some(account),
            None => {
                if let Some(r) = self.rights.as_mut() {
                    r.owner = None;
                }
            }
        }
        if !s.op_accounts.is_empty() || self.rights.is_some() {
            let mut ops = s.op_accounts;
            ops.truncate(super::rights::MAX_OP_ACCOUNTS);
            self.rights_mut().ops = ops;
        }
        self.key_hash = s.key_hash;
        self.topic = s.topic.map(|(text, by, at)| {
            Box::new(TopicInfo {
                text,
                set: Some((by, at)),
            })
        });
        let a = &mut self.admission;
        a.limit = s.limit;
        a.invite_only = s.invite_only;
        a.topic_locked = s.topic_locked;
        a.members_only = s.members_only;
        a.secret = s.secret;
        a.replace_invited(s.invited);
        a.replace_bans(
            s.bans
                .into_iter()
                .map(|(mask, by, at)| Ban { mask, by, at })
                .collect(),
        );
        if newer {
            self.save();
        }
    }

    /// Reads the room's state again (the subscription was made again:
    /// changes published meanwhile were missed).
    pub(super) fn reload_state(&mut self, ctx: &mut Context<Self>) {
        let Some(rc) = self.cluster.as_deref() else {
            return;
        };
        let read = rc.cluster.room_state(self.name.folded().clone());
        ctx.spawn(read.into_actor(self).map(|read, act, _| match read {
            Ok(Some(state)) => act.take_state(state),
            Ok(None) => {}
            Err(e) => tracing::warn!(%e, room = %act.name, "cannot read the room's state"),
        }));
    }

    /// A change Redis made, as the room's channel hands it (to every
    /// node, the one it was asked on too): applied, and shown to the
    /// members here.
    pub(super) fn apply_setting(&mut self, c: SettingChange, ctx: &mut Context<Self>) {
        let Some(rc) = self.cluster.as_deref_mut() else {
            return;
        };
        // Read with the room's state already (a JOIN read it after this
        // was published): shown, not applied again over later ones.
        let apply = c.ver == 0 || c.ver > rc.state_ver;
        rc.state_ver = rc.state_ver.max(c.ver);
        let own = c.origin == rc.cluster.node_id();
        let event = match c.what {
            Setting::Topic(text) => {
                if apply {
                    self.topic = Some(Box::new(TopicInfo {
                        text: text.clone(),
                        set: Some((c.by.clone(), c.time)),
                    }));
                }
                Event::Topic {
                    room: self.name.clone(),
                    nick: c.by,
                    userhost: c.userhost,
                    text,
                }
            }
            Setting::Kick { target, reason } => {
                let event = Event::Kick {
                    room: self.name.clone(),
                    nick: target.clone(),
                    by: c.by,
                    userhost: c.userhost,
                    reason,
                };
                self.broadcast(&event, None);
                self.kicked(&target);
                self.changed(ctx);
                return;
            }
            Setting::Mode { change, key_hash } => {
                if apply {
                    self.apply_mode(&change, key_hash, &c.by);
                }
                Event::Mode {
                    room: self.name.clone(),
                    nick: c.by,
                    userhost: c.userhost,
                    change,
                }
            }
            Setting::Op {
                target,
                on,
                account,
            } => {
                if apply {
                    self.apply_op(&target, on, account);
                }
                Event::Mode {
                    room: self.name.clone(),
                    nick: c.by,
                    userhost: c.userhost,
                    change: RoomMode::Op(target, on),
                }
            }
            Setting::Owner { target, account } => {
                // Shown to nobody, as on a single server.
                if apply {
                    self.apply_owner(target, account);
                    self.save();
                    self.report();
                }
                return;
            }
            Setting::Create { account, key_hash } => {
                // The node it was made on has it already; nothing to show.
                if apply && !own {
                    self.owner = Some(c.by);
                    if let Some(account) = account {
                        self.rights_mut().owner = Some(account);
                    }
                    self.key_hash = key_hash;
                    self.save();
                    self.report();
                }
                return;
            }
        };
        if apply {
            self.save();
        }
        self.broadcast(&event, None);
        self.report();
    }

    /// Tells the directory what LIST shows of the room now.
    fn report(&self) {
        self.reports.changed.do_send(RoomChanged {
            summary: self.summary(),
        });
    }

    /// A KICK reached this node: its member goes (told so, and its PART
    /// published for the member hash), or the other node's is forgotten
    /// without a line (the KICK was the line).
    fn kicked(&mut self, target: &Nick) {
        let key = target.folded();
        if let Some(id) = self.members.get(key).map(|m| m.id) {
            let who = super::MemberKey {
                id,
                nick: key.clone(),
            };
            if let Some((nick, m)) = self.remove(&who) {
                self.announce(
                    crate::core::cluster::wire::Change::Part,
                    &nick,
                    &m.userhost,
                    Some("kicked"),
                );
                if let Some(session) = m.removed.upgrade() {
                    session.do_send(Removed {
                        room: self.name.folded().clone(),
                    });
                }
            }
        } else if let Some(rc) = self.cluster.as_deref_mut() {
            rc.remote.remove(key);
            rc.remote_ops.remove(key);
        }
    }

    /// Applies an operator change Redis made: the member's status here
    /// (or in the other nodes' listing), and its account's.
    fn apply_op(&mut self, target: &Nick, on: bool, account: Option<Nick>) {
        if let Some(account) = account {
            let ops = &mut self.rights_mut().ops;
            ops.retain(|o| o.folded() != account.folded());
            if on && ops.len() < super::rights::MAX_OP_ACCOUNTS {
                ops.push(account);
            }
        }
        let key = target.folded();
        if let Some(member) = self.members.get_mut(key) {
            member.op = on;
        } else if let Some(rc) = self.cluster.as_deref_mut() {
            if on {
                rc.remote_ops.insert(key.clone());
            } else {
                rc.remote_ops.remove(key);
            }
        }
    }

    /// Applies a change of owner Redis made: the account owns the room,
    /// and its member (on whatever node) is an operator.
    fn apply_owner(&mut self, target: Nick, account: Nick) {
        self.rights_mut().owner = Some(account);
        let key = target.folded().clone();
        self.owner = Some(target);
        if let Some(member) = self.members.get_mut(&key) {
            if !member.op {
                member.op = true;
                let nick = member.nick(&key);
                self.mark_op(&nick, true);
            }
        } else if let Some(rc) = self.cluster.as_deref_mut() {
            if rc.remote.contains_key(&key) {
                rc.remote_ops.insert(key);
            }
        }
    }

    /// Applies a mode change Redis made.
    fn apply_mode(&mut self, change: &RoomMode, key_hash: Option<String>, by: &Nick) {
        let a = &mut self.admission;
        match change {
            RoomMode::Key(_) => self.key_hash = key_hash,
            RoomMode::NoKey => self.key_hash = None,
            RoomMode::Op(nick, on) => {
                let key = nick.folded();
                if self.members.contains_key(key) {
                    // Kept by account too, when the member is logged in.
                    let _ = self.set_op(key, *on);
                } else if let Some(rc) = self.cluster.as_deref_mut() {
                    if *on {
                        rc.remote_ops.insert(key.clone());
                    } else {
                        rc.remote_ops.remove(key);
                    }
                }
            }
            RoomMode::Limit(limit) => a.limit = *limit,
            RoomMode::InviteOnly(on) => a.invite_only = *on,
            RoomMode::TopicLocked(on) => a.topic_locked = *on,
            RoomMode::MembersOnly(on) => a.members_only = *on,
            RoomMode::Secret(on) => a.secret = *on,
            RoomMode::Ban(mask, on) => {
                // Redis kept the bound; a copy here past it is let be.
                let _ = a.set_ban(mask, by, *on);
            }
        }
    }
}

/// What a settings request answers once Redis decided it: `ok` when it
/// changed something or was so already, `BadSyntax` past the bans' bound.
pub(super) async fn settled<T>(
    decided: impl Future<Output = Result<Applied, ErrorCode>> + 'static,
    ok: T,
) -> Result<T, ErrorCode> {
    match decided.await? {
        Applied::Changed | Applied::Unchanged => Ok(ok),
        Applied::TooManyBans => Err(ErrorCode::BadSyntax),
    }
}
