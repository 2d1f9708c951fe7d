//! The bytes of what is addressed to one user (or one file) between
//! nodes: a private message handed to the node holding its recipient, a
//! user's card (what WHOIS shows of it on other nodes), and a shared
//! file's record (announced on its room's channel and kept beside its
//! body in Redis). Fields are `<length>:<bytes>`, as for room messages.
//!
//! `D`, a private message, published on the recipient's node's inbox
//! channel: origin node id, kind (`P` message, `N` notice, `T` tags
//! only, `I` an invitation), sender nickname, user, host, account (empty
//! for none), client tags (empty for none), recipient nickname, text (an
//! invitation's: the room, with its `#`).
//!
//! `U`, a user's card (`chatroom:user:<folded>`): node id, nickname,
//! user, host, real name, account (empty for none), away message (empty
//! for none: an away message is never empty), operator (`1` or `0`).
//!
//! `F`, a shared file: origin node id, target (a room with its `#`, or a
//! nickname), sender nickname, user, host, id, size, sha256, file name,
//! when it was stored (ms since the Unix epoch).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{field, number, put, BadPayload};
use crate::core::event::{FileTarget, MsgKind, UserHost};
use crate::core::names::{Nick, RoomName, STORED_NAME_LIMIT};
use crate::core::store::FileRecord;
use crate::core::FileId;

/// What a private message carries besides its sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectKind {
    /// A message or a notice (IRC `PRIVMSG`/`NOTICE`, native `MSG`).
    Text(MsgKind),
    /// An IRC `TAGMSG`: client tags only.
    Tags,
    /// An IRC `INVITE` to a room (its name, with its `#`, is the text).
    Invite,
}

/// A private message on its way to the node holding its recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Direct {
    /// The node it was sent from.
    pub origin: String,
    /// A message, a notice or tags only.
    pub kind: DirectKind,
    /// The sender.
    pub from: Nick,
    /// Its user and host.
    pub userhost: UserHost,
    /// Its account, if logged in.
    pub account: Option<Arc<str>>,
    /// Its client-only tags.
    pub tags: Option<Arc<str>>,
    /// The recipient, as the sender wrote it.
    pub to: Nick,
    /// The text (empty for tags only).
    pub text: String,
}

fn nick(s: &str) -> Result<Nick, BadPayload> {
    Nick::parse(s, STORED_NAME_LIMIT).map_err(|_| BadPayload("nickname"))
}

fn optional(s: &str) -> Option<Arc<str>> {
    Some(s).filter(|s| !s.is_empty()).map(Arc::from)
}

fn millis(time: SystemTime) -> String {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .to_string()
}

impl Direct {
    /// The fields, as published on the inbox channel.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.text.len());
        let kind = match self.kind {
            DirectKind::Text(MsgKind::Privmsg) => "P",
            DirectKind::Text(MsgKind::Notice) => "N",
            DirectKind::Tags => "T",
            DirectKind::Invite => "I",
        };
        for f in [
            "D",
            &self.origin,
            kind,
            self.from.as_str(),
            self.userhost.user(),
            self.userhost.host(),
            self.account.as_deref().unwrap_or(""),
            self.tags.as_deref().unwrap_or(""),
            self.to.as_str(),
            &self.text,
        ] {
            put(&mut out, f);
        }
        out
    }

    /// Reads what [`Direct::encode`] wrote.
    pub fn decode(mut rest: &[u8]) -> Result<Direct, BadPayload> {
        let mut next = || field(&mut rest);
        if next()? != "D" {
            return Err(BadPayload("not a private message"));
        }
        let origin = next()?.to_string();
        let kind = match next()? {
            "P" => DirectKind::Text(MsgKind::Privmsg),
            "N" => DirectKind::Text(MsgKind::Notice),
            "T" => DirectKind::Tags,
            "I" => DirectKind::Invite,
            _ => return Err(BadPayload("kind")),
        };
        let from = nick(next()?)?;
        let (user, host) = (next()?, next()?);
        let userhost = UserHost::new(user, host);
        let account = optional(next()?);
        let tags = optional(next()?);
        let to = nick(next()?)?;
        let text = next()?.to_string();
        Ok(Direct {
            origin,
            kind,
            from,
            userhost,
            account,
            tags,
            to,
            text,
        })
    }
}

/// What other nodes know of a user: its node and what WHOIS shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCard {
    /// The node it is connected to.
    pub node: String,
    /// Its nickname as spelled.
    pub nick: Nick,
    /// Its user and host.
    pub userhost: UserHost,
    /// Its real name.
    pub realname: Arc<str>,
    /// The account it is logged in to.
    pub account: Option<Nick>,
    /// Why it is away, if it is.
    pub away: Option<Arc<str>>,
    /// A server operator (of its node).
    pub oper: bool,
}

impl UserCard {
    /// The fields, as kept in Redis.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        for f in [
            "U",
            &self.node,
            self.nick.as_str(),
            self.userhost.user(),
            self.userhost.host(),
            &self.realname,
            self.account.as_ref().map_or("", Nick::as_str),
            self.away.as_deref().unwrap_or(""),
            if self.oper { "1" } else { "0" },
        ] {
            put(&mut out, f);
        }
        out
    }

    /// Reads what [`UserCard::encode`] wrote.
    pub fn decode(mut rest: &[u8]) -> Result<UserCard, BadPayload> {
        let mut next = || field(&mut rest);
        if next()? != "U" {
            return Err(BadPayload("not a user"));
        }
        let node = next()?.to_string();
        let nick = nick(next()?)?;
        let (user, host) = (next()?, next()?);
        let userhost = UserHost::new(user, host);
        let realname = Arc::from(next()?);
        let account = match next()? {
            "" => None,
            a => Some(self::nick(a)?),
        };
        let away = optional(next()?);
        let oper = next()? == "1";
        Ok(UserCard {
            node,
            nick,
            userhost,
            realname,
            account,
            away,
            oper,
        })
    }
}

/// A shared file, as announced to other nodes and kept in Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedFile {
    /// The node it was uploaded to.
    pub origin: String,
    /// Its user and host (the record has no room for them).
    pub userhost: UserHost,
    /// What the node's index keeps of it.
    pub record: FileRecord,
}

impl SharedFile {
    /// The fields, as published and kept.
    pub fn encode(&self) -> Vec<u8> {
        let r = &self.record;
        let mut out = Vec::with_capacity(128 + r.filename.len());
        let target = match &r.target {
            FileTarget::Room(room) => room.as_str(),
            FileTarget::User(nick) => nick.as_str(),
        };
        for f in [
            "F",
            &self.origin,
            target,
            r.from.as_str(),
            self.userhost.user(),
            self.userhost.host(),
            r.id.as_str(),
            &r.size.to_string(),
            &r.sha256,
            &r.filename,
            &millis(r.stored),
        ] {
            put(&mut out, f);
        }
        out
    }

    /// Reads what [`SharedFile::encode`] wrote.
    pub fn decode(mut rest: &[u8]) -> Result<SharedFile, BadPayload> {
        let mut next = || field(&mut rest);
        if next()? != "F" {
            return Err(BadPayload("not a file"));
        }
        let origin = next()?.to_string();
        let target = match next()? {
            t if t.starts_with('#') => FileTarget::Room(
                RoomName::parse_hashed(t, STORED_NAME_LIMIT).map_err(|_| BadPayload("room"))?,
            ),
            t => FileTarget::User(nick(t)?),
        };
        let from = nick(next()?)?;
        let (user, host) = (next()?, next()?);
        let userhost = UserHost::new(user, host);
        let id = FileId::parse(next()?).ok_or(BadPayload("file id"))?;
        let size = number(next()?.as_bytes())?;
        let sha256 = next()?.to_string();
        let filename = next()?.to_string();
        let stored = SystemTime::UNIX_EPOCH + Duration::from_millis(number(next()?.as_bytes())?);
        Ok(SharedFile {
            origin,
            userhost,
            record: FileRecord {
                id,
                target,
                from,
                size,
                sha256,
                filename,
                stored,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_message_survives_the_trip() {
        let d = Direct {
            origin: "n1".into(),
            kind: DirectKind::Text(MsgKind::Notice),
            from: Nick::parse("Zoë", 24).unwrap(),
            userhost: UserHost::new("~z", "h"),
            account: Some(Arc::from("zoe")),
            tags: None,
            to: Nick::parse("Ben", 24).unwrap(),
            text: "hi 3:x \u{1}ACTION y\u{1}".into(),
        };
        assert_eq!(Direct::decode(&d.encode()).unwrap(), d);
        let t = Direct {
            kind: DirectKind::Tags,
            tags: Some(Arc::from("+typing=active")),
            text: String::new(),
            ..d
        };
        assert_eq!(Direct::decode(&t.encode()).unwrap(), t);
        let i = Direct {
            kind: DirectKind::Invite,
            tags: None,
            text: "#Lobby".into(),
            ..t
        };
        assert_eq!(Direct::decode(&i.encode()).unwrap(), i);
    }

    #[test]
    fn a_card_survives_the_trip() {
        let c = UserCard {
            node: "n2".into(),
            nick: Nick::parse("ben", 24).unwrap(),
            userhost: UserHost::new("~ben", "example"),
            realname: Arc::from("Ben: the real one"),
            account: Some(Nick::parse("benacct", 24).unwrap()),
            away: Some(Arc::from("lunch")),
            oper: true,
        };
        assert_eq!(UserCard::decode(&c.encode()).unwrap(), c);
        let plain = UserCard {
            account: None,
            away: None,
            oper: false,
            ..c
        };
        assert_eq!(UserCard::decode(&plain.encode()).unwrap(), plain);
    }

    #[test]
    fn a_file_survives_the_trip() {
        let f = SharedFile {
            origin: "n1".into(),
            userhost: UserHost::native(),
            record: FileRecord {
                id: FileId::fresh(),
                target: FileTarget::Room(RoomName::parse_hashed("#Lobby", 24).unwrap()),
                from: Nick::parse("ann", 24).unwrap(),
                size: 10,
                sha256: "ab".repeat(32),
                filename: "my notes: 2.txt".into(),
                stored: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            },
        };
        assert_eq!(SharedFile::decode(&f.encode()).unwrap(), f);
        let mut payload = b"0 5 ".to_vec();
        payload.extend(f.encode());
        assert_eq!(
            super::super::Published::decode(&payload).unwrap(),
            super::super::Published::File(f)
        );
    }

    #[test]
    fn other_payloads_are_refused() {
        assert!(Direct::decode(b"1:U").is_err());
        assert!(UserCard::decode(b"1:D").is_err());
        assert!(SharedFile::decode(b"").is_err());
    }
}
