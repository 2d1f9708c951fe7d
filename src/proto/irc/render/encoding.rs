//! How IRC clients see the core's events: the [`Encoding`]s rooms render
//! with, and the member listing (`332`, `333`, `353`, `366`) a joiner gets.

use std::time::SystemTime;

use bytes::BytesMut;

use super::{put_message, Line, Numeric, Server, Stamp};
use crate::core::member::{Encoding, EncodingRef, Listing};
use crate::core::names::{Nick, RoomName};
use crate::core::{Event, FileTarget, MsgKind, MsgMeta, RoomMode, UserHost};
use crate::proto::irc::codec::MAX_BODY;

/// The capabilities that change how a room's events look to a client:
/// one [`IrcEncoding`] per combination, so that a room renders an event
/// once per combination present. Capabilities that change only what a
/// client's own commands get back (`echo-message`, `labeled-response`,
/// `batch`...) are the session's and multiply nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Look {
    /// `server-time`: `@time=` on every event.
    pub server_time: bool,
    /// `message-tags`: `msgid`, client-only tags, `TAGMSG`.
    pub message_tags: bool,
    /// `extended-join`: `JOIN #chan <account> :<realname>`.
    pub extended_join: bool,
    /// `userhost-in-names`: `353` lists `nick!user@host`.
    pub userhost_in_names: bool,
    /// `away-notify`: `AWAY` from users sharing a channel.
    pub away_notify: bool,
    /// `account-notify`: `ACCOUNT` from users sharing a channel.
    pub account_notify: bool,
    /// `account-tag`: `@account=` on messages from logged-in users.
    pub account_tag: bool,
}

/// Combinations of [`Look`]: 2 to the number of its fields.
const LOOKS: usize = 128;

impl Look {
    fn index(self) -> usize {
        usize::from(self.server_time)
            | usize::from(self.message_tags) << 1
            | usize::from(self.extended_join) << 2
            | usize::from(self.userhost_in_names) << 3
            | usize::from(self.away_notify) << 4
            | usize::from(self.account_notify) << 5
            | usize::from(self.account_tag) << 6
    }

    fn from_index(i: usize) -> Self {
        Look {
            server_time: i & 1 != 0,
            message_tags: i & 2 != 0,
            extended_join: i & 4 != 0,
            userhost_in_names: i & 8 != 0,
            away_notify: i & 16 != 0,
            account_notify: i & 32 != 0,
            account_tag: i & 64 != 0,
        }
    }
}

/// How IRC clients see events, for one set of the capabilities that
/// change how events look.
pub struct IrcEncoding {
    /// Tells encodings apart (per server and capabilities).
    key: &'static str,
    server: Server,
    look: Look,
}

impl IrcEncoding {
    /// The capabilities this encoding renders for.
    pub fn look(&self) -> Look {
        self.look
    }

    /// The tags of a message: its time where server-time is on, its msgid
    /// and the sender's tags where message-tags is, the sender's account
    /// where account-tag is.
    fn message_stamp<'a>(&self, room: Option<&'a RoomName>, meta: &'a MsgMeta) -> Stamp<'a> {
        let tags = self.look.message_tags;
        Stamp {
            time: self.look.server_time.then_some(meta.time),
            // A stored message's id names its room; others' are the
            // server's (see `put_msgid`).
            msgid: (tags && meta.seq > 0)
                .then(|| (room.map_or("", |r| r.folded().as_str()), meta.seq)),
            account: meta.account.as_deref().filter(|_| self.look.account_tag),
            client: meta.tags.as_deref().filter(|_| tags),
            ..Stamp::default()
        }
    }

    /// Appends `event` as IRC lines, stamped `time` where server-time is
    /// on (a message carries its own time).
    pub fn encode_at(&self, event: &Event, time: SystemTime, buf: &mut BytesMut) {
        let tag = |buf: &mut BytesMut| {
            Stamp {
                time: self.look.server_time.then_some(time),
                ..Stamp::default()
            }
            .put(buf)
        };
        match event {
            Event::Msg {
                room,
                from,
                userhost,
                text,
                kind,
                meta,
            } => {
                let source = (from.as_str(), Some(userhost));
                let stamp = self.message_stamp(Some(room), meta);
                put_message(buf, &stamp, source, *kind, room.as_str(), text)
            }
            Event::Privmsg {
                from,
                userhost,
                to,
                text,
                kind,
                meta,
            } => {
                let to = to.as_ref().map_or("*", Nick::as_str);
                let source = (from.as_str(), Some(userhost));
                let stamp = self.message_stamp(None, meta);
                put_message(buf, &stamp, source, *kind, to, text)
            }
            Event::TagMsg {
                target,
                from,
                userhost,
                meta,
            } => {
                if !self.look.message_tags {
                    return;
                }
                self.message_stamp(None, meta).put(buf);
                let to = match target {
                    FileTarget::Room(r) => r.as_str(),
                    FileTarget::User(n) => n.as_str(),
                };
                Line::new(buf)
                    .source(from.as_str(), Some(userhost))
                    .word("TAGMSG")
                    .word(to)
                    .end()
            }
            Event::Account {
                nick,
                userhost,
                account,
            } => {
                if !self.look.account_notify {
                    return;
                }
                tag(buf);
                Line::new(buf)
                    .source(nick.as_str(), Some(userhost))
                    .word("ACCOUNT")
                    .word(account.as_ref().map_or("*", Nick::as_str))
                    .end()
            }
            Event::Away {
                nick,
                userhost,
                message,
            } => {
                if !self.look.away_notify {
                    return;
                }
                tag(buf);
                let line = Line::new(buf)
                    .source(nick.as_str(), Some(userhost))
                    .word("AWAY");
                match message {
                    Some(m) => line.trailing(m),
                    None => line,
                }
                .end()
            }
            Event::Join {
                room,
                nick,
                userhost,
                realname,
                account,
            } => {
                tag(buf);
                let line = Line::new(buf)
                    .source(nick.as_str(), Some(userhost))
                    .word("JOIN")
                    .word(room.as_str());
                if self.look.extended_join {
                    // `*`: logged out. A native client's real name is
                    // its nickname.
                    let realname = if realname.is_empty() {
                        nick.as_str()
                    } else {
                        realname
                    };
                    line.word(account.as_ref().map_or("*", Nick::as_str))
                        .trailing(realname)
                } else {
                    line
                }
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
            Event::Closed {
                room,
                member,
                by,
                userhost,
                reason,
            } => {
                tag(buf);
                Line::new(buf)
                    .source(by.as_str(), Some(userhost))
                    .word("KICK")
                    .word(room.as_str())
                    .word(member.as_str())
                    .trailing(reason.as_deref().unwrap_or("room closed"))
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
                let stamp = Stamp {
                    time: self.look.server_time.then_some(time),
                    ..Stamp::default()
                };
                put_message(buf, &stamp, source, MsgKind::Notice, to, &text)
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
        let now = if self.look.server_time {
            SystemTime::now()
        } else {
            SystemTime::UNIX_EPOCH
        };
        self.encode_at(event, now, buf);
    }

    fn shows_time(&self) -> bool {
        self.look.server_time
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
        let full = self.look.userhost_in_names;
        encode_names(
            buf,
            &self.server,
            to,
            listing.room,
            listing.secret,
            listing
                .members
                .map(|m| (m.nick, m.op, full.then_some(m.userhost))),
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
    members: impl Iterator<Item = (&'a str, bool, Option<&'a UserHost>)>,
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
    members: impl Iterator<Item = (&'a str, bool, Option<&'a UserHost>)>,
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
    for (nick, op, userhost) in members {
        let mask = userhost.map_or(0, |uh| 1 + uh.as_str().len());
        let width = nick.len() + usize::from(op) + mask;
        if !names.is_empty() && names.len() + 1 + width > room_for_names {
            flush(buf, &mut names);
        }
        if !names.is_empty() {
            names.push(' ');
        }
        if op {
            names.push('@');
        }
        names.push_str(nick);
        if let Some(uh) = userhost {
            names.push('!');
            names.push_str(uh.as_str());
        }
    }
    if !names.is_empty() {
        flush(buf, &mut names);
    }
}

/// The encodings of one IRC listener, one per [`Look`]. Made once per
/// server start and kept for the process's life (rooms hold `'static`
/// references to encodings): a few kilobytes per start.
#[derive(Clone)]
pub struct IrcEncodings {
    all: std::sync::Arc<[(&'static IrcEncoding, EncodingRef)]>,
}

impl IrcEncodings {
    /// The encodings for `server`.
    pub fn new(server: &Server) -> Self {
        let make = |i: usize| {
            let key = format!("irc:{}:{}:{i}", server.name, server.network);
            let encoding: &'static IrcEncoding = Box::leak(Box::new(IrcEncoding {
                key: Box::leak(key.into_boxed_str()),
                server: server.clone(),
                look: Look::from_index(i),
            }));
            let dynamic: &'static &'static dyn Encoding =
                Box::leak(Box::new(encoding as &dyn Encoding));
            (encoding, EncodingRef::new(dynamic))
        };
        IrcEncodings {
            all: (0..LOOKS).map(make).collect(),
        }
    }

    /// The encoding for a client whose capabilities make `look`.
    pub fn get(&self, look: Look) -> EncodingRef {
        self.renderer(look).1
    }

    /// The same, as its concrete type (to render at a given time).
    pub fn renderer(&self, look: Look) -> (&'static IrcEncoding, EncodingRef) {
        self.all[look.index()]
    }
}
