//! The typed commands a client can send.

use std::fmt;
use std::time::Duration;

use super::super::verb::Verb;
use crate::core::opers::mask::BanMask;
use crate::core::opers::Password;
use crate::core::FileId;
use crate::core::{FileTarget, Nick, RoomName};

/// One parsed client line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `NICK <nick>`
    Nick {
        /// The wanted nickname.
        nick: Nick,
    },
    /// `JOIN <room> [key]`
    Join {
        /// The room.
        room: RoomName,
        /// The key, for a private room.
        key: Option<String>,
    },
    /// `PART <room> [reason]`
    Part {
        /// The room.
        room: RoomName,
        /// Why, shown to the others.
        reason: Option<String>,
    },
    /// `MSG [#room] <text>`
    Msg {
        /// The room, or `None` for the current room.
        room: Option<RoomName>,
        /// The text, verbatim.
        text: String,
    },
    /// `PRIVMSG <nick> <text>`
    Privmsg {
        /// The recipient.
        to: Nick,
        /// The text, verbatim.
        text: String,
    },
    /// `NAMES <room>`
    Names {
        /// The room.
        room: RoomName,
    },
    /// `LIST`
    List,
    /// `INFO [room]`
    Info {
        /// The room, or `None` for the server.
        room: Option<RoomName>,
    },
    /// `TOPIC <room> [text]`
    Topic {
        /// The room.
        room: RoomName,
        /// The new topic, or `None` to read it.
        text: Option<String>,
    },
    /// `KICK <room> <nick> [reason]`
    Kick {
        /// The room.
        room: RoomName,
        /// Who to remove.
        nick: Nick,
        /// Why, shown to everyone.
        reason: Option<String>,
    },
    /// `FILE <target> <size> <filename>`; `size` raw bytes follow the line.
    File {
        /// The room or user.
        target: FileTarget,
        /// The body's size in bytes.
        size: u64,
        /// A label only, never a path.
        filename: String,
    },
    /// `FETCH <id>`
    Fetch {
        /// The file asked for.
        id: FetchId,
    },
    /// `LINK <id>`
    Link {
        /// The file asked for.
        id: FetchId,
    },
    /// `HISTORY <room> [count]`
    History {
        /// The room.
        room: RoomName,
        /// How many messages, or `None` for `history.on_join`.
        count: Option<u32>,
    },
    /// `PING [token]`
    Ping {
        /// Echoed in the `PONG`.
        token: Option<String>,
    },
    /// `PONG [token]`
    Pong {
        /// The token of the server's `PING`.
        token: Option<String>,
    },
    /// `HELP [command]`
    Help {
        /// The verb to explain, or `None` for all.
        verb: Option<Verb>,
    },
    /// `QUIT [reason]`
    Quit {
        /// Why, shown to the others.
        reason: Option<String>,
    },
    /// `REGISTER [account] <password>`
    Register {
        /// The account's name, or `None` for the current nickname.
        account: Option<Nick>,
        /// Its password.
        password: Secret,
    },
    /// `LOGIN <account> <password>`
    Login {
        /// The account.
        account: Nick,
        /// Its password.
        password: Secret,
    },
    /// `LOGOUT`
    Logout,
    /// `PASSWD <old> <new>`
    Passwd {
        /// The current password.
        old: Secret,
        /// The new one.
        new: Secret,
    },
    /// `OP <room> <nick>` (`on`), `DEOP <room> <nick>`
    Op {
        /// The room.
        room: RoomName,
        /// The member.
        nick: Nick,
        /// Operator or no longer.
        on: bool,
    },
    /// `BAN <room> [mask|account]`
    Ban {
        /// The room.
        room: RoomName,
        /// What to ban, or `None` to list the bans.
        mask: Option<String>,
    },
    /// `UNBAN <room> <mask|account>`
    Unban {
        /// The room.
        room: RoomName,
        /// The ban to lift.
        mask: String,
    },
    /// `OWNER <room> <nick>`
    Owner {
        /// The room.
        room: RoomName,
        /// The new owner, a logged-in member.
        nick: Nick,
    },
    /// `OPER <name> <password>`
    Oper {
        /// The operator block's name.
        name: String,
        /// Its password (never shown by `Debug`).
        password: Password,
    },
    /// `KILL <nick> [reason]`
    Kill {
        /// Who to disconnect.
        nick: Nick,
        /// Why, shown to them and to the others.
        reason: Option<String>,
    },
    /// `KLINE [<mask> [duration] [reason]]`
    Kline {
        /// What to ban; `None` lists the bans.
        ban: Option<KlineArgs>,
    },
    /// `UNKLINE <mask>`
    Unkline {
        /// The ban to lift.
        mask: BanMask,
    },
    /// `WALLOPS <text>`
    Wallops {
        /// The message.
        text: String,
    },
    /// `CLOSE <#room> [reason]`
    Close {
        /// The room.
        room: RoomName,
        /// Why, shown to its members.
        reason: Option<String>,
    },
}

/// What `KLINE` bans, for how long, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KlineArgs {
    /// Who.
    pub mask: BanMask,
    /// How long; `None`: until lifted.
    pub duration: Option<Duration>,
    /// Why, shown to those it keeps out.
    pub reason: Option<String>,
}

/// A password as typed: never shown in logs (its `Debug` is `***`).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Command {
    /// The command's verb.
    pub fn verb(&self) -> Verb {
        match self {
            Command::Nick { .. } => Verb::Nick,
            Command::Join { .. } => Verb::Join,
            Command::Part { .. } => Verb::Part,
            Command::Msg { .. } => Verb::Msg,
            Command::Privmsg { .. } => Verb::Privmsg,
            Command::Names { .. } => Verb::Names,
            Command::List => Verb::List,
            Command::Info { .. } => Verb::Info,
            Command::Topic { .. } => Verb::Topic,
            Command::Kick { .. } => Verb::Kick,
            Command::File { .. } => Verb::File,
            Command::Fetch { .. } => Verb::Fetch,
            Command::Link { .. } => Verb::Link,
            Command::History { .. } => Verb::History,
            Command::Ping { .. } => Verb::Ping,
            Command::Pong { .. } => Verb::Pong,
            Command::Help { .. } => Verb::Help,
            Command::Quit { .. } => Verb::Quit,
            Command::Register { .. } => Verb::Register,
            Command::Login { .. } => Verb::Login,
            Command::Logout => Verb::Logout,
            Command::Passwd { .. } => Verb::Passwd,
            Command::Op { on: true, .. } => Verb::Op,
            Command::Op { on: false, .. } => Verb::Deop,
            Command::Ban { .. } => Verb::Ban,
            Command::Unban { .. } => Verb::Unban,
            Command::Owner { .. } => Verb::Owner,
            Command::Oper { .. } => Verb::Oper,
            Command::Kill { .. } => Verb::Kill,
            Command::Kline { .. } => Verb::Kline,
            Command::Unkline { .. } => Verb::Unkline,
            Command::Wallops { .. } => Verb::Wallops,
            Command::Close { .. } => Verb::Close,
        }
    }
}

/// The word a `FETCH` (or `LINK`) names its file by. Any word is taken: one that
/// cannot be an id is answered as an unknown id is, quoting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchId {
    /// A well-formed id.
    Id(FileId),
    /// A word no file has.
    Malformed(String),
}

impl FetchId {
    /// Reads `word` as an id where it is one.
    pub fn parse(word: &str) -> FetchId {
        match FileId::parse(word) {
            Some(id) => FetchId::Id(id),
            None => FetchId::Malformed(word.to_owned()),
        }
    }
}

impl fmt::Display for FetchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchId::Id(id) => id.fmt(f),
            FetchId::Malformed(word) => f.write_str(word),
        }
    }
}
