//! The client side of the protocol: parsing server lines back into
//! [`Reply`] and [`Event`] values, for bots, the load tool and tests.
//!
//! [`ServerLine::parse`] is the inverse of [`Reply::to_line`] and
//! [`Event::to_line`]: for every value the server can send, rendering it and
//! parsing the line gives the value back (checked by a property test below),
//! for every field a native line carries. Fields it does not carry (what
//! only IRC shows) are parsed as what a native line implies: the sender's
//! [`UserHost::native`], [`MsgKind::Privmsg`], and no recipient named.
//!
//! The first word of a line tells its kind: `HELLO`, `OK`, `ERR`, `NAMES`,
//! `ROOM`, `INFO`, `HELP`, `HISTORY`, `DATA`, `PONG`, `PING` and `SERVER` are
//! replies; `MSG`, `PRIVMSG`, `JOIN`, `PART`, `QUIT`, `NICK`, `TOPIC`, `KICK`
//! and `FILE` are events. Words are separated by exactly one space; a text
//! field is the rest of the line after its one separating space, kept
//! verbatim (leading spaces included). An optional trailing text is present
//! iff something follows its separating space.

use std::str::FromStr;

use bytes::Bytes;

use crate::core::names::{NameError, Nick, RoomName, STORED_NAME_LIMIT};
use crate::core::ErrorCode;
use crate::core::Event;
use crate::core::FileId;
use crate::core::FileTarget;
use crate::core::{no_realname, MsgKind, MsgMeta, UserHost};
use crate::proto::native::render::{OkReply, Reply, RoomInfoEntry, ServerInfo};
use crate::proto::native::verb::{ProtocolError, Verb, VerbTag};

/// One line from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerLine {
    /// A line addressed to this client: data lines, final replies, notices.
    Reply(Reply),
    /// An announcement of what someone else did.
    Event(Event),
}

/// A server line that could not be parsed: which line, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse server line {line:?}: {problem}")]
pub struct ClientParseError {
    /// The offending line, without its final `\n`.
    pub line: String,
    /// What was wrong with it.
    pub problem: LineProblem,
}

/// What was wrong with a server line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineProblem {
    /// The line holds nothing.
    #[error("the line is empty")]
    Empty,
    /// A CR, or an LF other than the final one, is in the line.
    #[error("the line holds a CR or an inner LF")]
    LineBreak,
    /// The first word is not a reply or event the server sends.
    #[error("unknown line kind {0:?}")]
    UnknownKind(String),
    /// The verb after `OK` is not one that has an `OK` reply.
    #[error("unknown verb {0:?} after OK")]
    UnknownOkVerb(String),
    /// The line ends before a required field.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A word field is empty (two spaces in a row, or a trailing space).
    #[error("empty {0}")]
    EmptyField(&'static str),
    /// A nickname or room name does not follow the grammar.
    #[error("bad {field} {value:?}: {source}")]
    BadName {
        /// Which field.
        field: &'static str,
        /// The word found.
        value: String,
        /// Why it is not a name.
        source: NameError,
    },
    /// A count or size is not a decimal number that fits.
    #[error("{field} is not a decimal number: {value:?}")]
    BadNumber {
        /// Which field.
        field: &'static str,
        /// The word found.
        value: String,
    },
    /// The word after `ERR <VERB>` is not a known error code.
    #[error("unknown error code {0:?}")]
    UnknownCode(String),
    /// A file id is not 20 lower-case hex digits.
    #[error("bad file id {0:?}")]
    BadFileId(String),
    /// The key of an `INFO` line is not one the server sends.
    #[error("unknown INFO key {0:?}")]
    UnknownInfoKey(String),
    /// The privacy flag of a `ROOM` or `INFO` line is neither `yes` nor `no`.
    #[error("private flag must be yes or no, not {0:?}")]
    BadFlag(String),
    /// Something follows the last field.
    #[error("unexpected trailing text {0:?}")]
    Trailing(String),
}

impl ServerLine {
    /// Parses one server line, with or without its trailing `\n`.
    pub fn parse(line: &str) -> Result<ServerLine, ClientParseError> {
        let body = line.strip_suffix('\n').unwrap_or(line);
        parse_body(body).map_err(|problem| ClientParseError {
            line: body.to_owned(),
            problem,
        })
    }

    /// Whether the line ends a command: `OK ...`, `ERR ...` or `PONG`.
    ///
    /// Every command gets exactly one of these, in order, so a bot counts
    /// them to pair replies with the commands it sent.
    pub fn is_final_reply(&self) -> bool {
        matches!(
            self,
            ServerLine::Reply(Reply::Ok(_) | Reply::Err(_) | Reply::Pong(_))
        )
    }

    /// The line as the server renders it, `\n` included.
    pub fn to_line(&self) -> Bytes {
        match self {
            ServerLine::Reply(r) => r.to_line(),
            ServerLine::Event(e) => e.to_line(),
        }
    }
}

impl From<Reply> for ServerLine {
    fn from(r: Reply) -> Self {
        ServerLine::Reply(r)
    }
}

impl From<Event> for ServerLine {
    fn from(e: Event) -> Self {
        ServerLine::Event(e)
    }
}

/// The fields of a line, taken left to right.
///
/// `rest` is what follows the last separating space taken, or `None` once
/// the line has ended (no separating space was left).
struct Fields<'a> {
    rest: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn new(line: &'a str) -> Self {
        Fields { rest: Some(line) }
    }

    /// The next word: up to the next space or the end of the line.
    fn word(&mut self, what: &'static str) -> Result<&'a str, LineProblem> {
        let rest = self.rest.ok_or(LineProblem::Missing(what))?;
        let (word, after) = match rest.split_once(' ') {
            Some((word, after)) => (word, Some(after)),
            None => (rest, None),
        };
        if word.is_empty() {
            return Err(LineProblem::EmptyField(what));
        }
        self.rest = after;
        Ok(word)
    }

    fn owned_word(&mut self, what: &'static str) -> Result<String, LineProblem> {
        self.word(what).map(str::to_owned)
    }

    fn nick(&mut self, what: &'static str) -> Result<Nick, LineProblem> {
        let word = self.word(what)?;
        Nick::parse(word, STORED_NAME_LIMIT).map_err(|source| bad_name(what, word, source))
    }

    fn room(&mut self, what: &'static str) -> Result<RoomName, LineProblem> {
        let word = self.word(what)?;
        RoomName::parse_hashed(word, STORED_NAME_LIMIT)
            .map_err(|source| bad_name(what, word, source))
    }

    fn file_id(&mut self) -> Result<FileId, LineProblem> {
        let word = self.word("file id")?;
        FileId::parse(word).ok_or_else(|| LineProblem::BadFileId(word.to_owned()))
    }

    /// `1*DIGIT`, without the sign `str::parse` would accept.
    fn number<T: FromStr>(&mut self, what: &'static str) -> Result<T, LineProblem> {
        let word = self.word(what)?;
        word.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| word.parse().ok())
            .flatten()
            .ok_or_else(|| LineProblem::BadNumber {
                field: what,
                value: word.to_owned(),
            })
    }

    /// The rest of the line, which must be there (it may be empty).
    fn text(&mut self, what: &'static str) -> Result<String, LineProblem> {
        self.rest
            .take()
            .map(str::to_owned)
            .ok_or(LineProblem::Missing(what))
    }

    /// The rest of the line, if there is something after the separator.
    fn opt_text(&mut self) -> Option<String> {
        self.rest
            .take()
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    }

    /// A privacy flag: `yes` or `no`.
    fn flag(&mut self) -> Result<bool, LineProblem> {
        match self.word("private flag")? {
            "yes" => Ok(true),
            "no" => Ok(false),
            other => Err(LineProblem::BadFlag(other.to_owned())),
        }
    }

    fn has_more(&self) -> bool {
        self.rest.is_some()
    }

    /// Fails if anything is left after the last field.
    fn end(&self) -> Result<(), LineProblem> {
        match self.rest {
            Some(rest) => Err(LineProblem::Trailing(rest.to_owned())),
            None => Ok(()),
        }
    }
}

fn bad_name(field: &'static str, value: &str, source: NameError) -> LineProblem {
    LineProblem::BadName {
        field,
        value: value.to_owned(),
        source,
    }
}

/// A line without its final `\n`.
fn parse_body(line: &str) -> Result<ServerLine, LineProblem> {
    if line.is_empty() {
        return Err(LineProblem::Empty);
    }
    if line.contains(['\n', '\r']) {
        return Err(LineProblem::LineBreak);
    }
    let mut f = Fields::new(line);
    let kind = f.word("line kind")?;
    let parsed = match kind {
        "HELLO" | "OK" | "ERR" | "NAMES" | "ROOM" | "INFO" | "HELP" | "HISTORY" | "DATA"
        | "PONG" | "PING" | "SERVER" => ServerLine::Reply(reply(kind, &mut f)?),
        "MSG" | "PRIVMSG" | "JOIN" | "PART" | "QUIT" | "NICK" | "TOPIC" | "KICK" | "FILE" => {
            ServerLine::Event(event(kind, &mut f)?)
        }
        other => return Err(LineProblem::UnknownKind(other.to_owned())),
    };
    f.end()?;
    Ok(parsed)
}

/// The fields of a reply line after its first word `kind`.
fn reply(kind: &str, f: &mut Fields<'_>) -> Result<Reply, LineProblem> {
    Ok(match kind {
        // HELLO <server-name> <version> <text>
        "HELLO" => Reply::Hello {
            server: f.owned_word("server name")?,
            version: f.owned_word("version")?,
            text: f.text("greeting text")?,
        },
        "OK" => Reply::Ok(ok_reply(f)?),
        // ERR <VERB> <CODE> <text>, VERB = known verb / unknown word / "*"
        "ERR" => {
            let verb = match f.word("verb")? {
                "*" => VerbTag::Star,
                word => match Verb::from_word(word) {
                    Some(verb) => VerbTag::Known(verb),
                    None => VerbTag::Unknown(word.into()),
                },
            };
            let code = f.word("error code")?;
            let code =
                ErrorCode::from_wire(code).ok_or_else(|| LineProblem::UnknownCode(code.into()))?;
            let text = f.text("error text")?;
            Reply::Err(ProtocolError::new(verb, code, text))
        }
        // NAMES <room> *(<nick>)
        "NAMES" => {
            let room = f.room("room")?;
            let mut nicks = Vec::new();
            while f.has_more() {
                nicks.push(f.nick("nick")?);
            }
            Reply::Names { room, nicks }
        }
        // ROOM <room> <members> <yes|no> [topic]
        "ROOM" => Reply::Room {
            room: f.room("room")?,
            members: f.number("member count")?,
            private: f.flag()?,
            topic: f.opt_text(),
        },
        // INFO <room> <key> [value]  |  INFO <key> <value>
        "INFO" => {
            let first = f.word("key or room")?;
            if first.starts_with('#') {
                Reply::RoomInfo {
                    room: RoomName::parse_hashed(first, STORED_NAME_LIMIT)
                        .map_err(|source| bad_name("room", first, source))?,
                    info: room_info(f)?,
                }
            } else {
                Reply::Info(server_info(first, f)?)
            }
        }
        // HELP <text>
        "HELP" => Reply::Help(f.text("help text")?),
        // HISTORY <room> <rfc3339-time> <from> <text>
        "HISTORY" => Reply::History {
            room: f.room("room")?,
            time: f.owned_word("time")?,
            from: f.nick("sender")?,
            text: f.text("text")?,
        },
        // DATA <id> <size> <filename>
        "DATA" => Reply::Data {
            id: f.file_id()?,
            size: f.number("size")?,
            filename: f.text("filename")?,
        },
        // PONG [token]
        "PONG" => Reply::Pong(f.opt_text()),
        // PING <token>
        "PING" => Reply::Ping(f.text("token")?),
        // SERVER <text>
        "SERVER" => Reply::Server(f.text("notice text")?),
        other => unreachable!("{other} is not a reply kind"),
    })
}

/// The value of an `INFO <key> <value>` line, after `key`.
fn server_info(key: &str, f: &mut Fields<'_>) -> Result<ServerInfo, LineProblem> {
    Ok(match key {
        "name" => ServerInfo::Name(f.text("value")?),
        "version" => ServerInfo::Version(f.text("value")?),
        "uptime_secs" => ServerInfo::UptimeSecs(f.number("value")?),
        "users" => ServerInfo::Users(f.number("value")?),
        "rooms" => ServerInfo::Rooms(f.number("value")?),
        "connections" => ServerInfo::Connections(f.number("value")?),
        "max_line_bytes" => ServerInfo::MaxLineBytes(f.number("value")?),
        other => return Err(LineProblem::UnknownInfoKey(other.to_owned())),
    })
}

/// The key and value of an `INFO <room> <key> [value]` line, after the room.
fn room_info(f: &mut Fields<'_>) -> Result<RoomInfoEntry, LineProblem> {
    Ok(match f.word("key")? {
        "members" => RoomInfoEntry::Members(f.number("value")?),
        // No owner, like no topic, ends the line after the key.
        "owner" if f.has_more() => RoomInfoEntry::Owner(Some(f.nick("owner")?)),
        "owner" => RoomInfoEntry::Owner(None),
        "private" => RoomInfoEntry::Private(f.flag()?),
        "created" => RoomInfoEntry::Created(f.owned_word("value")?),
        "topic" => RoomInfoEntry::Topic(f.opt_text()),
        "messages" => RoomInfoEntry::Messages(f.number("value")?),
        other => return Err(LineProblem::UnknownInfoKey(other.to_owned())),
    })
}

/// The fields of an `OK <VERB> ...` line after `OK`.
fn ok_reply(f: &mut Fields<'_>) -> Result<OkReply, LineProblem> {
    Ok(match f.word("verb")? {
        "NICK" => OkReply::Nick(f.nick("nick")?),
        "JOIN" => OkReply::Join(f.room("room")?),
        "PART" => OkReply::Part(f.room("room")?),
        "MSG" => OkReply::Msg(f.room("room")?),
        "PRIVMSG" => OkReply::Privmsg(f.nick("nick")?),
        "NAMES" => OkReply::Names(f.room("room")?, f.number("count")?),
        "LIST" => OkReply::List(f.number("count")?),
        // OK INFO  |  OK INFO <room>
        "INFO" if f.has_more() => OkReply::InfoRoom(f.room("room")?),
        "INFO" => OkReply::Info,
        // OK TOPIC <room> [text]
        "TOPIC" => OkReply::Topic(f.room("room")?, f.opt_text()),
        "KICK" => OkReply::Kick(f.room("room")?, f.nick("nick")?),
        "FILE" => OkReply::File {
            id: f.file_id()?,
            sha256: f.owned_word("sha256")?,
        },
        "FETCH" => OkReply::Fetch(f.file_id()?),
        "HISTORY" => OkReply::History(f.room("room")?, f.number("count")?),
        "HELP" => OkReply::Help,
        "QUIT" => OkReply::Quit,
        other => return Err(LineProblem::UnknownOkVerb(other.to_owned())),
    })
}

/// The fields of an event line after its first word `kind`.
fn event(kind: &str, f: &mut Fields<'_>) -> Result<Event, LineProblem> {
    Ok(match kind {
        // MSG <room> <from> <text>
        "MSG" => Event::Msg {
            room: f.room("room")?,
            from: f.nick("sender")?,
            userhost: UserHost::native(),
            text: f.text("text")?,
            kind: MsgKind::Privmsg,
            meta: MsgMeta::default(),
        },
        // PRIVMSG <from> <text>
        "PRIVMSG" => Event::Privmsg {
            from: f.nick("sender")?,
            userhost: UserHost::native(),
            to: None,
            text: f.text("text")?,
            kind: MsgKind::Privmsg,
            meta: MsgMeta::default(),
        },
        // JOIN <room> <nick>
        "JOIN" => Event::Join {
            room: f.room("room")?,
            nick: f.nick("nick")?,
            userhost: UserHost::native(),
            realname: no_realname(),
        },
        // PART <room> <nick> [reason]
        "PART" => Event::Part {
            room: f.room("room")?,
            nick: f.nick("nick")?,
            userhost: UserHost::native(),
            reason: f.opt_text(),
        },
        // QUIT <nick> [reason]
        "QUIT" => Event::Quit {
            nick: f.nick("nick")?,
            userhost: UserHost::native(),
            reason: f.opt_text(),
        },
        // NICK <old> <new>
        "NICK" => Event::Nick {
            old: f.nick("old nick")?,
            new: f.nick("new nick")?,
            userhost: UserHost::native(),
        },
        // TOPIC <room> <nick> <text>
        "TOPIC" => Event::Topic {
            room: f.room("room")?,
            nick: f.nick("nick")?,
            userhost: UserHost::native(),
            text: f.text("topic")?,
        },
        // KICK <room> <nick> <by> [reason]
        "KICK" => Event::Kick {
            room: f.room("room")?,
            nick: f.nick("kicked nick")?,
            by: f.nick("kicker")?,
            userhost: UserHost::native(),
            reason: f.opt_text(),
        },
        // FILE <#room|nick> <from> <id> <size> <sha256> <filename>
        "FILE" => Event::File {
            target: if f.rest.is_some_and(|r| r.starts_with('#')) {
                FileTarget::Room(f.room("target room")?)
            } else {
                FileTarget::User(f.nick("target nick")?)
            },
            from: f.nick("sender")?,
            userhost: UserHost::native(),
            id: f.file_id()?,
            size: f.number("size")?,
            sha256: f.owned_word("sha256")?,
            filename: f.text("filename")?,
        },
        other => unreachable!("{other} is not an event kind"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn nick(s: &str) -> Nick {
        Nick::parse(s, STORED_NAME_LIMIT).unwrap()
    }

    fn room(s: &str) -> RoomName {
        RoomName::parse_hashed(s, STORED_NAME_LIMIT).unwrap()
    }

    fn s(text: &str) -> String {
        text.to_owned()
    }

    /// A file id ending in the hex digits `tail`.
    fn fid(tail: &str) -> FileId {
        FileId::parse(&format!("{tail:0>20}")).unwrap()
    }

    fn err(verb: VerbTag, code: ErrorCode, text: &str) -> Reply {
        Reply::Err(ProtocolError::new(verb, code, s(text)))
    }

    fn render(line: &ServerLine) -> String {
        String::from_utf8(line.to_line().to_vec()).unwrap()
    }

    /// One value of every variant, with the awkward cases of each field.
    fn every_variant() -> Vec<ServerLine> {
        let r = room("#Lobby.1");
        let (a, b) = (nick("alice"), nick("[b0b]"));
        let mut replies = vec![
            Reply::Hello {
                server: s("chatroom"),
                version: s("0.1.0"),
                text: s("Welcome! Pick a nickname: NICK <name>"),
            },
            err(VerbTag::Known(Verb::Join), ErrorCode::BadKey, "wrong key"),
            err(
                VerbTag::Unknown("FLY".into()),
                ErrorCode::UnknownCommand,
                "try HELP",
            ),
            err(VerbTag::Star, ErrorCode::BadSyntax, " empty  command "),
            Reply::Names {
                room: r.clone(),
                nicks: vec![a.clone(), b.clone()],
            },
            Reply::Names {
                room: r.clone(),
                nicks: vec![],
            },
            // Nicknames beyond ASCII read back as sent.
            Reply::Names {
                room: r.clone(),
                nicks: vec![nick("Zoë"), nick("さくら"), nick("Дмитрий"), nick("аlice")],
            },
            Reply::Room {
                room: r.clone(),
                members: 3,
                private: true,
                topic: Some(s("  a topic ")),
            },
            Reply::Room {
                room: r.clone(),
                members: 0,
                private: false,
                topic: None,
            },
            Reply::Info(ServerInfo::Name(s("chat room  2"))),
            Reply::Info(ServerInfo::Version(s("0.1.0"))),
            Reply::Info(ServerInfo::UptimeSecs(u64::MAX)),
            Reply::Info(ServerInfo::Users(0)),
            Reply::Info(ServerInfo::Rooms(1)),
            Reply::Info(ServerInfo::Connections(2)),
            Reply::Info(ServerInfo::MaxLineBytes(2048)),
        ];
        let room_infos = [
            RoomInfoEntry::Members(3),
            RoomInfoEntry::Owner(Some(b.clone())),
            RoomInfoEntry::Owner(None),
            RoomInfoEntry::Private(true),
            RoomInfoEntry::Private(false),
            RoomInfoEntry::Created(s("2024-05-01T12:00:00Z")),
            RoomInfoEntry::Topic(Some(s(" spaced topic"))),
            RoomInfoEntry::Topic(None),
            RoomInfoEntry::Messages(0),
        ];
        replies.extend(room_infos.into_iter().map(|info| Reply::RoomInfo {
            room: r.clone(),
            info,
        }));
        replies.extend([
            Reply::Help(s("NICK <nick> - set or change your nickname")),
            Reply::History {
                room: r.clone(),
                time: s("2024-05-01T12:00:00Z"),
                from: a.clone(),
                text: s("hi  there"),
            },
            Reply::Data {
                id: fid("f00"),
                size: u64::MAX,
                filename: s(" my file.txt"),
            },
            Reply::Pong(None),
            Reply::Pong(Some(s(" a b "))),
            Reply::Ping(s("12345")),
            Reply::Server(s("shutting down")),
        ]);
        let oks = [
            OkReply::Nick(a.clone()),
            OkReply::Join(r.clone()),
            OkReply::Part(r.clone()),
            OkReply::Msg(r.clone()),
            OkReply::Privmsg(b.clone()),
            OkReply::Names(r.clone(), 2),
            OkReply::List(usize::MAX),
            OkReply::Info,
            OkReply::InfoRoom(r.clone()),
            OkReply::Topic(r.clone(), None),
            OkReply::Topic(r.clone(), Some(s(" new topic"))),
            OkReply::Kick(r.clone(), b.clone()),
            OkReply::File {
                id: fid("abc123"),
                sha256: s("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            },
            OkReply::Fetch(fid("abc123")),
            OkReply::History(r.clone(), 0),
            OkReply::Help,
            OkReply::Quit,
        ];
        replies.extend(oks.into_iter().map(Reply::Ok));
        let events = vec![
            Event::Msg {
                meta: MsgMeta::default(),
                userhost: UserHost::native(),
                kind: MsgKind::Privmsg,
                room: r.clone(),
                from: b.clone(),
                text: s("hi alice"),
            },
            Event::Privmsg {
                meta: MsgMeta::default(),
                userhost: UserHost::native(),
                kind: MsgKind::Privmsg,
                to: None,
                from: b.clone(),
                text: s("  see you at 6"),
            },
            Event::Join {
                realname: no_realname(),
                userhost: UserHost::native(),
                room: r.clone(),
                nick: a.clone(),
            },
            Event::Part {
                userhost: UserHost::native(),
                room: r.clone(),
                nick: a.clone(),
                reason: None,
            },
            Event::Part {
                userhost: UserHost::native(),
                room: r.clone(),
                nick: a.clone(),
                reason: Some(s("bye now")),
            },
            Event::Quit {
                userhost: UserHost::native(),
                nick: a.clone(),
                reason: None,
            },
            Event::Quit {
                userhost: UserHost::native(),
                nick: a.clone(),
                reason: Some(s("send queue exceeded")),
            },
            Event::Nick {
                userhost: UserHost::native(),
                old: a.clone(),
                new: nick("Alice"),
            },
            Event::Nick {
                userhost: UserHost::native(),
                old: nick("Zoë"),
                new: nick("ZOË"),
            },
            Event::Msg {
                meta: MsgMeta::default(),
                userhost: UserHost::native(),
                kind: MsgKind::Privmsg,
                room: r.clone(),
                from: nick("Zoë"),
                text: s("grüß dich"),
            },
            Event::Topic {
                userhost: UserHost::native(),
                room: r.clone(),
                nick: a.clone(),
                text: s("rust only"),
            },
            Event::Kick {
                userhost: UserHost::native(),
                room: r.clone(),
                nick: b.clone(),
                by: a.clone(),
                reason: None,
            },
            Event::Kick {
                userhost: UserHost::native(),
                room: r.clone(),
                nick: b.clone(),
                by: a.clone(),
                reason: Some(s(" spam")),
            },
            Event::File {
                userhost: UserHost::native(),
                target: FileTarget::Room(r.clone()),
                from: a.clone(),
                id: fid("1d1"),
                size: 0,
                sha256: s("00ff"),
                filename: s("notes .txt"),
            },
            Event::File {
                userhost: UserHost::native(),
                target: FileTarget::User(b.clone()),
                from: a.clone(),
                id: fid("1d2"),
                size: 42,
                sha256: s("abcd"),
                filename: s("x"),
            },
        ];
        replies
            .into_iter()
            .map(ServerLine::Reply)
            .chain(events.into_iter().map(ServerLine::Event))
            .collect()
    }

    #[test]
    fn every_variant_round_trips() {
        for value in every_variant() {
            let line = render(&value);
            assert_eq!(ServerLine::parse(&line), Ok(value.clone()), "{line:?}");
            // Without the final LF too.
            assert_eq!(ServerLine::parse(line.trim_end_matches('\n')), Ok(value));
        }
    }

    #[test]
    fn protocol_example_lines() {
        let cases: Vec<(&str, ServerLine)> = vec![
            (
                "HELLO chatroom 0.1.0 Welcome! Pick a nickname: NICK <name>\n",
                Reply::Hello {
                    server: s("chatroom"),
                    version: s("0.1.0"),
                    text: s("Welcome! Pick a nickname: NICK <name>"),
                }
                .into(),
            ),
            (
                "OK NICK alice\n",
                Reply::Ok(OkReply::Nick(nick("alice"))).into(),
            ),
            (
                "JOIN #123 alice\n",
                Event::Join {
                    realname: no_realname(),
                    userhost: UserHost::native(),
                    room: room("#123"),
                    nick: nick("alice"),
                }
                .into(),
            ),
            (
                "NAMES #123 alice bob\n",
                Reply::Names {
                    room: room("#123"),
                    nicks: vec![nick("alice"), nick("bob")],
                }
                .into(),
            ),
            (
                "OK JOIN #123\n",
                Reply::Ok(OkReply::Join(room("#123"))).into(),
            ),
            ("OK MSG #123", Reply::Ok(OkReply::Msg(room("#123"))).into()),
            (
                "MSG #123 bob hi alice\n",
                Event::Msg {
                    meta: MsgMeta::default(),
                    userhost: UserHost::native(),
                    kind: MsgKind::Privmsg,
                    room: room("#123"),
                    from: nick("bob"),
                    text: s("hi alice"),
                }
                .into(),
            ),
            (
                "OK PRIVMSG bob\n",
                Reply::Ok(OkReply::Privmsg(nick("bob"))).into(),
            ),
            (
                "ERR FLY UNKNOWN_COMMAND try HELP\n",
                err(
                    VerbTag::Unknown("FLY".into()),
                    ErrorCode::UnknownCommand,
                    "try HELP",
                )
                .into(),
            ),
            ("OK QUIT\n", Reply::Ok(OkReply::Quit).into()),
            (
                "ERR * SERVER_FULL too many connections\n",
                err(VerbTag::Star, ErrorCode::ServerFull, "too many connections").into(),
            ),
            (
                "ERR MSG NO_NICK set a nickname first: NICK <name>\n",
                err(
                    VerbTag::Known(Verb::Msg),
                    ErrorCode::NoNick,
                    "set a nickname first: NICK <name>",
                )
                .into(),
            ),
            (
                "SERVER shutting down\n",
                Reply::Server(s("shutting down")).into(),
            ),
            ("PING 77\n", Reply::Ping(s("77")).into()),
            ("PONG\n", Reply::Pong(None).into()),
            // An empty optional text is absent.
            ("PONG \n", Reply::Pong(None).into()),
            (
                "OK TOPIC #r \n",
                Reply::Ok(OkReply::Topic(room("#r"), None)).into(),
            ),
            (
                "PART #r bob  gone  \n",
                Event::Part {
                    userhost: UserHost::native(),
                    room: room("#r"),
                    nick: nick("bob"),
                    reason: Some(s(" gone  ")),
                }
                .into(),
            ),
            (
                "NAMES #r\n",
                Reply::Names {
                    room: room("#r"),
                    nicks: vec![],
                }
                .into(),
            ),
            (
                "ROOM #r 2 no\n",
                Reply::Room {
                    room: room("#r"),
                    members: 2,
                    private: false,
                    topic: None,
                }
                .into(),
            ),
            (
                "INFO #r topic\n",
                Reply::RoomInfo {
                    room: room("#r"),
                    info: RoomInfoEntry::Topic(None),
                }
                .into(),
            ),
            (
                "INFO #r owner\n",
                Reply::RoomInfo {
                    room: room("#r"),
                    info: RoomInfoEntry::Owner(None),
                }
                .into(),
            ),
            (
                "INFO uptime_secs 12\n",
                Reply::Info(ServerInfo::UptimeSecs(12)).into(),
            ),
            ("OK INFO\n", Reply::Ok(OkReply::Info).into()),
            (
                "OK INFO #r\n",
                Reply::Ok(OkReply::InfoRoom(room("#r"))).into(),
            ),
            (
                "FILE bob alice 000000000000000000c9 3 ab x y\n",
                Event::File {
                    userhost: UserHost::native(),
                    target: FileTarget::User(nick("bob")),
                    from: nick("alice"),
                    id: fid("c9"),
                    size: 3,
                    sha256: s("ab"),
                    filename: s("x y"),
                }
                .into(),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(ServerLine::parse(line), Ok(want), "{line:?}");
        }
    }

    #[test]
    fn malformed_lines() {
        let cases: [(&str, LineProblem); 33] = [
            ("", LineProblem::Empty),
            ("\n", LineProblem::Empty),
            (" OK QUIT", LineProblem::EmptyField("line kind")),
            ("BLAH x", LineProblem::UnknownKind(s("BLAH"))),
            ("ok QUIT", LineProblem::UnknownKind(s("ok"))),
            ("OK", LineProblem::Missing("verb")),
            ("OK FLY", LineProblem::UnknownOkVerb(s("FLY"))),
            ("OK PING", LineProblem::UnknownOkVerb(s("PING"))),
            ("OK NICK", LineProblem::Missing("nick")),
            ("OK QUIT now", LineProblem::Trailing(s("now"))),
            ("OK QUIT ", LineProblem::Trailing(s(""))),
            (
                "OK NAMES #r +5",
                LineProblem::BadNumber {
                    field: "count",
                    value: s("+5"),
                },
            ),
            (
                "OK LIST 99999999999999999999999",
                LineProblem::BadNumber {
                    field: "count",
                    value: s("99999999999999999999999"),
                },
            ),
            ("ROOM #r 1 maybe", LineProblem::BadFlag(s("maybe"))),
            ("ERR FLY NOPE try HELP", LineProblem::UnknownCode(s("NOPE"))),
            (
                "ERR FLY UNKNOWN_COMMAND",
                LineProblem::Missing("error text"),
            ),
            ("JOIN #r", LineProblem::Missing("nick")),
            ("JOIN #r alice extra", LineProblem::Trailing(s("extra"))),
            ("NICK a  b", LineProblem::EmptyField("new nick")),
            ("NAMES #r alice ", LineProblem::EmptyField("nick")),
            ("MSG #r bob", LineProblem::Missing("text")),
            ("MSG #r bob hi\nMSG #r bob x\n", LineProblem::LineBreak),
            ("MSG #r bob hi\r\n", LineProblem::LineBreak),
            ("HELLO chatroom", LineProblem::Missing("version")),
            ("INFO", LineProblem::Missing("key or room")),
            ("INFO name", LineProblem::Missing("value")),
            ("INFO colour red", LineProblem::UnknownInfoKey(s("colour"))),
            (
                "INFO #r colour red",
                LineProblem::UnknownInfoKey(s("colour")),
            ),
            (
                "INFO users many",
                LineProblem::BadNumber {
                    field: "value",
                    value: s("many"),
                },
            ),
            ("INFO #r private maybe", LineProblem::BadFlag(s("maybe"))),
            ("INFO #r members 1 2", LineProblem::Trailing(s("2"))),
            ("OK FETCH abc123", LineProblem::BadFileId(s("abc123"))),
            (
                "DATA 0123456789ABCDEF0123 1 x",
                LineProblem::BadFileId(s("0123456789ABCDEF0123")),
            ),
        ];
        for (line, problem) in cases {
            let got = ServerLine::parse(line).unwrap_err();
            assert_eq!(got.problem, problem, "{line:?}");
            assert_eq!(got.line, line.strip_suffix('\n').unwrap_or(line));
        }
        let bad_names = [
            "OK NICK 9lives",
            "OK JOIN 123",
            "JOIN #a!b alice",
            "FILE #bad! alice id 1 ab x",
            "FILE 9bob alice id 1 ab x",
            "HISTORY #r now -x hi",
        ];
        for line in bad_names {
            let got = ServerLine::parse(line).unwrap_err();
            assert!(
                matches!(got.problem, LineProblem::BadName { .. }),
                "{line:?}: {got}"
            );
        }
    }

    #[test]
    fn error_message_names_line_and_problem() {
        let e = ServerLine::parse("OK NICK 9lives\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot parse server line \"OK NICK 9lives\": \
             bad nick \"9lives\": a name may not start with '9'"
        );
    }

    #[test]
    fn empty_required_texts_round_trip() {
        // The renderer writes an empty text as a bare separator ("HELP \n").
        let values: [ServerLine; 4] = [
            Reply::Help(s("")).into(),
            Reply::Server(s("")).into(),
            err(VerbTag::Star, ErrorCode::Internal, "").into(),
            Event::Privmsg {
                meta: MsgMeta::default(),
                userhost: UserHost::native(),
                kind: MsgKind::Privmsg,
                to: None,
                from: nick("bob"),
                text: s(""),
            }
            .into(),
        ];
        for value in values {
            let line = render(&value);
            assert_eq!(ServerLine::parse(&line), Ok(value), "{line:?}");
        }
    }

    #[test]
    fn unknown_verb_star_reads_as_star() {
        // A client line "* x" has no readable verb: it is answered with `*`,
        // which reads back as such.
        let refused = crate::proto::native::parser::parse_line(
            "* x",
            &crate::core::names::NameLimits::default(),
        );
        let sent: ServerLine = Reply::Err(refused.unwrap_err()).into();
        let line = render(&sent);
        assert_eq!(line, "ERR * UNKNOWN_COMMAND try HELP\n");
        assert_eq!(ServerLine::parse(&line), Ok(sent));
    }

    #[test]
    fn final_replies() {
        let finals = ["OK QUIT", "ERR * BAD_SYNTAX x", "PONG", "PONG t"];
        for line in finals {
            assert!(ServerLine::parse(line).unwrap().is_final_reply(), "{line}");
        }
        let not_finals = [
            "NAMES #r a",
            "PING t",
            "HELLO a b c",
            "MSG #r a hi",
            "SERVER x",
        ];
        for line in not_finals {
            assert!(!ServerLine::parse(line).unwrap().is_final_reply(), "{line}");
        }
    }

    // ---- property test: every server value round-trips ----

    fn nick_st() -> impl Strategy<Value = Nick> {
        r"[A-Za-z_\[\]{}|^`][A-Za-z0-9_\-\[\]{}|^`]{0,23}".prop_map(|s| nick(&s))
    }

    fn room_st() -> impl Strategy<Value = RoomName> {
        r"#[A-Za-z0-9_.\-]{1,32}".prop_map(|s| room(&s))
    }

    /// Text as a client can send it: no CR, LF or NUL, not only spaces.
    fn text_st() -> impl Strategy<Value = String> {
        // The second arm makes leading, trailing and repeated spaces common.
        prop_oneof![r"[^\n\r\x00]{1,40}", r"[ a-z]{1,12}"]
            .prop_filter("not only spaces", |t| !t.trim_matches(' ').is_empty())
    }

    fn opt_text_st() -> impl Strategy<Value = Option<String>> {
        prop::option::of(text_st())
    }

    /// Any value a text field can hold, spaces only and empty included.
    fn any_text_st() -> impl Strategy<Value = String> {
        prop_oneof![r"[^\n\r\x00]{0,40}", r"[ a-z]{0,6}"]
    }

    fn id_st() -> impl Strategy<Value = FileId> {
        "[a-f0-9]{20}".prop_map(|id| FileId::parse(&id).unwrap())
    }

    /// A word: printable ASCII without spaces.
    fn word_st() -> impl Strategy<Value = String> {
        "[!-~]{1,20}"
    }

    fn verb_tag_st() -> impl Strategy<Value = VerbTag> {
        prop_oneof![
            prop::sample::select(Verb::ALL.to_vec()).prop_map(VerbTag::Known),
            Just(VerbTag::Star),
            // What the server makes of an unknown verb: upper-cased printable
            // ASCII. "*" and known verbs cannot be unknown ones.
            "[!-`{-~]{1,32}"
                .prop_filter("not a known verb or *", |w| {
                    w != "*" && Verb::from_word(w).is_none()
                })
                .prop_map(|w| VerbTag::Unknown(w.into())),
        ]
    }

    fn ok_st() -> impl Strategy<Value = OkReply> {
        prop_oneof![
            nick_st().prop_map(OkReply::Nick),
            room_st().prop_map(OkReply::Join),
            room_st().prop_map(OkReply::Part),
            room_st().prop_map(OkReply::Msg),
            nick_st().prop_map(OkReply::Privmsg),
            (room_st(), any::<usize>()).prop_map(|(r, n)| OkReply::Names(r, n)),
            any::<usize>().prop_map(OkReply::List),
            Just(OkReply::Info),
            room_st().prop_map(OkReply::InfoRoom),
            (room_st(), opt_text_st()).prop_map(|(r, t)| OkReply::Topic(r, t)),
            (room_st(), nick_st()).prop_map(|(r, n)| OkReply::Kick(r, n)),
            (id_st(), "[a-f0-9]{64}").prop_map(|(id, sha256)| OkReply::File { id, sha256 }),
            id_st().prop_map(OkReply::Fetch),
            (room_st(), any::<usize>()).prop_map(|(r, n)| OkReply::History(r, n)),
            Just(OkReply::Help),
            Just(OkReply::Quit),
        ]
    }

    fn server_info_st() -> impl Strategy<Value = ServerInfo> {
        prop_oneof![
            any_text_st().prop_map(ServerInfo::Name),
            any_text_st().prop_map(ServerInfo::Version),
            any::<u64>().prop_map(ServerInfo::UptimeSecs),
            any::<usize>().prop_map(ServerInfo::Users),
            any::<usize>().prop_map(ServerInfo::Rooms),
            any::<usize>().prop_map(ServerInfo::Connections),
            any::<usize>().prop_map(ServerInfo::MaxLineBytes),
        ]
    }

    fn room_info_st() -> impl Strategy<Value = RoomInfoEntry> {
        prop_oneof![
            any::<usize>().prop_map(RoomInfoEntry::Members),
            prop::option::of(nick_st()).prop_map(RoomInfoEntry::Owner),
            any::<bool>().prop_map(RoomInfoEntry::Private),
            word_st().prop_map(RoomInfoEntry::Created),
            opt_text_st().prop_map(RoomInfoEntry::Topic),
            any::<u64>().prop_map(RoomInfoEntry::Messages),
        ]
    }

    fn reply_st() -> impl Strategy<Value = Reply> {
        prop_oneof![
            ("[A-Za-z0-9_.-]{1,16}", "[0-9a-z.+-]{1,12}", text_st()).prop_map(
                |(server, version, text)| Reply::Hello {
                    server,
                    version,
                    text
                }
            ),
            ok_st().prop_map(Reply::Ok),
            (
                verb_tag_st(),
                prop::sample::select(ErrorCode::ALL.to_vec()),
                text_st()
            )
                .prop_map(|(verb, code, text)| err(verb, code, &text)),
            (room_st(), prop::collection::vec(nick_st(), 0..6))
                .prop_map(|(room, nicks)| Reply::Names { room, nicks }),
            (room_st(), any::<usize>(), any::<bool>(), opt_text_st()).prop_map(
                |(room, members, private, topic)| Reply::Room {
                    room,
                    members,
                    private,
                    topic
                }
            ),
            server_info_st().prop_map(Reply::Info),
            (room_st(), room_info_st()).prop_map(|(room, info)| Reply::RoomInfo { room, info }),
            text_st().prop_map(Reply::Help),
            (room_st(), word_st(), nick_st(), text_st()).prop_map(|(room, time, from, text)| {
                Reply::History {
                    room,
                    time,
                    from,
                    text,
                }
            }),
            (id_st(), any::<u64>(), text_st()).prop_map(|(id, size, filename)| Reply::Data {
                id,
                size,
                filename
            }),
            opt_text_st().prop_map(Reply::Pong),
            text_st().prop_map(Reply::Ping),
            text_st().prop_map(Reply::Server),
        ]
    }

    fn file_target_st() -> impl Strategy<Value = FileTarget> {
        prop_oneof![
            room_st().prop_map(FileTarget::Room),
            nick_st().prop_map(FileTarget::User),
        ]
    }

    fn event_st() -> impl Strategy<Value = Event> {
        prop_oneof![
            (room_st(), nick_st(), text_st()).prop_map(|(room, from, text)| Event::Msg {
                meta: MsgMeta::default(),
                userhost: UserHost::native(),
                kind: MsgKind::Privmsg,
                room,
                from,
                text
            }),
            (nick_st(), text_st()).prop_map(|(from, text)| Event::Privmsg {
                meta: MsgMeta::default(),
                from,
                text,
                userhost: UserHost::native(),
                kind: MsgKind::Privmsg,
                to: None,
            }),
            (room_st(), nick_st()).prop_map(|(room, nick)| Event::Join {
                realname: no_realname(),
                room,
                nick,
                userhost: UserHost::native(),
            }),
            (room_st(), nick_st(), opt_text_st()).prop_map(|(room, nick, reason)| Event::Part {
                userhost: UserHost::native(),
                room,
                nick,
                reason
            }),
            (nick_st(), opt_text_st()).prop_map(|(nick, reason)| Event::Quit {
                nick,
                reason,
                userhost: UserHost::native(),
            }),
            (nick_st(), nick_st()).prop_map(|(old, new)| Event::Nick {
                old,
                new,
                userhost: UserHost::native(),
            }),
            (room_st(), nick_st(), text_st()).prop_map(|(room, nick, text)| Event::Topic {
                userhost: UserHost::native(),
                room,
                nick,
                text
            }),
            (room_st(), nick_st(), nick_st(), opt_text_st()).prop_map(
                |(room, nick, by, reason)| Event::Kick {
                    userhost: UserHost::native(),
                    room,
                    nick,
                    by,
                    reason
                }
            ),
            (
                file_target_st(),
                nick_st(),
                id_st(),
                any::<u64>(),
                "[a-f0-9]{64}",
                text_st()
            )
                .prop_map(|(target, from, id, size, sha256, filename)| Event::File {
                    userhost: UserHost::native(),
                    target,
                    from,
                    id,
                    size,
                    sha256,
                    filename,
                }),
        ]
    }

    fn server_line_st() -> impl Strategy<Value = ServerLine> {
        prop_oneof![
            reply_st().prop_map(ServerLine::Reply),
            event_st().prop_map(ServerLine::Event),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn server_lines_round_trip(value in server_line_st()) {
            let line = render(&value);
            let body = line.strip_suffix('\n');
            prop_assert!(body.is_some(), "no final LF: {:?}", line);
            prop_assert!(!body.unwrap().contains(['\n', '\r']), "line break inside: {:?}", line);
            prop_assert_eq!(ServerLine::parse(&line), Ok(value));
        }

        #[test]
        fn parse_never_panics(line in r"[\PC \n\r]{0,60}") {
            let _ = ServerLine::parse(&line);
        }
    }
}
