//! What happened, as the core tells it: typed events that every front end
//! renders in its own encoding.
//!
//! An event carries everything any renderer needs, including what only
//! some protocols show: the actor's [`UserHost`] (IRC writes its sources
//! as `nick!user@host`), whether a message is a notice ([`MsgKind`]), and
//! the recipient of a private message. The native protocol shows none of
//! these.

use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use super::file_id::FileId;
use super::names::{Nick, RoomName};

/// Where a `FILE` upload goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileTarget {
    /// A room (written with its `#`).
    Room(RoomName),
    /// A user.
    User(Nick),
}

/// Whether a message is an ordinary one or a notice (IRC's `NOTICE`,
/// which clients never answer automatically; native clients see both as
/// messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MsgKind {
    /// An ordinary message.
    #[default]
    Privmsg,
    /// A notice.
    Notice,
}

/// The `user@host` half of how IRC names a client (`nick!user@host`):
/// fixed for a connection's lifetime, whatever its nickname. One shared
/// value per connection; cloning it copies a pointer (a thin one: rooms
/// keep one per member, for IRC's `userhost-in-names`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserHost(Arc<String>);

impl UserHost {
    /// `user@host`; neither may hold `@`, `!` or whitespace (the front end
    /// that builds one makes sure).
    pub fn new(user: &str, host: &str) -> Self {
        let mut s = String::with_capacity(user.len() + 1 + host.len());
        s.push_str(user);
        s.push('@');
        s.push_str(host);
        UserHost(Arc::new(s))
    }

    /// What every native client is: its protocol has no user name and
    /// shows no address, so all share `native@native`. Shared: a native
    /// connection costs no allocation for it.
    pub fn native() -> Self {
        static NATIVE: OnceLock<UserHost> = OnceLock::new();
        NATIVE
            .get_or_init(|| UserHost::new("native", "native"))
            .clone()
    }

    /// `user@host`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The user name.
    pub fn user(&self) -> &str {
        self.0.rsplit_once('@').map_or(&self.0, |(u, _)| u)
    }

    /// The host.
    pub fn host(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, h)| h)
    }
}

/// What a message carries besides its text, for protocols that show it
/// (IRC's `msgid`, `time` and client-only tags); native lines show none
/// of it, and a native session leaves the tags empty. Moved with the
/// event, never rendered where not shown: native clients pay nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgMeta {
    /// Its number in the room for a room message (the store's); for
    /// anything not stored (a private message, a `TAGMSG`) a number unique
    /// among those since the server started; `0` where unknown (a line a
    /// client parsed).
    pub seq: u64,
    /// When the server received it: for a room message, the time the
    /// store keeps.
    pub time: SystemTime,
    /// The sender's client-only tags (IRCv3 `+key=value;...`, escaped as
    /// on the wire), if it sent any.
    pub tags: Option<Arc<str>>,
    /// The account the sender was logged in to when it sent it (IRC
    /// `account-tag`), as stored: its session's own, passed along (a
    /// shared name, not looked up), so a sender without one costs nothing.
    /// Not stored: history has none.
    pub account: Option<Arc<str>>,
}

impl Default for MsgMeta {
    fn default() -> Self {
        MsgMeta {
            seq: 0,
            time: SystemTime::UNIX_EPOCH,
            tags: None,
            account: None,
        }
    }
}

impl MsgMeta {
    /// What a message not stored (private, or a `TAGMSG`) carries:
    /// received now, numbered among such messages, with the sender's
    /// `tags` and `account`.
    pub fn now(tags: Option<Arc<str>>, account: Option<Arc<str>>) -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        MsgMeta {
            seq: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            time: SystemTime::now(),
            tags,
            account,
        }
    }
}

/// The real name of a client that has none (a native one): shared, so
/// that a native JOIN allocates nothing for it.
pub fn no_realname() -> Arc<str> {
    static EMPTY: OnceLock<Arc<str>> = OnceLock::new();
    Arc::clone(EMPTY.get_or_init(|| Arc::from("")))
}

/// A change to a room's settings, as its owner made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomMode {
    /// The room was given this key (it is private from now on).
    Key(String),
    /// The room's key was removed (it is public from now on).
    NoKey,
    /// This member was made an operator (`true`) or no longer is one.
    Op(Nick, bool),
    /// The room was limited to this many members, or the limit lifted.
    Limit(Option<u32>),
    /// Only invited users may join from now on (`true`), or anyone.
    InviteOnly(bool),
    /// Only the owner may set the topic from now on (`true`), or any
    /// member.
    TopicLocked(bool),
    /// Only members may speak from now on (`true`), or anyone.
    MembersOnly(bool),
    /// The room is hidden from those outside it from now on (`true`), or
    /// not.
    Secret(bool),
    /// Those matching this `nick!user@host` pattern are kept out from now
    /// on (`true`), or no longer.
    Ban(String, bool),
}

/// Something another user did, announced to those it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `MSG <room> <from> <text>`
    Msg {
        /// The room.
        room: RoomName,
        /// The sender.
        from: Nick,
        /// The sender's user and host.
        userhost: UserHost,
        /// The text, verbatim.
        text: String,
        /// A message or a notice.
        kind: MsgKind,
        /// Its number, time and client tags.
        meta: MsgMeta,
    },
    /// `PRIVMSG <from> <text>`
    Privmsg {
        /// The sender.
        from: Nick,
        /// The sender's user and host.
        userhost: UserHost,
        /// The recipient, as the directory spells it; `None` only where a
        /// line that did not say was parsed (a native client's).
        to: Option<Nick>,
        /// The text, verbatim.
        text: String,
        /// A message or a notice.
        kind: MsgKind,
        /// Its number, time and client tags.
        meta: MsgMeta,
    },
    /// An IRC `TAGMSG`: client-only tags and no text (native lines show
    /// nothing of it; nothing stores it).
    TagMsg {
        /// The room or user it was sent to.
        target: FileTarget,
        /// The sender.
        from: Nick,
        /// The sender's user and host.
        userhost: UserHost,
        /// When it was received, and its tags.
        meta: MsgMeta,
    },
    /// A user's away message changed (IRC `away-notify`; native lines show
    /// nothing of it).
    Away {
        /// Who.
        nick: Nick,
        /// Their user and host.
        userhost: UserHost,
        /// Why they are away; `None` once back.
        message: Option<String>,
    },
    /// A user logged in to an account or out (IRC `account-notify`;
    /// native lines show nothing of it).
    Account {
        /// Who.
        nick: Nick,
        /// Their user and host.
        userhost: UserHost,
        /// The account now; `None` once logged out.
        account: Option<Nick>,
    },
    /// `JOIN <room> <nick>`
    Join {
        /// The room.
        room: RoomName,
        /// Who joined.
        nick: Nick,
        /// Their user and host.
        userhost: UserHost,
        /// Their real name (IRC `extended-join`; `""` for a native client,
        /// whose real name is its nickname).
        realname: Arc<str>,
        /// The account they are logged in to (IRC `extended-join`).
        account: Option<Nick>,
    },
    /// `PART <room> <nick> [reason]`
    Part {
        /// The room.
        room: RoomName,
        /// Who left.
        nick: Nick,
        /// Their user and host.
        userhost: UserHost,
        /// Why.
        reason: Option<String>,
    },
    /// `QUIT <nick> [reason]`
    Quit {
        /// Who left the server.
        nick: Nick,
        /// Their user and host.
        userhost: UserHost,
        /// Why.
        reason: Option<String>,
    },
    /// `NICK <old> <new>`
    Nick {
        /// The previous nickname.
        old: Nick,
        /// The new nickname.
        new: Nick,
        /// Their user and host.
        userhost: UserHost,
    },
    /// `TOPIC <room> <nick> <text>`
    Topic {
        /// The room.
        room: RoomName,
        /// Who set it.
        nick: Nick,
        /// Their user and host.
        userhost: UserHost,
        /// The new topic.
        text: String,
    },
    /// `KICK <room> <nick> <by> [reason]`
    Kick {
        /// The room.
        room: RoomName,
        /// Who was removed.
        nick: Nick,
        /// The owner who removed them.
        by: Nick,
        /// The owner's user and host.
        userhost: UserHost,
        /// Why.
        reason: Option<String>,
    },
    /// A server operator closed a room: told to each member as it is
    /// removed (native `CLOSED <room> <by> [reason]`; IRC, a KICK of the
    /// member by the operator).
    Closed {
        /// The room.
        room: RoomName,
        /// The member told (IRC names it in its KICK).
        member: Nick,
        /// The operator's nickname.
        by: Nick,
        /// The operator's user and host.
        userhost: UserHost,
        /// Why.
        reason: Option<String>,
    },
    /// A room's key or owner changed (IRC's MODE `+k`/`-k`/`+o`; native
    /// lines have no such event and show nothing: INFO tells the state).
    Mode {
        /// The room.
        room: RoomName,
        /// The owner who changed it.
        nick: Nick,
        /// The owner's user and host.
        userhost: UserHost,
        /// What changed.
        change: RoomMode,
    },
    /// A member invited a user into a room (IRC's `INVITE`; native lines
    /// have no such event and show nothing: the invitation still lets a
    /// native user in).
    Invite {
        /// The room.
        room: RoomName,
        /// The inviting member.
        from: Nick,
        /// Its user and host.
        userhost: UserHost,
        /// The invited user.
        to: Nick,
    },
    /// `FILE <target> <from> <id> <size> <sha256> <filename>`
    File {
        /// The room or user the file was sent to.
        target: FileTarget,
        /// The sender.
        from: Nick,
        /// The sender's user and host.
        userhost: UserHost,
        /// The id to FETCH it by.
        id: FileId,
        /// Size in bytes.
        size: u64,
        /// Lower-case hex sha256 of the content.
        sha256: String,
        /// The sender's label for it.
        filename: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_host() {
        let uh = UserHost::new("~al", "irc");
        assert_eq!(uh.as_str(), "~al@irc");
        assert_eq!((uh.user(), uh.host()), ("~al", "irc"));
        assert_eq!(UserHost::native().as_str(), "native@native");
    }
}
