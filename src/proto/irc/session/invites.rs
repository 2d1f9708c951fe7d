//! INVITE: a member asks a room to let a user in, and the user is told.

use super::*;
use crate::core::directory::{Describe, FindRoom};
use crate::core::room;
use crate::core::ErrorCode;
use crate::proto::irc::command::ChannelArg;

impl Session {
    pub(super) fn cmd_invite(
        &mut self,
        nick: String,
        channel: ChannelArg,
        ctx: &mut Context<Self>,
    ) {
        let room = match channel {
            Ok(room) => room,
            Err(raw) => return self.numeric(Numeric::NoSuchChannel(raw)),
        };
        let Ok(target) = Nick::parse(&nick, crate::core::names::STORED_NAME_LIMIT) else {
            return self.numeric(Numeric::NoSuchNick(nick));
        };
        let (Some(from), Some(who)) = (self.nick.clone(), self.member_key()) else {
            return;
        };
        let directory = self.state.core.directory.clone();
        let addr = self.joined(room.folded()).map(|j| j.addr.clone());
        let folded = room.folded().clone();
        let work = async move {
            let found = directory
                .send(Describe {
                    nicks: vec![target.folded().clone()],
                })
                .await
                .ok()
                .and_then(|mut found| found.pop());
            let Some(user) = found else {
                return Err(Refusal::Nobody);
            };
            let Some(addr) = addr else {
                let find = FindRoom { name: folded };
                return Err(match directory.send(find).await {
                    Ok(Some(_)) => Refusal::Code(ErrorCode::NotInRoom),
                    _ => Refusal::Code(ErrorCode::NoSuchRoom),
                });
            };
            let invite = room::Invite {
                who,
                target: user.nick.folded().clone(),
            };
            match addr.send(invite).await {
                Ok(Ok(name)) => Ok((name, user)),
                Ok(Err(code)) => Err(Refusal::Code(code)),
                Err(_) => Err(Refusal::Code(ErrorCode::NotInRoom)),
            }
        };
        ctx.wait(work.into_actor(self).map(move |res, act, _| match res {
            Ok((name, user)) => {
                act.numeric(Numeric::Inviting(user.nick.clone(), name.clone()));
                user.inbox.send(&Event::Invite {
                    room: name,
                    from,
                    userhost: act.userhost.clone(),
                    to: user.nick,
                });
            }
            Err(Refusal::Nobody) => act.numeric(Numeric::NoSuchNick(nick)),
            Err(Refusal::Code(code)) => act.numeric(match code {
                ErrorCode::NotOwner => Numeric::ChanOpPrivsNeeded(room),
                ErrorCode::AlreadyInRoom => Numeric::UserOnChannel(nick, room),
                ErrorCode::NoSuchRoom => Numeric::NoSuchChannel(room.as_str().to_string()),
                _ => Numeric::NotOnChannel(room),
            }),
        }));
    }
}

/// Why an INVITE was refused.
enum Refusal {
    /// Nobody has the nickname.
    Nobody,
    /// The room, or the lack of one, refused it.
    Code(ErrorCode),
}
