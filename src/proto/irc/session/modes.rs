//! MODE: channel modes as the core has them, and user mode `+i`.
//!
//! A channel's modes are what a room is: `+n` and `+t` always (only
//! members speak, only the owner sets the topic: neither can be unset),
//! `+k` when it has a key, and its owner as the one `+o`.

use super::*;
use crate::core::names::STORED_NAME_LIMIT;
use crate::core::room;

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

/// Whether channel mode `letter` takes an argument when set (`on`) or
/// unset; `b` takes one only to add or remove a ban, never to list.
fn takes_arg(letter: char, on: bool) -> bool {
    match letter {
        'o' => true,
        'k' => on,
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
            return self.numeric(Numeric::UModeIs(if self.invisible { "+i" } else { "+" }));
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

    /// `324` and `329`.
    fn channel_modes(&mut self, room: RoomName, ctx: &mut Context<Self>) {
        self.with_room(room, ctx, |act, addr, ctx| {
            let ask = addr.send(room::GetInfo);
            ctx.wait(ask.into_actor(act).map(|res, act, _| {
                let Ok(info) = res else { return };
                act.numeric(Numeric::ChannelModeIs {
                    channel: info.name.clone(),
                    keyed: info.private,
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
                // The ban list is always empty: the core has no bans.
                'b' if change.arg.is_none() => self.numeric(Numeric::EndOfBanList(room.clone())),
                'n' | 't' if change.on => {}
                'n' | 't' => self.numeric(Numeric::UnknownMode(
                    change.letter,
                    "is always set on this server",
                )),
                'k' | 'o' => rest.push(change),
                letter => self.numeric(Numeric::UnknownMode(letter, "is unknown mode char to me")),
            }
        }
        if !rest.is_empty() {
            self.apply_owner_modes(room, rest, ctx);
        }
    }
}

impl Session {
    /// `+k`, `-k`, `+o`, `-o`: the owner's, applied one after the other;
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
        let addr = joined.addr.clone();
        let userhost = self.userhost.clone();
        let me = who.nick.clone();
        let work = async move {
            let mut refused = Vec::new();
            for change in changes {
                let request = match (change.letter, change.on, change.arg) {
                    ('k', true, Some(key)) if !key.is_empty() => room::ModeRequest::Key(key),
                    ('k', true, _) => {
                        refused.push(ModeRefusal::NeedKey);
                        continue;
                    }
                    ('k', false, _) => room::ModeRequest::NoKey,
                    ('o', _, None) => {
                        refused.push(ModeRefusal::NeedNick);
                        continue;
                    }
                    ('o', on, Some(target)) => {
                        let Ok(nick) = Nick::parse(&target, STORED_NAME_LIMIT) else {
                            refused.push(ModeRefusal::Code(
                                target,
                                crate::core::ErrorCode::NoSuchNick,
                            ));
                            continue;
                        };
                        match (on, *nick.folded() == me) {
                            // Giving the room to its owner changes nothing.
                            (true, true) => continue,
                            (true, false) => room::ModeRequest::Owner(nick.folded().clone()),
                            // A room always has its owner, and only one.
                            (false, _) => {
                                refused.push(ModeRefusal::Deop);
                                continue;
                            }
                        }
                    }
                    _ => continue,
                };
                let target = match &request {
                    room::ModeRequest::Owner(f) => f.as_str().to_string(),
                    _ => String::new(),
                };
                let ask = room::SetMode {
                    who: who.clone(),
                    userhost: userhost.clone(),
                    change: request,
                };
                match addr.send(ask).await {
                    Ok(Ok(())) => {}
                    Ok(Err(code)) => refused.push(ModeRefusal::Code(target, code)),
                    Err(_) => {
                        refused.push(ModeRefusal::Code(target, crate::core::ErrorCode::NotInRoom))
                    }
                }
            }
            refused
        };
        ctx.wait(work.into_actor(self).map(move |refused, act, _| {
            for r in refused {
                use crate::core::ErrorCode;
                match r {
                    ModeRefusal::NeedKey | ModeRefusal::NeedNick => {
                        act.numeric(Numeric::NeedMoreParams("MODE"))
                    }
                    ModeRefusal::Deop => act.numeric(Numeric::UnknownMode(
                        'o',
                        "cannot be removed: a channel keeps one operator, its owner; give it with +o <nick>",
                    )),
                    ModeRefusal::Code(_, ErrorCode::NotOwner) => {
                        act.numeric(Numeric::ChanOpPrivsNeeded(room.clone()));
                        return;
                    }
                    ModeRefusal::Code(target, ErrorCode::NoSuchNick) => {
                        act.numeric(Numeric::UserNotInChannel(target, room.clone()))
                    }
                    ModeRefusal::Code(..) => act.numeric(Numeric::NotOnChannel(room.clone())),
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
    /// `-o`: the owner cannot stop being one.
    Deop,
    /// The room refused it (about the nickname given, if any).
    Code(String, crate::core::ErrorCode),
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
        assert_eq!(channel_changes("+o", &[]), [change(true, 'o', None)]);
    }
}
