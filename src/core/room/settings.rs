//! What a room's operators decide: its key, its operators, who may come
//! in (a member limit, invite-only, invitations) and who may set the
//! topic. IRC shows these as channel modes; the native protocol shows the
//! key in `INFO`.
//!
//! The owner (the room's creator, stored, shown natively) is an operator
//! whenever it joins; operators may make other members operators, and
//! unmake any (the owner too, until it next joins). Operators are a
//! presence: one that leaves is no longer one.
//!
//! The key, the owner, the topic, the bans and operators by account
//! (`rights.rs`) are stored; the limit, the invite-only flag, the topic
//! lock and the invitations live as long as the room's actor (a stored
//! room forgets them at a restart).

use std::collections::HashSet;
use std::time::SystemTime;

use actix::prelude::*;

use super::{MemberKey, Room};
use crate::core::directory::Wildcard;
use crate::core::error::ErrorCode;
use crate::core::event::{Event, RoomMode, UserHost};
use crate::core::names::{Folded, Nick, RoomName, STORED_NAME_LIMIT};
use crate::core::store::BanRecord;

/// Invitations one room keeps at most: the oldest is dropped for a new
/// one past this (an invitation is a nickname, some 30 bytes).
pub const MAX_INVITES: usize = 256;

/// Bans one room keeps at most (a further one is refused `BadSyntax`), so
/// that the list stays cheap to check at every join.
pub const MAX_BANS: usize = 64;

/// The prefix of a ban mask that names an account (`$a:alice`), as
/// Ergo's and InspIRCd's extbans spell it.
pub const ACCOUNT_BAN: &str = "$a:";

/// A ban: whom it keeps out, who set it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    /// The pattern as set (`nick!user@host` with wildcards), matched
    /// against a joiner's `nick!user@host`, case aside.
    pub mask: String,
    /// Who set it.
    pub by: Nick,
    /// When.
    pub at: SystemTime,
}

/// Who may come into a room and who may set its topic, besides its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// At most this many members; others are refused `RoomFull` unless
    /// invited.
    pub limit: Option<u32>,
    /// Only invited users may join (`InviteOnly` for the others).
    pub invite_only: bool,
    /// Only operators set the topic (the default); when off, any member.
    pub topic_locked: bool,
    /// Only members speak in the room (the default); when off, anyone
    /// may say something to it from outside ([`SayOutside`](super::SayOutside)).
    pub members_only: bool,
    /// Hidden from those outside: not listed to them, its members not
    /// shown to them.
    pub secret: bool,
    /// Folded nicknames invited and not yet come, oldest first; an
    /// invitation lets its holder past bans, the limit and invite-only,
    /// once.
    invited: Vec<Folded>,
    /// Who may not join, oldest first.
    bans: Vec<Ban>,
}

impl Default for Admission {
    fn default() -> Self {
        Admission {
            limit: None,
            invite_only: false,
            topic_locked: true,
            members_only: true,
            secret: false,
            invited: Vec::new(),
            bans: Vec::new(),
        }
    }
}

impl Ban {
    /// Whether the ban keeps out a user seen as `mask` (`nick!user@host`),
    /// logged in to `account` (folded) if at all: `$a:<account>` matches
    /// that account, any other pattern the mask.
    pub fn matches(&self, mask: &str, account: Option<&Folded>) -> bool {
        match self.mask.get(..ACCOUNT_BAN.len()) {
            Some(prefix) if prefix.eq_ignore_ascii_case(ACCOUNT_BAN) => {
                let name = &self.mask[ACCOUNT_BAN.len()..];
                account.is_some_and(|a| {
                    Nick::parse(name, STORED_NAME_LIMIT).is_ok_and(|n| n.folded() == a)
                })
            }
            _ => Wildcard::new(&self.mask).matches(mask),
        }
    }
}

impl Admission {
    /// The settings a stored room had: its bans (the rest is not stored).
    pub fn restore(bans: &[BanRecord]) -> Admission {
        let bans = bans
            .iter()
            .filter_map(|b| {
                Some(Ban {
                    mask: b.mask.clone(),
                    by: Nick::parse(&b.by, STORED_NAME_LIMIT).ok()?,
                    at: b.at,
                })
            })
            .take(MAX_BANS)
            .collect();
        Admission {
            bans,
            ..Admission::default()
        }
    }

    /// The bans as stored.
    pub fn ban_records(&self) -> Vec<BanRecord> {
        self.bans
            .iter()
            .map(|b| BanRecord {
                mask: b.mask.clone(),
                by: b.by.as_str().to_string(),
                at: b.at,
            })
            .collect()
    }

    /// Whether `nick`, seen as `mask` (`nick!user@host`) and logged in to
    /// `account` if at all, may join a room of `members` members; an
    /// invitation it holds is used up.
    pub fn admit(
        &mut self,
        nick: &Folded,
        mask: &str,
        account: Option<&Folded>,
        members: usize,
    ) -> Result<(), ErrorCode> {
        if let Some(i) = self.invited.iter().position(|n| n == nick) {
            self.invited.remove(i);
            return Ok(());
        }
        if self.bans.iter().any(|b| b.matches(mask, account)) {
            return Err(ErrorCode::Banned);
        }
        if self.invite_only {
            return Err(ErrorCode::InviteOnly);
        }
        if self
            .limit
            .is_some_and(|l| members >= usize::try_from(l).unwrap_or(usize::MAX))
        {
            return Err(ErrorCode::RoomFull);
        }
        Ok(())
    }

    /// Records an invitation for `nick` (again: it stays one).
    pub fn invite(&mut self, nick: &Folded) {
        if self.invited.contains(nick) {
            return;
        }
        if self.invited.len() >= MAX_INVITES {
            self.invited.remove(0);
        }
        self.invited.push(nick.clone());
    }

    /// Whether `nick` holds an invitation.
    pub fn is_invited(&self, nick: &Folded) -> bool {
        self.invited.contains(nick)
    }

    /// The bans, oldest first.
    pub fn bans(&self) -> &[Ban] {
        &self.bans
    }

    /// Adds a ban (`true`) unless there is one with that mask, or removes
    /// it; whether anything changed. `BadSyntax` past [`MAX_BANS`].
    pub(super) fn set_ban(&mut self, mask: &str, by: &Nick, on: bool) -> Result<bool, ErrorCode> {
        let same = |b: &Ban| b.mask.eq_ignore_ascii_case(mask);
        let found = self.bans.iter().position(same);
        match (on, found) {
            (true, Some(_)) | (false, None) => Ok(false),
            (true, None) if self.bans.len() >= MAX_BANS => Err(ErrorCode::BadSyntax),
            (true, None) => {
                self.bans.push(Ban {
                    mask: mask.to_string(),
                    by: by.clone(),
                    at: SystemTime::now(),
                });
                Ok(true)
            }
            (false, Some(i)) => {
                self.bans.remove(i);
                Ok(true)
            }
        }
    }

    /// Replaces the invitations (a cluster node's room taking on the
    /// cluster's).
    pub(super) fn replace_invited(&mut self, mut invited: Vec<Folded>) {
        invited.truncate(MAX_INVITES);
        self.invited = invited;
    }

    /// Replaces the bans (a cluster node's room taking on the cluster's).
    pub(super) fn replace_bans(&mut self, mut bans: Vec<Ban>) {
        bans.truncate(MAX_BANS);
        self.bans = bans;
    }

    /// The distinct invitations, for tests and listings.
    pub fn invited(&self) -> HashSet<&Folded> {
        self.invited.iter().collect()
    }
}

/// Changes a room's settings (operators only), announcing each change as an
/// [`Event::Mode`] to every member; a change to what already is, is no
/// change and is not announced.
#[derive(Message)]
#[rtype(result = "Result<(), ErrorCode>")]
pub struct SetMode {
    /// The owner asking.
    pub who: MemberKey,
    /// Its user and host, for the event.
    pub userhost: UserHost,
    /// What to change.
    pub change: ModeRequest,
}

/// Whether a member may change the room's settings (is an operator): asked
/// before a key is hashed for `+k`, so that only an operator's key costs a
/// hash; [`SetMode`] checks again.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct IsOp {
    /// The member.
    pub who: MemberKey,
}

impl Handler<IsOp> for Room {
    type Result = bool;

    fn handle(&mut self, msg: IsOp, _: &mut Self::Context) -> bool {
        self.nick_of(&msg.who).is_some_and(|nick| self.is_op(&nick))
    }
}

/// A change [`SetMode`] asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModeRequest {
    /// Make the room private with this key (or change its key), hashed
    /// beforehand (through the password gate: see [`IsOp`]).
    Key {
        /// The key, shown to members in the change.
        clear: String,
        /// Its hash (`room_key::hash_key`).
        hash: String,
    },
    /// Make the room public.
    NoKey,
    /// Make this member (by folded nickname) an operator, or no longer
    /// one (the owner too: it is one again when it next joins).
    Op(Folded, bool),
    /// Limit the members to this many (at least 1), or lift the limit.
    Limit(Option<u32>),
    /// Let only invited users in, or everyone.
    InviteOnly(bool),
    /// Let only operators set the topic, or every member.
    TopicLocked(bool),
    /// Let only members speak, or anyone.
    MembersOnly(bool),
    /// Hide the room from those outside it, or not.
    Secret(bool),
    /// Keep out (`true`) those whose `nick!user@host` matches this
    /// pattern, or no longer.
    Ban(String, bool),
}

impl Room {
    /// Announces and stores a changed setting.
    fn mode_changed(
        &mut self,
        by: Nick,
        userhost: UserHost,
        change: RoomMode,
        ctx: &mut Context<Self>,
    ) {
        let event = Event::Mode {
            room: self.name.clone(),
            nick: by,
            userhost,
            change,
        };
        self.save();
        self.broadcast(&event, None);
        self.changed(ctx);
    }

    /// Applies a change that needs no hashing; `None` when nothing
    /// changed.
    fn set_admission(&mut self, change: &ModeRequest) -> Option<RoomMode> {
        let a = &mut self.admission;
        match *change {
            ModeRequest::Limit(limit) if a.limit != limit => {
                a.limit = limit;
                Some(RoomMode::Limit(limit))
            }
            ModeRequest::InviteOnly(on) if a.invite_only != on => {
                a.invite_only = on;
                Some(RoomMode::InviteOnly(on))
            }
            ModeRequest::TopicLocked(on) if a.topic_locked != on => {
                a.topic_locked = on;
                Some(RoomMode::TopicLocked(on))
            }
            ModeRequest::MembersOnly(on) if a.members_only != on => {
                a.members_only = on;
                Some(RoomMode::MembersOnly(on))
            }
            ModeRequest::Secret(on) if a.secret != on => {
                a.secret = on;
                Some(RoomMode::Secret(on))
            }
            _ => None,
        }
    }
}

impl Handler<SetMode> for Room {
    // Every answer is ready at once: a key comes hashed (see `IsOp`).
    type Result = AtomicResponse<Self, Result<(), ErrorCode>>;

    fn handle(&mut self, msg: SetMode, ctx: &mut Self::Context) -> Self::Result {
        let done = |res| AtomicResponse::new(Box::pin(actix::fut::ready(res)));
        let Some(by) = self.nick_of(&msg.who) else {
            return done(Err(ErrorCode::NotInRoom));
        };
        if !self.is_op(&by) {
            return done(Err(ErrorCode::NotOwner));
        }
        if self.shared() {
            return match self.shared_mode(&by, &msg.userhost, msg.change) {
                Ok(decided) => AtomicResponse::new(Box::pin(actix::fut::wrap_future(decided))),
                Err(e) => done(Err(e)),
            };
        }
        match msg.change {
            ModeRequest::NoKey => {
                self.key_hash = None;
                self.mode_changed(by, msg.userhost, RoomMode::NoKey, ctx);
                done(Ok(()))
            }
            // Kept by account when the member is logged in to one.
            ModeRequest::Op(target, on) => match self.set_op(&target, on) {
                Ok((nick, changed)) => {
                    if changed {
                        self.mode_changed(by, msg.userhost, RoomMode::Op(nick, on), ctx);
                    }
                    done(Ok(()))
                }
                Err(e) => done(Err(e)),
            },
            ModeRequest::Key { clear, hash } => {
                self.key_hash = Some(hash);
                self.mode_changed(by, msg.userhost, RoomMode::Key(clear), ctx);
                done(Ok(()))
            }
            ModeRequest::Limit(Some(0)) => done(Err(ErrorCode::BadSyntax)),
            ModeRequest::Ban(mask, on) => match self.admission.set_ban(&mask, &by, on) {
                Ok(true) => {
                    self.mode_changed(by, msg.userhost, RoomMode::Ban(mask, on), ctx);
                    done(Ok(()))
                }
                other => done(other.map(|_| ())),
            },
            change => {
                if let Some(mode) = self.set_admission(&change) {
                    self.mode_changed(by, msg.userhost, mode, ctx);
                }
                done(Ok(()))
            }
        }
    }
}

/// What Redis made of a cluster node's mode change, once it answers.
type Decided = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ErrorCode>>>>;

impl Room {
    /// A cluster node's mode change: the [`RoomMode`] members are to be
    /// shown, decided by Redis and applied when the room's channel hands
    /// it back (`shared.rs`). `NoSuchNick` for an operator change of no
    /// member on any node.
    fn shared_mode(
        &self,
        by: &Nick,
        userhost: &UserHost,
        change: ModeRequest,
    ) -> Result<Decided, ErrorCode> {
        let (mode, key_hash) = match change {
            ModeRequest::Key { clear, hash } => (RoomMode::Key(clear), Some(hash)),
            ModeRequest::NoKey => (RoomMode::NoKey, None),
            // By account too: the account is read first.
            ModeRequest::Op(target, on) => {
                let nick = self.anywhere(&target).ok_or(ErrorCode::NoSuchNick)?;
                let decided = self
                    .propose_op(by, userhost, nick, on)
                    .ok_or(ErrorCode::Internal)?;
                return Ok(Box::pin(super::shared::settled(decided, ())));
            }
            ModeRequest::Limit(Some(0)) => return Err(ErrorCode::BadSyntax),
            ModeRequest::Limit(limit) => (RoomMode::Limit(limit), None),
            ModeRequest::InviteOnly(on) => (RoomMode::InviteOnly(on), None),
            ModeRequest::TopicLocked(on) => (RoomMode::TopicLocked(on), None),
            ModeRequest::MembersOnly(on) => (RoomMode::MembersOnly(on), None),
            ModeRequest::Secret(on) => (RoomMode::Secret(on), None),
            ModeRequest::Ban(mask, on) => (RoomMode::Ban(mask, on), None),
        };
        let what = crate::core::cluster::wire::Setting::Mode {
            change: mode,
            key_hash,
        };
        let decided = self
            .propose(by, userhost, what)
            .ok_or(ErrorCode::Internal)?;
        Ok(Box::pin(super::shared::settled(decided, ())))
    }
}

/// The bans of a room, oldest first.
#[derive(Message)]
#[rtype(result = "Vec<Ban>")]
pub struct GetBans;

impl Handler<GetBans> for Room {
    type Result = MessageResult<GetBans>;

    fn handle(&mut self, _: GetBans, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.admission.bans().to_vec())
    }
}

/// A member invites a user into the room: the room keeps the invitation
/// (which lets the user past invite-only and the limit, once) and answers
/// the room's name; the inviter's front end tells the user. Anyone in the
/// room may invite, unless it is invite-only: then only an operator.
#[derive(Message)]
#[rtype(result = "Result<RoomName, ErrorCode>")]
pub struct Invite {
    /// The inviting member.
    pub who: MemberKey,
    /// The invited user (folded), who must not be a member.
    pub target: Folded,
}

impl Handler<Invite> for Room {
    /// At once on a standalone server; on a cluster node once Redis
    /// keeps the invitation (a JOIN on any node then finds it).
    type Result = ResponseFuture<Result<RoomName, ErrorCode>>;

    fn handle(&mut self, msg: Invite, _: &mut Self::Context) -> Self::Result {
        let ready = |res| -> Self::Result { Box::pin(std::future::ready(res)) };
        let Some(by) = self.nick_of(&msg.who) else {
            return ready(Err(ErrorCode::NotInRoom));
        };
        if self.admission.invite_only && !self.is_op(&by) {
            return ready(Err(ErrorCode::NotOwner));
        }
        if self.anywhere(&msg.target).is_some() {
            return ready(Err(ErrorCode::AlreadyInRoom));
        }
        self.admission.invite(&msg.target);
        let name = self.name.clone();
        match self.cluster.as_deref() {
            Some(rc) => {
                let kept = rc.cluster.mark_invite(&self.name, &msg.target, true);
                Box::pin(async move {
                    kept.await.map_err(|e| {
                        tracing::warn!(%e, room = %name, "invitation not kept in Redis");
                        ErrorCode::ClusterUnavailable
                    })?;
                    Ok(name)
                })
            }
            None => ready(Ok(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::names::Nick;

    const BOB: &str = "bob!~bob@irc";

    fn folded(s: &str) -> Folded {
        Nick::parse(s, 24).unwrap().folded().clone()
    }

    #[test]
    fn a_limit_refuses_past_it_and_an_invitation_passes_once() {
        let mut a = Admission {
            limit: Some(2),
            ..Admission::default()
        };
        assert_eq!(a.admit(&folded("bob"), BOB, None, 1), Ok(()));
        assert_eq!(
            a.admit(&folded("bob"), BOB, None, 2),
            Err(ErrorCode::RoomFull)
        );
        a.invite(&folded("Bob"));
        assert!(a.is_invited(&folded("BOB")));
        assert_eq!(a.admit(&folded("bob"), BOB, None, 5), Ok(()));
        assert_eq!(
            a.admit(&folded("bob"), BOB, None, 5),
            Err(ErrorCode::RoomFull)
        );
    }

    #[test]
    fn invite_only_lets_in_the_invited_alone() {
        let mut a = Admission {
            invite_only: true,
            ..Admission::default()
        };
        assert_eq!(
            a.admit(&folded("bob"), BOB, None, 0),
            Err(ErrorCode::InviteOnly)
        );
        a.invite(&folded("bob"));
        a.invite(&folded("bob"));
        assert_eq!(a.invited().len(), 1);
        assert_eq!(a.admit(&folded("bob"), BOB, None, 0), Ok(()));
        assert_eq!(
            a.admit(&folded("bob"), BOB, None, 0),
            Err(ErrorCode::InviteOnly)
        );
    }

    #[test]
    fn bans_match_the_whole_mask_and_an_invitation_passes_them_once() {
        let mut a = Admission::default();
        let al = Nick::parse("al", 24).unwrap();
        assert_eq!(a.set_ban("BOB!*@*", &al, true), Ok(true));
        assert_eq!(a.set_ban("bob!*@*", &al, true), Ok(false), "the same");
        assert_eq!(a.set_ban("*!*@native", &al, true), Ok(true));
        assert_eq!(
            a.admit(&folded("bob"), BOB, None, 0),
            Err(ErrorCode::Banned)
        );
        assert_eq!(
            a.admit(&folded("nina"), "nina!native@native", None, 0),
            Err(ErrorCode::Banned)
        );
        assert_eq!(a.admit(&folded("bobby"), "bobby!~b@irc", None, 0), Ok(()));
        a.invite(&folded("bob"));
        assert_eq!(a.admit(&folded("bob"), BOB, None, 0), Ok(()));
        assert_eq!(
            a.admit(&folded("bob"), BOB, None, 0),
            Err(ErrorCode::Banned)
        );
        assert_eq!(a.set_ban("bob!*@*", &al, false), Ok(true));
        assert_eq!(a.set_ban("bob!*@*", &al, false), Ok(false));
        assert_eq!(a.admit(&folded("bob"), BOB, None, 0), Ok(()));
        assert_eq!(a.bans().len(), 1);
        for i in 1..MAX_BANS {
            assert_eq!(a.set_ban(&format!("n{i}!*@*"), &al, true), Ok(true));
        }
        assert_eq!(a.set_ban("one!*@*", &al, true), Err(ErrorCode::BadSyntax));
    }

    #[test]
    fn invitations_are_bounded_oldest_first() {
        let mut a = Admission::default();
        for i in 0..=MAX_INVITES {
            a.invite(&folded(&format!("n{i}")));
        }
        assert_eq!(a.invited().len(), MAX_INVITES);
        assert!(!a.is_invited(&folded("n0")));
        assert!(a.is_invited(&folded(&format!("n{MAX_INVITES}"))));
    }
}
