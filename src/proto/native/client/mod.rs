//! The client side of the protocol: parsing server lines back into
//! [`Reply`] and [`Event`] values, for bots, the load tool and tests.
//!
//! [`ServerLine::parse`] is the inverse of [`Reply::to_line`] and
//! [`Event::to_line`]: for every value the server can send, rendering it and
//! parsing the line gives the value back (checked by a property test in `tests.rs`),
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
        | "PONG" | "PING" | "SERVER" | "MOTD" => ServerLine::Reply(reply(kind, &mut f)?),
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
        // MOTD [text]
        "MOTD" => Reply::Motd(f.opt_text().unwrap_or_default()),
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
        "max_file_bytes" => ServerInfo::MaxFileBytes(f.number("value")?),
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
        "LINK" => OkReply::Link {
            id: f.file_id()?,
            path: f.owned_word("path")?,
        },
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
mod tests;
