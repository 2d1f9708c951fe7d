//! A room's settings as cluster state (docs/CLUSTER.md, "Room state
//! across nodes"): how a change travels between nodes, the one script
//! that decides it in Redis, and the room's state as Redis keeps it.
//!
//! A change (a TOPIC, a MODE, a KICK, a room's creation) is decided by
//! [`SETTING`]: Redis runs one script at a time, so of two nodes changing
//! the same setting at once both changes are applied in one order, and a
//! change to what already is (`+i` twice) is refused the second time and
//! never published. A change made is published on the room's channel
//! (header `<ver> <ms> `, `ver` the room's state version), in line with
//! the room's messages, and every node, the one it was made on too,
//! applies it and shows it from there.
//!
//! Fields of a change, each as `<length>:<bytes>` (as in `wire.rs`):
//! `S`, origin node, nickname, user, host, then what: `T` and the topic;
//! `K`, the nickname kicked and the reason; `M`, a mode letter and two
//! arguments (`k` key and its hash, `K` no key, `o` nickname and
//! `1`/`0`, `l` limit or empty, `i` `t` `n` `s` and `1`/`0`, `b` mask and
//! `1`/`0`); `O`, a member made an operator or no longer, `1`/`0` and
//! its account (or empty); `W` (the room given away), the new owner's
//! nickname and account; `C` (the room made: its owner is the
//! nickname), the owning account and the key's hash.

use std::time::{Duration, SystemTime};

use super::wire::{field, number, put, word, BadPayload};
use crate::core::event::{RoomMode, UserHost};
use crate::core::names::{Folded, Nick, STORED_NAME_LIMIT};

/// Decides a change of a room's settings (`ARGV[1]`: how) on its state
/// hash `KEYS[1]` (bans in `KEYS[2]`, members in `KEYS[4]`), and if it
/// changed anything, bumps the state's `ver` and publishes `ARGV[4]` on
/// channel `KEYS[3]` as `<ver> <ms> <fields>` (unless `ARGV[4]` is empty:
/// a silent change). `set`: field `ARGV[2]` to `ARGV[3]` (empty:
/// deleted) unless it is that already (absent counting as `ARGV[5]`);
/// `topic`: the topic `ARGV[3]` and its time; `ban`: ban `ARGV[2]` set to
/// `ARGV[3]` (added, unless there, and refused past `ARGV[5]` bans) or,
/// empty, removed (unless not there); `kick`: member `ARGV[2]`'s operator
/// mark deleted, unless it is not in the member hash (its own node takes
/// it out of there, as every change of its members);
/// `create`: owner `ARGV[3]`, owning account `ARGV[5]` and key hash
/// `ARGV[6]`, unless the room has an owner; `op`: member mark `ARGV[2]`
/// set to `ARGV[3]` and (unless `ARGV[5]` is empty) account mark
/// `ARGV[5]` to `ARGV[6]` (empty: deleted), unless both are so already;
/// `owner`: owner `ARGV[3]` and owning account `ARGV[5]`, unless they
/// are so already. Answers `{status, ms}`:
/// 1 changed, 0 nothing to change, 2 too many bans.
pub(super) const SETTING: &str = r"
local kind = ARGV[1]
local now = redis.call('TIME')
local ms = now[1] * 1000 + math.floor(now[2] / 1000)
if kind == 'set' then
  local cur = redis.call('HGET', KEYS[1], ARGV[2]) or ARGV[5]
  if cur == ARGV[3] then return {0, ms} end
  if ARGV[3] == '' then
    redis.call('HDEL', KEYS[1], ARGV[2])
  else
    redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  end
elseif kind == 'topic' then
  redis.call('HSET', KEYS[1], 'topic', ARGV[3], 'topic_at', ms)
elseif kind == 'ban' then
  local there = redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1
  if ARGV[3] == '' then
    if not there then return {0, ms} end
    redis.call('HDEL', KEYS[2], ARGV[2])
  else
    if there then return {0, ms} end
    if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[5]) then return {2, ms} end
    local at = tostring(ms)
    redis.call('HSET', KEYS[2], ARGV[2], ARGV[3] .. #at .. ':' .. at)
  end
elseif kind == 'kick' then
  if redis.call('HEXISTS', KEYS[4], ARGV[2]) == 0 then return {0, ms} end
  redis.call('HDEL', KEYS[1], 'op:' .. ARGV[2])
elseif kind == 'create' then
  if redis.call('HEXISTS', KEYS[1], 'owner') == 1 then return {0, ms} end
  redis.call('HSET', KEYS[1], 'owner', ARGV[3])
  if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'owner_account', ARGV[5]) end
  if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'key', ARGV[6]) end
elseif kind == 'op' then
  local changed = false
  local marks = {{ARGV[2], ARGV[3]}}
  if ARGV[5] ~= '' then marks[2] = {ARGV[5], ARGV[6]} end
  for _, m in ipairs(marks) do
    if (redis.call('HGET', KEYS[1], m[1]) or '') ~= m[2] then
      changed = true
      if m[2] == '' then
        redis.call('HDEL', KEYS[1], m[1])
      else
        redis.call('HSET', KEYS[1], m[1], m[2])
      end
    end
  end
  if not changed then return {0, ms} end
elseif kind == 'owner' then
  if redis.call('HGET', KEYS[1], 'owner') == ARGV[3]
    and redis.call('HGET', KEYS[1], 'owner_account') == ARGV[5] then
    return {0, ms}
  end
  redis.call('HSET', KEYS[1], 'owner', ARGV[3], 'owner_account', ARGV[5])
end
if ARGV[4] == '' then return {1, ms} end
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
redis.call('PUBLISH', KEYS[3], ver .. ' ' .. ms .. ' ' .. ARGV[4])
return {1, ms}
";

/// What changed in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// The topic was set.
    Topic(String),
    /// A member was kicked.
    Kick {
        /// The member, on whatever node.
        target: Nick,
        /// Why.
        reason: Option<String>,
    },
    /// A mode changed.
    Mode {
        /// The change, as members are shown it.
        change: RoomMode,
        /// The key's hash, with [`RoomMode::Key`].
        key_hash: Option<String>,
    },
    /// A member, on whatever node, was made an operator (`on`) or no
    /// longer one; by its account too, when it is logged in to one.
    Op {
        /// The member.
        target: Nick,
        /// Operator or not.
        on: bool,
        /// The account it is logged in to, which is kept (or no longer
        /// kept) as an operator's.
        account: Option<Nick>,
    },
    /// The room was given to a member logged in to an account: that
    /// account owns it from now on.
    Owner {
        /// The member, on whatever node.
        target: Nick,
        /// Its account.
        account: Nick,
    },
    /// The room was made; the one who made it owns it.
    Create {
        /// The owning account, when its maker was logged in.
        account: Option<Nick>,
        /// Its key's hash, when made with one.
        key_hash: Option<String>,
    },
}

/// A change of a room's settings, as it travels between nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingChange {
    /// The room's state version once it was made (0 leaving a node).
    pub ver: u64,
    /// When Redis took it (ignored leaving a node).
    pub time: SystemTime,
    /// The node it was asked on.
    pub origin: String,
    /// Who made it.
    pub by: Nick,
    /// Its user and host.
    pub userhost: UserHost,
    /// What changed.
    pub what: Setting,
}

/// What [`SETTING`] is told to do for a change: how, the field, the
/// value, and a last argument (the default, or the ban bound).
pub(super) struct Script {
    pub(super) kind: &'static str,
    pub(super) field: String,
    pub(super) value: Vec<u8>,
    pub(super) extra: Vec<String>,
}

/// Bans one room keeps at most across the cluster: the room's own
/// bound (`room::MAX_BANS`, which the room's tests check against it).
pub const MAX_BANS: usize = 64;

fn flag(on: bool) -> Vec<u8> {
    if on { b"1" } else { b"0" }.to_vec()
}

impl SettingChange {
    /// The fields, as published.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        for f in ["S", &self.origin, self.by.as_str()] {
            put(&mut out, f);
        }
        put(&mut out, self.userhost.user());
        put(&mut out, self.userhost.host());
        let (tag, a, b): (&str, String, String) = match &self.what {
            Setting::Topic(text) => ("T", text.clone(), String::new()),
            Setting::Kick { target, reason } => (
                "K",
                target.as_str().to_string(),
                reason.clone().unwrap_or_default(),
            ),
            Setting::Mode { change, key_hash } => {
                let on = |b: bool| if b { "1" } else { "0" }.to_string();
                let (letter, a, b) = match change {
                    RoomMode::Key(clear) => {
                        ("k", clear.clone(), key_hash.clone().unwrap_or_default())
                    }
                    RoomMode::NoKey => ("K", String::new(), String::new()),
                    RoomMode::Op(nick, yes) => ("o", nick.as_str().to_string(), on(*yes)),
                    RoomMode::Limit(l) => (
                        "l",
                        l.map(|l| l.to_string()).unwrap_or_default(),
                        String::new(),
                    ),
                    RoomMode::InviteOnly(yes) => ("i", on(*yes), String::new()),
                    RoomMode::TopicLocked(yes) => ("t", on(*yes), String::new()),
                    RoomMode::MembersOnly(yes) => ("n", on(*yes), String::new()),
                    RoomMode::Secret(yes) => ("s", on(*yes), String::new()),
                    RoomMode::Ban(mask, yes) => ("b", mask.clone(), on(*yes)),
                };
                put(&mut out, "M");
                put(&mut out, letter);
                put(&mut out, &a);
                put(&mut out, &b);
                return out;
            }
            Setting::Create { account, key_hash } => (
                "C",
                account.as_ref().map_or("", Nick::as_str).to_string(),
                key_hash.clone().unwrap_or_default(),
            ),
            Setting::Op {
                target,
                on,
                account,
            } => {
                put(&mut out, "O");
                put(&mut out, target.as_str());
                put(&mut out, if *on { "1" } else { "0" });
                put(&mut out, account.as_ref().map_or("", Nick::as_str));
                return out;
            }
            Setting::Owner { target, account } => (
                "W",
                target.as_str().to_string(),
                account.as_str().to_string(),
            ),
        };
        put(&mut out, tag);
        put(&mut out, &a);
        put(&mut out, &b);
        out
    }

    /// Reads a published payload: `<ver> <ms> ` and the fields.
    pub fn decode(payload: &[u8]) -> Result<SettingChange, BadPayload> {
        let mut rest = payload;
        let ver = number(word(&mut rest)?)?;
        let ms = number(word(&mut rest)?)?;
        let mut next = || field(&mut rest);
        if next()? != "S" {
            return Err(BadPayload("not a setting"));
        }
        let origin = next()?.to_string();
        let by = nick(next()?)?;
        let (user, host) = (next()?, next()?);
        let userhost = UserHost::new(user, host);
        let tag = next()?;
        let what = if tag == "M" {
            let (letter, a, b) = (next()?, next()?, next()?);
            let yes = |s: &str| s == "1";
            let (change, key_hash) = match letter {
                "k" => (RoomMode::Key(a.to_string()), Some(b.to_string())),
                "K" => (RoomMode::NoKey, None),
                "o" => (RoomMode::Op(nick(a)?, yes(b)), None),
                "l" => (RoomMode::Limit(a.parse().ok()), None),
                "i" => (RoomMode::InviteOnly(yes(a)), None),
                "t" => (RoomMode::TopicLocked(yes(a)), None),
                "n" => (RoomMode::MembersOnly(yes(a)), None),
                "s" => (RoomMode::Secret(yes(a)), None),
                "b" => (RoomMode::Ban(a.to_string(), yes(b)), None),
                _ => return Err(BadPayload("mode")),
            };
            Setting::Mode { change, key_hash }
        } else if tag == "O" {
            let (target, on, account) = (next()?, next()?, next()?);
            Setting::Op {
                target: nick(target)?,
                on: on == "1",
                account: Some(account)
                    .filter(|a| !a.is_empty())
                    .map(nick)
                    .transpose()?,
            }
        } else {
            let (a, b) = (next()?, next()?);
            match tag {
                "T" => Setting::Topic(a.to_string()),
                "K" => Setting::Kick {
                    target: nick(a)?,
                    reason: Some(b).filter(|r| !r.is_empty()).map(str::to_string),
                },
                "C" => Setting::Create {
                    account: Some(a).filter(|a| !a.is_empty()).map(nick).transpose()?,
                    key_hash: Some(b).filter(|h| !h.is_empty()).map(str::to_string),
                },
                "W" => Setting::Owner {
                    target: nick(a)?,
                    account: nick(b)?,
                },
                _ => return Err(BadPayload("setting")),
            }
        };
        Ok(SettingChange {
            ver,
            time: SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
            origin,
            by,
            userhost,
            what,
        })
    }

    /// What the script is to do for it.
    pub(super) fn script(&self) -> Script {
        let set = |field: &str, value: Vec<u8>, default: &str| Script {
            kind: "set",
            field: field.to_string(),
            value,
            extra: vec![default.to_string()],
        };
        match &self.what {
            Setting::Topic(text) => {
                let mut value = Vec::new();
                put(&mut value, text);
                put(&mut value, self.by.as_str());
                Script {
                    kind: "topic",
                    field: "topic".into(),
                    value,
                    extra: vec![String::new()],
                }
            }
            Setting::Kick { target, .. } => Script {
                kind: "kick",
                field: target.folded().as_str().to_string(),
                value: Vec::new(),
                extra: vec![String::new()],
            },
            Setting::Create { account, key_hash } => Script {
                kind: "create",
                field: "owner".into(),
                value: self.by.as_str().as_bytes().to_vec(),
                extra: vec![
                    account.as_ref().map_or("", Nick::as_str).to_string(),
                    key_hash.clone().unwrap_or_default(),
                ],
            },
            Setting::Op {
                target,
                on,
                account,
            } => {
                let mark = op_mark(target, *on);
                let (field, value) = match account {
                    Some(a) => (
                        format!("aop:{}", a.folded().as_str()),
                        if *on { a.as_str() } else { "" }.to_string(),
                    ),
                    None => (String::new(), String::new()),
                };
                Script {
                    kind: "op",
                    extra: vec![field, value],
                    ..mark
                }
            }
            Setting::Owner { target, account } => Script {
                kind: "owner",
                field: "owner".into(),
                value: target.as_str().as_bytes().to_vec(),
                extra: vec![account.as_str().to_string()],
            },
            Setting::Mode { change, key_hash } => match change {
                RoomMode::Key(_) => {
                    set("key", key_hash.clone().unwrap_or_default().into_bytes(), "")
                }
                RoomMode::NoKey => set("key", Vec::new(), ""),
                RoomMode::Op(nick, on) => op_mark(nick, *on),
                RoomMode::Limit(l) => set(
                    "limit",
                    l.map(|l| l.to_string()).unwrap_or_default().into_bytes(),
                    "",
                ),
                RoomMode::InviteOnly(on) => set("i", flag(*on), "0"),
                RoomMode::TopicLocked(on) => set("t", flag(*on), "1"),
                RoomMode::MembersOnly(on) => set("n", flag(*on), "1"),
                RoomMode::Secret(on) => set("s", flag(*on), "0"),
                RoomMode::Ban(mask, on) => {
                    let mut value = Vec::new();
                    if *on {
                        put(&mut value, mask);
                        put(&mut value, self.by.as_str());
                    }
                    Script {
                        kind: "ban",
                        field: mask.to_lowercase(),
                        value,
                        extra: vec![MAX_BANS.to_string()],
                    }
                }
            },
        }
    }
}

/// Sets (or deletes) `nick`'s operator mark in the state hash.
pub(super) fn op_mark(nick: &Nick, on: bool) -> Script {
    Script {
        kind: "set",
        field: format!("op:{}", nick.folded().as_str()),
        value: if on {
            nick.as_str().as_bytes().to_vec()
        } else {
            Vec::new()
        },
        extra: vec![String::new()],
    }
}

/// Records (or deletes) an invitation of `nick` (folded) in the state
/// hash, where a JOIN on any node finds it.
pub(super) fn invite_mark(nick: &Folded, on: bool) -> Script {
    Script {
        kind: "set",
        field: format!("inv:{}", nick.as_str()),
        value: if on { b"1".to_vec() } else { Vec::new() },
        extra: vec![String::new()],
    }
}

/// The text of a state hash's `topic` field (text and setter); `None`
/// for none, or an empty one.
pub(super) fn topic_text(value: &[u8]) -> Option<String> {
    let mut rest = value;
    field(&mut rest)
        .ok()
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

fn nick(s: &str) -> Result<Nick, BadPayload> {
    Nick::parse(s, STORED_NAME_LIMIT).map_err(|_| BadPayload("nickname"))
}

/// A room's settings as Redis keeps them: what a node's room takes on
/// before it answers a JOIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomState {
    /// The state's version: changes numbered up to it are in it.
    pub ver: u64,
    /// The owner's nickname.
    pub owner: Option<Nick>,
    /// The owning account.
    pub owner_account: Option<Nick>,
    /// The key's hash.
    pub key_hash: Option<String>,
    /// The topic, who set it and when.
    pub topic: Option<(String, Nick, SystemTime)>,
    /// The member limit.
    pub limit: Option<u32>,
    /// Invite-only.
    pub invite_only: bool,
    /// Only operators set the topic.
    pub topic_locked: bool,
    /// Only members speak.
    pub members_only: bool,
    /// Hidden from those outside.
    pub secret: bool,
    /// The members who are operators.
    pub ops: Vec<Nick>,
    /// The accounts made operators.
    pub op_accounts: Vec<Nick>,
    /// The bans: mask, who set it, when.
    pub bans: Vec<(String, Nick, SystemTime)>,
    /// The nicknames invited and not come yet (folded).
    pub invited: Vec<Folded>,
}

impl RoomState {
    /// Reads the state hash's and the ban hash's fields (`None` when the
    /// room has no state in Redis yet).
    pub(super) fn read(
        state: Vec<(String, Vec<u8>)>,
        bans: Vec<(String, Vec<u8>)>,
    ) -> Option<RoomState> {
        if state.is_empty() && bans.is_empty() {
            return None;
        }
        let mut s = RoomState {
            ver: 0,
            owner: None,
            owner_account: None,
            key_hash: None,
            topic: None,
            limit: None,
            invite_only: false,
            topic_locked: true,
            members_only: true,
            secret: false,
            ops: Vec::new(),
            op_accounts: Vec::new(),
            bans: Vec::new(),
            invited: Vec::new(),
        };
        let mut topic_at = SystemTime::UNIX_EPOCH;
        let mut topic = None;
        for (name, value) in state {
            let text = String::from_utf8_lossy(&value);
            match name.as_str() {
                "ver" => s.ver = text.parse().unwrap_or(0),
                "owner" => s.owner = nick(&text).ok(),
                "owner_account" => s.owner_account = nick(&text).ok(),
                "key" => s.key_hash = Some(text.into_owned()),
                "topic_at" => {
                    topic_at =
                        SystemTime::UNIX_EPOCH + Duration::from_millis(text.parse().unwrap_or(0));
                }
                "topic" => {
                    let mut rest = &value[..];
                    if let (Ok(t), Ok(by)) = (field(&mut rest), field(&mut rest)) {
                        topic = nick(by).ok().map(|by| (t.to_string(), by));
                    }
                }
                "limit" => s.limit = text.parse().ok(),
                "i" => s.invite_only = text == "1",
                "t" => s.topic_locked = text == "1",
                "n" => s.members_only = text == "1",
                "s" => s.secret = text == "1",
                other => {
                    if other.starts_with("op:") {
                        if let Ok(n) = nick(&text) {
                            s.ops.push(n);
                        }
                    } else if other.starts_with("aop:") {
                        if let Ok(n) = nick(&text) {
                            s.op_accounts.push(n);
                        }
                    } else if let Some(invited) = other.strip_prefix("inv:") {
                        if let Ok(n) = nick(invited) {
                            s.invited.push(n.folded().clone());
                        }
                    }
                }
            }
        }
        s.topic = topic.map(|(t, by)| (t, by, topic_at));
        for (_, value) in bans {
            let mut rest = &value[..];
            let (Ok(mask), Ok(by), Ok(at)) = (field(&mut rest), field(&mut rest), field(&mut rest))
            else {
                continue;
            };
            let Ok(by) = nick(by) else { continue };
            let at = SystemTime::UNIX_EPOCH + Duration::from_millis(at.parse().unwrap_or(0));
            s.bans.push((mask.to_string(), by, at));
        }
        s.bans.sort_by_key(|b| b.2);
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::cluster::wire::Published;

    fn nick(s: &str) -> Nick {
        Nick::parse(s, 24).unwrap()
    }

    #[test]
    fn every_change_survives_the_trip() {
        let whats = [
            Setting::Topic("a: b 3:c".into()),
            Setting::Kick {
                target: nick("Ben"),
                reason: Some("out you go".into()),
            },
            Setting::Kick {
                target: nick("Ben"),
                reason: None,
            },
            Setting::Create {
                account: Some(nick("ann")),
                key_hash: Some("h$1".into()),
            },
            Setting::Create {
                account: None,
                key_hash: None,
            },
            Setting::Op {
                target: nick("Zoë"),
                on: true,
                account: Some(nick("zoe")),
            },
            Setting::Op {
                target: nick("Ben"),
                on: false,
                account: None,
            },
            Setting::Owner {
                target: nick("Ben"),
                account: nick("benny"),
            },
            Setting::Mode {
                change: RoomMode::Key("sesame".into()),
                key_hash: Some("hash".into()),
            },
        ]
        .into_iter()
        .chain(
            [
                RoomMode::NoKey,
                RoomMode::Op(nick("Zoë"), true),
                RoomMode::Op(nick("Zoë"), false),
                RoomMode::Limit(Some(7)),
                RoomMode::Limit(None),
                RoomMode::InviteOnly(true),
                RoomMode::TopicLocked(false),
                RoomMode::MembersOnly(false),
                RoomMode::Secret(true),
                RoomMode::Ban("*!*@bad".into(), true),
                RoomMode::Ban("*!*@bad".into(), false),
            ]
            .map(|change| Setting::Mode {
                change,
                key_hash: None,
            }),
        );
        for what in whats {
            let change = SettingChange {
                ver: 9,
                time: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
                origin: "node-a".into(),
                by: nick("ann"),
                userhost: UserHost::new("~ann", "irc"),
                what,
            };
            let mut payload = b"9 1700000000123 ".to_vec();
            payload.extend(change.encode());
            assert_eq!(
                Published::decode(&payload),
                Ok(Published::Setting(change.clone()))
            );
        }
    }

    #[test]
    fn the_state_hash_reads_back() {
        let mut topic = Vec::new();
        put(&mut topic, "hello all");
        put(&mut topic, "ann");
        let mut ban = Vec::new();
        put(&mut ban, "*!*@Bad");
        put(&mut ban, "ann");
        put(&mut ban, "1000");
        let field = |k: &str, v: &[u8]| (k.to_string(), v.to_vec());
        let s = RoomState::read(
            vec![
                field("ver", b"4"),
                field("owner", b"Ann"),
                field("key", b"h"),
                field("topic", &topic),
                field("topic_at", b"2000"),
                field("i", b"1"),
                field("t", b"0"),
                field("limit", b"3"),
                field("op:ben", b"Ben"),
                field("aop:benny", b"Benny"),
                field("inv:cat", b"1"),
            ],
            vec![field("*!*@bad", &ban)],
        )
        .unwrap();
        assert_eq!(s.ver, 4);
        assert_eq!(s.owner, Some(nick("Ann")));
        assert_eq!(s.key_hash.as_deref(), Some("h"));
        let (text, by, at) = s.topic.unwrap();
        assert_eq!((text.as_str(), by.as_str()), ("hello all", "ann"));
        assert_eq!(at, SystemTime::UNIX_EPOCH + Duration::from_millis(2000));
        assert!(s.invite_only && !s.topic_locked && s.members_only && !s.secret);
        assert_eq!(s.limit, Some(3));
        assert_eq!(s.ops, vec![nick("Ben")]);
        assert_eq!(s.op_accounts, vec![nick("Benny")]);
        assert_eq!(s.invited, vec![nick("cat").folded().clone()]);
        assert_eq!(s.bans[0].0, "*!*@Bad");
        assert_eq!(RoomState::read(Vec::new(), Vec::new()), None);
    }
}
