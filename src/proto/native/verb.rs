//! The native protocol's verbs, and the error value it answers a client
//! with: `ERR <VERB> <CODE> <text>`.

use std::borrow::Cow;
use std::fmt;

use crate::core::ErrorCode;

/// A command verb the server knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `NICK`
    Nick,
    /// `JOIN`
    Join,
    /// `PART`
    Part,
    /// `MSG`
    Msg,
    /// `PRIVMSG`
    Privmsg,
    /// `NAMES`
    Names,
    /// `LIST`
    List,
    /// `INFO`
    Info,
    /// `TOPIC`
    Topic,
    /// `KICK`
    Kick,
    /// `FILE`
    File,
    /// `FETCH`
    Fetch,
    /// `LINK`
    Link,
    /// `HISTORY`
    History,
    /// `PING`
    Ping,
    /// `PONG`
    Pong,
    /// `HELP`
    Help,
    /// `QUIT`
    Quit,
    /// `REGISTER`
    Register,
    /// `LOGIN`
    Login,
    /// `LOGOUT`
    Logout,
    /// `PASSWD`
    Passwd,
    /// `OP`
    Op,
    /// `DEOP`
    Deop,
    /// `BAN`
    Ban,
    /// `UNBAN`
    Unban,
    /// `OWNER`
    Owner,
    /// `OPER`
    Oper,
    /// `KILL`
    Kill,
    /// `KLINE`
    Kline,
    /// `UNKLINE`
    Unkline,
    /// `WALLOPS`
    Wallops,
    /// `CLOSE`
    Close,
}

impl Verb {
    /// Every verb, in the order HELP lists them.
    pub const ALL: [Verb; 33] = [
        Verb::Nick,
        Verb::Join,
        Verb::Part,
        Verb::Msg,
        Verb::Privmsg,
        Verb::Names,
        Verb::List,
        Verb::Info,
        Verb::Topic,
        Verb::Kick,
        Verb::File,
        Verb::Fetch,
        Verb::Link,
        Verb::History,
        Verb::Ping,
        Verb::Pong,
        Verb::Help,
        Verb::Quit,
        Verb::Register,
        Verb::Login,
        Verb::Logout,
        Verb::Passwd,
        Verb::Op,
        Verb::Deop,
        Verb::Ban,
        Verb::Unban,
        Verb::Owner,
        Verb::Oper,
        Verb::Kill,
        Verb::Kline,
        Verb::Unkline,
        Verb::Wallops,
        Verb::Close,
    ];

    /// The verb as written on the wire (upper case).
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Nick => "NICK",
            Verb::Join => "JOIN",
            Verb::Part => "PART",
            Verb::Msg => "MSG",
            Verb::Privmsg => "PRIVMSG",
            Verb::Names => "NAMES",
            Verb::List => "LIST",
            Verb::Info => "INFO",
            Verb::Topic => "TOPIC",
            Verb::Kick => "KICK",
            Verb::File => "FILE",
            Verb::Fetch => "FETCH",
            Verb::Link => "LINK",
            Verb::History => "HISTORY",
            Verb::Ping => "PING",
            Verb::Pong => "PONG",
            Verb::Help => "HELP",
            Verb::Quit => "QUIT",
            Verb::Register => "REGISTER",
            Verb::Login => "LOGIN",
            Verb::Logout => "LOGOUT",
            Verb::Passwd => "PASSWD",
            Verb::Op => "OP",
            Verb::Deop => "DEOP",
            Verb::Ban => "BAN",
            Verb::Unban => "UNBAN",
            Verb::Owner => "OWNER",
            Verb::Oper => "OPER",
            Verb::Kill => "KILL",
            Verb::Kline => "KLINE",
            Verb::Unkline => "UNKLINE",
            Verb::Wallops => "WALLOPS",
            Verb::Close => "CLOSE",
        }
    }

    /// Looks a verb up, ignoring ASCII case.
    pub fn from_word(word: &str) -> Option<Verb> {
        Verb::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(word))
    }

    /// Whether the verb is accepted before a nickname is set.
    pub fn allowed_before_nick(self) -> bool {
        matches!(
            self,
            Verb::Nick
                | Verb::Help
                | Verb::Info
                | Verb::Ping
                | Verb::Quit
                | Verb::Login
                | Verb::Register
        )
    }

    /// Whether the verb is accepted before a login where
    /// `accounts.require_login` is on.
    pub fn allowed_before_login(self) -> bool {
        self.allowed_before_nick() || self == Verb::Pong
    }

    /// Whether the verb is charged by flood control (PONG and QUIT never are).
    pub fn is_flood_charged(self) -> bool {
        !matches!(self, Verb::Pong | Verb::Quit)
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verb an error reply names: a known verb, the upper-cased word of an
/// unknown one, or `*` where no verb could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerbTag {
    /// A verb the server knows.
    Known(Verb),
    /// An unknown verb, upper-cased.
    Unknown(Box<str>),
    /// No verb could be read.
    Star,
}

impl VerbTag {
    /// The tag as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            VerbTag::Known(v) => v.as_str(),
            VerbTag::Unknown(s) => s,
            VerbTag::Star => "*",
        }
    }

    /// The known verb, if any.
    pub fn verb(&self) -> Option<Verb> {
        match self {
            VerbTag::Known(v) => Some(*v),
            _ => None,
        }
    }
}

impl From<Verb> for VerbTag {
    fn from(v: Verb) -> Self {
        VerbTag::Known(v)
    }
}

/// An error answered to a client: `ERR <verb> <code> <text>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {} {}", verb.as_str(), code, text)]
pub struct ProtocolError {
    /// The verb the error answers.
    pub verb: VerbTag,
    /// The machine-readable code.
    pub code: ErrorCode,
    /// Text for people.
    pub text: Cow<'static, str>,
}

impl ProtocolError {
    /// Builds an error for `verb` with `code` and human `text`.
    pub fn new(
        verb: impl Into<VerbTag>,
        code: ErrorCode,
        text: impl Into<Cow<'static, str>>,
    ) -> Self {
        ProtocolError {
            verb: verb.into(),
            code,
            text: text.into(),
        }
    }
}
