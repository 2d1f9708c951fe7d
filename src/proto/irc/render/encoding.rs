//! How IRC clients see the core's events: the [`Encoding`]s rooms render
//! with, and the member listing (`332`, `333`, `353`, `366`) a joiner gets.

use std::time::SystemTime;

use bytes::BytesMut;

use super::{put_message, put_time_tag, Line, Numeric, Server};
use crate::core::member::{Encoding, EncodingRef, Listing};
use crate::core::names::{Nick, RoomName};
use crate::core::{Event, FileTarget, MsgKind, RoomMode};
use crate::proto::irc::codec::MAX_BODY;

/// How IRC clients see events, for one set of the capabilities that
/// change how events look.
pub struct IrcEncoding {
    /// Tells encodings apart (per server and capabilities).
    key: &'static str,
    server: Server,
    /// `server-time`: events carry `@time=`.
    server_time: bool,
}

impl IrcEncoding {
    /// `time`, where server-time is on.
    fn stamp(&self, time: SystemTime) -> Option<SystemTime> {
        self.server_time.then_some(time)
    }

    /// Appends `event` as IRC lines, stamped `time` where server-time is on.
    pub fn encode_at(&self, event: &Event, time: SystemTime, buf: &mut BytesMut) {
        let tag = |buf: &mut BytesMut| {
            if self.server_time {
                put_time_tag(buf, time);
            }
        };
        match event {
            Event::Msg {
                room,
                from,
                userhost,
                text,
                kind,
            } => {
                let source = (from.as_str(), Some(userhost));
                put_message(buf, self.stamp(time), source, *kind, room.as_str(), text)
            }
            Event::Privmsg {
                from,
                userhost,
                to,
                text,
                kind,
            } => {
                let to = to.as_ref().map_or("*", Nick::as_str);
                let source = (from.as_str(), Some(userhost));
                put_message(buf, self.stamp(time), source, *kind, to, text)
            }
            Event::Join {
                room,
                nick,
                userhost,
            } => {
                tag(buf);
                Line::new(buf)
                    .source(nick.as_str(), Some(userhost))
                    .word("JOIN")
                    .word(room.as_str())
                    .end()
            }
            Event::Part {
                room,
                nick,
                userhost,
                reason,
            } => {
                tag(buf);
                let line = Line::new(buf)
                    .source(nick.as_str(), Some(userhost))
                    .word("PART")
                    .word(room.as_str());
                match reason {
                    Some(r) => line.trailing(r),
                    None => line,
                }
                .end()
            }
            Event::Quit {
                nick,
                userhost,
                reason,
            } => {
                tag(buf);
                Line::new(buf)
                    .source(nick.as_str(), Some(userhost))
                    .word("QUIT")
                    .trailing(reason.as_deref().unwrap_or("Quit"))
                    .end()
            }
            Event::Nick { old, new, userhost } => {
                tag(buf);
                Line::new(buf)
                    .source(old.as_str(), Some(userhost))
                    .word("NICK")
                    .word(new.as_str())
                    .end()
            }
            Event::Topic {
                room,
                nick,
                userhost,
                text,
            } => {
                tag(buf);
                Line::new(buf)
                    .source(nick.as_str(), Some(userhost))
                    .word("TOPIC")
                    .word(room.as_str())
                    .trailing(text)
                    .end()
            }
            Event::Kick {
                room,
                nick,
                by,
                userhost,
                reason,
            } => {
                tag(buf);
                Line::new(buf)
                    .source(by.as_str(), Some(userhost))
                    .word("KICK")
                    .word(room.as_str())
                    .word(nick.as_str())
                    .trailing(reason.as_deref().unwrap_or(by.as_str()))
                    .end()
            }
            Event::Mode {
                room,
                nick,
                userhost,
                change,
            } => {
                tag(buf);
                let line = Line::new(buf)
                    .source(nick.as_str(), Some(userhost))
                    .word("MODE")
                    .word(room.as_str());
                match change {
                    RoomMode::Key(key) => line.word("+k").word(key),
                    RoomMode::NoKey => line.word("-k").word("*"),
                    RoomMode::Op(to, on) => {
                        line.word(if *on { "+o" } else { "-o" }).word(to.as_str())
                    }
                    RoomMode::Limit(Some(n)) => line.word("+l").num(u64::from(*n)),
                    RoomMode::Limit(None) => line.word("-l"),
                    RoomMode::InviteOnly(on) => line.word(if *on { "+i" } else { "-i" }),
                    RoomMode::TopicLocked(on) => line.word(if *on { "+t" } else { "-t" }),
                    RoomMode::MembersOnly(on) => line.word(if *on { "+n" } else { "-n" }),
                    RoomMode::Secret(on) => line.word(if *on { "+s" } else { "-s" }),
                    RoomMode::Ban(mask, on) => line.word(if *on { "+b" } else { "-b" }).word(mask),
                }
                .end()
            }
            Event::Invite {
                room,
                from,
                userhost,
                to,
            } => {
                tag(buf);
                Line::new(buf)
                    .source(from.as_str(), Some(userhost))
                    .word("INVITE")
                    .word(to.as_str())
                    .word(room.as_str())
                    .end()
            }
            Event::File {
                target,
                from,
                userhost,
                id,
                size,
                sha256,
                filename,
            } => {
                let to = match target {
                    FileTarget::Room(r) => r.as_str(),
                    FileTarget::User(n) => n.as_str(),
                };
                let text = format!(
                    "shares the file \"{filename}\" ({size} bytes, sha256 {sha256}): \
                     fetch it over the native protocol with FETCH {id}"
                );
                let source = (from.as_str(), Some(userhost));
                put_message(buf, self.stamp(time), source, MsgKind::Notice, to, &text)
            }
        }
    }
}

impl Encoding for IrcEncoding {
    fn key(&self) -> &'static str {
        self.key
    }

    fn event(&self, event: &Event, buf: &mut BytesMut) {
        // The clock is read only where it is shown.
        let now = if self.server_time {
            SystemTime::now()
        } else {
            SystemTime::UNIX_EPOCH
        };
        self.encode_at(event, now, buf);
    }

    fn names(&self, listing: Listing<'_>, buf: &mut BytesMut) {
        let to = listing.to.as_str();
        if let Some(topic) = listing.topic.filter(|t| !t.text.is_empty()) {
            Numeric::Topic(listing.room.clone(), topic.text.clone()).encode(&self.server, to, buf);
            if let Some((by, at)) = &topic.set {
                Numeric::TopicWhoTime(listing.room.clone(), by.clone(), *at).encode(
                    &self.server,
                    to,
                    buf,
                );
            }
        }
        encode_names(
            buf,
            &self.server,
            to,
            listing.room,
            listing.secret,
            listing.members.map(|m| (m.nick, m.op)),
        );
    }
}

/// Appends `353` lines (as many as the members take) and the `366`.
pub fn encode_names<'a>(
    buf: &mut BytesMut,
    server: &Server,
    to: &str,
    room: &RoomName,
    secret: bool,
    members: impl Iterator<Item = (&'a str, bool)>,
) {
    encode_name_lines(buf, server, to, room, secret, members);
    Numeric::EndOfNames(room.as_str().to_string()).encode(server, to, buf);
}

/// Appends `353` lines (as many as the members take), without the `366`
/// (`NAMES` of several channels ends them with one); a secret channel's
/// are marked `@`, the others `=`.
pub fn encode_name_lines<'a>(
    buf: &mut BytesMut,
    server: &Server,
    to: &str,
    room: &RoomName,
    secret: bool,
    members: impl Iterator<Item = (&'a str, bool)>,
) {
    // ":" server " 353 " to " = " room " :"
    let head = 1 + server.name.len() + 5 + to.len() + 3 + room.as_str().len() + 2;
    let room_for_names = MAX_BODY.saturating_sub(head);
    let mut names = String::new();
    let flush = |buf: &mut BytesMut, names: &mut String| {
        Line::new(buf)
            .source(&server.name, None)
            .word("353")
            .word(to)
            .word(if secret { "@" } else { "=" })
            .word(room.as_str())
            .trailing(names)
            .end();
        names.clear();
    };
    for (nick, owner) in members {
        let width = nick.len() + usize::from(owner);
        if !names.is_empty() && names.len() + 1 + width > room_for_names {
            flush(buf, &mut names);
        }
        if !names.is_empty() {
            names.push(' ');
        }
        if owner {
            names.push('@');
        }
        names.push_str(nick);
    }
    if !names.is_empty() {
        flush(buf, &mut names);
    }
}

/// The encodings of one IRC listener, one per set of event-changing
/// capabilities. Made once per server start and kept for the process's
/// life (rooms hold `'static` references to encodings): a few hundred
/// bytes per start.
#[derive(Clone, Copy)]
pub struct IrcEncodings {
    plain: (&'static IrcEncoding, EncodingRef),
    timed: (&'static IrcEncoding, EncodingRef),
}

impl IrcEncodings {
    /// The encodings for `server`.
    pub fn new(server: &Server) -> Self {
        let make = |server_time: bool| {
            let key = format!(
                "irc:{}:{}:{}",
                server.name,
                server.network,
                if server_time { "time" } else { "plain" }
            );
            let encoding: &'static IrcEncoding = Box::leak(Box::new(IrcEncoding {
                key: Box::leak(key.into_boxed_str()),
                server: server.clone(),
                server_time,
            }));
            let dynamic: &'static &'static dyn Encoding =
                Box::leak(Box::new(encoding as &dyn Encoding));
            (encoding, EncodingRef::new(dynamic))
        };
        IrcEncodings {
            plain: make(false),
            timed: make(true),
        }
    }

    /// The encoding for a client that has `server-time` or not.
    pub fn get(&self, server_time: bool) -> EncodingRef {
        self.renderer(server_time).1
    }

    /// The same, as its concrete type (to render at a given time).
    pub fn renderer(&self, server_time: bool) -> (&'static IrcEncoding, EncodingRef) {
        if server_time {
            self.timed
        } else {
            self.plain
        }
    }
}
