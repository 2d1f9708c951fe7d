//! What a room's owner and operators do natively: OP and DEOP (owner),
//! BAN and UNBAN (operators; stored), OWNER (owner). See the core's
//! `room/rights.rs` for what is kept by account.

use super::*;
use crate::core::room::{ModeRequest, SetMode};

/// A BAN argument as a mask: a `nick!user@host` pattern or an `$a:`
/// account ban as given, or a bare name, which names an account.
fn ban_mask(word: &str) -> String {
    if word.contains(['!', '@', '*', '?', '$']) {
        word.to_owned()
    } else {
        format!("{}{word}", crate::core::room::ACCOUNT_BAN)
    }
}

impl Session {
    /// Runs `then` with the room's address and this member's key, or
    /// answers `NOT_IN_ROOM`.
    fn as_member<F>(&mut self, verb: Verb, room: &RoomName, then: F)
    where
        F: FnOnce(&mut Self, RoomHandle, MemberKey),
    {
        match (self.joined(room.folded()), self.member_key()) {
            (Some(joined), Some(who)) => {
                let addr = joined.addr.clone();
                then(self, addr, who);
            }
            _ => self.not_in_room(verb, room),
        }
    }

    fn refused(&self, verb: Verb, room: &RoomName, nick: Option<&Nick>, code: ErrorCode) {
        let text = match (code, nick) {
            (ErrorCode::NotOwner, _) if matches!(verb, Verb::Ban | Verb::Unban) => {
                format!("only the operators of {room} may do that")
            }
            (ErrorCode::NotOwner, _) => format!("only the owner of {room} may do that"),
            (ErrorCode::NoSuchNick, Some(nick)) => format!("{nick} is not in {room}"),
            (ErrorCode::NotLoggedIn, Some(nick)) => {
                format!("{nick} is not logged in to an account")
            }
            (ErrorCode::BadSyntax, _) => format!("{room} has too many of those already"),
            (ErrorCode::NotInRoom, _) => format!("you are not in {room}"),
            _ => format!("could not change {room}"),
        };
        self.error(verb, code, text);
    }

    pub(super) fn cmd_op(&mut self, room: RoomName, nick: Nick, on: bool, ctx: &mut Context<Self>) {
        let verb = if on { Verb::Op } else { Verb::Deop };
        self.as_member(verb, &room.clone(), |act, addr, who| {
            let ask = addr.send(room::Grant {
                who,
                userhost: UserHost::native(),
                target: nick.folded().clone(),
                on,
            });
            ctx.wait(ask.into_actor(act).map(move |res, act, _| match res {
                Ok(Ok((name, nick))) => {
                    info!(parent: &act.span, room = %name, %nick, on, "operator changed");
                    act.send(if on {
                        OkReply::Op(name, nick)
                    } else {
                        OkReply::Deop(name, nick)
                    });
                }
                Ok(Err(code)) => act.refused(verb, &room, Some(&nick), code),
                Err(_) => act.not_in_room(verb, &room),
            }));
        });
    }

    pub(super) fn cmd_ban(
        &mut self,
        room: RoomName,
        word: String,
        on: bool,
        ctx: &mut Context<Self>,
    ) {
        let verb = if on { Verb::Ban } else { Verb::Unban };
        let mask = ban_mask(&word);
        self.as_member(verb, &room.clone(), |act, addr, who| {
            let ask = addr.send(SetMode {
                who,
                userhost: UserHost::native(),
                change: ModeRequest::Ban(mask.clone(), on),
            });
            ctx.wait(ask.into_actor(act).map(move |res, act, _| match res {
                Ok(Ok(())) => {
                    info!(parent: &act.span, %room, %mask, on, "ban changed");
                    act.send(if on {
                        OkReply::Ban(room, Some(mask))
                    } else {
                        OkReply::Unban(room, mask)
                    });
                }
                Ok(Err(code)) => act.refused(verb, &room, None, code),
                Err(_) => act.not_in_room(verb, &room),
            }));
        });
    }

    pub(super) fn cmd_bans(&mut self, room: RoomName, ctx: &mut Context<Self>) {
        self.with_room(Verb::Ban, room.clone(), ctx, move |act, addr, ctx| {
            let ask = addr.send(room::GetBans);
            ctx.wait(ask.into_actor(act).map(move |res, act, _| {
                let bans = res.unwrap_or_default();
                let name = room;
                for ban in bans {
                    act.send(Reply::Ban {
                        room: name.clone(),
                        mask: ban.mask,
                        by: ban.by,
                        time: rfc3339(ban.at),
                    });
                }
                act.send(OkReply::Ban(name, None));
            }));
        });
    }

    pub(super) fn cmd_owner(&mut self, room: RoomName, nick: Nick, ctx: &mut Context<Self>) {
        self.as_member(Verb::Owner, &room.clone(), |act, addr, who| {
            let ask = addr.send(room::SetOwner {
                who,
                target: nick.folded().clone(),
            });
            ctx.wait(ask.into_actor(act).map(move |res, act, _| match res {
                Ok(Ok((name, account))) => {
                    info!(parent: &act.span, room = %name, %account, "ownership given");
                    act.send(OkReply::Owner(name, account));
                }
                Ok(Err(code)) => act.refused(Verb::Owner, &room, Some(&nick), code),
                Err(_) => act.not_in_room(Verb::Owner, &room),
            }));
        });
    }
}
