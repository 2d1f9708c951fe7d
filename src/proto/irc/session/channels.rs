//! Channels: JOIN (with the history replay), PART, TOPIC, KICK, NAMES and
//! LIST. A channel is the room of the same name.

use std::collections::VecDeque;

use super::*;
use crate::core::directory::FindRoom;
use crate::core::names::STORED_NAME_LIMIT;
use crate::core::room;
use crate::core::services::Entered;
use crate::core::store::StoredMessage;
use crate::core::{ErrorCode, MsgKind};
use crate::proto::irc::command::{ChannelArg, JoinArgs};
use crate::proto::irc::render::{encode_name_lines, encode_names, history_line, Stamp};

/// Longest topic an IRC client may set, in bytes (`TOPICLEN`): what fits
/// a 512-byte `332` line with the longest names.
pub const TOPICLEN: usize = 300;

type JoinOutcome = Result<Entered, ErrorCode>;

impl Session {
    pub(super) fn cmd_join(&mut self, args: JoinArgs, ctx: &mut Context<Self>) {
        match args {
            JoinArgs::LeaveAll => {
                let all = self.rooms.iter().map(|j| Ok(j.name().clone())).collect();
                self.cmd_part(all, None, ctx);
            }
            JoinArgs::Channels(chans) => self.join_each(chans.into(), ctx),
        }
    }

    /// Joins the channels one after the other, each answered before the
    /// next is tried.
    fn join_each(
        &mut self,
        mut pending: VecDeque<(ChannelArg, Option<String>)>,
        ctx: &mut Context<Self>,
    ) {
        while let Some((chan, key)) = pending.pop_front() {
            let room = match chan {
                Ok(room) => room,
                Err(raw) => {
                    self.numeric(Numeric::NoSuchChannel(raw));
                    continue;
                }
            };
            if self.joined(room.folded()).is_some() {
                continue;
            }
            let max = self.state.core.config().limits.max_rooms_per_user;
            if self.rooms.len() >= max {
                self.numeric(Numeric::TooManyChannels(room));
                continue;
            }
            let Some(nick) = self.nick.clone() else {
                return;
            };
            let join = room::Join {
                member: self.member_handle(ctx),
                nick,
                userhost: self.userhost.clone(),
                realname: Arc::clone(&self.realname),
                key,
                account: self.account().cloned(),
                // A labeled JOIN answers with the JOIN and listing too.
                hand_back: self.labeling(),
                proof: None,
            };
            let work = Arc::clone(&self.state.core).enter_room(room.clone(), join, self.creator());
            ctx.wait(work.into_actor(self).map(move |res, act, ctx| {
                let away_in = match (&res, &act.away) {
                    (Ok(joined), Some(_)) => Some(joined.addr.clone()),
                    _ => None,
                };
                act.joined_room(room, res);
                if let Some(addr) = away_in {
                    act.notify_away_in(vec![addr], ctx);
                }
                act.join_each(pending, ctx);
            }));
            return;
        }
    }

    /// Finishes one JOIN: the room has sent JOIN and the listing; the
    /// history follows, then the room releases what it held meanwhile.
    fn joined_room(&mut self, asked: RoomName, res: JoinOutcome) {
        match res {
            Ok(Entered {
                name,
                addr,
                history,
                welcome,
                held,
            }) => {
                if let Some(welcome) = welcome {
                    self.reply(welcome);
                }
                if !history.is_empty() {
                    self.send_history(&name, history);
                }
                if held {
                    if let Some(who) = self.member_key() {
                        addr.do_send(room::Replayed { who });
                    }
                }
                info!(parent: &self.span, room = %name, "joined");
                self.rooms.reserve_exact(1);
                self.rooms.push(addr);
            }
            Err(ErrorCode::BadKey) => self.numeric(Numeric::BadChannelKey(asked)),
            Err(ErrorCode::TryLater) => self.numeric(Numeric::TryAgain("JOIN")),
            Err(ErrorCode::RoomFull) => self.numeric(Numeric::ChannelIsFull(asked)),
            Err(ErrorCode::InviteOnly) => self.numeric(Numeric::InviteOnlyChan(asked)),
            Err(ErrorCode::Banned) => self.numeric(Numeric::BannedFromChan(asked)),
            Err(ErrorCode::ServerRoomsFull) => self.numeric(Numeric::ServerChannelsFull(asked)),
            Err(ErrorCode::RateLimited) => self.numeric(Numeric::TryAgain("JOIN")),
            Err(_) => self.numeric(Numeric::NoSuchChannel(asked.as_str().to_string())),
        }
    }

    /// Queues stored messages as PRIVMSGs from their senders: in a
    /// `chathistory` batch where the client has `batch`, with their time
    /// and msgid where it has server-time and message-tags.
    pub(super) fn send_history(&mut self, room: &RoomName, history: Vec<StoredMessage>) {
        if history.is_empty() && !self.caps.batch {
            return;
        }
        let batch = self.caps.batch.then(|| self.next_batch());
        let mut answer = BytesMut::new();
        if let Some(id) = &batch {
            self.put_line(
                &mut answer,
                ServerLine::BatchStart {
                    id: id.clone(),
                    kind: "chathistory",
                    param: Some(room.as_str().to_string()),
                },
            );
        }
        for m in history {
            let Ok(from) = Nick::parse(&m.from, STORED_NAME_LIMIT) else {
                continue;
            };
            let stamp = Stamp {
                time: self.caps.look.server_time.then_some(m.time),
                msgid: self
                    .caps
                    .look
                    .message_tags
                    .then_some((room.folded().as_str(), m.seq)),
                batch: batch.as_deref(),
                ..Stamp::default()
            };
            let line = history_line(&stamp, &from, room, MsgKind::Privmsg, &m.text);
            answer.extend_from_slice(&line);
        }
        if let Some(id) = batch {
            self.put_line(&mut answer, ServerLine::BatchEnd(id));
        }
        self.reply(answer.freeze());
    }

    pub(super) fn cmd_part(
        &mut self,
        channels: Vec<ChannelArg>,
        reason: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        self.part_each(channels.into(), reason, ctx);
    }

    /// Leaves the channels one after the other (`ctx.wait`s queued in
    /// one go would run last first).
    fn part_each(
        &mut self,
        mut pending: VecDeque<ChannelArg>,
        reason: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        while let Some(chan) = pending.pop_front() {
            let room = match chan {
                Ok(room) => room,
                Err(raw) => {
                    self.numeric(Numeric::NoSuchChannel(raw));
                    continue;
                }
            };
            let (Some(joined), Some(who)) = (self.joined(room.folded()), self.member_key()) else {
                let find = self.state.core.directory.send(FindRoom {
                    name: room.folded().clone(),
                });
                ctx.wait(find.into_actor(self).map(move |res, act, ctx| {
                    match res {
                        Ok(Some(_)) => act.numeric(Numeric::NotOnChannel(room)),
                        _ => act.numeric(Numeric::NoSuchChannel(room.as_str().to_string())),
                    }
                    act.part_each(pending, reason, ctx);
                }));
                return;
            };
            let addr = joined.clone();
            let name = joined.name().clone();
            self.rooms.retain(|j| j.name().folded() != room.folded());
            let part = room::Part {
                who,
                userhost: self.userhost.clone(),
                reason: reason.clone(),
            };
            ctx.wait(addr.send(part).into_actor(self).map(move |_, act, ctx| {
                // Gone from the room whatever it answers: the others were
                // told by the room, the client itself is told here.
                info!(parent: &act.span, room = %name, "parted");
                if let Some(nick) = act.nick.clone() {
                    act.echo(&Event::Part {
                        room: name,
                        nick,
                        userhost: act.userhost.clone(),
                        reason: reason.clone(),
                    });
                }
                act.part_each(pending, reason, ctx);
            }));
            return;
        }
    }

    /// Answers a command about a channel the client is not on: `442`, or
    /// `403` if there is no such channel.
    pub(super) fn not_on_channel(&mut self, room: RoomName, ctx: &mut Context<Self>) {
        let find = self.state.core.directory.send(FindRoom {
            name: room.folded().clone(),
        });
        ctx.wait(find.into_actor(self).map(move |res, act, _| match res {
            Ok(Some(_)) => act.numeric(Numeric::NotOnChannel(room)),
            _ => act.numeric(Numeric::NoSuchChannel(room.as_str().to_string())),
        }));
    }

    /// Runs `then` with the room's address: from the session's own rooms,
    /// or else from the registry; answers `403` if there is none.
    pub(super) fn with_room<F>(&mut self, room: RoomName, ctx: &mut Context<Self>, then: F)
    where
        F: FnOnce(&mut Self, RoomHandle, &mut Context<Self>) + 'static,
    {
        if let Some(joined) = self.joined(room.folded()) {
            let addr = joined.clone();
            return then(self, addr, ctx);
        }
        let find = self.state.core.directory.send(FindRoom {
            name: room.folded().clone(),
        });
        ctx.wait(find.into_actor(self).map(move |res, act, ctx| match res {
            Ok(Some(addr)) => then(act, addr, ctx),
            _ => act.numeric(Numeric::NoSuchChannel(room.as_str().to_string())),
        }));
    }

    pub(super) fn cmd_topic(
        &mut self,
        channel: ChannelArg,
        text: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let room = match channel {
            Ok(room) => room,
            Err(raw) => return self.numeric(Numeric::NoSuchChannel(raw)),
        };
        let Some(text) = text else {
            return self.with_room(room, ctx, |act, addr, ctx| {
                let ask = addr.send(room::GetInfo);
                ctx.wait(ask.into_actor(act).map(|res, act, _| {
                    let Ok(info) = res else { return };
                    match info.topic.filter(|t| !t.text.is_empty()) {
                        None => act.numeric(Numeric::NoTopic(info.name)),
                        Some(topic) => {
                            act.numeric(Numeric::Topic(info.name.clone(), topic.text));
                            if let Some((by, at)) = topic.set {
                                act.numeric(Numeric::TopicWhoTime(info.name, by, at));
                            }
                        }
                    }
                }));
            });
        };
        let (Some(joined), Some(who)) = (self.joined(room.folded()), self.member_key()) else {
            return self.not_on_channel(room, ctx);
        };
        let mut text = text;
        let mut end = TOPICLEN.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        let ask = joined.send(room::SetTopic {
            who,
            userhost: self.userhost.clone(),
            text,
        });
        // Everyone, the setter included, hears TOPIC from the room.
        ctx.wait(ask.into_actor(self).map(move |res, act, _| match res {
            Ok(Ok(_)) => {}
            Ok(Err(ErrorCode::NotOwner)) => act.numeric(Numeric::ChanOpPrivsNeeded(room)),
            _ => act.numeric(Numeric::NotOnChannel(room)),
        }));
    }

    /// Kicks from one channel after the other, each answered before the
    /// next is tried.
    pub(super) fn cmd_kick(
        &mut self,
        mut pending: VecDeque<(ChannelArg, Vec<String>)>,
        reason: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let Some((channel, nicks)) = pending.pop_front() else {
            return;
        };
        let room = match channel {
            Ok(room) => room,
            Err(raw) => {
                self.numeric(Numeric::NoSuchChannel(raw));
                return self.cmd_kick(pending, reason, ctx);
            }
        };
        let (Some(joined), Some(who)) = (self.joined(room.folded()), self.member_key()) else {
            let find = self.state.core.directory.send(FindRoom {
                name: room.folded().clone(),
            });
            return ctx.wait(find.into_actor(self).map(move |res, act, ctx| {
                match res {
                    Ok(Some(_)) => act.numeric(Numeric::NotOnChannel(room)),
                    _ => act.numeric(Numeric::NoSuchChannel(room.as_str().to_string())),
                }
                act.cmd_kick(pending, reason, ctx);
            }));
        };
        let next_reason = reason.clone();
        let addr = joined.clone();
        let userhost = self.userhost.clone();
        let max_nick = crate::core::names::STORED_NAME_LIMIT;
        let work = async move {
            let mut refused = Vec::new();
            for target in nicks {
                let Ok(nick) = Nick::parse(&target, max_nick) else {
                    refused.push((target, ErrorCode::NoSuchNick));
                    continue;
                };
                let kick = room::Kick {
                    who: who.clone(),
                    userhost: userhost.clone(),
                    target: nick.folded().clone(),
                    reason: reason.clone(),
                };
                match addr.send(kick).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(code)) => refused.push((target, code)),
                    Err(_) => refused.push((target, ErrorCode::NotInRoom)),
                }
            }
            refused
        };
        // Everyone, the kicker included, hears KICK from the room.
        ctx.wait(work.into_actor(self).map(move |refused, act, ctx| {
            act.kick_refused(&room, refused);
            act.cmd_kick(pending, next_reason, ctx);
        }));
    }

    /// Answers the targets a room would not kick.
    fn kick_refused(&mut self, room: &RoomName, refused: Vec<(String, ErrorCode)>) {
        for (target, code) in refused {
            match code {
                ErrorCode::NotOwner => {
                    self.numeric(Numeric::ChanOpPrivsNeeded(room.clone()));
                    // The same for every other target.
                    return;
                }
                ErrorCode::NoSuchNick => {
                    self.numeric(Numeric::UserNotInChannel(target, room.clone()))
                }
                _ => self.numeric(Numeric::NotOnChannel(room.clone())),
            }
        }
    }

    pub(super) fn cmd_names(&mut self, channels: Vec<ChannelArg>, ctx: &mut Context<Self>) {
        if channels.is_empty() {
            return self.numeric(Numeric::EndOfNames("*".into()));
        }
        // Several channels end with one 366 naming them all, as asked.
        let several = (channels.len() > 1).then(|| {
            let spelled: Vec<&str> = channels
                .iter()
                .map(|c| match c {
                    Ok(room) => room.as_str(),
                    Err(raw) => raw.as_str(),
                })
                .collect();
            spelled.join(",")
        });
        let directory = self.state.core.directory.clone();
        let mine: Vec<(Folded, RoomHandle)> = self
            .rooms
            .iter()
            .map(|j| (j.name().folded().clone(), j.clone()))
            .collect();
        let work = async move {
            let mut found = Vec::new();
            for chan in channels {
                let room = match chan {
                    Ok(room) => room,
                    Err(raw) => {
                        found.push(Err(raw));
                        continue;
                    }
                };
                let addr = match mine.iter().find(|(f, _)| f == room.folded()) {
                    Some((_, addr)) => Some(addr.clone()),
                    None => directory
                        .send(FindRoom {
                            name: room.folded().clone(),
                        })
                        .await
                        .ok()
                        .flatten(),
                };
                let member = mine.iter().any(|(f, _)| f == room.folded());
                let names = match addr {
                    Some(addr) => addr.send(room::GetNames).await.ok(),
                    None => None,
                };
                // A secret channel is shown to its members only.
                let names = names.filter(|n| member || !n.secret);
                found.push(names.ok_or_else(|| room.as_str().to_string()));
            }
            found
        };
        ctx.wait(work.into_actor(self).map(move |found, act, _| {
            for names in found {
                match (names, &several) {
                    (Ok(names), None) => act.send_names(&names, true),
                    (Ok(names), Some(_)) => act.send_names(&names, false),
                    (Err(raw), None) => act.numeric(Numeric::EndOfNames(raw)),
                    (Err(_), Some(_)) => {}
                }
            }
            if let Some(all) = several {
                act.numeric(Numeric::EndOfNames(all));
            }
        }));
    }

    /// Queues `353` lines for a room's members, and its `366` if `end`.
    fn send_names(&self, names: &room::Names, end: bool) {
        let ops = &names.ops;
        let mut buf = bytes::BytesMut::with_capacity(128 + names.nicks.len() * 16);
        let full = self.caps.look.userhost_in_names;
        let members = names
            .nicks
            .iter()
            .zip(&names.userhosts)
            .map(|(n, uh)| (n.as_str(), ops.contains(n.folded()), full.then_some(uh)));
        let (server, me) = (&self.state.server, self.me());
        let (room, secret) = (&names.name, names.secret);
        if end {
            encode_names(&mut buf, server, me, room, secret, members);
        } else {
            encode_name_lines(&mut buf, server, me, room, secret, members);
        }
        self.reply(buf.freeze());
    }

    pub(super) fn cmd_list(&mut self, channels: Option<Vec<ChannelArg>>, ctx: &mut Context<Self>) {
        let core = std::sync::Arc::clone(&self.state.core);
        let ask = async move { core.list_rooms().await };
        ctx.wait(ask.into_actor(self).map(move |res, act, _| {
            let mut answer = BytesMut::new();
            act.put_numeric(&mut answer, Numeric::ListStart);
            for r in res {
                if r.secret && act.joined(r.name.folded()).is_none() {
                    continue;
                }
                let wanted = channels.as_ref().is_none_or(|list| {
                    list.iter()
                        .any(|c| c.as_ref().is_ok_and(|c| c.folded() == r.name.folded()))
                });
                if wanted {
                    let list = Numeric::List {
                        channel: r.name,
                        members: r.members,
                        topic: r.topic,
                    };
                    act.put_numeric(&mut answer, list);
                }
            }
            act.put_numeric(&mut answer, Numeric::ListEnd);
            act.reply(answer.freeze());
        }));
    }
}
