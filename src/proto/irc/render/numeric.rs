//! Numerics: every numbered reply the IRC front end sends, and how each
//! is written.

use std::time::SystemTime;

use bytes::{Bytes, BytesMut};

use super::{unix, Line, Server};
use crate::core::names::{Nick, RoomName};
use crate::core::scratch::rendered;
use crate::core::UserHost;

/// A channel's modes, as `324` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelModes {
    /// `+k` (shown as `*`: keys are kept hashed).
    pub keyed: bool,
    /// `+l <n>`.
    pub limit: Option<u32>,
    /// `+i`.
    pub invite_only: bool,
    /// `+t`.
    pub topic_locked: bool,
    /// `+n`.
    pub members_only: bool,
    /// `+s`.
    pub secret: bool,
}

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
    /// `900 <nick>!<user>@<host> <account> :You are now logged in as <account>`
    LoggedIn {
        /// The client's user and host.
        userhost: UserHost,
        /// The account.
        account: Nick,
    },
    /// `903 :SASL authentication successful`
    SaslSuccess,
    /// `904 :SASL authentication failed`
    SaslFail,
    /// `905 :SASL message too long`
    SaslTooLong,
    /// `906 :SASL authentication aborted`
    SaslAborted,
    /// `907 :You have already authenticated using SASL`
    SaslAlready,
    /// `908 PLAIN :are available SASL mechanisms`
    SaslMechs,
    /// `003 :This server was created <date>`
    Created(SystemTime),
    /// `004 <server> <version> <user modes> <channel modes> <with a parameter>`
    MyInfo,
    /// `005 <tokens...> :are supported by this server`
    ISupport(Vec<String>),
    /// `251 :There are <n> users and <i> invisible on 1 servers`
    LuserClient {
        /// Users with a nickname, not invisible.
        users: usize,
        /// Users with a nickname and user mode `+i`.
        invisible: usize,
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
    UModeIs(String),
    /// `381 :You are now an IRC operator`
    YoureOper,
    /// `481 :Permission Denied- You're not an IRC operator`
    NoPrivileges,
    /// `465 :You are banned from this server: <reason>`
    YoureBannedCreep(String),
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
    /// `330 <nick> <account> :is logged in as`
    WhoisAccount(Nick, Nick),
    /// `313 <nick> :is an IRC operator`
    WhoisOperator(Nick),
    /// `252 <n> :operator(s) online`
    LuserOp(usize),
    /// `318 <nick> :End of /WHOIS list`
    EndOfWhois(String),
    /// `319 <nick> :<channels>`
    WhoisChannels(Nick, Vec<(RoomName, bool)>),
    /// `314 <nick> <user> <host> * :<realname>`
    WhowasUser {
        /// The nickname as it was.
        nick: Nick,
        /// Its user and host then.
        userhost: UserHost,
        /// Its real name then.
        realname: String,
    },
    /// `369 <nick> :End of WHOWAS`
    EndOfWhowas(String),
    /// `406 <nick> :There was no such nickname`
    WasNoSuchNick(String),
    /// `341 <nick> <channel>`
    Inviting(Nick, RoomName),
    /// `443 <nick> <channel> :is already on channel`
    UserOnChannel(String, RoomName),
    /// `473 <channel> :Cannot join channel (+i)`
    InviteOnlyChan(RoomName),
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
        /// Its modes.
        modes: ChannelModes,
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
        /// An operator of `channel`.
        owner: bool,
        /// A server operator (`*`).
        oper: bool,
        /// Their real name.
        realname: String,
    },
    /// `366 <channel> :End of /NAMES list`
    EndOfNames(String),
    /// `367 <channel> <mask> <set by> <set at>`
    BanList {
        /// The channel.
        channel: RoomName,
        /// The ban's mask.
        mask: String,
        /// Who set it.
        by: Nick,
        /// When.
        at: SystemTime,
    },
    /// `474 <channel> :Cannot join channel (+b)`
    BannedFromChan(RoomName),
    /// `368 <channel> :End of channel ban list`
    EndOfBanList(RoomName),
    /// `351 chatroom-<version> <server> :<comments>`
    Version,
    /// `371 :<text>`
    Info(String),
    /// `374 :End of INFO list`
    EndOfInfo,
    /// `391 <server> :<time>`
    Time(SystemTime),
    /// `423 <server> :No administrative info available`
    NoAdminInfo,
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
    /// `437 <channel> :Cannot create channel: the server has too many
    /// channels` (natively `SERVER_ROOMS_FULL`)
    ServerChannelsFull(RoomName),
    /// `263 <command> :Please wait a while and try again.` (a room
    /// created too fast, natively `RATE_LIMITED`; a key check refused for
    /// now, natively `TRY_LATER`)
    TryAgain(&'static str),
    /// `696 <channel> <char> <param> :<why>`
    InvalidModeParam {
        /// The channel.
        channel: RoomName,
        /// The mode letter.
        letter: char,
        /// The argument refused, as given.
        arg: String,
    },
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
            WhoisOperator(_) => "313",
            LuserOp(_) => "252",
            YoureOper => "381",
            NoPrivileges => "481",
            YoureBannedCreep(_) => "465",
            Away(..) => "301",
            Userhost(_) => "302",
            Ison(_) => "303",
            UnAway => "305",
            NowAway => "306",
            WhoisUser { .. } => "311",
            WhoisServer(_) => "312",
            WhoisAccount(..) => "330",
            EndOfWho(_) => "315",
            WhowasUser { .. } => "314",
            EndOfWhowas(_) => "369",
            WasNoSuchNick(_) => "406",
            Inviting(..) => "341",
            UserOnChannel(..) => "443",
            InviteOnlyChan(_) => "473",
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
            Version => "351",
            Info(_) => "371",
            EndOfInfo => "374",
            Time(_) => "391",
            NoAdminInfo => "423",
            EndOfBanList(_) => "368",
            BanList { .. } => "367",
            BannedFromChan(_) => "474",
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
            LoggedIn { .. } => "900",
            SaslSuccess => "903",
            SaslFail => "904",
            SaslTooLong => "905",
            SaslAborted => "906",
            SaslAlready => "907",
            SaslMechs => "908",
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
            ServerChannelsFull(_) => "437",
            TryAgain(_) => "263",
            UnknownMode(..) => "472",
            InvalidModeParam { .. } => "696",
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
            LoggedIn { userhost, account } => line
                .word(&format!("{to}!{}", userhost.as_str()))
                .word(account.as_str())
                .trailing(&format!("You are now logged in as {account}")),
            SaslSuccess => line.trailing("SASL authentication successful"),
            SaslFail => line.trailing("SASL authentication failed"),
            SaslTooLong => line.trailing("SASL message too long"),
            SaslAborted => line.trailing("SASL authentication aborted"),
            SaslAlready => line.trailing("You have already authenticated using SASL"),
            SaslMechs => line.word("PLAIN").trailing("are available SASL mechanisms"),
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
                .word("iow")
                .word("iklnost")
                .word("klo"),
            ISupport(tokens) => tokens
                .iter()
                .fold(line, |l, t| l.word(t))
                .trailing("are supported by this server"),
            LuserClient { users, invisible } => line.trailing(&format!(
                "There are {users} users and {invisible} invisible on 1 servers"
            )),
            LuserUnknown(n) => line.num(*n as u64).trailing("unknown connection(s)"),
            LuserChannels(n) => line.num(*n as u64).trailing("channels formed"),
            LuserMe(n) => line.trailing(&format!("I have {n} clients and 0 servers")),
            LocalUsers(n) => line.trailing(&format!("Current local users: {n}")),
            GlobalUsers(n) => line.trailing(&format!("Current global users: {n}")),
            UModeIs(modes) => line.word(modes),
            WhoisOperator(nick) => line.word(nick.as_str()).trailing("is an IRC operator"),
            LuserOp(n) => line.num(*n as u64).trailing("operator(s) online"),
            YoureOper => line.trailing("You are now an IRC operator"),
            NoPrivileges => line.trailing("Permission Denied- You're not an IRC operator"),
            YoureBannedCreep(reason) => {
                line.trailing(&format!("You are banned from this server: {reason}"))
            }
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
            WhoisAccount(nick, account) => line
                .word(nick.as_str())
                .word(account.as_str())
                .trailing("is logged in as"),
            WhoisChannels(nick, chans) => {
                let list: Vec<String> = chans
                    .iter()
                    .map(|(c, owner)| format!("{}{c}", if *owner { "@" } else { "" }))
                    .collect();
                line.word(nick.as_str()).trailing(&list.join(" "))
            }
            EndOfWho(mask) => line.word(mask).trailing("End of WHO list"),
            WhowasUser {
                nick,
                userhost,
                realname,
            } => line
                .word(nick.as_str())
                .word(userhost.user())
                .word(userhost.host())
                .word("*")
                .trailing(realname),
            EndOfWhowas(nick) => line.word(nick).trailing("End of WHOWAS"),
            WasNoSuchNick(nick) => line.word(nick).trailing("There was no such nickname"),
            Inviting(nick, channel) => line.word(nick.as_str()).word(channel.as_str()),
            UserOnChannel(nick, channel) => line
                .word(nick)
                .word(channel.as_str())
                .trailing("is already on channel"),
            InviteOnlyChan(channel) => line
                .word(channel.as_str())
                .trailing("Cannot join channel (+i)"),
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
            ChannelModeIs { channel, modes } => {
                let mut letters = String::from("+");
                for (on, letter) in [
                    (modes.invite_only, 'i'),
                    (modes.keyed, 'k'),
                    (modes.limit.is_some(), 'l'),
                    (modes.members_only, 'n'),
                    (modes.secret, 's'),
                    (modes.topic_locked, 't'),
                ] {
                    if on {
                        letters.push(letter);
                    }
                }
                let mut line = line.word(channel.as_str()).word(&letters);
                if modes.keyed {
                    line = line.word("*");
                }
                match modes.limit {
                    Some(n) => line.num(u64::from(n)),
                    None => line,
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
                oper,
                realname,
            } => {
                let flags = match (*away, *oper, *owner) {
                    (false, false, false) => "H",
                    (false, false, true) => "H@",
                    (false, true, false) => "H*",
                    (false, true, true) => "H*@",
                    (true, false, false) => "G",
                    (true, false, true) => "G@",
                    (true, true, false) => "G*",
                    (true, true, true) => "G*@",
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
            BanList {
                channel,
                mask,
                by,
                at,
            } => line
                .word(channel.as_str())
                .word(mask)
                .word(by.as_str())
                .num(unix(*at)),
            BannedFromChan(channel) => line
                .word(channel.as_str())
                .trailing("Cannot join channel (+b)"),
            EndOfBanList(channel) => line
                .word(channel.as_str())
                .trailing("End of channel ban list"),
            Version => line
                .word(&format!("chatroom-{version}"))
                .word(&server.name)
                .trailing("IRC front end of chatroom"),
            Info(text) => line.trailing(text),
            EndOfInfo => line.trailing("End of INFO list"),
            Time(t) => line
                .word(&server.name)
                .trailing(&humantime::format_rfc3339_seconds(*t).to_string()),
            NoAdminInfo => line
                .word(&server.name)
                .trailing("No administrative info available"),
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
            ServerChannelsFull(channel) => line
                .word(channel.as_str())
                .trailing("Cannot create channel: the server has too many channels"),
            TryAgain(command) => line
                .word(command)
                .trailing("Please wait a while and try again."),
            UnknownMode(c, why) => line.word(c.encode_utf8(&mut [0; 4])).trailing(why),
            InvalidModeParam {
                channel,
                letter,
                arg,
            } => line
                .word(channel.as_str())
                .word(letter.encode_utf8(&mut [0; 4]))
                // A parameter cannot be empty or hold a space mid-line.
                .word(if arg.is_empty() || arg.contains(' ') {
                    "*"
                } else {
                    arg
                })
                .trailing("Invalid mode parameter"),
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
