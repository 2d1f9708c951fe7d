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
    pub const fn as_str(self) -> &'static str {
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
        // Every line asks: one word packed and compared as a number per
        // verb, instead of a case-blind string comparison per verb (91
        // instructions per MSG, 1.5% of a message's work, in callgrind).
        let packed = pack_upper(word.as_bytes())?;
        let i = PACKED.iter().position(|&p| p == packed)?;
        // Zero padding makes "MSG\0" pack as "MSG".
        let verb = Verb::ALL[i];
        (verb.as_str().len() == word.len()).then_some(verb)
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

/// The longest verb, in bytes.
const MAX_VERB_LEN: usize = 8;

/// Every verb of [`Verb::ALL`] packed by [`pack_upper`], in that order.
const PACKED: [u64; Verb::ALL.len()] = {
    let mut packed = [0; Verb::ALL.len()];
    let mut i = 0;
    while i < packed.len() {
        packed[i] = match pack_upper(Verb::ALL[i].as_str().as_bytes()) {
            Some(p) => p,
            None => panic!("a verb longer than MAX_VERB_LEN"),
        };
        i += 1;
    }
    packed
};

/// A word of at most [`MAX_VERB_LEN`] ASCII bytes, upper-cased, as one
/// number, zero-padded; `None` for a longer word or one with a byte past
/// ASCII, which no verb is.
const fn pack_upper(word: &[u8]) -> Option<u64> {
    if word.len() > MAX_VERB_LEN {
        return None;
    }
    let mut bytes = [0u8; MAX_VERB_LEN];
    let mut i = 0;
    while i < word.len() {
        bytes[i] = word[i];
        i += 1;
    }
    let x = u64::from_le_bytes(bytes);
    const HIGH: u64 = 0x8080_8080_8080_8080;
    if x & HIGH != 0 {
        return None;
    }
    // Every byte is below 0x80, so these sums carry into no neighbour:
    // a byte's high bit says it is at least `a`, then past `z`.
    let at_least_a = x + 0x1f1f_1f1f_1f1f_1f1f;
    let past_z = x + 0x0505_0505_0505_0505;
    let lower = at_least_a & !past_z & HIGH;
    Some(x ^ (lower >> 2))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verb_is_found_in_any_case() {
        for verb in Verb::ALL {
            let word = verb.as_str();
            assert_eq!(Verb::from_word(word), Some(verb));
            assert_eq!(Verb::from_word(&word.to_ascii_lowercase()), Some(verb));
            let mixed: String = word
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c.to_ascii_lowercase()
                    } else {
                        c
                    }
                })
                .collect();
            assert_eq!(Verb::from_word(&mixed), Some(verb), "{mixed}");
        }
    }

    #[test]
    fn other_words_are_not_verbs() {
        for word in [
            "",
            "MS",
            "MSGS",
            "MSG\0",
            "NICKNAME",
            "REGISTERS",
            "PRIVMSGX",
            "é",
            "M\u{17f}G",
        ] {
            assert_eq!(Verb::from_word(word), None, "{word:?}");
        }
    }
}
