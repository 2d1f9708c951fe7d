//! The commands that only read: NAMES, LIST, INFO, TOPIC (read), HISTORY,
//! HELP.

use super::rooms::history_lines;
use super::*;

impl Session {
    pub(super) fn cmd_names(&mut self, room: RoomName, ctx: &mut Context<Self>) {
        self.with_room(Verb::Names, room.clone(), ctx, move |act, addr, ctx| {
            let ask = addr.send(room::GetNames);
            ctx.wait(ask.into_actor(act).map(move |res, act, _| match res {
                Ok(names) => {
                    let ok = OkReply::Names(names.name.clone(), names.nicks.len());
                    // Rendered into one buffer: a big room's listing is one item.
                    let mut buf = BytesMut::with_capacity(64 + names.nicks.len() * 16);
                    encode_names(
                        &mut buf,
                        &names.name,
                        names.nicks.iter().map(Nick::as_str),
                        NAMES_LINE_BYTES,
                    );
                    Reply::Ok(ok).encode(&mut buf);
                    let _ = act.queue.reply(buf.freeze());
                }
                Err(_) => act.error(
                    Verb::Names,
                    ErrorCode::NoSuchRoom,
                    format!("there is no room {room}"),
                ),
            }));
        });
    }

    pub(super) fn cmd_list(&mut self, ctx: &mut Context<Self>) {
        let core = std::sync::Arc::clone(&self.state.core);
        let ask = async move { core.list_rooms().await };
        ctx.wait(ask.into_actor(self).map(|res, act, _| {
            // A secret room (IRC's `+s`) is listed to its members only.
            let rooms: Vec<_> = res
                .into_iter()
                .filter(|r| !r.secret || act.joined(r.name.folded()).is_some())
                .collect();
            let count = rooms.len();
            let lines = rooms.into_iter().map(|r| Reply::Room {
                room: r.name,
                members: r.members,
                private: r.private,
                topic: r.topic,
            });
            act.send_all(lines.chain([Reply::Ok(OkReply::List(count))]));
        }));
    }

    pub(super) fn cmd_server_info(&mut self, ctx: &mut Context<Self>) {
        let core = std::sync::Arc::clone(&self.state.core);
        let ask = async move { core.counts().await };
        ctx.wait(ask.into_actor(self).map(|res, act, _| {
            let Ok(counts) = res else {
                return act.error(Verb::Info, ErrorCode::Internal, "registry unavailable");
            };
            let core = &act.state.core;
            let lines = [
                ServerInfo::Name(core.config().server.name.clone()),
                ServerInfo::Version(crate::VERSION.to_string()),
                ServerInfo::UptimeSecs(core.started.elapsed().as_secs()),
                ServerInfo::Users(counts.users),
                ServerInfo::Rooms(counts.rooms),
                ServerInfo::Connections(act.state.connections.open()),
                ServerInfo::MaxLineBytes(core.config().limits.max_line_bytes),
                ServerInfo::MaxFileBytes(core.config().files.max_bytes),
            ];
            for line in lines {
                act.send(Reply::Info(line));
            }
            if let Some(account) = act.account() {
                act.send(Reply::Info(ServerInfo::Account(account.clone())));
            }
            act.send(OkReply::Info);
        }));
    }

    pub(super) fn cmd_room_info(&mut self, room: RoomName, ctx: &mut Context<Self>) {
        self.with_room(Verb::Info, room.clone(), ctx, move |act, addr, ctx| {
            let ask = addr.send(room::GetInfo);
            ctx.wait(ask.into_actor(act).map(move |res, act, _| {
                let Ok(info) = res else {
                    return act.error(
                        Verb::Info,
                        ErrorCode::NoSuchRoom,
                        format!("there is no room {room}"),
                    );
                };
                let lines = [
                    Some(RoomInfoEntry::Members(info.members)),
                    Some(RoomInfoEntry::Owner(info.owner)),
                    info.owner_account.map(RoomInfoEntry::Account),
                    Some(RoomInfoEntry::Private(info.private)),
                    Some(RoomInfoEntry::Created(rfc3339(info.created))),
                    Some(RoomInfoEntry::Topic(info.topic.map(|t| t.text))),
                    Some(RoomInfoEntry::Messages(info.messages)),
                ];
                for line in lines.into_iter().flatten() {
                    act.send(Reply::RoomInfo {
                        room: info.name.clone(),
                        info: line,
                    });
                }
                act.send(OkReply::InfoRoom(info.name));
            }));
        });
    }

    pub(super) fn cmd_topic_read(&mut self, room: RoomName, ctx: &mut Context<Self>) {
        self.with_room(Verb::Topic, room.clone(), ctx, move |act, addr, ctx| {
            let ask = addr.send(room::GetInfo);
            ctx.wait(ask.into_actor(act).map(move |res, act, _| match res {
                Ok(info) => act.send(OkReply::Topic(info.name, info.topic.map(|t| t.text))),
                Err(_) => act.error(
                    Verb::Topic,
                    ErrorCode::NoSuchRoom,
                    format!("there is no room {room}"),
                ),
            }));
        });
    }

    pub(super) fn cmd_history(
        &mut self,
        room: RoomName,
        count: Option<u32>,
        ctx: &mut Context<Self>,
    ) {
        let Some(joined) = self.joined(room.folded()) else {
            return self.not_in_room(Verb::History, &room);
        };
        let name = joined.name().clone();
        let core = &self.state.core;
        if core.db.is_none() && core.cluster.is_none() {
            return self.send(OkReply::History(name, 0));
        }
        let history = &core.config().history;
        let count = count.unwrap_or(history.on_join).min(history.max_fetch);
        let core = std::sync::Arc::clone(core);
        let query = async move { core.history(&name, u64::MAX, count).await };
        let name = joined.name().clone();
        ctx.wait(query.into_actor(self).map(move |read, act, _| match read {
            Ok(messages) => {
                let mut lines = history_lines(&name, messages);
                lines.push(Reply::Ok(OkReply::History(name, lines.len())));
                act.send_all(lines);
            }
            Err(code) => act.error(
                Verb::History,
                code,
                format!("the history of {name} cannot be read: try again later"),
            ),
        }));
    }

    pub(super) fn cmd_help(&mut self, verb: Option<Verb>) {
        match verb {
            Some(v) => self.send(Reply::Help(help::usage(v).to_string())),
            None => {
                for v in Verb::ALL {
                    self.send(Reply::Help(help::usage(v).to_string()));
                }
            }
        }
        self.send(OkReply::Help);
    }
}
