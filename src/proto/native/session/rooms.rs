//! The commands that change what the session is part of: its nickname,
//! its rooms, what it says in them, and the owner's TOPIC and KICK.

use super::*;
use crate::core::cluster::wire::{Direct, DirectKind};
use crate::core::outcome::SpellSaid;
use crate::core::services::Entered;
use crate::core::MsgMeta;

/// Who changes a session's nickname.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NickChange {
    /// The client, with NICK: answered `OK NICK`.
    Asked,
    /// The server, taking back a reserved nickname: a notice, and the
    /// connection closes if even that fails.
    Forced,
}

impl Session {
    pub(super) fn cmd_nick(&mut self, nick: Nick, ctx: &mut Context<Self>) {
        // A ban set since this client connected, before it had a nickname
        // (the directory orders only holders of one to check).
        if self.nick.is_none() && self.check_bans(ctx) {
            return;
        }
        self.change_nick(nick, NickChange::Asked, ctx);
    }

    pub(super) fn change_nick(&mut self, nick: Nick, how: NickChange, ctx: &mut Context<Self>) {
        if self.nick.as_ref() == Some(&nick) {
            self.send(OkReply::Nick(nick));
            return;
        }
        let old = self.nick.clone();
        let registry = self.state.core.directory.clone();
        let rooms: Vec<RoomHandle> = self.rooms.iter().map(|j| j.addr.clone()).collect();
        let claim = ClaimNick {
            nick: nick.clone(),
            old: old.clone(),
            inbox: self.inbox(),
            profile: None,
            orders: Some(ctx.address().downgrade().recipient()),
        };
        let new = nick.clone();
        let old_key = self.member_key();
        let work = async move {
            match registry.send(claim).await {
                Ok(Ok(())) => {}
                Ok(Err(code)) => return Err(code),
                Err(_) => return Err(ErrorCode::Internal),
            }
            let mut audience = Vec::new();
            // In no room before a first nickname.
            if let Some(who) = old_key {
                for room in rooms {
                    let rename = room::Rename {
                        who: who.clone(),
                        new: new.clone(),
                    };
                    if let Ok(members) = room.send(rename).await {
                        audience.push(members);
                    }
                }
            }
            Ok(audience)
        };
        ctx.wait(work.into_actor(self).map(move |res, act, ctx| match res {
            Ok(mut audience) => {
                if let Some(old) = act.nick.replace(nick.clone()) {
                    info!(parent: &act.span, %old, new = %nick, "nick changed");
                    if audience.is_empty() {
                        // In no room: only the client itself hears of it
                        // (it is a member of every room it is in).
                        audience.push(vec![act.inbox()]);
                    }
                    deliver_once(
                        audience,
                        &Event::Nick {
                            old,
                            new: nick.clone(),
                            userhost: UserHost::native(),
                        },
                    );
                } else {
                    // Recorded once: a span's fields only grow, so a later
                    // NICK is an event of its own ("nick changed"), never
                    // another field on every line of the connection.
                    act.span.record("nick", nick.as_str());
                    info!(parent: &act.span, %nick, "registered");
                    // The first NICK only: data lines before its OK.
                    for line in act.state.core.motd().lines() {
                        act.send(Reply::Motd(line.clone()));
                    }
                }
                match how {
                    NickChange::Asked => act.send(OkReply::Nick(nick)),
                    NickChange::Forced => act.send(Reply::Renamed(nick)),
                }
                act.check_reservation(ctx);
            }
            Err(_) if how == NickChange::Forced => act.close(Disconnect::NickReserved, ctx),
            Err(ErrorCode::NickInUse) => act.error(
                Verb::Nick,
                ErrorCode::NickInUse,
                format!("{nick} is already taken"),
            ),
            Err(ErrorCode::ClusterUnavailable) => act.error(
                Verb::Nick,
                ErrorCode::ClusterUnavailable,
                "the cluster cannot be reached: try again later",
            ),
            Err(code) => act.error(Verb::Nick, code, "could not set the nickname"),
        }));
    }

    pub(super) fn cmd_join(
        &mut self,
        room: RoomName,
        key: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let Some(nick) = self.nick().cloned() else {
            return;
        };
        let rejoin = self.joined(room.folded()).is_some();
        if !rejoin && self.rooms.len() >= self.state.core.config().limits.max_rooms_per_user {
            self.error(
                Verb::Join,
                ErrorCode::TooManyRooms,
                format!(
                    "you are in {} rooms already",
                    self.state.core.config().limits.max_rooms_per_user
                ),
            );
            return;
        }
        let join = room::Join {
            member: self.member_handle(ctx),
            nick,
            userhost: UserHost::native(),
            realname: crate::core::no_realname(),
            key,
            account: self.account().cloned(),
            hand_back: false,
            proof: None,
        };
        // Only the shared core is captured, not clones of what it holds:
        // ten thousand clients joining at once each wait on this future.
        let work = Arc::clone(&self.state.core).enter_room(room.clone(), join, self.creator());
        ctx.wait(work.into_actor(self).map(move |res, act, _| match res {
            Ok(Entered {
                name,
                addr,
                history,
                held,
                ..
            }) => {
                let mut lines = history_lines(&name, history);
                lines.push(Reply::Ok(OkReply::Join(name.clone())));
                act.send_all(lines);
                if held {
                    if let Some(who) = act.member_key() {
                        addr.do_send(room::Replayed { who });
                    }
                }
                act.rooms.retain(|j| j.name().folded() != name.folded());
                info!(parent: &act.span, room = %name, "joined");
                // Most clients are in one or two rooms: grow one at a time.
                act.rooms.reserve_exact(1);
                act.rooms.push(Membership {
                    addr,
                    replies: None,
                });
            }
            Err(code) => {
                let text = match code {
                    ErrorCode::BadKey => format!("{room} is private: wrong or missing key"),
                    ErrorCode::RoomFull => format!("{room} is full"),
                    ErrorCode::InviteOnly => format!("{room} lets in invited users only"),
                    ErrorCode::Banned => format!("{room} keeps you out"),
                    ErrorCode::TryLater => {
                        format!("{room}: too many wrong keys lately, or too busy: try again later")
                    }
                    ErrorCode::ServerRoomsFull => format!(
                        "{room} does not exist and the server has as many rooms as it allows: join an existing one"
                    ),
                    ErrorCode::RateLimited => format!(
                        "{room} does not exist and you are creating rooms too fast: try again later"
                    ),
                    _ => format!("could not join {room}"),
                };
                act.error(Verb::Join, code, text);
            }
        }));
    }

    pub(super) fn not_in_room(&self, verb: Verb, room: &RoomName) {
        self.error(verb, ErrorCode::NotInRoom, format!("you are not in {room}"));
    }

    pub(super) fn cmd_part(
        &mut self,
        room: RoomName,
        reason: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let (Some(joined), Some(who)) = (self.joined(room.folded()), self.member_key()) else {
            return self.not_in_room(Verb::Part, &room);
        };
        let addr = joined.addr.clone();
        let name = joined.name().clone();
        self.rooms.retain(|j| j.name().folded() != room.folded());
        let part = addr.send(room::Part {
            who,
            userhost: UserHost::native(),
            reason,
        });
        ctx.wait(part.into_actor(self).map(move |_, act, _| {
            // Gone from the room whatever it answers: a stopped room has
            // no members left to tell.
            info!(parent: &act.span, room = %name, "parted");
            act.send(OkReply::Part(name));
        }));
    }

    pub(super) fn cmd_msg(&mut self, room: Option<RoomName>, text: String) {
        let Some(from) = self.nick().cloned() else {
            return;
        };
        let index = match &room {
            Some(r) => self
                .rooms
                .iter()
                .position(|j| j.name().folded() == r.folded()),
            None => self.rooms.len().checked_sub(1),
        };
        let Some(index) = index else {
            return match room {
                Some(r) => self.not_in_room(Verb::Msg, &r),
                None => self.error(
                    Verb::Msg,
                    ErrorCode::NotInRoom,
                    "you are in no room: JOIN one, or MSG #room <text>",
                ),
            };
        };
        let account = self.sender_account();
        let (queue, span, state, id) = (&self.queue, &self.span, &self.state, self.id);
        let Membership { addr, replies } = &mut self.rooms[index];
        let name = addr.name();
        debug!(parent: span, room = %name, %text, "msg");
        let replies = replies.get_or_insert_with(|| state.replies.of(name));
        // Where history is kept, OK MSG comes from the database once the
        // message is stored, in the place of the ticket taken now: replies
        // to later commands wait behind it.
        // In cluster mode, once Redis has it (docs/CLUSTER.md).
        let acked = state.core.db.is_some() || state.core.cluster.is_some();
        let ack = acked.then(|| Ack {
            queue: queue.clone(),
            ticket: queue.promise(),
            spell: Arc::clone(replies) as Arc<dyn SpellSaid>,
        });
        let ok = ack.is_none().then(|| replies.ok.clone());
        addr.do_send(room::Say {
            id,
            from,
            text,
            kind: MsgKind::Privmsg,
            tags: None,
            account,
            echo: false,
            ack,
        });
        if let Some(ok) = ok {
            // A refused push means the connection is already going away.
            let _ = queue.reply(ok);
        }
    }

    pub(super) fn cmd_privmsg(&mut self, to: Nick, text: String, ctx: &mut Context<Self>) {
        let Some(from) = self.nick().cloned() else {
            return;
        };
        let find = self.state.core.directory.send(FindNick {
            nick: to.folded().clone(),
        });
        ctx.wait(find.into_actor(self).map(move |res, act, ctx| match res {
            Ok(Some((nick, inbox))) => {
                debug!(parent: &act.span, to = %nick, %text, "privmsg");
                inbox.send(&Event::Privmsg {
                    from,
                    userhost: UserHost::native(),
                    to: Some(nick.clone()),
                    text,
                    kind: MsgKind::Privmsg,
                    meta: MsgMeta {
                        account: act.sender_account(),
                        ..MsgMeta::default()
                    },
                });
                act.send(OkReply::Privmsg(nick));
            }
            // Cluster mode: on another node, perhaps.
            _ if act.state.core.cluster.is_some() => act.privmsg_elsewhere(from, to, text, ctx),
            _ => act.error(
                Verb::Privmsg,
                ErrorCode::NoSuchNick,
                format!("no user is called {to}"),
            ),
        }));
    }

    /// Cluster mode: a MSG to a user no connection of this node holds,
    /// handed to the node holding it; `OK MSG` once that node has it.
    fn privmsg_elsewhere(&mut self, from: Nick, to: Nick, text: String, ctx: &mut Context<Self>) {
        let message = Direct {
            origin: String::new(),
            kind: DirectKind::Text(MsgKind::Privmsg),
            from,
            userhost: UserHost::native(),
            account: self.sender_account(),
            tags: None,
            to: to.clone(),
            text,
        };
        let sent = self.state.core.send_elsewhere(message);
        ctx.wait(sent.into_actor(self).map(move |res, act, _| match res {
            Ok(Some(user)) => {
                debug!(parent: &act.span, to = %user.card.nick, node = %user.card.node, "privmsg elsewhere");
                act.send(OkReply::Privmsg(user.card.nick));
            }
            Ok(None) => act.error(
                Verb::Privmsg,
                ErrorCode::NoSuchNick,
                format!("no user is called {to}"),
            ),
            Err(code) => act.error(
                Verb::Privmsg,
                code,
                format!("the cluster cannot be reached: not sent to {to}"),
            ),
        }));
    }

    /// Runs `then` with the room's address: from the session's own rooms,
    /// or else from the registry; answers `NO_SUCH_ROOM` if there is none.
    pub(super) fn with_room<F>(
        &mut self,
        verb: Verb,
        room: RoomName,
        ctx: &mut Context<Self>,
        then: F,
    ) where
        F: FnOnce(&mut Self, RoomHandle, &mut Context<Self>) + 'static,
    {
        if let Some(joined) = self.joined(room.folded()) {
            let addr = joined.addr.clone();
            return then(self, addr, ctx);
        }
        let find = self.state.core.directory.send(FindRoom {
            name: room.folded().clone(),
        });
        ctx.wait(find.into_actor(self).map(move |res, act, ctx| match res {
            Ok(Some(addr)) => then(act, addr, ctx),
            _ => act.error(
                verb,
                ErrorCode::NoSuchRoom,
                format!("there is no room {room}"),
            ),
        }));
    }

    pub(super) fn cmd_topic_set(&mut self, room: RoomName, text: String, ctx: &mut Context<Self>) {
        let (Some(joined), Some(who)) = (self.joined(room.folded()), self.member_key()) else {
            return self.not_in_room(Verb::Topic, &room);
        };
        let ask = joined.addr.send(room::SetTopic {
            who,
            userhost: UserHost::native(),
            text: text.clone(),
        });
        ctx.wait(ask.into_actor(self).map(move |res, act, _| match res {
            Ok(Ok(name)) => act.send(OkReply::Topic(name, Some(text))),
            Ok(Err(ErrorCode::NotOwner)) => act.error(
                Verb::Topic,
                ErrorCode::NotOwner,
                format!("only the owner of {room} may set its topic"),
            ),
            _ => act.not_in_room(Verb::Topic, &room),
        }));
    }

    pub(super) fn cmd_kick(
        &mut self,
        room: RoomName,
        nick: Nick,
        reason: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let (Some(joined), Some(who)) = (self.joined(room.folded()), self.member_key()) else {
            return self.not_in_room(Verb::Kick, &room);
        };
        let ask = joined.addr.send(room::Kick {
            who,
            userhost: UserHost::native(),
            target: nick.folded().clone(),
            reason,
        });
        ctx.wait(ask.into_actor(self).map(move |res, act, _| match res {
            Ok(Ok((name, kicked))) => {
                info!(parent: &act.span, room = %name, %kicked, "kicked");
                act.send(OkReply::Kick(name, kicked));
            }
            Ok(Err(ErrorCode::NotOwner)) => act.error(
                Verb::Kick,
                ErrorCode::NotOwner,
                format!("only the owner of {room} may kick"),
            ),
            Ok(Err(ErrorCode::NoSuchNick)) => act.error(
                Verb::Kick,
                ErrorCode::NoSuchNick,
                format!("{nick} is not in {room}"),
            ),
            _ => act.not_in_room(Verb::Kick, &room),
        }));
    }
}

/// Stored messages as `HISTORY` lines (room space is kept for the final
/// reply).
pub(super) fn history_lines(room: &RoomName, history: Vec<StoredMessage>) -> Vec<Reply> {
    let mut lines = Vec::with_capacity(history.len() + 1);
    for m in history {
        // A sender's nickname is valid when stored; a limit lowered since
        // must not hide their words.
        let Ok(from) = Nick::parse(&m.from, crate::core::names::STORED_NAME_LIMIT) else {
            continue;
        };
        lines.push(Reply::History {
            room: room.clone(),
            time: rfc3339(m.time),
            from,
            text: m.text,
        });
    }
    lines
}
