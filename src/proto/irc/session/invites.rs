//! INVITE: a member asks a room to let a user in, and the user is told.

use super::*;
use crate::core::cluster::wire::{Direct, DirectKind};
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
        let addr = self.joined(room.folded()).cloned();
        let folded = room.folded().clone();
        let core = Arc::clone(&self.state.core);
        let work = async move {
            let found = directory
                .send(Describe {
                    nicks: vec![target.folded().clone()],
                })
                .await
                .ok()
                .and_then(|mut found| found.pop());
            let user = match found {
                Some(user) => Invitee::Here(user),
                // Cluster mode: on another node, perhaps.
                None => match core.find_elsewhere(&target).await {
                    Ok(Some(user)) => Invitee::Elsewhere(user.card.nick),
                    Ok(None) => return Err(Refusal::Nobody),
                    Err(code) => return Err(Refusal::Code(code)),
                },
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
                target: user.nick().folded().clone(),
            };
            match addr.send(invite).await {
                Ok(Ok(name)) => Ok((name, user)),
                Ok(Err(code)) => Err(Refusal::Code(code)),
                Err(_) => Err(Refusal::Code(ErrorCode::NotInRoom)),
            }
        };
        ctx.wait(work.into_actor(self).map(move |res, act, ctx| match res {
            Ok((name, Invitee::Here(user))) => {
                act.numeric(Numeric::Inviting(user.nick.clone(), name.clone()));
                user.inbox.send(&Event::Invite {
                    room: name,
                    from,
                    userhost: act.userhost.clone(),
                    to: user.nick,
                });
            }
            Ok((name, Invitee::Elsewhere(to))) => act.invite_elsewhere(name, from, to, ctx),
            Err(Refusal::Nobody) => act.numeric(Numeric::NoSuchNick(nick)),
            Err(Refusal::Code(ErrorCode::ClusterUnavailable)) => act.cluster_unavailable(),
            Err(Refusal::Code(code)) => act.numeric(match code {
                ErrorCode::NotOwner => Numeric::ChanOpPrivsNeeded(room),
                ErrorCode::AlreadyInRoom => Numeric::UserOnChannel(nick, room),
                ErrorCode::NoSuchRoom => Numeric::NoSuchChannel(room.as_str().to_string()),
                _ => Numeric::NotOnChannel(room),
            }),
        }));
    }
}

impl Session {
    /// Cluster mode: tells `to`, a user of another node, of the
    /// invitation (its node shows it the `INVITE` line); `341` once that
    /// node has it.
    fn invite_elsewhere(&mut self, room: RoomName, from: Nick, to: Nick, ctx: &mut Context<Self>) {
        let message = Direct {
            origin: String::new(),
            kind: DirectKind::Invite,
            from,
            userhost: self.userhost.clone(),
            account: None,
            tags: None,
            to: to.clone(),
            text: room.as_str().to_string(),
        };
        let sent = self.state.core.send_elsewhere(message);
        ctx.wait(sent.into_actor(self).map(move |res, act, _| match res {
            Ok(Some(user)) => act.numeric(Numeric::Inviting(user.card.nick, room)),
            Ok(None) => act.numeric(Numeric::NoSuchNick(to.as_str().to_string())),
            Err(_) => act.cluster_unavailable(),
        }));
    }

    /// `FAIL INVITE CLUSTER_UNAVAILABLE`.
    fn cluster_unavailable(&self) {
        self.line(ServerLine::Fail {
            command: "INVITE".into(),
            code: ErrorCode::ClusterUnavailable.as_str(),
            text: "The cluster cannot be reached: not sent",
        });
    }
}

/// Who is invited.
enum Invitee {
    /// A user of this node.
    Here(crate::core::directory::UserInfo),
    /// Cluster mode: a user of another node.
    Elsewhere(Nick),
}

impl Invitee {
    fn nick(&self) -> &Nick {
        match self {
            Invitee::Here(user) => &user.nick,
            Invitee::Elsewhere(nick) => nick,
        }
    }
}

/// Why an INVITE was refused.
enum Refusal {
    /// Nobody has the nickname.
    Nobody,
    /// The room, or the lack of one, refused it.
    Code(ErrorCode),
}
