//! How a room's message travels between nodes: an explicit format of our
//! own, so that nothing but this file decides its bytes.
//!
//! A node publishes the fields below, each as `<length>:<bytes>` (lengths
//! in decimal bytes: any text survives, spaces and all). The publishing
//! script puts the room's sequence number and Redis's time in milliseconds
//! in front, `<seq> <ms> `, and publishes the whole as one payload.
//!
//! The first field says what it is. `M`, a message: origin node id, sender
//! session number, echo (`1` or `0`), kind (`P` message, `N` notice),
//! nickname, user, host, account (empty for none), client tags (empty for
//! none), text. `J`, `P`, `Q` or `R`, a member joined, parted, quit or
//! changed its nickname: origin node id, nickname, user, host, reason
//! (empty for none), new nickname (`R` only; empty otherwise). A member's `J`
//! fields are also what the room's member hash keeps for it. `S`, a change
//! of the room's settings or a KICK (`setting.rs`; its header's first
//! number is the room's state version, not a message number).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::core::event::{MsgKind, UserHost};
use crate::core::names::{Nick, STORED_NAME_LIMIT};

mod direct;
pub use direct::{Direct, DirectKind, SharedFile, UserCard};

/// A room message as it leaves its node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing<'a> {
    /// The node it was said on.
    pub origin: &'a str,
    /// The sender's session number there.
    pub sender: u64,
    /// The sender gets it too (IRC `echo-message`).
    pub echo: bool,
    /// A message or a notice.
    pub kind: MsgKind,
    /// The sender.
    pub from: &'a Nick,
    /// Its user and host.
    pub userhost: &'a UserHost,
    /// Its account, if logged in.
    pub account: Option<&'a str>,
    /// Its client-only tags.
    pub tags: Option<&'a str>,
    /// The text.
    pub text: &'a str,
}

/// A room message as a node receives it, in the room's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// Its number in the room (one counter for every node).
    pub seq: u64,
    /// When Redis took it.
    pub time: SystemTime,
    /// The node it was said on.
    pub origin: String,
    /// The sender's session number there.
    pub sender: u64,
    /// The sender gets it too.
    pub echo: bool,
    /// A message or a notice.
    pub kind: MsgKind,
    /// The sender.
    pub from: Nick,
    /// Its user and host.
    pub userhost: UserHost,
    /// Its account.
    pub account: Option<Arc<str>>,
    /// Its client-only tags.
    pub tags: Option<Arc<str>>,
    /// The text.
    pub text: String,
}

/// Why a payload could not be read (a node of another version, or not a
/// chatroom message at all).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable room payload: {0}")]
pub struct BadPayload(pub(super) &'static str);

impl Outgoing<'_> {
    /// The fields, as the publishing script takes them.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.text.len());
        let sender = self.sender.to_string();
        let kind = match self.kind {
            MsgKind::Privmsg => "P",
            MsgKind::Notice => "N",
        };
        for field in [
            "M",
            self.origin,
            &sender,
            if self.echo { "1" } else { "0" },
            kind,
            self.from.as_str(),
            self.userhost.user(),
            self.userhost.host(),
            self.account.unwrap_or(""),
            self.tags.unwrap_or(""),
            self.text,
        ] {
            put(&mut out, field);
        }
        out
    }
}

pub(super) fn put(out: &mut Vec<u8>, field: &str) {
    out.extend_from_slice(field.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(field.as_bytes());
}

/// How a room's membership changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A member joined.
    Join,
    /// A member left the room.
    Part,
    /// A member left the server.
    Quit,
    /// A member changed its nickname.
    Rename,
}

/// A membership change, as it leaves its node (or as the room's member
/// hash keeps a member: its `Join`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberChange {
    /// What changed.
    pub change: Change,
    /// The node the member is on.
    pub origin: String,
    /// The member.
    pub nick: Nick,
    /// Its user and host.
    pub userhost: UserHost,
    /// Why it left, if it said.
    pub reason: Option<String>,
    /// Its new nickname (a `Rename`).
    pub renamed: Option<Nick>,
}

impl MemberChange {
    /// The fields, as the membership script takes them.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48);
        let tag = match self.change {
            Change::Join => "J",
            Change::Part => "P",
            Change::Quit => "Q",
            Change::Rename => "R",
        };
        for field in [
            tag,
            &self.origin,
            self.nick.as_str(),
            self.userhost.user(),
            self.userhost.host(),
            self.reason.as_deref().unwrap_or(""),
            self.renamed.as_ref().map_or("", Nick::as_str),
        ] {
            put(&mut out, field);
        }
        out
    }

    /// Reads the fields (without the `<seq> <ms> ` header).
    pub fn decode(mut rest: &[u8]) -> Result<MemberChange, BadPayload> {
        let mut next = || field(&mut rest);
        let change = match next()? {
            "J" => Change::Join,
            "P" => Change::Part,
            "Q" => Change::Quit,
            "R" => Change::Rename,
            _ => return Err(BadPayload("not a membership change")),
        };
        let origin = next()?.to_string();
        let nick = Nick::parse(next()?, STORED_NAME_LIMIT).map_err(|_| BadPayload("nickname"))?;
        let (user, host) = (next()?, next()?);
        let userhost = UserHost::new(user, host);
        let reason = Some(next()?).filter(|r| !r.is_empty()).map(str::to_string);
        let renamed = match next()? {
            "" => None,
            new => {
                Some(Nick::parse(new, STORED_NAME_LIMIT).map_err(|_| BadPayload("new nickname"))?)
            }
        };
        Ok(MemberChange {
            change,
            origin,
            nick,
            userhost,
            reason,
            renamed,
        })
    }
}

/// What a node receives on a room's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// A message.
    Msg(Incoming),
    /// A membership change.
    Member(MemberChange),
    /// A change of the room's settings, or a KICK (`setting.rs`).
    Setting(SettingChange),
    /// A file shared in the room (`direct.rs`), unnumbered as a
    /// membership change is.
    File(SharedFile),
}

impl Published {
    /// Reads a published payload: `<seq> <ms> ` and the fields.
    pub fn decode(payload: &[u8]) -> Result<Published, BadPayload> {
        let mut rest = payload;
        word(&mut rest)?;
        word(&mut rest)?;
        if rest.starts_with(b"1:M") {
            Incoming::decode(payload).map(Published::Msg)
        } else if rest.starts_with(b"1:S") {
            SettingChange::decode(payload).map(Published::Setting)
        } else if rest.starts_with(b"1:F") {
            SharedFile::decode(rest).map(Published::File)
        } else {
            MemberChange::decode(rest).map(Published::Member)
        }
    }
}

impl Incoming {
    /// Reads a published payload: `<seq> <ms> ` and the fields.
    pub fn decode(payload: &[u8]) -> Result<Incoming, BadPayload> {
        let mut rest = payload;
        let seq = number(word(&mut rest)?)?;
        let ms = number(word(&mut rest)?)?;
        let mut next = || field(&mut rest);
        if next()? != "M" {
            return Err(BadPayload("not a message"));
        }
        let origin = next()?.to_string();
        let sender = number(next()?.as_bytes())?;
        let echo = next()? == "1";
        let kind = match next()? {
            "N" => MsgKind::Notice,
            _ => MsgKind::Privmsg,
        };
        let from = Nick::parse(next()?, STORED_NAME_LIMIT).map_err(|_| BadPayload("nickname"))?;
        let (user, host) = (next()?, next()?);
        let userhost = UserHost::new(user, host);
        let account = Some(next()?).filter(|a| !a.is_empty()).map(Arc::from);
        let tags = Some(next()?).filter(|t| !t.is_empty()).map(Arc::from);
        let text = next()?.to_string();
        Ok(Incoming {
            seq,
            time: SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
            origin,
            sender,
            echo,
            kind,
            from,
            userhost,
            account,
            tags,
            text,
        })
    }
}

pub use super::setting::{Setting, SettingChange};

/// The bytes up to the next space, and past it.
pub(super) fn word<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], BadPayload> {
    let at = rest
        .iter()
        .position(|&b| b == b' ')
        .ok_or(BadPayload("header"))?;
    let (w, tail) = rest.split_at(at);
    *rest = &tail[1..];
    Ok(w)
}

pub(super) fn number(bytes: &[u8]) -> Result<u64, BadPayload> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(BadPayload("number"))
}

/// One `<length>:<bytes>` field.
pub(super) fn field<'a>(rest: &mut &'a [u8]) -> Result<&'a str, BadPayload> {
    let colon = rest
        .iter()
        .position(|&b| b == b':')
        .ok_or(BadPayload("field"))?;
    let len = usize::try_from(number(&rest[..colon])?).map_err(|_| BadPayload("length"))?;
    let body = rest
        .get(colon + 1..colon + 1 + len)
        .ok_or(BadPayload("short field"))?;
    *rest = &rest[colon + 1 + len..];
    std::str::from_utf8(body).map_err(|_| BadPayload("utf-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_survives_the_trip() {
        let from = Nick::parse("Zoë", 24).unwrap();
        let userhost = UserHost::new("~zoe", "irc");
        let out = Outgoing {
            origin: "node-1",
            sender: 42,
            echo: true,
            kind: MsgKind::Notice,
            from: &from,
            userhost: &userhost,
            account: Some("zoe"),
            tags: None,
            text: "a: b 12:c\u{1}",
        };
        let mut payload = b"7 1700000000123 ".to_vec();
        payload.extend(out.encode());
        let Ok(Published::Msg(got)) = Published::decode(&payload) else {
            panic!("not read back as a message");
        };
        assert_eq!(got.seq, 7);
        assert_eq!(
            got.time,
            SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)
        );
        assert_eq!(got.origin, "node-1");
        assert_eq!(
            (got.sender, got.echo, got.kind),
            (42, true, MsgKind::Notice)
        );
        assert_eq!(got.from.as_str(), "Zoë");
        assert_eq!(got.userhost, userhost);
        assert_eq!(got.account.as_deref(), Some("zoe"));
        assert_eq!(got.tags, None);
        assert_eq!(got.text, "a: b 12:c\u{1}");
    }

    #[test]
    fn a_membership_change_survives_the_trip() {
        let change = MemberChange {
            change: Change::Quit,
            origin: "b".into(),
            nick: Nick::parse("ben", 24).unwrap(),
            userhost: UserHost::native(),
            reason: Some("bye now".into()),
            renamed: None,
        };
        let mut payload = b"0 5 ".to_vec();
        payload.extend(change.encode());
        assert_eq!(
            Published::decode(&payload).unwrap(),
            Published::Member(change.clone())
        );
        assert_eq!(MemberChange::decode(&change.encode()).unwrap(), change);
        let rename = MemberChange {
            change: Change::Rename,
            renamed: Some(Nick::parse("benji", 24).unwrap()),
            reason: None,
            ..change
        };
        assert_eq!(MemberChange::decode(&rename.encode()).unwrap(), rename);
    }

    #[test]
    fn garbage_is_refused_not_misread() {
        for bad in [
            &b""[..],
            b"1 2 ",
            b"x 2 3:abc",
            b"1 2 9:abc",
            b"1 2 3:a\xffb",
        ] {
            assert!(Incoming::decode(bad).is_err(), "{bad:?}");
        }
    }
}
