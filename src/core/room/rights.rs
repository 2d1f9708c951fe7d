//! What a room keeps by account: the owning account, operators granted by
//! account, and which members are logged in to which account.
//!
//! A room made by a logged-in user belongs to that user's account: whoever
//! is logged in to it owns the room, whatever its nickname, and a stranger
//! on the same nickname does not. A room made by a user without an account
//! keeps the older rule: its owner is a nickname, which follows that
//! user's NICK changes (and which anyone holding the nickname after a
//! restart owns). Operators granted to a logged-in member are kept by its
//! account (stored, and an operator whenever it joins); to a member
//! without one, for as long as it stays (IRC's presence rule).

use actix::prelude::*;

use super::{MemberKey, Room, RoomHandle};
use crate::core::error::ErrorCode;
use crate::core::event::{Event, RoomMode, UserHost};
use crate::core::member::SessionId;
use crate::core::member::{deliver_once, Inbox};
use crate::core::names::{Folded, Nick, RoomName, STORED_NAME_LIMIT};
use crate::core::store::RoomRecord;

/// Operators a room keeps by account at most.
pub const MAX_OP_ACCOUNTS: usize = 64;

/// A room's rights by account (boxed in [`Room`]).
#[derive(Debug, Default)]
pub(super) struct Rights {
    /// The owning account, if an account owns the room.
    pub(super) owner: Option<Nick>,
    /// Accounts made operators.
    pub(super) ops: Vec<Nick>,
    /// Members logged in, and to which account.
    members: Vec<(SessionId, Nick)>,
}

impl Rights {
    /// The rights a stored room had; `None` when it had none.
    pub(super) fn restore(record: &RoomRecord) -> Option<Box<Rights>> {
        let parse = |s: &String| Nick::parse(s, STORED_NAME_LIMIT).ok();
        let owner = record.owner_account.as_ref().and_then(parse);
        let ops: Vec<Nick> = record.ops.iter().filter_map(parse).collect();
        (owner.is_some() || !ops.is_empty()).then(|| {
            Box::new(Rights {
                owner,
                ops,
                members: Vec::new(),
            })
        })
    }

    pub(super) fn account_of(&self, id: SessionId) -> Option<&Nick> {
        self.members
            .iter()
            .find(|(m, _)| *m == id)
            .map(|(_, account)| account)
    }

    fn is_op(&self, account: &Nick) -> bool {
        self.ops.iter().any(|o| o.folded() == account.folded())
    }
}

impl Room {
    pub(super) fn rights_mut(&mut self) -> &mut Rights {
        self.rights.get_or_insert_with(Box::default)
    }

    /// Records which account member `id` is logged in to (`None`: none).
    pub(super) fn note_account(&mut self, id: SessionId, account: Option<Nick>) {
        if account.is_none() && self.rights.is_none() {
            return;
        }
        let rights = self.rights_mut();
        rights.members.retain(|(m, _)| *m != id);
        if let Some(account) = account {
            rights.members.push((id, account));
        }
    }

    /// Whether member `id`'s account was made an operator.
    pub(super) fn is_op_account(&self, id: SessionId) -> bool {
        let Some(rights) = &self.rights else {
            return false;
        };
        rights.account_of(id).is_some_and(|a| rights.is_op(a))
    }

    /// Makes a new room's creator its owner: by account when logged in.
    pub(super) fn set_creator(&mut self, nick: &Nick, account: Option<Nick>) {
        self.owner = Some(nick.clone());
        if let Some(account) = account {
            self.rights_mut().owner = Some(account);
        }
    }

    /// Whether the owner is an account (then a NICK change moves nothing).
    pub(super) fn owned_by_account(&self) -> bool {
        self.rights.as_ref().is_some_and(|r| r.owner.is_some())
    }

    /// Whether the room holds what is worth keeping though empty: an
    /// owning account, operators by account, bans.
    pub(super) fn keeps_rights(&self) -> bool {
        self.rights
            .as_ref()
            .is_some_and(|r| r.owner.is_some() || !r.ops.is_empty())
            || !self.admission.bans().is_empty()
    }

    /// The owning account, if any.
    pub(super) fn owner_account(&self) -> Option<Nick> {
        self.rights.as_ref().and_then(|r| r.owner.clone())
    }

    /// The member `who` if it owns the room (`NotOwner` if not, `NotInRoom`
    /// if it is no member).
    fn owner_asking(&self, who: &MemberKey) -> Result<Nick, ErrorCode> {
        let by = self.nick_of(who).ok_or(ErrorCode::NotInRoom)?;
        if self.is_owner(who.id, &by) {
            Ok(by)
        } else {
            Err(ErrorCode::NotOwner)
        }
    }

    /// Makes member `target` an operator or no longer one, by account when
    /// it is logged in (stored); announced as a mode change. Whether
    /// anything changed.
    pub(super) fn set_op(&mut self, target: &Folded, on: bool) -> Result<(Nick, bool), ErrorCode> {
        let member = self.members.get(target).ok_or(ErrorCode::NoSuchNick)?;
        let (id, nick, was) = (member.id, member.nick(target), member.op);
        let mut changed = was != on;
        if let Some(account) = self.account_of(id).cloned() {
            let rights = self.rights_mut();
            let listed = rights.is_op(&account);
            if on && !listed {
                if rights.ops.len() >= MAX_OP_ACCOUNTS {
                    return Err(ErrorCode::BadSyntax);
                }
                rights.ops.push(account);
                changed = true;
            } else if !on && listed {
                rights.ops.retain(|o| o.folded() != account.folded());
                changed = true;
            }
        }
        if let Some(member) = self.members.get_mut(target) {
            member.op = on;
        }
        Ok((nick, changed))
    }
}

/// A member logged in (`Some`) or out (`None`): the room now knows it by
/// that account, and makes it an operator if the account owns the room
/// or was made one.
#[derive(Message)]
#[rtype(result = "Vec<Inbox>")]
pub struct SetAccount {
    /// The member.
    pub who: MemberKey,
    /// Its user and host, for the mode event.
    pub userhost: UserHost,
    /// Its account now.
    pub account: Option<Nick>,
}

impl Handler<SetAccount> for Room {
    /// Every member, to tell them (IRC `account-notify`).
    type Result = MessageResult<SetAccount>;

    fn handle(&mut self, msg: SetAccount, ctx: &mut Self::Context) -> Self::Result {
        let Some(key) = self.find(&msg.who).cloned() else {
            return MessageResult(Vec::new());
        };
        self.note_account(msg.who.id, msg.account);
        let Some(member) = self.members.get(&key) else {
            return MessageResult(Vec::new());
        };
        let nick = member.nick(&key);
        if !member.op && (self.is_owner(msg.who.id, &nick) || self.is_op_account(msg.who.id)) {
            if let Some(member) = self.members.get_mut(&key) {
                member.op = true;
            }
            // A cluster node's other nodes are shown it too: the room's
            // channel brings it back to every node, this one too.
            let what = crate::core::cluster::wire::Setting::Op {
                target: nick.clone(),
                on: true,
                account: None,
            };
            if self.propose_in_background(&nick, &msg.userhost, what) {
                return MessageResult(self.inboxes());
            }
            let event = Event::Mode {
                room: self.name.clone(),
                nick: nick.clone(),
                userhost: msg.userhost,
                change: RoomMode::Op(nick, true),
            };
            self.broadcast(&event, None);
            self.changed(ctx);
        }
        MessageResult(self.inboxes())
    }
}

/// Tells each of `rooms` that member `who` (seen as `nick!userhost`)
/// logged in to `account` (or out), at once (so that a command the member
/// sends next finds it logged in there); the future returned then tells
/// everyone sharing one of them, once, but the member itself: an
/// [`Event::Account`] (IRC `account-notify`).
pub fn announce_login(
    rooms: &[RoomHandle],
    who: MemberKey,
    nick: Nick,
    userhost: UserHost,
    account: Option<Nick>,
) -> impl std::future::Future<Output = ()> + 'static {
    // `send` queues the message now; only the answers are awaited.
    let asked: Vec<_> = rooms
        .iter()
        .map(|room| {
            room.send(SetAccount {
                who: who.clone(),
                userhost: userhost.clone(),
                account: account.clone(),
            })
        })
        .collect();
    async move {
        let mut audience = Vec::with_capacity(asked.len());
        for told in asked {
            if let Ok(mut members) = told.await {
                members.retain(|m| m.id != who.id);
                audience.push(members);
            }
        }
        if !audience.is_empty() {
            let event = Event::Account {
                nick,
                userhost,
                account,
            };
            deliver_once(audience, &event);
        }
    }
}

/// The owner makes a member an operator (`on`) or no longer one: native
/// `OP` and `DEOP`. Answers the member's nickname.
#[derive(Message)]
#[rtype(result = "Result<(RoomName, Nick), ErrorCode>")]
pub struct Grant {
    /// The owner asking.
    pub who: MemberKey,
    /// Its user and host, for the mode event.
    pub userhost: UserHost,
    /// The member, folded.
    pub target: Folded,
    /// Operator or not.
    pub on: bool,
}

impl Handler<Grant> for Room {
    /// At once on a standalone server; once Redis decided on a cluster
    /// node (`shared.rs`), where the member may be on any node.
    type Result = ResponseFuture<Result<(RoomName, Nick), ErrorCode>>;

    fn handle(&mut self, msg: Grant, ctx: &mut Self::Context) -> Self::Result {
        let ready = |res| -> Self::Result { Box::pin(std::future::ready(res)) };
        let by = match self.owner_asking(&msg.who) {
            Ok(by) => by,
            Err(e) => return ready(Err(e)),
        };
        if self.shared() {
            let Some(nick) = self.anywhere(&msg.target) else {
                return ready(Err(ErrorCode::NoSuchNick));
            };
            let Some(decided) = self.propose_op(&by, &msg.userhost, nick.clone(), msg.on) else {
                return ready(Err(ErrorCode::Internal));
            };
            return Box::pin(super::shared::settled(decided, (self.name.clone(), nick)));
        }
        ready(self.grant(by, msg, ctx))
    }
}

impl Room {
    fn grant(
        &mut self,
        by: Nick,
        msg: Grant,
        ctx: &mut Context<Self>,
    ) -> Result<(RoomName, Nick), ErrorCode> {
        let (nick, changed) = self.set_op(&msg.target, msg.on)?;
        if changed {
            let event = Event::Mode {
                room: self.name.clone(),
                nick: by,
                userhost: msg.userhost,
                change: RoomMode::Op(nick.clone(), msg.on),
            };
            self.save();
            self.broadcast(&event, None);
            self.changed(ctx);
        }
        Ok((self.name.clone(), nick))
    }
}

/// The owner gives the room to a member logged in to an account: that
/// account owns it from now on. Answers the new owner's account.
#[derive(Message)]
#[rtype(result = "Result<(RoomName, Nick), ErrorCode>")]
pub struct SetOwner {
    /// The owner asking.
    pub who: MemberKey,
    /// The member, folded.
    pub target: Folded,
}

impl Handler<SetOwner> for Room {
    /// At once on a standalone server; once Redis decided on a cluster
    /// node (`shared.rs`), where the member may be on any node.
    type Result = ResponseFuture<Result<(RoomName, Nick), ErrorCode>>;

    fn handle(&mut self, msg: SetOwner, ctx: &mut Self::Context) -> Self::Result {
        if self.shared() {
            return self.shared_owner(msg);
        }
        Box::pin(std::future::ready(self.set_owner(msg, ctx)))
    }
}

impl Room {
    fn set_owner(
        &mut self,
        msg: SetOwner,
        ctx: &mut Context<Self>,
    ) -> Result<(RoomName, Nick), ErrorCode> {
        self.owner_asking(&msg.who)?;
        let member = self.members.get(&msg.target).ok_or(ErrorCode::NoSuchNick)?;
        let (id, nick) = (member.id, member.nick(&msg.target));
        let account = self.account_of(id).cloned().ok_or(ErrorCode::NotLoggedIn)?;
        self.owner = Some(nick);
        self.rights_mut().owner = Some(account.clone());
        if let Some(member) = self.members.get_mut(&msg.target) {
            member.op = true;
        }
        self.save();
        self.changed(ctx);
        Ok((self.name.clone(), account))
    }
}

impl Room {
    /// A cluster node's OWNER: the member may be on any node, its account
    /// read there; Redis decides, and every node applies it from the
    /// room's channel (`shared.rs`).
    fn shared_owner(&self, msg: SetOwner) -> ResponseFuture<Result<(RoomName, Nick), ErrorCode>> {
        let ready = |res| -> ResponseFuture<_> { Box::pin(std::future::ready(res)) };
        let by = match self.owner_asking(&msg.who) {
            Ok(by) => by,
            Err(e) => return ready(Err(e)),
        };
        let Some(target) = self.anywhere(&msg.target) else {
            return ready(Err(ErrorCode::NoSuchNick));
        };
        let userhost = self
            .members
            .get(by.folded())
            .map_or_else(UserHost::native, |m| m.userhost.clone());
        let (Some(account), Some(proposer)) = (self.account_anywhere(&target), self.proposer())
        else {
            return ready(Err(ErrorCode::Internal));
        };
        let name = self.name.clone();
        Box::pin(async move {
            let account = account.await?.ok_or(ErrorCode::NotLoggedIn)?;
            let what = crate::core::cluster::wire::Setting::Owner {
                target,
                account: account.clone(),
            };
            super::shared::settled(proposer.propose(&by, &userhost, what), (name, account)).await
        })
    }
}
