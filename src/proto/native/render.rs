//! What the server says: [`Reply`] lines answer one client, [`Event`]s
//! announce what others did. Both are rendered to wire lines here and
//! nowhere else.
//!
//! Events are transport-neutral values; the native line protocol renders
//! them with [`Event::encode`]. A later IRC or WebSocket transport renders
//! the same values with its own encoder.

use bytes::{BufMut, Bytes, BytesMut};

use crate::core::member::{Encoding, EncodingRef, Listing};
use crate::core::names::{Nick, RoomName};
use crate::core::opers::{banned_reason, killed_reason};
use crate::core::scratch::rendered;
use crate::core::Event;
use crate::core::FileId;
use crate::core::FileTarget;
use crate::proto::native::verb::ProtocolError;

/// The final `OK` reply of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OkReply {
    /// `OK NICK <nick>`
    Nick(Nick),
    /// `OK JOIN <room>`
    Join(RoomName),
    /// `OK PART <room>`
    Part(RoomName),
    /// `OK MSG <room>`
    Msg(RoomName),
    /// `OK PRIVMSG <nick>`
    Privmsg(Nick),
    /// `OK NAMES <room> <count>`
    Names(RoomName, usize),
    /// `OK LIST <count>`
    List(usize),
    /// `OK INFO`
    Info,
    /// `OK INFO <room>`
    InfoRoom(RoomName),
    /// `OK TOPIC <room> [text]`
    Topic(RoomName, Option<String>),
    /// `OK KICK <room> <nick>`
    Kick(RoomName, Nick),
    /// `OK FILE <id> <sha256>`
    File {
        /// The file's id.
        id: FileId,
        /// Its sha256, lower-case hex.
        sha256: String,
    },
    /// `OK FETCH <id>`
    Fetch(FileId),
    /// `OK LINK <id> <path>`
    Link {
        /// The file's id.
        id: FileId,
        /// Its path on the HTTP listener, token included.
        path: String,
    },
    /// `OK HISTORY <room> <count>`
    History(RoomName, usize),
    /// `OK HELP`
    Help,
    /// `OK QUIT`
    Quit,
    /// `OK REGISTER <account>`: made, and logged in to it.
    Register(Nick),
    /// `OK LOGIN <account>`
    Login(Nick),
    /// `OK LOGOUT`
    Logout,
    /// `OK PASSWD`
    Passwd,
    /// `OK OP <room> <nick>`
    Op(RoomName, Nick),
    /// `OK DEOP <room> <nick>`
    Deop(RoomName, Nick),
    /// `OK BAN <room> [mask]`: a ban set, or (no mask) the end of a listing.
    Ban(RoomName, Option<String>),
    /// `OK UNBAN <room> <mask>`
    Unban(RoomName, String),
    /// `OK OWNER <room> <account>`
    Owner(RoomName, Nick),
    /// `OK OPER`
    Oper,
    /// `OK KILL <nick>`
    Kill(Nick),
    /// `OK KLINE <mask>`: the ban is set.
    Kline(String),
    /// `OK KLINE <count>`: the end of the list of bans.
    Klines(usize),
    /// `OK UNKLINE <mask>`
    Unkline(String),
    /// `OK WALLOPS`
    Wallops,
    /// `OK CLOSE <room>`
    Close(RoomName),
}

/// A line addressed to one client: data lines, final replies, notices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `HELLO <server-name> <version> <text>`, the greeting.
    Hello {
        /// `server.name`.
        server: String,
        /// The server's version.
        version: String,
        /// What to do first.
        text: String,
    },
    /// `OK <VERB> ...`
    Ok(OkReply),
    /// `ERR <VERB> <CODE> <text>`
    Err(ProtocolError),
    /// `NAMES <room> <nick> ...`, one line of a (possibly split) listing.
    Names {
        /// The room.
        room: RoomName,
        /// Members on this line.
        nicks: Vec<Nick>,
    },
    /// `ROOM <room> <members> <yes|no> [topic]`, a LIST line.
    Room {
        /// The room.
        room: RoomName,
        /// How many members.
        members: usize,
        /// Whether a key is needed.
        private: bool,
        /// Its topic, if set.
        topic: Option<String>,
    },
    /// `INFO <key> <value>`, about the server.
    Info(ServerInfo),
    /// `INFO <room> <key> [value]`, about a room.
    RoomInfo {
        /// The room.
        room: RoomName,
        /// The key and its value.
        info: RoomInfoEntry,
    },
    /// `HELP <text>`
    Help(String),
    /// `HISTORY <room> <rfc3339-time> <from> <text>`
    History {
        /// The room.
        room: RoomName,
        /// When it was said, RFC 3339.
        time: String,
        /// Who said it.
        from: Nick,
        /// What was said.
        text: String,
    },
    /// `DATA <id> <size> <filename>`, before a download's raw bytes.
    Data {
        /// The file's id.
        id: FileId,
        /// Size in bytes.
        size: u64,
        /// The file's label.
        filename: String,
    },
    /// `PONG [token]`, the reply to PING.
    Pong(Option<String>),
    /// `PING <token>`, the server checking that the client is alive.
    Ping(String),
    /// `SERVER <text>`, a notice from the server.
    Server(String),
    /// `SERVER cluster unreachable: ...` when a cluster node loses Redis,
    /// `SERVER cluster reachable again` when it is back.
    ClusterLink {
        /// Whether Redis answers again.
        reachable: bool,
    },
    /// `SERVER nickname <nick> was taken on another node ...`: this node
    /// was cut off from the cluster longer than its lease, another node
    /// gave the nickname away meanwhile, and this user is disconnected.
    NickCollision {
        /// The nickname it lost.
        nick: Nick,
    },
    /// `SERVER killed by <oper>: <reason>`, to a user an operator
    /// disconnects.
    Killed {
        /// The operator's nickname.
        by: Nick,
        /// Why.
        reason: String,
    },
    /// `NOTICE <from> <text>`: an operator's WALLOPS, to everyone.
    Notice {
        /// The operator's nickname.
        from: Nick,
        /// The message.
        text: String,
    },
    /// `KLINE <mask> <expires|never> <set-by> <reason>`, a line of the
    /// list of server bans.
    Kline {
        /// The mask.
        mask: String,
        /// When it ends, RFC 3339; `None`: never.
        expires: Option<String>,
        /// The operator who set it.
        set_by: String,
        /// Why.
        reason: String,
    },
    /// `MOTD [text]`, a line of the message of the day, before the first
    /// `OK NICK` (a blank line is `MOTD` alone).
    Motd(String),
    /// `SERVER <nick> is a registered account: ...`, a notice that the
    /// nickname is reserved and will be taken back after `grace_secs`.
    Reserved {
        /// The nickname.
        nick: Nick,
        /// Seconds before the rename.
        grace_secs: u64,
    },
    /// `SERVER you were renamed to <nick>: ...`, after the grace.
    Renamed(Nick),
    /// `BAN <room> <mask> <by> <rfc3339-time>`, one line of a ban listing.
    Ban {
        /// The room.
        room: RoomName,
        /// The pattern.
        mask: String,
        /// Who set it.
        by: Nick,
        /// When, RFC 3339.
        time: String,
    },
}

/// One line of `INFO`: a fact about the server, `INFO <key> <value>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerInfo {
    /// `name`: `server.name`.
    Name(String),
    /// `version`: the server's version.
    Version(String),
    /// `uptime_secs`: seconds since start.
    UptimeSecs(u64),
    /// `users`: clients with a nickname.
    Users(usize),
    /// `rooms`: rooms with at least one member.
    Rooms(usize),
    /// `connections`: open connections, with or without a nickname.
    Connections(usize),
    /// `max_line_bytes`: `limits.max_line_bytes`.
    MaxLineBytes(usize),
    /// `max_file_bytes`: `files.max_bytes`, the largest FILE accepted.
    MaxFileBytes(u64),
    /// `account`: the account the asking client is logged in to (shown
    /// only when it is).
    Account(Nick),
}

/// One line of `INFO <room>`: a fact about a room, `INFO <room> <key>
/// [value]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomInfoEntry {
    /// `members`: members now.
    Members(usize),
    /// `owner`: the owner's nickname; with none the line ends after the key.
    Owner(Option<Nick>),
    /// `account`: the account that owns the room (shown only when one does).
    Account(Nick),
    /// `private`: whether a key is needed, `yes` or `no`.
    Private(bool),
    /// `created`: the creation time, RFC 3339.
    Created(String),
    /// `topic`: the topic; with none the line ends after the key.
    Topic(Option<String>),
    /// `messages`: messages said in the room since it was created.
    Messages(u64),
}

/// Why a session ended, as others are told in `QUIT <nick> [reason]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disconnect {
    /// The client's `QUIT`, with its own words if it gave any.
    Quit(Option<String>),
    /// The peer went away, or reading or writing failed.
    ConnectionClosed,
    /// No line came in time after a `PING`.
    PingTimeout,
    /// The client read too slowly for what it was sent.
    SendQueueExceeded,
    /// A `FILE` announced a body over `files.max_bytes`.
    FileTooLarge,
    /// The server is stopping.
    ServerShutdown,
    /// The client kept another account's nickname past the grace, and no
    /// other nickname could be given to it.
    NickReserved,
    /// Another node took its nickname while this one was cut off from
    /// the cluster.
    NickCollision,
    /// A server operator's KILL.
    Killed {
        /// The operator's nickname.
        by: Nick,
        /// Why.
        reason: String,
    },
    /// A server ban (KLINE) matches the connection.
    Banned(String),
}

impl Disconnect {
    /// The reason a `QUIT` line gives: the client's own words, or the
    /// server's for every other end.
    pub fn quit_reason(&self) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        Some(Cow::Borrowed(match self {
            Disconnect::Killed { by, reason } => {
                return Some(Cow::Owned(killed_reason(by, reason)))
            }
            Disconnect::Banned(reason) => return Some(Cow::Owned(banned_reason(reason))),
            Disconnect::Quit(words) => return words.as_deref().map(Cow::Borrowed),
            Disconnect::ConnectionClosed => "connection closed",
            Disconnect::PingTimeout => "ping timeout",
            Disconnect::SendQueueExceeded => "send queue exceeded",
            Disconnect::FileTooLarge => "file too large",
            Disconnect::ServerShutdown => "server shutting down",
            Disconnect::NickReserved => "nickname reserved",
            Disconnect::NickCollision => "nickname collision",
        }))
    }
}

/// Accumulates one wire line: words separated by single spaces, then `\n`.
struct Line<'a> {
    buf: &'a mut BytesMut,
}

impl<'a> Line<'a> {
    fn start(buf: &'a mut BytesMut, first: &str) -> Self {
        buf.put_slice(first.as_bytes());
        Line { buf }
    }

    fn word(self, w: &str) -> Self {
        self.buf.put_u8(b' ');
        self.buf.put_slice(w.as_bytes());
        self
    }

    fn num(self, n: u64) -> Self {
        let mut digits = itoa::Buffer::new();
        self.word(digits.format(n))
    }

    fn opt(self, w: Option<&str>) -> Self {
        match w {
            Some(w) => self.word(w),
            None => self,
        }
    }

    fn end(self) {
        self.buf.put_u8(b'\n');
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn target_str(t: &FileTarget) -> &str {
    match t {
        FileTarget::Room(r) => r.as_str(),
        FileTarget::User(n) => n.as_str(),
    }
}

impl Event {
    /// Appends the event's wire line to `buf` (nothing for the events
    /// native lines do not show: a room's [`Event::Mode`], an
    /// [`Event::Invite`], a `TAGMSG`, an away message, a login).
    pub fn encode(&self, buf: &mut BytesMut) {
        match self {
            Event::Mode { .. }
            | Event::Invite { .. }
            | Event::TagMsg { .. }
            | Event::Away { .. }
            | Event::Account { .. } => {}
            // Native lines show neither the sender's user and host nor a
            // message's kind: a notice reads as any message.
            Event::Msg {
                room, from, text, ..
            } => Line::start(buf, "MSG")
                .word(room.as_str())
                .word(from.as_str())
                .word(text)
                .end(),
            Event::Privmsg { from, text, .. } => Line::start(buf, "PRIVMSG")
                .word(from.as_str())
                .word(text)
                .end(),
            Event::Join { room, nick, .. } => Line::start(buf, "JOIN")
                .word(room.as_str())
                .word(nick.as_str())
                .end(),
            Event::Part {
                room, nick, reason, ..
            } => Line::start(buf, "PART")
                .word(room.as_str())
                .word(nick.as_str())
                .opt(reason.as_deref())
                .end(),
            Event::Quit { nick, reason, .. } => Line::start(buf, "QUIT")
                .word(nick.as_str())
                .opt(reason.as_deref())
                .end(),
            Event::Nick { old, new, .. } => Line::start(buf, "NICK")
                .word(old.as_str())
                .word(new.as_str())
                .end(),
            Event::Topic {
                room, nick, text, ..
            } => Line::start(buf, "TOPIC")
                .word(room.as_str())
                .word(nick.as_str())
                .word(text)
                .end(),
            Event::Closed {
                room, by, reason, ..
            } => Line::start(buf, "CLOSED")
                .word(room.as_str())
                .word(by.as_str())
                .opt(reason.as_deref())
                .end(),
            Event::Kick {
                room,
                nick,
                by,
                reason,
                ..
            } => Line::start(buf, "KICK")
                .word(room.as_str())
                .word(nick.as_str())
                .word(by.as_str())
                .opt(reason.as_deref())
                .end(),
            Event::File {
                target,
                from,
                id,
                size,
                sha256,
                filename,
                ..
            } => Line::start(buf, "FILE")
                .word(target_str(target))
                .word(from.as_str())
                .word(id.as_str())
                .num(*size)
                .word(sha256)
                .word(filename)
                .end(),
        }
    }

    /// The event's wire line, rendered once to be shared by every recipient.
    pub fn to_line(&self) -> Bytes {
        rendered(|buf| self.encode(buf))
    }
}

impl OkReply {
    fn encode(&self, buf: &mut BytesMut) {
        let ok = Line::start(buf, "OK");
        match self {
            OkReply::Nick(n) => ok.word("NICK").word(n.as_str()),
            OkReply::Join(r) => ok.word("JOIN").word(r.as_str()),
            OkReply::Part(r) => ok.word("PART").word(r.as_str()),
            OkReply::Msg(r) => ok.word("MSG").word(r.as_str()),
            OkReply::Privmsg(n) => ok.word("PRIVMSG").word(n.as_str()),
            OkReply::Names(r, count) => ok.word("NAMES").word(r.as_str()).num(*count as u64),
            OkReply::List(count) => ok.word("LIST").num(*count as u64),
            OkReply::Info => ok.word("INFO"),
            OkReply::InfoRoom(r) => ok.word("INFO").word(r.as_str()),
            OkReply::Topic(r, text) => ok.word("TOPIC").word(r.as_str()).opt(text.as_deref()),
            OkReply::Kick(r, n) => ok.word("KICK").word(r.as_str()).word(n.as_str()),
            OkReply::File { id, sha256 } => ok.word("FILE").word(id.as_str()).word(sha256),
            OkReply::Fetch(id) => ok.word("FETCH").word(id.as_str()),
            OkReply::Link { id, path } => ok.word("LINK").word(id.as_str()).word(path),
            OkReply::History(r, count) => ok.word("HISTORY").word(r.as_str()).num(*count as u64),
            OkReply::Help => ok.word("HELP"),
            OkReply::Quit => ok.word("QUIT"),
            OkReply::Register(a) => ok.word("REGISTER").word(a.as_str()),
            OkReply::Login(a) => ok.word("LOGIN").word(a.as_str()),
            OkReply::Logout => ok.word("LOGOUT"),
            OkReply::Passwd => ok.word("PASSWD"),
            OkReply::Op(r, n) => ok.word("OP").word(r.as_str()).word(n.as_str()),
            OkReply::Deop(r, n) => ok.word("DEOP").word(r.as_str()).word(n.as_str()),
            OkReply::Ban(r, mask) => ok.word("BAN").word(r.as_str()).opt(mask.as_deref()),
            OkReply::Unban(r, mask) => ok.word("UNBAN").word(r.as_str()).word(mask),
            OkReply::Owner(r, a) => ok.word("OWNER").word(r.as_str()).word(a.as_str()),
            OkReply::Oper => ok.word("OPER"),
            OkReply::Kill(n) => ok.word("KILL").word(n.as_str()),
            OkReply::Kline(mask) => ok.word("KLINE").word(mask),
            OkReply::Klines(count) => ok.word("KLINE").num(*count as u64),
            OkReply::Unkline(mask) => ok.word("UNKLINE").word(mask),
            OkReply::Wallops => ok.word("WALLOPS"),
            OkReply::Close(r) => ok.word("CLOSE").word(r.as_str()),
        }
        .end()
    }
}

impl Reply {
    /// Appends the reply's wire line to `buf`.
    pub fn encode(&self, buf: &mut BytesMut) {
        match self {
            Reply::Hello {
                server,
                version,
                text,
            } => Line::start(buf, "HELLO")
                .word(server)
                .word(version)
                .word(text)
                .end(),
            Reply::Ok(ok) => ok.encode(buf),
            Reply::Err(e) => Line::start(buf, "ERR")
                .word(e.verb.as_str())
                .word(e.code.as_str())
                .word(&e.text)
                .end(),
            Reply::Names { room, nicks } => {
                encode_names(buf, room, nicks.iter().map(Nick::as_str), usize::MAX)
            }
            Reply::Room {
                room,
                members,
                private,
                topic,
            } => Line::start(buf, "ROOM")
                .word(room.as_str())
                .num(*members as u64)
                .word(yes_no(*private))
                .opt(topic.as_deref())
                .end(),
            Reply::Info(info) => {
                let line = Line::start(buf, "INFO");
                match info {
                    ServerInfo::Name(name) => line.word("name").word(name),
                    ServerInfo::Version(version) => line.word("version").word(version),
                    ServerInfo::UptimeSecs(n) => line.word("uptime_secs").num(*n),
                    ServerInfo::Users(n) => line.word("users").num(*n as u64),
                    ServerInfo::Rooms(n) => line.word("rooms").num(*n as u64),
                    ServerInfo::Connections(n) => line.word("connections").num(*n as u64),
                    ServerInfo::MaxLineBytes(n) => line.word("max_line_bytes").num(*n as u64),
                    ServerInfo::MaxFileBytes(n) => line.word("max_file_bytes").num(*n),
                    ServerInfo::Account(a) => line.word("account").word(a.as_str()),
                }
                .end()
            }
            Reply::RoomInfo { room, info } => {
                let line = Line::start(buf, "INFO").word(room.as_str());
                match info {
                    RoomInfoEntry::Members(n) => line.word("members").num(*n as u64),
                    RoomInfoEntry::Owner(owner) => {
                        line.word("owner").opt(owner.as_ref().map(Nick::as_str))
                    }
                    RoomInfoEntry::Account(a) => line.word("account").word(a.as_str()),
                    RoomInfoEntry::Private(private) => line.word("private").word(yes_no(*private)),
                    RoomInfoEntry::Created(time) => line.word("created").word(time),
                    // An empty topic is no topic: the line ends after the key.
                    RoomInfoEntry::Topic(topic) => line
                        .word("topic")
                        .opt(topic.as_deref().filter(|t| !t.is_empty())),
                    RoomInfoEntry::Messages(n) => line.word("messages").num(*n),
                }
                .end()
            }
            Reply::Help(text) => Line::start(buf, "HELP").word(text).end(),
            Reply::Motd(text) => Line::start(buf, "MOTD")
                .opt(Some(text.as_str()).filter(|t| !t.is_empty()))
                .end(),
            Reply::History {
                room,
                time,
                from,
                text,
            } => Line::start(buf, "HISTORY")
                .word(room.as_str())
                .word(time)
                .word(from.as_str())
                .word(text)
                .end(),
            Reply::Data { id, size, filename } => Line::start(buf, "DATA")
                .word(id.as_str())
                .num(*size)
                .word(filename)
                .end(),
            Reply::Pong(token) => Line::start(buf, "PONG").opt(token.as_deref()).end(),
            Reply::Ping(token) => Line::start(buf, "PING").word(token).end(),
            Reply::Server(text) => Line::start(buf, "SERVER").word(text).end(),
            Reply::ClusterLink { reachable } => Line::start(buf, "SERVER")
                .word(if *reachable {
                    "cluster reachable again"
                } else {
                    "cluster unreachable: messages to rooms are refused (CLUSTER_UNAVAILABLE) until it is back"
                })
                .end(),
            Reply::Reserved { nick, grace_secs } => Line::start(buf, "SERVER")
                .word(nick.as_str())
                .word("is a registered account: LOGIN to it or change your nickname within")
                .num(*grace_secs)
                .word("seconds, or you will be renamed")
                .end(),
            Reply::Renamed(nick) => Line::start(buf, "SERVER")
                .word("you were renamed to")
                .word(nick.as_str())
                .word("(your nickname is a registered account)")
                .end(),
            Reply::Ban {
                room,
                mask,
                by,
                time,
            } => Line::start(buf, "BAN")
                .word(room.as_str())
                .word(mask)
                .word(by.as_str())
                .word(time)
                .end(),
            Reply::NickCollision { nick } => Line::start(buf, "SERVER")
                .word("nickname")
                .word(nick.as_str())
                .word("was taken on another node while this node was cut off from the cluster: disconnected")
                .end(),
            Reply::Killed { by, reason } => {
                let text = format!("killed by {by}: {reason}");
                Line::start(buf, "SERVER").word(&text).end()
            }
            Reply::Notice { from, text } => Line::start(buf, "NOTICE")
                .word(from.as_str())
                .word(text)
                .end(),
            Reply::Kline {
                mask,
                expires,
                set_by,
                reason,
            } => Line::start(buf, "KLINE")
                .word(mask)
                .word(expires.as_deref().unwrap_or("never"))
                .word(set_by)
                .word(reason)
                .end(),
        }
    }

    /// The reply's wire line.
    pub fn to_line(&self) -> Bytes {
        rendered(|buf| self.encode(buf))
    }
}

/// Renders a NAMES listing straight from the member list: `NAMES <room>
/// <nick> ...` lines, each ended once its nicknames pass `line_bytes`, and
/// one bare `NAMES <room>` line for an empty room.
pub fn encode_names<'a>(
    buf: &mut BytesMut,
    room: &RoomName,
    nicks: impl IntoIterator<Item = &'a str>,
    line_bytes: usize,
) {
    let mut open = false;
    let mut width = 0;
    let mut empty = true;
    for nick in nicks {
        empty = false;
        let line = if open {
            Line { buf: &mut *buf }
        } else {
            open = true;
            Line::start(buf, "NAMES").word(room.as_str())
        };
        let line = line.word(nick);
        width += nick.len() + 1;
        if width >= line_bytes {
            line.end();
            open = false;
            width = 0;
        }
    }
    if open {
        Line { buf }.end();
    } else if empty {
        Line::start(buf, "NAMES").word(room.as_str()).end();
    }
}

impl From<ProtocolError> for Reply {
    fn from(e: ProtocolError) -> Self {
        Reply::Err(e)
    }
}

impl From<OkReply> for Reply {
    fn from(ok: OkReply) -> Self {
        Reply::Ok(ok)
    }
}

/// NAMES lines are split after this many bytes of nicknames.
pub const NAMES_LINE_BYTES: usize = 400;

/// How rooms render events for native clients (see [`Encoding`]).
pub struct NativeEncoding;

/// The native encoding, as rooms know it.
static NATIVE_DYN: &dyn Encoding = &NativeEncoding;

/// The one native encoding every native member's handle points to.
pub static NATIVE: EncodingRef = EncodingRef::new(&NATIVE_DYN);

impl Encoding for NativeEncoding {
    fn key(&self) -> &'static str {
        "native"
    }

    fn event(&self, event: &Event, buf: &mut BytesMut) {
        event.encode(buf);
    }

    fn shows_time(&self) -> bool {
        false
    }

    fn names(&self, listing: Listing<'_>, buf: &mut BytesMut) {
        // Natively the listing is the names alone: the topic and owner are
        // asked for with TOPIC and INFO.
        encode_names(
            buf,
            listing.room,
            listing.members.map(|m| m.nick),
            NAMES_LINE_BYTES,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nick(s: &str) -> Nick {
        Nick::parse(s, 32).unwrap()
    }

    fn names(nicks: &[&str], line_bytes: usize) -> String {
        let room = RoomName::parse("#r", 32).unwrap();
        let mut buf = BytesMut::new();
        encode_names(&mut buf, &room, nicks.iter().copied(), line_bytes);
        String::from_utf8(buf.to_vec()).unwrap()
    }

    #[test]
    fn quit_reasons() {
        let quit = |why: Disconnect| {
            let event = Event::Quit {
                nick: nick("a"),
                userhost: crate::core::UserHost::native(),
                reason: why.quit_reason().map(String::from),
            };
            String::from_utf8(event.to_line().to_vec()).unwrap()
        };
        assert_eq!(quit(Disconnect::Quit(None)), "QUIT a\n");
        assert_eq!(
            quit(Disconnect::Quit(Some(" gone  fishing".into()))),
            "QUIT a  gone  fishing\n"
        );
        assert_eq!(
            quit(Disconnect::ConnectionClosed),
            "QUIT a connection closed\n"
        );
        assert_eq!(quit(Disconnect::PingTimeout), "QUIT a ping timeout\n");
        assert_eq!(
            quit(Disconnect::SendQueueExceeded),
            "QUIT a send queue exceeded\n"
        );
        assert_eq!(quit(Disconnect::FileTooLarge), "QUIT a file too large\n");
        assert_eq!(
            quit(Disconnect::ServerShutdown),
            "QUIT a server shutting down\n"
        );
    }

    #[test]
    fn names_split_once_a_line_is_wide_enough() {
        assert_eq!(names(&[], 8), "NAMES #r\n");
        assert_eq!(names(&["ann"], 8), "NAMES #r ann\n");
        assert_eq!(
            names(&["ann", "bob", "cy", "dee", "eve", "fay"], 8),
            "NAMES #r ann bob\nNAMES #r cy dee eve\nNAMES #r fay\n"
        );
        assert_eq!(names(&["ann", "bob"], 8), "NAMES #r ann bob\n");
        assert_eq!(
            names(&["ann", "bob", "cy"], usize::MAX),
            "NAMES #r ann bob cy\n"
        );
    }
}
