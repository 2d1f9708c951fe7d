//! Everything the IRC front end sends, rendered to wire lines here and
//! nowhere else: numerics ([`Numeric`]), the server's own lines
//! ([`ServerLine`]), and the core's [`Event`]s ([`IrcEncoding`]).
//!
//! Every line ends in CRLF and stays within 512 bytes (tags aside): a text
//! that would not fit is cut at a character boundary, except a message's,
//! which is split over as many PRIVMSG (or NOTICE) lines as it takes. Text
//! from elsewhere (a native client's line may hold a lone CR) never carries
//! CR, LF or NUL onto the wire: each becomes a space.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::{BufMut, Bytes, BytesMut};

use crate::core::member::{Encoding, EncodingRef, Listing};
use crate::core::names::{Nick, RoomName};
use crate::core::scratch::rendered;
use crate::core::{Event, FileTarget, MsgKind, RoomMode, UserHost};

use super::codec::MAX_BODY;

/// Numerics, each with the parameters after the client's nickname.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Numeric {
    /// `001 :Welcome to the <network> IRC Network <nick>!<user>@<host>`
    Welcome {
        /// `irc.network`.
        network: String,
        /// The client's user and host.
        userhost: UserHost,
    },
    /// `002 :Your host is <server>, running version <version>`
    YourHost,
    /// `003 :This server was created <date>`
    Created(SystemTime),
    /// `004 <server> <version> <user modes> <channel modes> <with a parameter>`
    MyInfo,
    /// `005 <tokens...> :are supported by this server`
    ISupport(Vec<String>),
    /// `251 :There are <n> users and <i> invisible on 1 servers`
    LuserClient {
        /// Users with a nickname.
        users: usize,
    },
    /// `253 <n> :unknown connection(s)`
    LuserUnknown(usize),
    /// `254 <n> :channels formed`
    LuserChannels(usize),
    /// `255 :I have <n> clients and 0 servers`
    LuserMe(usize),
    /// `265 :Current local users: <n>`
    LocalUsers(usize),
    /// `266 :Current global users: <n>`
    GlobalUsers(usize),
    /// `221 <modes>`
    UModeIs(&'static str),
    /// `301 <nick> :<away message>`
    Away(Nick, String),
    /// `302 :<nick>=<+|-><user>@<host> ...`
    Userhost(Vec<(Nick, bool, UserHost)>),
    /// `303 :<nicks>`
    Ison(Vec<Nick>),
    /// `305 :You are no longer marked as being away`
    UnAway,
    /// `306 :You have been marked as being away`
    NowAway,
    /// `311 <nick> <user> <host> * :<realname>`
    WhoisUser {
        /// The user.
        nick: Nick,
        /// Their user and host.
        userhost: UserHost,
        /// Their real name.
        realname: String,
    },
    /// `312 <nick> <server> :<info>`
    WhoisServer(Nick),
    /// `318 <nick> :End of /WHOIS list`
    EndOfWhois(String),
    /// `319 <nick> :<channels>`
    WhoisChannels(Nick, Vec<(RoomName, bool)>),
    /// `315 <mask> :End of WHO list`
    EndOfWho(String),
    /// `321 Channel :Users  Name`
    ListStart,
    /// `322 <channel> <count> :<topic>`
    List {
        /// The channel.
        channel: RoomName,
        /// Its members.
        members: usize,
        /// Its topic.
        topic: Option<String>,
    },
    /// `323 :End of /LIST`
    ListEnd,
    /// `324 <channel> <modes> [args]`
    ChannelModeIs {
        /// The channel.
        channel: RoomName,
        /// Whether it has a key (`+k`, shown as `*`: keys are kept hashed).
        keyed: bool,
    },
    /// `329 <channel> <creation time>`
    CreationTime(RoomName, SystemTime),
    /// `331 <channel> :No topic is set`
    NoTopic(RoomName),
    /// `332 <channel> :<topic>`
    Topic(RoomName, String),
    /// `333 <channel> <nick> <set at>`
    TopicWhoTime(RoomName, Nick, SystemTime),
    /// `352 <channel> <user> <host> <server> <nick> <flags> :0 <realname>`
    WhoReply {
        /// The channel the reply is about, if any.
        channel: Option<RoomName>,
        /// The user.
        nick: Nick,
        /// Their user and host.
        userhost: UserHost,
        /// Away or here.
        away: bool,
        /// Owner of `channel`.
        owner: bool,
        /// Their real name.
        realname: String,
    },
    /// `366 <channel> :End of /NAMES list`
    EndOfNames(String),
    /// `368 <channel> :End of channel ban list`
    EndOfBanList(RoomName),
    /// `375 :- <server> Message of the day -`
    MotdStart,
    /// `372 :- <line>`
    Motd(String),
    /// `376 :End of /MOTD command.`
    EndOfMotd,
    /// `401 <nick> :No such nick/channel`
    NoSuchNick(String),
    /// `403 <channel> :No such channel`
    NoSuchChannel(String),
    /// `404 <channel> :Cannot send to channel`
    CannotSendToChan(RoomName),
    /// `405 <channel> :You have joined too many channels`
    TooManyChannels(RoomName),
    /// `407 <targets> :Too many targets`
    TooManyTargets(String),
    /// `409 :No origin specified`
    NoOrigin,
    /// `410 <subcommand> :Invalid CAP command`
    InvalidCapCmd(String),
    /// `411 :No recipient given (<command>)`
    NoRecipient(&'static str),
    /// `412 :No text to send`
    NoTextToSend,
    /// `417 :Input line was too long`
    InputTooLong,
    /// `421 <command> :Unknown command`
    UnknownCommand(String),
    /// `422 :MOTD File is missing`
    NoMotd,
    /// `431 :No nickname given`
    NoNicknameGiven,
    /// `432 <nick> :Erroneous nickname`
    ErroneousNickname(String),
    /// `433 <nick> :Nickname is already in use`
    NicknameInUse(Nick),
    /// `441 <nick> <channel> :They aren't on that channel`
    UserNotInChannel(String, RoomName),
    /// `442 <channel> :You're not on that channel`
    NotOnChannel(RoomName),
    /// `451 :You have not registered`
    NotRegistered,
    /// `461 <command> :Not enough parameters`
    NeedMoreParams(&'static str),
    /// `462 :You may not reregister`
    AlreadyRegistered,
    /// `464 :Password incorrect`
    PasswdMismatch,
    /// `471 <channel> :Cannot join channel (+l)`
    ChannelIsFull(RoomName),
    /// `472 <char> :<why>`
    UnknownMode(char, &'static str),
    /// `475 <channel> :Cannot join channel (+k)`
    BadChannelKey(RoomName),
    /// `482 <channel> :You're not channel operator`
    ChanOpPrivsNeeded(RoomName),
    /// `501 :Unknown MODE flag`
    UModeUnknownFlag,
    /// `502 :Can't change mode for other users`
    UsersDontMatch,
}

/// What every line the server sends in its own name needs.
#[derive(Debug, Clone)]
pub struct Server {
    /// `server.name`.
    pub name: Arc<str>,
    /// `irc.network`.
    pub network: Arc<str>,
    /// The `005` tokens.
    pub isupport: Arc<[String]>,
}

/// Lines from the server that are not numerics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerLine {
    /// `PING :<token>`
    Ping(String),
    /// `:<server> PONG <server> :<token>`
    Pong(String),
    /// `ERROR :<text>`
    Error(String),
    /// `:<server> CAP <nick> <subcommand> [*] :<caps>`
    Cap {
        /// `LS`, `ACK`, `NAK`, `LIST`.
        sub: &'static str,
        /// More lines of the same follow (CAP LS 302 continuation).
        more: bool,
        /// The capabilities.
        caps: String,
    },
    /// `:<server> FAIL <command> <code> :<text>`
    Fail {
        /// The command refused, or `*`.
        command: String,
        /// The machine-readable code.
        code: &'static str,
        /// Why.
        text: &'static str,
    },
    /// `:<server> NOTICE <nick> :<text>`
    Notice(String),
    /// `:<nick> MODE <nick> :<change>`, the client's own user mode.
    UserModeChanged(String),
}

/// Writes one wire line: words, then an optional trailing parameter,
/// within 512 bytes (tags aside).
struct Line<'a> {
    buf: &'a mut BytesMut,
    /// Where the line (after its tags) starts in `buf`.
    start: usize,
}

impl<'a> Line<'a> {
    fn new(buf: &'a mut BytesMut) -> Self {
        let start = buf.len();
        Line { buf, start }
    }

    /// `:<prefix>`
    fn source(self, nick: &str, userhost: Option<&UserHost>) -> Self {
        self.buf.put_u8(b':');
        self.buf.put_slice(nick.as_bytes());
        if let Some(uh) = userhost {
            self.buf.put_u8(b'!');
            self.buf.put_slice(uh.as_str().as_bytes());
        }
        self
    }

    /// A word: the command, or a middle parameter (never empty, never
    /// with a space or a leading `:`, which names and numbers are not).
    fn word(self, w: &str) -> Self {
        if self.buf.len() > self.start {
            self.buf.put_u8(b' ');
        }
        put_clean(self.buf, w);
        self
    }

    fn num(self, n: u64) -> Self {
        let mut digits = itoa::Buffer::new();
        self.word(digits.format(n))
    }

    /// The trailing parameter, always with its `:`, cut to fit the line.
    fn trailing(self, text: &str) -> Self {
        self.buf.put_slice(b" :");
        let room = (self.start + MAX_BODY).saturating_sub(self.buf.len());
        put_clean(self.buf, cut(text, room));
        self
    }

    fn end(self) {
        self.buf.put_slice(b"\r\n");
    }
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Appends `text` with CR, LF and NUL made spaces.
fn put_clean(buf: &mut BytesMut, text: &str) {
    if !text.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        buf.put_slice(text.as_bytes());
        return;
    }
    buf.extend(text.bytes().map(|b| {
        if matches!(b, b'\r' | b'\n' | 0) {
            b' '
        } else {
            b
        }
    }));
}

/// Seconds since the epoch.
fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `@time=<ISO 8601 with milliseconds, UTC> ` (server-time).
fn put_time_tag(buf: &mut BytesMut, t: SystemTime) {
    buf.put_slice(b"@time=");
    buf.put_slice(humantime::format_rfc3339_millis(t).to_string().as_bytes());
    buf.put_u8(b' ');
}

impl Numeric {
    /// The numeric's three digits.
    pub fn code(&self) -> &'static str {
        use Numeric::*;
        match self {
            Welcome { .. } => "001",
            YourHost => "002",
            Created(_) => "003",
            MyInfo => "004",
            ISupport(_) => "005",
            LuserClient { .. } => "251",
            LuserUnknown(_) => "253",
            LuserChannels(_) => "254",
            LuserMe(_) => "255",
            LocalUsers(_) => "265",
            GlobalUsers(_) => "266",
            UModeIs(_) => "221",
            Away(..) => "301",
            Userhost(_) => "302",
            Ison(_) => "303",
            UnAway => "305",
            NowAway => "306",
            WhoisUser { .. } => "311",
            WhoisServer(_) => "312",
            EndOfWho(_) => "315",
            EndOfWhois(_) => "318",
            WhoisChannels(..) => "319",
            ListStart => "321",
            List { .. } => "322",
            ListEnd => "323",
            ChannelModeIs { .. } => "324",
            CreationTime(..) => "329",
            NoTopic(_) => "331",
            Topic(..) => "332",
            TopicWhoTime(..) => "333",
            WhoReply { .. } => "352",
            EndOfNames(_) => "366",
            EndOfBanList(_) => "368",
            Motd(_) => "372",
            MotdStart => "375",
            EndOfMotd => "376",
            NoSuchNick(_) => "401",
            NoSuchChannel(_) => "403",
            CannotSendToChan(_) => "404",
            TooManyChannels(_) => "405",
            TooManyTargets(_) => "407",
            NoOrigin => "409",
            InvalidCapCmd(_) => "410",
            NoRecipient(_) => "411",
            NoTextToSend => "412",
            InputTooLong => "417",
            UnknownCommand(_) => "421",
            NoMotd => "422",
            NoNicknameGiven => "431",
            ErroneousNickname(_) => "432",
            NicknameInUse(_) => "433",
            UserNotInChannel(..) => "441",
            NotOnChannel(_) => "442",
            NotRegistered => "451",
            NeedMoreParams(_) => "461",
            AlreadyRegistered => "462",
            PasswdMismatch => "464",
            ChannelIsFull(_) => "471",
            UnknownMode(..) => "472",
            BadChannelKey(_) => "475",
            ChanOpPrivsNeeded(_) => "482",
            UModeUnknownFlag => "501",
            UsersDontMatch => "502",
        }
    }

    /// Appends the numeric for the client `to` (its nickname, or `*`
    /// before it has one).
    pub fn encode(&self, server: &Server, to: &str, buf: &mut BytesMut) {
        use Numeric::*;
        let line = Line::new(buf)
            .source(&server.name, None)
            .word(self.code())
            .word(to);
        let version = crate::VERSION;
        match self {
            Welcome { network, userhost } => line.trailing(&format!(
                "Welcome to the {network} IRC Network {to}!{}",
                userhost.as_str()
            )),
            YourHost => line.trailing(&format!(
                "Your host is {}, running version chatroom-{version}",
                server.name
            )),
            Created(t) => line.trailing(&format!(
                "This server was created {}",
                humantime::format_rfc3339_seconds(*t)
            )),
            MyInfo => line
                .word(&server.name)
                .word(&format!("chatroom-{version}"))
                .word("i")
                .word("knot")
                .word("ko"),
            ISupport(tokens) => tokens
                .iter()
                .fold(line, |l, t| l.word(t))
                .trailing("are supported by this server"),
            LuserClient { users } => line.trailing(&format!(
                "There are {users} users and 0 invisible on 1 servers"
            )),
            LuserUnknown(n) => line.num(*n as u64).trailing("unknown connection(s)"),
            LuserChannels(n) => line.num(*n as u64).trailing("channels formed"),
            LuserMe(n) => line.trailing(&format!("I have {n} clients and 0 servers")),
            LocalUsers(n) => line.trailing(&format!("Current local users: {n}")),
            GlobalUsers(n) => line.trailing(&format!("Current global users: {n}")),
            UModeIs(modes) => line.word(modes),
            Away(nick, text) => line.word(nick.as_str()).trailing(text),
            Userhost(users) => {
                let list: Vec<String> = users
                    .iter()
                    .map(|(nick, away, uh)| {
                        format!("{nick}={}{}", if *away { '-' } else { '+' }, uh.as_str())
                    })
                    .collect();
                line.trailing(&list.join(" "))
            }
            Ison(nicks) => {
                let list: Vec<&str> = nicks.iter().map(Nick::as_str).collect();
                line.trailing(&list.join(" "))
            }
            UnAway => line.trailing("You are no longer marked as being away"),
            NowAway => line.trailing("You have been marked as being away"),
            WhoisUser {
                nick,
                userhost,
                realname,
            } => line
                .word(nick.as_str())
                .word(userhost.user())
                .word(userhost.host())
                .word("*")
                .trailing(realname),
            WhoisServer(nick) => line
                .word(nick.as_str())
                .word(&server.name)
                .trailing(&format!("{} chat server", server.network)),
            EndOfWhois(nick) => line.word(nick).trailing("End of /WHOIS list"),
            WhoisChannels(nick, chans) => {
                let list: Vec<String> = chans
                    .iter()
                    .map(|(c, owner)| format!("{}{c}", if *owner { "@" } else { "" }))
                    .collect();
                line.word(nick.as_str()).trailing(&list.join(" "))
            }
            EndOfWho(mask) => line.word(mask).trailing("End of WHO list"),
            ListStart => line.word("Channel").trailing("Users  Name"),
            List {
                channel,
                members,
                topic,
            } => line
                .word(channel.as_str())
                .num(*members as u64)
                .trailing(topic.as_deref().unwrap_or("")),
            ListEnd => line.trailing("End of /LIST"),
            ChannelModeIs { channel, keyed } => {
                let line = line.word(channel.as_str());
                if *keyed {
                    line.word("+knt").word("*")
                } else {
                    line.word("+nt")
                }
            }
            CreationTime(channel, t) => line.word(channel.as_str()).num(unix(*t)),
            NoTopic(channel) => line.word(channel.as_str()).trailing("No topic is set"),
            Topic(channel, text) => line.word(channel.as_str()).trailing(text),
            TopicWhoTime(channel, nick, t) => line
                .word(channel.as_str())
                .word(nick.as_str())
                .num(unix(*t)),
            WhoReply {
                channel,
                nick,
                userhost,
                away,
                owner,
                realname,
            } => {
                let flags = match (*away, *owner) {
                    (false, false) => "H",
                    (false, true) => "H@",
                    (true, false) => "G",
                    (true, true) => "G@",
                };
                line.word(channel.as_ref().map_or("*", RoomName::as_str))
                    .word(userhost.user())
                    .word(userhost.host())
                    .word(&server.name)
                    .word(nick.as_str())
                    .word(flags)
                    .trailing(&format!("0 {realname}"))
            }
            EndOfNames(channel) => line.word(channel).trailing("End of /NAMES list"),
            EndOfBanList(channel) => line
                .word(channel.as_str())
                .trailing("End of channel ban list"),
            MotdStart => line.trailing(&format!("- {} Message of the day - ", server.name)),
            Motd(text) => line.trailing(&format!("- {text}")),
            EndOfMotd => line.trailing("End of /MOTD command."),
            NoSuchNick(nick) => line.word(nick).trailing("No such nick/channel"),
            NoSuchChannel(channel) => line.word(channel).trailing("No such channel"),
            CannotSendToChan(channel) => line
                .word(channel.as_str())
                .trailing("Cannot send to channel"),
            TooManyChannels(channel) => line
                .word(channel.as_str())
                .trailing("You have joined too many channels"),
            TooManyTargets(targets) => line.word(targets).trailing("Too many targets"),
            NoOrigin => line.trailing("No origin specified"),
            InvalidCapCmd(sub) => line.word(sub).trailing("Invalid CAP command"),
            NoRecipient(cmd) => line.trailing(&format!("No recipient given ({cmd})")),
            NoTextToSend => line.trailing("No text to send"),
            InputTooLong => line.trailing("Input line was too long"),
            UnknownCommand(cmd) => line.word(cmd).trailing("Unknown command"),
            NoMotd => line.trailing("MOTD File is missing"),
            NoNicknameGiven => line.trailing("No nickname given"),
            ErroneousNickname(nick) => line.word(nick).trailing("Erroneous nickname"),
            NicknameInUse(nick) => line
                .word(nick.as_str())
                .trailing("Nickname is already in use"),
            UserNotInChannel(nick, channel) => line
                .word(nick)
                .word(channel.as_str())
                .trailing("They aren't on that channel"),
            NotOnChannel(channel) => line
                .word(channel.as_str())
                .trailing("You're not on that channel"),
            NotRegistered => line.trailing("You have not registered"),
            NeedMoreParams(cmd) => line.word(cmd).trailing("Not enough parameters"),
            AlreadyRegistered => line.trailing("You may not reregister"),
            PasswdMismatch => line.trailing("Password incorrect"),
            ChannelIsFull(channel) => line
                .word(channel.as_str())
                .trailing("Cannot join channel (+l)"),
            UnknownMode(c, why) => line.word(c.encode_utf8(&mut [0; 4])).trailing(why),
            BadChannelKey(channel) => line
                .word(channel.as_str())
                .trailing("Cannot join channel (+k)"),
            ChanOpPrivsNeeded(channel) => line
                .word(channel.as_str())
                .trailing("You're not channel operator"),
            UModeUnknownFlag => line.trailing("Unknown MODE flag"),
            UsersDontMatch => line.trailing("Can't change mode for other users"),
        }
        .end();
    }

    /// The numeric's wire line for the client `to`.
    pub fn to_line(&self, server: &Server, to: &str) -> Bytes {
        rendered(|buf| self.encode(server, to, buf))
    }
}

impl ServerLine {
    /// Appends the line for the client `to` (its nickname, or `*`).
    pub fn encode(&self, server: &Server, to: &str, buf: &mut BytesMut) {
        match self {
            ServerLine::Ping(token) => Line::new(buf).word("PING").trailing(token),
            ServerLine::Pong(token) => Line::new(buf)
                .source(&server.name, None)
                .word("PONG")
                .word(&server.name)
                .trailing(token),
            ServerLine::Error(text) => Line::new(buf).word("ERROR").trailing(text),
            ServerLine::Cap { sub, more, caps } => {
                let line = Line::new(buf)
                    .source(&server.name, None)
                    .word("CAP")
                    .word(to)
                    .word(sub);
                let line = if *more { line.word("*") } else { line };
                line.trailing(caps)
            }
            ServerLine::Fail {
                command,
                code,
                text,
            } => Line::new(buf)
                .source(&server.name, None)
                .word("FAIL")
                .word(command)
                .word(code)
                .trailing(text),
            ServerLine::Notice(text) => Line::new(buf)
                .source(&server.name, None)
                .word("NOTICE")
                .word(to)
                .trailing(text),
            ServerLine::UserModeChanged(change) => Line::new(buf)
                .source(to, None)
                .word("MODE")
                .word(to)
                .trailing(change),
        }
        .end();
    }

    /// The line for the client `to`.
    pub fn to_line(&self, server: &Server, to: &str) -> Bytes {
        rendered(|buf| self.encode(server, to, buf))
    }
}

/// Appends a PRIVMSG or NOTICE from `source` (a nickname and, where
/// known, its user and host) to `target`: one line, or several for a
/// text too long for one, each stamped with `time` if given.
fn put_message(
    buf: &mut BytesMut,
    time: Option<SystemTime>,
    source: (&str, Option<&UserHost>),
    kind: MsgKind,
    target: &str,
    text: &str,
) {
    let verb = match kind {
        MsgKind::Privmsg => "PRIVMSG",
        MsgKind::Notice => "NOTICE",
    };
    let (nick, userhost) = source;
    // ":" nick ["!" userhost] " " verb " " target " :" text
    let mask = userhost.map_or(0, |uh| 1 + uh.as_str().len());
    let overhead = 1 + nick.len() + mask + 1 + verb.len() + 1 + target.len() + 2;
    for piece in pieces(text, MAX_BODY.saturating_sub(overhead)) {
        if let Some(t) = time {
            put_time_tag(buf, t);
        }
        Line::new(buf)
            .source(nick, userhost)
            .word(verb)
            .word(target)
            .trailing(piece)
            .end();
    }
}

/// A stored message replayed as `PRIVMSG` (history keeps no sender's
/// user and host: the source is the nickname alone), stamped with its
/// time for a client with server-time.
pub fn history_line(
    time: Option<SystemTime>,
    from: &Nick,
    room: &RoomName,
    kind: MsgKind,
    text: &str,
) -> Bytes {
    rendered(|buf| put_message(buf, time, (from.as_str(), None), kind, room.as_str(), text))
}

/// Splits `text` into pieces that each fit `room` bytes, at character
/// boundaries (at least one character a piece, however small `room`).
fn pieces(text: &str, room: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut piece = cut(rest, room.max(1));
        if piece.is_empty() {
            let first = rest.chars().next().map_or(rest.len(), char::len_utf8);
            piece = &rest[..first];
        }
        rest = &rest[piece.len()..];
        Some(piece)
    })
}

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
                    RoomMode::Owner(to) => line.word("+o-o").word(to.as_str()).word(nick.as_str()),
                }
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
        self.encode_at(event, SystemTime::now(), buf);
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
            listing.members.map(|m| (m.nick, m.owner)),
        );
    }
}

/// Appends `353` lines (as many as the members take) and the `366`.
pub fn encode_names<'a>(
    buf: &mut BytesMut,
    server: &Server,
    to: &str,
    room: &RoomName,
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
            .word("=")
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
    Numeric::EndOfNames(room.as_str().to_string()).encode(server, to, buf);
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

#[cfg(test)]
mod tests;
