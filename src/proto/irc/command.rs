//! What a client asks, typed: a [`Message`] made a [`Command`], names
//! validated once (a bad one kept as written, for the numeric that
//! answers it), or the [`CommandError`] that refuses it.

use crate::core::names::{NameLimits, Nick, RoomName, STORED_NAME_LIMIT};
use crate::core::opers::duration::parse_duration;
use crate::core::opers::Password;
use crate::core::store::{Anchor, HistoryQuery};
use crate::core::MsgKind;
use crate::proto::irc::render::parse_msgid;
use std::time::SystemTime;

use super::message::Message;

/// Targets one PRIVMSG, NOTICE, JOIN, PART, KICK... names at most (the
/// `MAXTARGETS` advertised in ISUPPORT).
pub const MAX_TARGETS: usize = 4;

/// A channel named by a command: valid, or as written.
pub type ChannelArg = Result<RoomName, String>;

/// Where a PRIVMSG or NOTICE goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A channel.
    Channel(RoomName),
    /// A user.
    Nick(Nick),
    /// A channel name that is not valid, as written (`#...`).
    BadChannel(String),
    /// A nickname that is not valid, as written.
    BadNick(String),
}

/// `CAP` subcommands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cap {
    /// `CAP LS [version]`
    Ls(Option<u32>),
    /// `CAP LIST`
    List,
    /// `CAP REQ :<caps>`: the names asked for, `-` marking removal.
    Req(String),
    /// `CAP END`
    End,
}

/// `JOIN`'s forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinArgs {
    /// `JOIN 0`: leave every channel.
    LeaveAll,
    /// Channels, each with the key given for it.
    Channels(Vec<(ChannelArg, Option<String>)>),
}

/// What CHATHISTORY asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryCommand {
    /// A channel's messages.
    Read(HistoryRequest),
    /// `TARGETS <timestamp> <timestamp> <limit>`: the channels with
    /// messages between two times, by their latest.
    Targets {
        /// One end.
        from: SystemTime,
        /// The other.
        to: SystemTime,
        /// How many at most.
        limit: u32,
    },
}

/// A CHATHISTORY request that reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRequest {
    /// The channel.
    pub target: RoomName,
    /// Which messages.
    pub query: HistoryQuery,
    /// How many at most (as asked: the session bounds it).
    pub limit: u32,
}

/// Why a CHATHISTORY command is refused: `FAIL CHATHISTORY <code>
/// <context...> :<text>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryFail {
    /// The machine-readable code.
    pub code: &'static str,
    /// The subcommand and what was wrong in it.
    pub context: Vec<String>,
    /// Why, for people.
    pub text: &'static str,
}

/// Reads `timestamp=<RFC 3339>`, `msgid=<id>` (ours name the room's
/// messages: see [`parse_msgid`]), and `*` where `star` allows it.
fn history_ref(s: &str, room: &RoomName, star: bool) -> Result<Option<Anchor>, ()> {
    if s == "*" && star {
        return Ok(None);
    }
    if let Some(t) = s.strip_prefix("timestamp=") {
        return humantime::parse_rfc3339_weak(t)
            .map(|t| Some(Anchor::Time(t)))
            .map_err(|_| ());
    }
    if let Some(id) = s.strip_prefix("msgid=") {
        return match parse_msgid(id) {
            Some((r, seq)) if r == room.folded().as_str() => Ok(Some(Anchor::Seq(seq))),
            _ => Err(()),
        };
    }
    Err(())
}

/// `CHATHISTORY` after its name.
fn chathistory(p: &[&str], limits: &NameLimits) -> Result<HistoryCommand, HistoryFail> {
    let fail = |code, context: &[&str], text| HistoryFail {
        code,
        context: context.iter().map(|s| s.to_string()).collect(),
        text,
    };
    let Some(sub) = p.first().map(|s| s.to_ascii_uppercase()) else {
        return Err(fail(
            "NEED_MORE_PARAMS",
            &["CHATHISTORY"],
            "Missing parameters",
        ));
    };
    if sub == "TARGETS" {
        if p.len() < 4 {
            return Err(fail("NEED_MORE_PARAMS", &[&sub], "Missing parameters"));
        }
        let time = |s: &str| {
            s.strip_prefix("timestamp=")
                .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
                .ok_or_else(|| fail("INVALID_PARAMS", &[&sub, s], "Invalid timestamp"))
        };
        let (from, to) = (time(p[1])?, time(p[2])?);
        let Ok(limit) = p[3].parse::<u32>() else {
            return Err(fail("INVALID_PARAMS", &[&sub, p[3]], "Invalid limit"));
        };
        return Ok(HistoryCommand::Targets { from, to, limit });
    }
    let refs = match sub.as_str() {
        "LATEST" | "BEFORE" | "AFTER" | "AROUND" => 1,
        "BETWEEN" => 2,
        _ => return Err(fail("INVALID_PARAMS", &[&sub], "Unknown subcommand")),
    };
    if p.len() < 3 + refs {
        return Err(fail("NEED_MORE_PARAMS", &[&sub], "Missing parameters"));
    }
    let Ok(target) = RoomName::parse_hashed(p[1], limits.max_room_len) else {
        return Err(fail(
            "INVALID_TARGET",
            &[&sub, p[1]],
            "Messages could not be retrieved",
        ));
    };
    let bad_ref = |r: &str| fail("INVALID_PARAMS", &[&sub, r], "Invalid message reference");
    let first = history_ref(p[2], &target, sub == "LATEST").map_err(|()| bad_ref(p[2]))?;
    let Ok(limit) = p[2 + refs].parse::<u32>() else {
        return Err(fail(
            "INVALID_PARAMS",
            &[&sub, p[2 + refs]],
            "Invalid limit",
        ));
    };
    let anchor = |a: Option<Anchor>| a.ok_or_else(|| bad_ref(p[2]));
    let query = match sub.as_str() {
        "LATEST" => HistoryQuery::Latest(first),
        "BEFORE" => HistoryQuery::Before(anchor(first)?),
        "AFTER" => HistoryQuery::After(anchor(first)?),
        "AROUND" => HistoryQuery::Around(anchor(first)?),
        _ => {
            let second = history_ref(p[3], &target, false).map_err(|()| bad_ref(p[3]))?;
            HistoryQuery::Between(anchor(first)?, second.ok_or_else(|| bad_ref(p[3]))?)
        }
    };
    Ok(HistoryCommand::Read(HistoryRequest {
        target,
        query,
        limit,
    }))
}

/// A command the server knows, its arguments checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `CAP`
    Cap(Cap),
    /// `AUTHENTICATE <mechanism | base64 chunk | + | *>` (SASL)
    Authenticate(String),
    /// `PASS <password>`
    Pass(String),
    /// `NICK <nick>`: valid, or as written (for `432`).
    Nick(Result<Nick, String>),
    /// `USER <username> <mode> <unused> <realname>`
    User {
        /// The user name asked for.
        username: String,
        /// The real name.
        realname: String,
    },
    /// `PING <token>`
    Ping(String),
    /// `PONG [server] <token>`
    Pong,
    /// `QUIT [reason]`
    Quit(Option<String>),
    /// `JOIN`
    Join(JoinArgs),
    /// `PART <channels> [reason]`
    Part {
        /// The channels.
        channels: Vec<ChannelArg>,
        /// Why.
        reason: Option<String>,
    },
    /// `PRIVMSG` or `NOTICE <targets> <text>`
    Message {
        /// Which of the two.
        kind: MsgKind,
        /// Where it goes.
        targets: Vec<Target>,
        /// What it says.
        text: String,
    },
    /// `CHATHISTORY <subcommand> <target> <refs...> <limit>`, or why it
    /// cannot be run (`FAIL CHATHISTORY <code>`).
    ChatHistory(Result<HistoryCommand, HistoryFail>),
    /// `TAGMSG <targets>`: the client-only tags alone.
    TagMsg(Vec<Target>),
    /// `TOPIC <channel> [topic]`
    Topic {
        /// The channel.
        channel: ChannelArg,
        /// The new topic; `None` reads it.
        text: Option<String>,
    },
    /// `NAMES [channels]`
    Names(Vec<ChannelArg>),
    /// `LIST [channels]`
    List(Option<Vec<ChannelArg>>),
    /// `WHO <mask>`
    Who(String),
    /// `WHOIS [server] <nick>`
    Whois(String),
    /// `MODE <target> [modes [args...]]`
    Mode {
        /// A channel or nickname, as written.
        target: String,
        /// The mode string, if any.
        modes: Option<String>,
        /// The modes' arguments.
        args: Vec<String>,
    },
    /// `KICK <channels> <nicks> [reason]`: one channel and its nicks, or
    /// as many channels as nicks, paired in order.
    Kick {
        /// Channels, each with who to remove from it.
        targets: Vec<(ChannelArg, Vec<String>)>,
        /// Why.
        reason: Option<String>,
    },
    /// `INVITE <nick> <channel>`
    Invite {
        /// Who is invited, as written.
        nick: String,
        /// Where to.
        channel: ChannelArg,
    },
    /// `WHOWAS <nick> [count]`: at most `count` entries (all for none, or
    /// one not positive).
    Whowas {
        /// The nickname, as written.
        nick: String,
        /// How many entries at most.
        count: Option<usize>,
    },
    /// `AWAY [text]`
    Away(Option<String>),
    /// `ISON <nicks...>`
    Ison(Vec<String>),
    /// `USERHOST <nicks...>`
    Userhost(Vec<String>),
    /// `LUSERS`
    Lusers,
    /// `MOTD`
    Motd,
    /// `VERSION`
    Version,
    /// `TIME`
    Time,
    /// `INFO`
    Info,
    /// `ADMIN`
    Admin,
    /// `OPER <name> <password>`
    Oper {
        /// The operator block's name.
        name: String,
        /// Its password (never shown by `Debug`).
        password: Password,
    },
    /// `KILL <nick> [:reason]`
    Kill {
        /// Who, as written.
        nick: String,
        /// Why.
        reason: Option<String>,
    },
    /// `KLINE [LIST]` lists; `KLINE <mask> [duration] [:reason]` bans.
    Kline(Option<KlineRequest>),
    /// `UNKLINE <mask>`
    Unkline(String),
    /// `WALLOPS :<text>`
    Wallops(String),
    /// `CLOSE <channel> [:reason]` (a chatroom extension: see IRC.md).
    Close {
        /// The channel.
        channel: ChannelArg,
        /// Why.
        reason: Option<String>,
    },
}

/// What `KLINE` asks to ban: the mask as written (the session reads it),
/// how long (`None`: until lifted), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KlineRequest {
    /// The mask, as written.
    pub mask: String,
    /// How long.
    pub duration: Option<std::time::Duration>,
    /// Why.
    pub reason: Option<String>,
}

/// Why a message was refused, as IRC numbers it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// `421`: no such command.
    #[error("unknown command {0}")]
    Unknown(String),
    /// `461`: a required parameter is missing.
    #[error("{0}: not enough parameters")]
    NeedMoreParams(&'static str),
    /// `431`: NICK without a nickname.
    #[error("no nickname given")]
    NoNicknameGiven,
    /// `411`: PRIVMSG or NOTICE without a target.
    #[error("no recipient given")]
    NoRecipient(&'static str),
    /// `412`: PRIVMSG or NOTICE without text.
    #[error("no text to send")]
    NoTextToSend(MsgKind),
    /// `410`: an unknown CAP subcommand.
    #[error("invalid CAP subcommand {0}")]
    InvalidCap(String),
    /// `407`: more targets than [`MAX_TARGETS`].
    #[error("too many targets")]
    TooManyTargets(&'static str, String),
}

impl CommandError {
    /// Whether this refusal may be answered: NOTICE never gets errors.
    pub fn is_silent(&self) -> bool {
        matches!(
            self,
            CommandError::NoTextToSend(MsgKind::Notice)
                | CommandError::NoRecipient("NOTICE")
                | CommandError::TooManyTargets("NOTICE", _)
        )
    }
}

/// Whether command `name` (upper case) may be sent before registration
/// ends; any other known command is answered `451` then, whatever its
/// parameters.
pub fn allowed_before_registration(name: &str) -> bool {
    matches!(
        name,
        "CAP" | "PASS" | "NICK" | "USER" | "PING" | "PONG" | "QUIT" | "AUTHENTICATE"
    )
}

/// The channel `s` names.
fn channel(s: &str, limits: &NameLimits) -> ChannelArg {
    RoomName::parse_hashed(s, limits.max_room_len).map_err(|_| s.to_string())
}

/// A comma-separated list, empty items dropped.
fn list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').filter(|i| !i.is_empty())
}

fn channels(s: &str, limits: &NameLimits) -> Vec<ChannelArg> {
    list(s).map(|c| channel(c, limits)).collect()
}

fn target(s: &str, limits: &NameLimits) -> Target {
    if s.starts_with('#') {
        match RoomName::parse_hashed(s, limits.max_room_len) {
            Ok(room) => Target::Channel(room),
            Err(_) => Target::BadChannel(s.to_string()),
        }
    } else {
        // Someone else's nickname: any one can be (a reload may have
        // lowered `limits.max_nick_len` below nicknames in use).
        match Nick::parse(s, STORED_NAME_LIMIT) {
            Ok(nick) => Target::Nick(nick),
            Err(_) => Target::BadNick(s.to_string()),
        }
    }
}

/// The trailing text of a command, absent when empty.
fn opt_text(s: Option<&&str>) -> Option<String> {
    s.filter(|t| !t.is_empty()).map(|t| t.to_string())
}

impl Command {
    /// The command `msg` asks for.
    pub fn parse(msg: &Message<'_>, limits: &NameLimits) -> Result<Command, CommandError> {
        let p = &msg.params;
        let name = msg.command.to_ascii_uppercase();
        // The name as a static, for the numerics that quote it.
        let need = |n: usize, verb: &'static str| {
            if p.len() < n || p[..n].iter().any(|s| s.is_empty()) {
                Err(CommandError::NeedMoreParams(verb))
            } else {
                Ok(())
            }
        };
        Ok(match name.as_str() {
            "CAP" => {
                need(1, "CAP")?;
                match p[0].to_ascii_uppercase().as_str() {
                    "LS" => Cap::Ls(p.get(1).and_then(|v| v.parse().ok())),
                    "LIST" => Cap::List,
                    "REQ" => {
                        need(2, "CAP")?;
                        Cap::Req(p[1].to_string())
                    }
                    "END" => Cap::End,
                    other => return Err(CommandError::InvalidCap(other.to_string())),
                }
                .into()
            }
            "AUTHENTICATE" => {
                need(1, "AUTHENTICATE")?;
                Command::Authenticate(p[0].to_string())
            }
            "PASS" => {
                need(1, "PASS")?;
                Command::Pass(p[0].to_string())
            }
            "NICK" => {
                let nick = p.first().filter(|n| !n.is_empty());
                let nick = nick.ok_or(CommandError::NoNicknameGiven)?;
                Command::Nick(Nick::parse(nick, limits.max_nick_len).map_err(|_| nick.to_string()))
            }
            "USER" => {
                need(4, "USER")?;
                Command::User {
                    username: p[0].to_string(),
                    realname: p[3].to_string(),
                }
            }
            "PING" => {
                need(1, "PING")?;
                Command::Ping(p[0].to_string())
            }
            "PONG" => Command::Pong,
            "QUIT" => Command::Quit(opt_text(p.first())),
            "JOIN" => {
                need(1, "JOIN")?;
                if p[0] == "0" {
                    Command::Join(JoinArgs::LeaveAll)
                } else {
                    let mut keys = p.get(1).map_or("", |k| k).split(',');
                    let chans = p[0]
                        .split(',')
                        .filter(|c| !c.is_empty())
                        .map(|c| {
                            let key = keys.next().filter(|k| !k.is_empty()).map(String::from);
                            (channel(c, limits), key)
                        })
                        .collect::<Vec<_>>();
                    if chans.len() > MAX_TARGETS {
                        return Err(CommandError::TooManyTargets("JOIN", p[0].to_string()));
                    }
                    Command::Join(JoinArgs::Channels(chans))
                }
            }
            "PART" => {
                need(1, "PART")?;
                Command::Part {
                    channels: channels(p[0], limits),
                    reason: opt_text(p.get(1)),
                }
            }
            "PRIVMSG" | "NOTICE" => {
                let (kind, verb) = if name == "NOTICE" {
                    (MsgKind::Notice, "NOTICE")
                } else {
                    (MsgKind::Privmsg, "PRIVMSG")
                };
                let to = p.first().filter(|t| !t.is_empty());
                let to = to.ok_or(CommandError::NoRecipient(verb))?;
                let text = p.get(1).filter(|t| !t.is_empty());
                let text = text.ok_or(CommandError::NoTextToSend(kind))?;
                let targets: Vec<Target> = list(to).map(|t| target(t, limits)).collect();
                if targets.len() > MAX_TARGETS {
                    return Err(CommandError::TooManyTargets(verb, to.to_string()));
                }
                if targets.is_empty() {
                    return Err(CommandError::NoRecipient(verb));
                }
                Command::Message {
                    kind,
                    targets,
                    text: text.to_string(),
                }
            }
            "CHATHISTORY" => Command::ChatHistory(chathistory(p, limits)),
            "TAGMSG" => {
                let to = p.first().filter(|t| !t.is_empty());
                let to = to.ok_or(CommandError::NoRecipient("TAGMSG"))?;
                let targets: Vec<Target> = list(to).map(|t| target(t, limits)).collect();
                if targets.len() > MAX_TARGETS {
                    return Err(CommandError::TooManyTargets("TAGMSG", to.to_string()));
                }
                Command::TagMsg(targets)
            }
            "TOPIC" => {
                need(1, "TOPIC")?;
                Command::Topic {
                    channel: channel(p[0], limits),
                    text: p.get(1).map(|t| t.to_string()),
                }
            }
            "NAMES" => Command::Names(p.first().map_or_else(Vec::new, |c| channels(c, limits))),
            "LIST" => Command::List(
                p.first()
                    .filter(|c| c.starts_with('#'))
                    .map(|c| channels(c, limits)),
            ),
            "WHO" => {
                need(1, "WHO")?;
                Command::Who(p[0].to_string())
            }
            "WHOIS" => {
                need(1, "WHOIS")?;
                // `WHOIS <server> <nick>`: the last parameter is the nick.
                let nick = p.last().copied().unwrap_or_default();
                Command::Whois(nick.split(',').next().unwrap_or_default().to_string())
            }
            "MODE" => {
                need(1, "MODE")?;
                Command::Mode {
                    target: p[0].to_string(),
                    modes: p.get(1).map(|m| m.to_string()),
                    args: p.iter().skip(2).map(|a| a.to_string()).collect(),
                }
            }
            "KICK" => {
                need(2, "KICK")?;
                let nicks: Vec<String> = list(p[1]).map(String::from).collect();
                if nicks.len() > MAX_TARGETS {
                    return Err(CommandError::TooManyTargets("KICK", p[1].to_string()));
                }
                let chans = channels(p[0], limits);
                let targets = match chans.len() {
                    1 => chans.into_iter().zip(std::iter::once(nicks)).collect(),
                    n if n == nicks.len() => chans
                        .into_iter()
                        .zip(nicks)
                        .map(|(c, nick)| (c, vec![nick]))
                        .collect(),
                    _ => return Err(CommandError::NeedMoreParams("KICK")),
                };
                Command::Kick {
                    targets,
                    reason: opt_text(p.get(2)),
                }
            }
            "INVITE" => {
                need(2, "INVITE")?;
                Command::Invite {
                    nick: p[0].to_string(),
                    channel: channel(p[1], limits),
                }
            }
            "WHOWAS" => {
                let nick = p.first().filter(|n| !n.is_empty());
                let nick = nick.ok_or(CommandError::NoNicknameGiven)?;
                Command::Whowas {
                    nick: nick.split(',').next().unwrap_or_default().to_string(),
                    count: p
                        .get(1)
                        .and_then(|c| c.parse::<i64>().ok())
                        .filter(|&c| c > 0)
                        .and_then(|c| usize::try_from(c).ok()),
                }
            }
            "AWAY" => Command::Away(opt_text(p.first())),
            "ISON" => {
                need(1, "ISON")?;
                Command::Ison(
                    p.iter()
                        .flat_map(|s| s.split(' '))
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                )
            }
            "USERHOST" => {
                need(1, "USERHOST")?;
                Command::Userhost(p.iter().take(5).map(|s| s.to_string()).collect())
            }
            "LUSERS" => Command::Lusers,
            "MOTD" => Command::Motd,
            "VERSION" => Command::Version,
            "TIME" => Command::Time,
            "INFO" => Command::Info,
            "ADMIN" => Command::Admin,
            "OPER" => {
                need(2, "OPER")?;
                Command::Oper {
                    name: p[0].to_string(),
                    password: Password(p[1].to_string()),
                }
            }
            "KILL" => {
                need(1, "KILL")?;
                Command::Kill {
                    nick: p[0].to_string(),
                    reason: opt_text(p.get(1)),
                }
            }
            "KLINE" => match p.first().filter(|m| !m.is_empty()) {
                None => Command::Kline(None),
                Some(m) if m.eq_ignore_ascii_case("LIST") => Command::Kline(None),
                Some(m) => {
                    let duration = p.get(1).and_then(|d| parse_duration(d));
                    let reason = if duration.is_some() {
                        opt_text(p.get(2))
                    } else {
                        let rest: Vec<&str> = p.iter().skip(1).copied().collect();
                        Some(rest.join(" ")).filter(|r| !r.is_empty())
                    };
                    Command::Kline(Some(KlineRequest {
                        mask: m.to_string(),
                        duration: duration.flatten(),
                        reason,
                    }))
                }
            },
            "UNKLINE" => {
                need(1, "UNKLINE")?;
                Command::Unkline(p[0].to_string())
            }
            "WALLOPS" => {
                need(1, "WALLOPS")?;
                Command::Wallops(p[0].to_string())
            }
            "CLOSE" => {
                need(1, "CLOSE")?;
                Command::Close {
                    channel: channel(p[0], limits),
                    reason: opt_text(p.get(1)),
                }
            }
            _ => return Err(CommandError::Unknown(msg.command.to_string())),
        })
    }
}

impl From<Cap> for Command {
    fn from(cap: Cap) -> Self {
        Command::Cap(cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Command, CommandError> {
        Command::parse(&Message::parse(line).unwrap(), &NameLimits::default())
    }

    fn room(s: &str) -> RoomName {
        RoomName::parse_hashed(s, 32).unwrap()
    }

    fn nick(s: &str) -> Nick {
        Nick::parse(s, 24).unwrap()
    }

    #[test]
    fn commands_and_their_arguments() {
        let cases: Vec<(&str, Command)> = vec![
            ("CAP LS 302", Command::Cap(Cap::Ls(Some(302)))),
            ("cap ls", Command::Cap(Cap::Ls(None))),
            (
                "CAP REQ :multi-prefix",
                Command::Cap(Cap::Req("multi-prefix".into())),
            ),
            ("CAP END", Command::Cap(Cap::End)),
            ("PASS secret", Command::Pass("secret".into())),
            ("NICK alice", Command::Nick(Ok(nick("alice")))),
            ("NICK 9lives", Command::Nick(Err("9lives".into()))),
            (
                "USER al 0 * :Al Ice",
                Command::User {
                    username: "al".into(),
                    realname: "Al Ice".into(),
                },
            ),
            ("PING :x y", Command::Ping("x y".into())),
            ("PONG srv :x", Command::Pong),
            ("QUIT", Command::Quit(None)),
            ("QUIT :bye now", Command::Quit(Some("bye now".into()))),
            ("JOIN 0", Command::Join(JoinArgs::LeaveAll)),
            (
                "JOIN #a,#b,bad k1",
                Command::Join(JoinArgs::Channels(vec![
                    (Ok(room("#a")), Some("k1".into())),
                    (Ok(room("#b")), None),
                    (Err("bad".into()), None),
                ])),
            ),
            (
                "PART #a,#b :gone",
                Command::Part {
                    channels: vec![Ok(room("#a")), Ok(room("#b"))],
                    reason: Some("gone".into()),
                },
            ),
            (
                "PRIVMSG #a,bob,#!,9x :hi there",
                Command::Message {
                    kind: MsgKind::Privmsg,
                    targets: vec![
                        Target::Channel(room("#a")),
                        Target::Nick(nick("bob")),
                        Target::BadChannel("#!".into()),
                        Target::BadNick("9x".into()),
                    ],
                    text: "hi there".into(),
                },
            ),
            (
                "NOTICE bob hi",
                Command::Message {
                    kind: MsgKind::Notice,
                    targets: vec![Target::Nick(nick("bob"))],
                    text: "hi".into(),
                },
            ),
            (
                "TOPIC #a",
                Command::Topic {
                    channel: Ok(room("#a")),
                    text: None,
                },
            ),
            (
                "TOPIC #a :",
                Command::Topic {
                    channel: Ok(room("#a")),
                    text: Some(String::new()),
                },
            ),
            ("NAMES", Command::Names(vec![])),
            ("LIST", Command::List(None)),
            (
                "LIST #a,#b",
                Command::List(Some(vec![Ok(room("#a")), Ok(room("#b"))])),
            ),
            ("WHOIS srv bob", Command::Whois("bob".into())),
            (
                "MODE #a +k key",
                Command::Mode {
                    target: "#a".into(),
                    modes: Some("+k".into()),
                    args: vec!["key".into()],
                },
            ),
            (
                "KICK #a bob,carol :out",
                Command::Kick {
                    targets: vec![(Ok(room("#a")), vec!["bob".into(), "carol".into()])],
                    reason: Some("out".into()),
                },
            ),
            (
                "KICK #a,#b bob,carol",
                Command::Kick {
                    targets: vec![
                        (Ok(room("#a")), vec!["bob".into()]),
                        (Ok(room("#b")), vec!["carol".into()]),
                    ],
                    reason: None,
                },
            ),
            ("AWAY", Command::Away(None)),
            ("AWAY :lunch", Command::Away(Some("lunch".into()))),
            (
                "ISON a b :c d",
                Command::Ison(vec!["a".into(), "b".into(), "c".into(), "d".into()]),
            ),
            ("LUSERS", Command::Lusers),
        ];
        for (line, want) in cases {
            assert_eq!(parse(line), Ok(want), "{line:?}");
        }
    }

    #[test]
    fn operator_commands() {
        let kline = |mask: &str, secs: Option<u64>, reason: Option<&str>| {
            Command::Kline(Some(KlineRequest {
                mask: mask.into(),
                duration: secs.map(std::time::Duration::from_secs),
                reason: reason.map(String::from),
            }))
        };
        let cases = vec![
            (
                "OPER alice :s3cret",
                Command::Oper {
                    name: "alice".into(),
                    password: Password("s3cret".into()),
                },
            ),
            (
                "KILL bob :go away",
                Command::Kill {
                    nick: "bob".into(),
                    reason: Some("go away".into()),
                },
            ),
            ("KLINE", Command::Kline(None)),
            ("KLINE LIST", Command::Kline(None)),
            (
                "KLINE *@10.* 1h :spam bots",
                kline("*@10.*", Some(3600), Some("spam bots")),
            ),
            (
                "KLINE *@10.* 0 :forever",
                kline("*@10.*", None, Some("forever")),
            ),
            (
                "KLINE *@10.* :spam bots",
                kline("*@10.*", None, Some("spam bots")),
            ),
            ("KLINE 10.0.0.1", kline("10.0.0.1", None, None)),
            ("UNKLINE 10.0.0.1", Command::Unkline("10.0.0.1".into())),
            ("WALLOPS :hi all", Command::Wallops("hi all".into())),
            (
                "CLOSE #a :spam",
                Command::Close {
                    channel: Ok(room("#a")),
                    reason: Some("spam".into()),
                },
            ),
        ];
        for (line, want) in cases {
            assert_eq!(parse(line), Ok(want), "{line:?}");
        }
        for (line, verb) in [
            ("OPER alice", "OPER"),
            ("KILL", "KILL"),
            ("UNKLINE", "UNKLINE"),
            ("WALLOPS", "WALLOPS"),
            ("CLOSE", "CLOSE"),
        ] {
            assert_eq!(
                parse(line),
                Err(CommandError::NeedMoreParams(verb)),
                "{line:?}"
            );
        }
        assert!(!format!("{:?}", parse("OPER alice s3cret")).contains("s3cret"));
    }

    #[test]
    fn refusals() {
        let cases: Vec<(&str, CommandError)> = vec![
            ("FLY away", CommandError::Unknown("FLY".into())),
            ("NICK", CommandError::NoNicknameGiven),
            ("NICK :", CommandError::NoNicknameGiven),
            ("USER a 0 *", CommandError::NeedMoreParams("USER")),
            ("USER a 0 * :", CommandError::NeedMoreParams("USER")),
            ("JOIN", CommandError::NeedMoreParams("JOIN")),
            ("PRIVMSG", CommandError::NoRecipient("PRIVMSG")),
            ("PRIVMSG #a", CommandError::NoTextToSend(MsgKind::Privmsg)),
            ("PRIVMSG #a :", CommandError::NoTextToSend(MsgKind::Privmsg)),
            ("NOTICE #a", CommandError::NoTextToSend(MsgKind::Notice)),
            ("CAP FOO", CommandError::InvalidCap("FOO".into())),
            (
                "PRIVMSG a,b,c,d,e hi",
                CommandError::TooManyTargets("PRIVMSG", "a,b,c,d,e".into()),
            ),
            ("KICK #a", CommandError::NeedMoreParams("KICK")),
        ];
        for (line, want) in cases {
            assert_eq!(parse(line), Err(want), "{line:?}");
        }
        assert!(parse("NOTICE").unwrap_err().is_silent());
        assert!(!parse("PRIVMSG").unwrap_err().is_silent());
    }
}
