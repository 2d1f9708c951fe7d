//! MODE: channel modes as the core has them, and user mode `+i`.
//!
//! A channel's modes are what a room is: `+n` always (only members
//! speak), `+t` unless the owner turned it off (only the owner sets the
//! topic), `+k` when it has a key, `+l` when its members are limited, `+i`
//! when only the invited come in, and its owner as the one `+o`.

use super::*;
use crate::core::directory::FindNick;
use crate::core::directory::SetOper;
use crate::core::gate::GateRules;
use crate::core::names::STORED_NAME_LIMIT;
use crate::core::room;
use crate::core::room_key;
use crate::core::ErrorCode;
use crate::proto::irc::render::ChannelModes;

/// One mode change asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ModeChange {
    /// `+` or `-`.
    pub on: bool,
    /// The letter.
    pub letter: char,
    /// Its argument, for the letters that take one.
    pub arg: Option<String>,
}

/// A ban's mask as kept: `nick!user@host`, the parts not given filled
/// with `*` (`bob` is `bob!*@*`, `*@irc` is `*!*@irc`), lower-cased (bans
/// match case aside).
fn ban_mask(mask: &str) -> String {
    let (nick, rest) = match mask.split_once('!') {
        Some((nick, rest)) => (nick, Some(rest)),
        None if mask.contains('@') => ("*", Some(mask)),
        None => (mask, None),
    };
    let (user, host) = match rest.map(|r| r.split_once('@')) {
        Some(Some((user, host))) => (user, host),
        Some(None) => (rest.unwrap_or("*"), "*"),
        None => ("*", "*"),
    };
    let or_star = |s: &str| {
        if s.is_empty() {
            "*".to_string()
        } else {
            s.to_string()
        }
    };
    format!("{}!{}@{}", or_star(nick), or_star(user), or_star(host)).to_lowercase()
}

/// Longest channel key set from IRC, in bytes (`KEYLEN`).
pub const KEYLEN: usize = 64;

/// Whether `key` can be a channel key: one word that a `JOIN` can give
/// back (no space, comma or control character), at most [`KEYLEN`] bytes.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= KEYLEN
        && !key.chars().any(|c| c == ' ' || c == ',' || c.is_control())
}

/// Whether channel mode `letter` takes an argument when set (`on`) or
/// unset; `b` takes one to add or remove a ban, and lists them without.
fn takes_arg(letter: char, on: bool) -> bool {
    match letter {
        'o' | 'b' => true,
        'k' | 'l' => on,
        _ => false,
    }
}

/// A channel mode string and its arguments, as changes.
pub(super) fn channel_changes(modes: &str, args: &[String]) -> Vec<ModeChange> {
    let mut args = args.iter();
    let mut on = true;
    let mut changes = Vec::new();
    for letter in modes.chars() {
        match letter {
            '+' => on = true,
            '-' => on = false,
            letter => {
                let arg = if takes_arg(letter, on) {
                    args.next().cloned()
                } else {
                    None
                };
                changes.push(ModeChange { on, letter, arg });
            }
        }
    }
    changes
}

impl Session {
    pub(super) fn cmd_mode(
        &mut self,
        target: String,
        modes: Option<String>,
        args: Vec<String>,
        ctx: &mut Context<Self>,
    ) {
        if target.starts_with('#') {
            let Ok(room) = RoomName::parse_hashed(&target, STORED_NAME_LIMIT) else {
                return self.numeric(Numeric::NoSuchChannel(target));
            };
            return match modes {
                None => self.channel_modes(room, ctx),
                Some(modes) => self.change_channel_modes(room, &modes, &args, ctx),
            };
        }
        let mine = self.nick.as_ref().is_some_and(|n| {
            Nick::parse(&target, STORED_NAME_LIMIT).is_ok_and(|t| t.folded() == n.folded())
        });
        if !mine {
            let exists = Nick::parse(&target, STORED_NAME_LIMIT).is_ok();
            return self.numeric(if exists {
                Numeric::UsersDontMatch
            } else {
                Numeric::NoSuchNick(target)
            });
        }
        let Some(modes) = modes else {
            return self.numeric(Numeric::UModeIs(self.user_modes()));
        };
        let mut on = true;
        let mut changed = String::new();
        let mut unknown = false;
        let mut last_sign = None;
        for letter in modes.chars() {
            match letter {
                '+' => on = true,
                '-' => on = false,
                'i' => {
                    if self.invisible != on {
                        self.invisible = on;
                        if last_sign != Some(on) {
                            changed.push(if on { '+' } else { '-' });
                            last_sign = Some(on);
                        }
                        changed.push('i');
                    }
                }
                'w' => {
                    if self.wallops != on {
                        self.wallops = on;
                        if last_sign != Some(on) {
                            changed.push(if on { '+' } else { '-' });
                            last_sign = Some(on);
                        }
                        changed.push('w');
                    }
                }
                // Only OPER gives +o; -o gives it up.
                'o' => {
                    if !on && self.oper.take().is_some() {
                        self.state.core.directory.do_send(SetOper {
                            id: self.id,
                            on: false,
                        });
                        if last_sign != Some(on) {
                            changed.push('-');
                            last_sign = Some(on);
                        }
                        changed.push('o');
                    }
                }
                _ => unknown = true,
            }
        }
        if unknown {
            self.numeric(Numeric::UModeUnknownFlag);
        }
        if !changed.is_empty() {
            self.profile_changed();
            self.line(ServerLine::UserModeChanged(changed));
        }
    }

    /// `367` for each ban, then `368`.
    fn ban_list(&mut self, room: RoomName, ctx: &mut Context<Self>) {
        let room_name = room.clone();
        self.with_room(room, ctx, move |act, addr, ctx| {
            let ask = addr.send(room::GetBans);
            ctx.wait(ask.into_actor(act).map(move |res, act, _| {
                let Ok(bans) = res else { return };
                for ban in bans {
                    act.numeric(Numeric::BanList {
                        channel: room_name.clone(),
                        mask: ban.mask,
                        by: ban.by,
                        at: ban.at,
                    });
                }
                act.numeric(Numeric::EndOfBanList(room_name));
            }));
        });
    }

    /// `324` and `329`.
    fn channel_modes(&mut self, room: RoomName, ctx: &mut Context<Self>) {
        self.with_room(room, ctx, |act, addr, ctx| {
            let ask = addr.send(room::GetInfo);
            ctx.wait(ask.into_actor(act).map(|res, act, _| {
                let Ok(info) = res else { return };
                act.numeric(Numeric::ChannelModeIs {
                    channel: info.name.clone(),
                    modes: ChannelModes {
                        keyed: info.private,
                        limit: info.limit,
                        invite_only: info.invite_only,
                        topic_locked: info.topic_locked,
                        members_only: info.members_only,
                        secret: info.secret,
                    },
                });
                act.numeric(Numeric::CreationTime(info.name, info.created));
            }));
        });
    }

    fn change_channel_modes(
        &mut self,
        room: RoomName,
        modes: &str,
        args: &[String],
        ctx: &mut Context<Self>,
    ) {
        let changes = channel_changes(modes, args);
        let mut rest = Vec::new();
        for change in changes {
            match change.letter {
                'b' if change.arg.is_none() => self.ban_list(room.clone(), ctx),
                'k' | 'o' | 'l' | 'i' | 't' | 'n' | 's' | 'b' => rest.push(change),
                letter => self.numeric(Numeric::UnknownMode(letter, "is unknown mode char to me")),
            }
        }
        if !rest.is_empty() {
            self.apply_owner_modes(room, rest, ctx);
        }
    }
}

impl Session {
    /// `k`, `o`, `l`, `i`, `t`: the owner's, applied one after the other;
    /// everyone hears each change from the room.
    fn apply_owner_modes(
        &mut self,
        room: RoomName,
        changes: Vec<ModeChange>,
        ctx: &mut Context<Self>,
    ) {
        let (Some(joined), Some(who)) = (self.joined(room.folded()), self.member_key()) else {
            return self.not_on_channel(room, ctx);
        };
        let addr = joined.clone();
        let userhost = self.userhost.clone();
        let directory = self.state.core.directory.clone();
        let core = Arc::clone(&self.state.core);
        let work = async move {
            let mut refused = Vec::new();
            for change in changes {
                // The nickname a `+o` names, as given and folded.
                let mut named: Option<(String, Folded)> = None;
                let request = match (change.letter, change.on, change.arg) {
                    ('k', true, Some(key)) if valid_key(&key) => {
                        // Only an operator's key is worth a hash, and the
                        // hash goes through the gate like every other.
                        match addr.send(room::IsOp { who: who.clone() }).await {
                            Ok(true) => {}
                            Ok(false) => {
                                refused.push(ModeRefusal::Code(ErrorCode::NotOwner));
                                continue;
                            }
                            Err(_) => {
                                refused.push(ModeRefusal::Code(ErrorCode::NotInRoom));
                                continue;
                            }
                        }
                        let config = core.config();
                        let rules = GateRules::of(&config.limits);
                        let clear = key.clone();
                        match core
                            .gate
                            .hash(&rules, move || room_key::hash_key(&clear))
                            .await
                        {
                            Ok(hash) => room::ModeRequest::Key { clear: key, hash },
                            Err(code) => {
                                refused.push(ModeRefusal::Code(code));
                                continue;
                            }
                        }
                    }
                    // Keys are never shown, not even refused ones.
                    ('k', true, Some(_)) => {
                        refused.push(ModeRefusal::Invalid('k', "*".into()));
                        continue;
                    }
                    ('k', true, None) => {
                        refused.push(ModeRefusal::NeedKey);
                        continue;
                    }
                    ('k', false, _) => room::ModeRequest::NoKey,
                    ('l', true, None) => {
                        refused.push(ModeRefusal::NeedKey);
                        continue;
                    }
                    ('l', true, Some(limit)) => match limit.parse::<u32>() {
                        Ok(n) if n > 0 => room::ModeRequest::Limit(Some(n)),
                        _ => {
                            refused.push(ModeRefusal::Invalid('l', limit));
                            continue;
                        }
                    },
                    ('l', false, _) => room::ModeRequest::Limit(None),
                    ('i', on, _) => room::ModeRequest::InviteOnly(on),
                    ('t', on, _) => room::ModeRequest::TopicLocked(on),
                    ('n', on, _) => room::ModeRequest::MembersOnly(on),
                    ('s', on, _) => room::ModeRequest::Secret(on),
                    ('b', on, Some(mask)) => room::ModeRequest::Ban(ban_mask(&mask), on),
                    ('o', _, None) => {
                        refused.push(ModeRefusal::NeedNick);
                        continue;
                    }
                    ('o', on, Some(target)) => {
                        let Ok(nick) = Nick::parse(&target, STORED_NAME_LIMIT) else {
                            refused.push(ModeRefusal::Nobody(target));
                            continue;
                        };
                        named = Some((target, nick.folded().clone()));
                        // The room answers, so a non-operator hears 482
                        // even when naming itself.
                        room::ModeRequest::Op(nick.folded().clone(), on)
                    }
                    _ => continue,
                };
                let ask = room::SetMode {
                    who: who.clone(),
                    userhost: userhost.clone(),
                    change: request,
                };
                match (addr.send(ask).await, named) {
                    (Ok(Ok(())), _) => {}
                    (Ok(Err(ErrorCode::NoSuchNick)), Some((target, folded))) => {
                        // 441 for a user elsewhere, 401 for nobody.
                        let find = directory.send(FindNick { nick: folded }).await;
                        refused.push(match find {
                            Ok(Some(_)) => ModeRefusal::NotThere(target),
                            _ => ModeRefusal::Nobody(target),
                        });
                    }
                    (Ok(Err(code)), _) => refused.push(ModeRefusal::Code(code)),
                    (Err(_), _) => refused.push(ModeRefusal::Code(ErrorCode::NotInRoom)),
                }
            }
            refused
        };
        ctx.wait(work.into_actor(self).map(move |refused, act, _| {
            for r in refused {
                match r {
                    ModeRefusal::NeedKey | ModeRefusal::NeedNick => {
                        act.numeric(Numeric::NeedMoreParams("MODE"))
                    }
                    ModeRefusal::Invalid(letter, arg) => act.numeric(Numeric::InvalidModeParam {
                        channel: room.clone(),
                        letter,
                        arg,
                    }),
                    ModeRefusal::Code(ErrorCode::NotOwner) => {
                        act.numeric(Numeric::ChanOpPrivsNeeded(room.clone()));
                        return;
                    }
                    ModeRefusal::NotThere(target) => {
                        act.numeric(Numeric::UserNotInChannel(target, room.clone()))
                    }
                    ModeRefusal::Nobody(target) => act.numeric(Numeric::NoSuchNick(target)),
                    ModeRefusal::Code(ErrorCode::BadSyntax) => {
                        act.numeric(Numeric::NeedMoreParams("MODE"))
                    }
                    ModeRefusal::Code(ErrorCode::TryLater) => {
                        act.numeric(Numeric::TryAgain("MODE"))
                    }
                    ModeRefusal::Code(_) => act.numeric(Numeric::NotOnChannel(room.clone())),
                }
            }
        }));
    }
}

/// Why one mode change was not made.
enum ModeRefusal {
    /// `+k` without a key.
    NeedKey,
    /// `+o` or `-o` without a nickname.
    NeedNick,
    /// A letter's argument is not one it takes (`+l 0`).
    Invalid(char, String),
    /// The nickname `+o` names is online but not in the channel.
    NotThere(String),
    /// Nobody has the nickname `+o` names.
    Nobody(String),
    /// The room refused it.
    Code(ErrorCode),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(on: bool, letter: char, arg: Option<&str>) -> ModeChange {
        ModeChange {
            on,
            letter,
            arg: arg.map(String::from),
        }
    }

    #[test]
    fn ban_masks_are_completed() {
        assert_eq!(ban_mask("Bob"), "bob!*@*");
        assert_eq!(ban_mask("bob!*@*"), "bob!*@*");
        assert_eq!(ban_mask("*@irc"), "*!*@irc");
        assert_eq!(ban_mask("bob!~b"), "bob!~b@*");
        assert_eq!(ban_mask("!@"), "*!*@*");
    }

    #[test]
    fn keys_are_one_word_a_join_can_give() {
        assert!(valid_key("beer"));
        assert!(valid_key(&"k".repeat(KEYLEN)));
        for bad in [
            "",
            " ",
            "two words",
            "a,b",
            "tab\there",
            &"k".repeat(KEYLEN + 1),
        ] {
            assert!(!valid_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn mode_strings_pair_letters_with_their_arguments() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            channel_changes("+k-o+t", &args(&["key", "bob"])),
            [
                change(true, 'k', Some("key")),
                change(false, 'o', Some("bob")),
                change(true, 't', None)
            ]
        );
        assert_eq!(
            channel_changes("-k", &args(&["ignored"])),
            [change(false, 'k', None)]
        );
        assert_eq!(channel_changes("b", &[]), [change(true, 'b', None)]);
        assert_eq!(
            channel_changes("-b", &args(&["x!*@*"])),
            [change(false, 'b', Some("x!*@*"))]
        );
        assert_eq!(channel_changes("+o", &[]), [change(true, 'o', None)]);
    }
}
