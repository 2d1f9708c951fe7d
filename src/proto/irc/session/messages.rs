//! PRIVMSG and NOTICE, to channels and nicknames, one target after the
//! other. A NOTICE is never answered with an error.
//!
//! The common case, a message to a channel the client is in, needs no
//! other actor's answer: the room is told and nothing waits.
//!
//! A text that would not fit one 512-byte line once relayed (the
//! sender's `nick!user@host` prefixed) is refused with `417`, not cut or
//! split.

use std::collections::VecDeque;

use super::*;
use crate::core::directory::{Describe, FindRoom};
use crate::core::room;
use crate::core::MsgKind;
use crate::proto::irc::command::Target;
use crate::proto::irc::render::relayed_fits;

impl Session {
    /// Whether the text, relayed to `target`, fits one line; if not, the
    /// sender is told `417` (unless it is a NOTICE) and nothing is sent.
    fn fits(&self, from: &Nick, kind: MsgKind, target: &str, text: &str) -> bool {
        let source = (from.as_str(), Some(&self.userhost));
        if relayed_fits(source, kind, target, text) {
            return true;
        }
        if kind == MsgKind::Privmsg {
            self.numeric(Numeric::InputTooLong);
        }
        false
    }

    pub(super) fn cmd_message(
        &mut self,
        kind: MsgKind,
        targets: Vec<Target>,
        text: String,
        ctx: &mut Context<Self>,
    ) {
        self.message_each(kind, targets.into(), text, ctx);
    }

    fn message_each(
        &mut self,
        kind: MsgKind,
        mut pending: VecDeque<Target>,
        text: String,
        ctx: &mut Context<Self>,
    ) {
        let silent = kind == MsgKind::Notice;
        while let Some(target) = pending.pop_front() {
            let Some(from) = self.nick.clone() else {
                return;
            };
            match target {
                Target::Channel(room) => {
                    if !self.fits(&from, kind, room.as_str(), &text) {
                        continue;
                    }
                    if let Some(joined) = self.joined(room.folded()) {
                        debug!(parent: &self.span, room = %room, %text, "msg");
                        joined.addr.do_send(room::Say {
                            id: self.id,
                            from,
                            userhost: self.userhost.clone(),
                            text: text.clone(),
                            kind,
                            ack: None,
                        });
                        continue;
                    }
                    // Not a member: the room takes it if it lets anyone
                    // speak (`-n`); else 404 if it exists, 403 if not.
                    let directory = self.state.core.directory.clone();
                    let say = room::SayOutside {
                        from,
                        userhost: self.userhost.clone(),
                        text: text.clone(),
                        kind,
                    };
                    let name = room.folded().clone();
                    let work = async move {
                        match directory.send(FindRoom { name }).await {
                            Ok(Some(addr)) => match addr.send(say).await {
                                Ok(Ok(())) => None,
                                _ => Some(true),
                            },
                            _ => Some(false),
                        }
                    };
                    ctx.wait(work.into_actor(self).map(move |refused, act, ctx| {
                        match refused {
                            _ if silent => {}
                            None => {}
                            Some(true) => act.numeric(Numeric::CannotSendToChan(room)),
                            Some(false) => {
                                act.numeric(Numeric::NoSuchChannel(room.as_str().to_string()))
                            }
                        }
                        act.message_each(kind, pending, text, ctx);
                    }));
                    return;
                }
                Target::Nick(nick) => {
                    let find = self.state.core.directory.send(Describe {
                        nicks: vec![nick.folded().clone()],
                    });
                    ctx.wait(find.into_actor(self).map(move |res, act, ctx| {
                        match res.ok().and_then(|mut found| found.pop()) {
                            Some(user) if !act.fits(&from, kind, user.nick.as_str(), &text) => {}
                            Some(user) => {
                                debug!(parent: &act.span, to = %user.nick, %text, "privmsg");
                                user.inbox.send(&Event::Privmsg {
                                    from,
                                    userhost: act.userhost.clone(),
                                    to: Some(user.nick.clone()),
                                    text: text.clone(),
                                    kind,
                                });
                                if let (Some(away), false) = (&user.profile.away, silent) {
                                    act.numeric(Numeric::Away(user.nick, away.to_string()));
                                }
                            }
                            None if silent => {}
                            None => act.numeric(Numeric::NoSuchNick(nick.as_str().to_string())),
                        }
                        act.message_each(kind, pending, text, ctx);
                    }));
                    return;
                }
                Target::BadChannel(raw) if !silent => self.numeric(Numeric::NoSuchChannel(raw)),
                Target::BadNick(raw) if !silent => self.numeric(Numeric::NoSuchNick(raw)),
                Target::BadChannel(_) | Target::BadNick(_) => {}
            }
        }
    }
}
