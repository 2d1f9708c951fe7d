//! PRIVMSG, NOTICE and TAGMSG, to channels and nicknames, one target
//! after the other. A NOTICE is never answered with an error; a TAGMSG
//! only where a PRIVMSG would be.
//!
//! The common case, a message to a channel the client is in, needs no
//! other actor's answer: the room is told and nothing waits. With
//! `echo-message` the room sends the sender its own message as the others
//! get it (the same msgid and time); a private message, a labeled one and
//! one to a channel the sender is not in (`-n`) are echoed here.
//!
//! A text that would not fit one 512-byte line once relayed (the
//! sender's `nick!user@host` prefixed; tags have their own budget) is
//! refused with `417`, not cut or split, nor echoed.

use std::collections::VecDeque;

use super::*;
use crate::core::cluster::wire::{Direct, DirectKind};
use crate::core::directory::{Describe, FindRoom};
use crate::core::room;
use crate::core::{ErrorCode, FileTarget, MsgKind, MsgMeta};
use crate::proto::irc::command::Target;
use crate::proto::irc::render::relayed_fits;

/// What a message command sends.
#[derive(Debug, Clone)]
pub(super) enum What {
    /// A PRIVMSG or NOTICE's text.
    Text(MsgKind, String),
    /// A TAGMSG: its client-only tags alone.
    Tags(Arc<str>),
}

impl Session {
    /// Whether the text, relayed to `target`, fits one line (a TAGMSG
    /// always does); if not, the sender is told `417` (unless it is a
    /// NOTICE) and nothing is sent.
    fn fits(&self, from: &Nick, what: &What, target: &str) -> bool {
        let What::Text(kind, text) = what else {
            return true;
        };
        let kind = *kind;
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
        let tags = self.client_tags.take();
        self.message_each(What::Text(kind, text), tags, targets.into(), ctx);
    }

    pub(super) fn cmd_tagmsg(&mut self, targets: Vec<Target>, ctx: &mut Context<Self>) {
        // A TAGMSG without client tags tells nobody anything.
        if let Some(tags) = self.client_tags.take() {
            self.message_each(What::Tags(tags), None, targets.into(), ctx);
        }
    }

    fn message_each(
        &mut self,
        what: What,
        tags: Option<Arc<str>>,
        mut pending: VecDeque<Target>,
        ctx: &mut Context<Self>,
    ) {
        let silent = matches!(what, What::Text(MsgKind::Notice, _));
        let echo = self.caps.echo_message;
        while let Some(target) = pending.pop_front() {
            let Some(from) = self.nick.clone() else {
                return;
            };
            let account = self.sender_account();
            match target {
                Target::Channel(room) => {
                    if !self.fits(&from, &what, room.as_str()) {
                        continue;
                    }
                    if let Some(joined) = self.joined(room.folded()) {
                        debug!(parent: &self.span, room = %room, ?what, "msg");
                        match &what {
                            // A labeled echo carries the label: rendered
                            // here, with the number and time the room gave.
                            What::Text(kind, text) if echo && self.labeling() => {
                                let say = joined.send(room::Say {
                                    id: self.id,
                                    from: from.clone(),
                                    text: text.clone(),
                                    kind: *kind,
                                    tags: tags.clone(),
                                    account: account.clone(),
                                    echo: false,
                                    ack: None,
                                });
                                let kind = *kind;
                                ctx.wait(say.into_actor(self).map(move |said, act, ctx| {
                                    if let Ok(Some((seq, time))) = said {
                                        if let What::Text(_, text) = &what {
                                            act.echo(&Event::Msg {
                                                room,
                                                from,
                                                userhost: act.userhost.clone(),
                                                text: text.clone(),
                                                kind,
                                                meta: MsgMeta {
                                                    seq,
                                                    time,
                                                    tags: tags.clone(),
                                                    account,
                                                },
                                            });
                                        }
                                    }
                                    act.message_each(what, tags, pending, ctx);
                                }));
                                return;
                            }
                            What::Text(kind, text) => joined.do_send(room::Say {
                                id: self.id,
                                from,
                                text: text.clone(),
                                kind: *kind,
                                tags: tags.clone(),
                                account,
                                echo,
                                ack: None,
                            }),
                            What::Tags(t) if echo && self.labeling() => {
                                let meta = MsgMeta::now(Some(Arc::clone(t)), account);
                                joined.do_send(room::Tag {
                                    id: self.id,
                                    from: from.clone(),
                                    userhost: self.userhost.clone(),
                                    meta: meta.clone(),
                                    echo: false,
                                });
                                self.echo(&Event::TagMsg {
                                    target: FileTarget::Room(room.clone()),
                                    from,
                                    userhost: self.userhost.clone(),
                                    meta,
                                });
                            }
                            What::Tags(t) => joined.do_send(room::Tag {
                                id: self.id,
                                from,
                                userhost: self.userhost.clone(),
                                meta: MsgMeta::now(Some(Arc::clone(t)), account),
                                echo,
                            }),
                        }
                        continue;
                    }
                    // Not a member: the room takes it if it lets anyone
                    // speak (`-n`); else 404 if it exists, 403 if not.
                    // A TAGMSG is for members only.
                    let directory = self.state.core.directory.clone();
                    let say = match &what {
                        What::Text(kind, text) => Some(room::SayOutside {
                            from: from.clone(),
                            userhost: self.userhost.clone(),
                            text: text.clone(),
                            kind: *kind,
                            tags: tags.clone(),
                            account: account.clone(),
                        }),
                        What::Tags(_) => None,
                    };
                    let name = room.folded().clone();
                    let core = Arc::clone(&self.state.core);
                    let target = room.clone();
                    let work = async move {
                        match directory.send(FindRoom { name }).await {
                            Ok(Some(addr)) => match say {
                                Some(say) => match addr.send(say).await {
                                    Ok(Ok(said)) => Ok(said),
                                    _ => Err(true),
                                },
                                None => Err(true),
                            },
                            // Cluster mode: it may have members on
                            // other nodes only.
                            _ => match say {
                                Some(say) => core
                                    .say_to_room_elsewhere(&target, say)
                                    .await
                                    .map_err(|e| e != ErrorCode::NoSuchRoom),
                                None => Err(false),
                            },
                        }
                    };
                    ctx.wait(work.into_actor(self).map(move |said, act, ctx| {
                        match said {
                            Ok((seq, time)) => {
                                if let (true, What::Text(kind, text)) = (echo, &what) {
                                    act.echo(&Event::Msg {
                                        room,
                                        from,
                                        userhost: act.userhost.clone(),
                                        text: text.clone(),
                                        kind: *kind,
                                        meta: MsgMeta {
                                            seq,
                                            time,
                                            tags: tags.clone(),
                                            account,
                                        },
                                    });
                                }
                            }
                            Err(_) if silent => {}
                            Err(true) => act.numeric(Numeric::CannotSendToChan(room)),
                            Err(false) => {
                                act.numeric(Numeric::NoSuchChannel(room.as_str().to_string()))
                            }
                        }
                        act.message_each(what, tags, pending, ctx);
                    }));
                    return;
                }
                Target::Nick(nick) => {
                    let find = self.state.core.directory.send(Describe {
                        nicks: vec![nick.folded().clone()],
                    });
                    ctx.wait(find.into_actor(self).map(move |res, act, ctx| {
                        match res.ok().and_then(|mut found| found.pop()) {
                            Some(user) if !act.fits(&from, &what, user.nick.as_str()) => {}
                            Some(user) => {
                                debug!(parent: &act.span, to = %user.nick, ?what, "privmsg");
                                let event = act.private(&what, &tags, account, from, &user.nick);
                                user.inbox.send(&event);
                                if echo {
                                    act.echo(&event);
                                }
                                if let (Some(away), false, What::Text(..)) =
                                    (&user.profile.away, silent, &what)
                                {
                                    act.numeric(Numeric::Away(user.nick, away.to_string()));
                                }
                            }
                            // Cluster mode: on another node, perhaps.
                            None if act.state.core.cluster.is_some() => {
                                return act.message_elsewhere(nick, what, tags, pending, ctx);
                            }
                            None if silent => {}
                            None => act.numeric(Numeric::NoSuchNick(nick.as_str().to_string())),
                        }
                        act.message_each(what, tags, pending, ctx);
                    }));
                    return;
                }
                Target::BadChannel(raw) if !silent => self.numeric(Numeric::NoSuchChannel(raw)),
                Target::BadNick(raw) if !silent => self.numeric(Numeric::NoSuchNick(raw)),
                Target::BadChannel(_) | Target::BadNick(_) => {}
            }
        }
    }

    /// Cluster mode: a message to a user no connection of this node
    /// holds, handed to the node holding it; then the other targets.
    fn message_elsewhere(
        &mut self,
        nick: Nick,
        what: What,
        tags: Option<Arc<str>>,
        pending: VecDeque<Target>,
        ctx: &mut Context<Self>,
    ) {
        let silent = matches!(what, What::Text(MsgKind::Notice, _));
        let echo = self.caps.echo_message;
        let Some(from) = self.nick.clone() else {
            return;
        };
        if !self.fits(&from, &what, nick.as_str()) {
            return self.message_each(what, tags, pending, ctx);
        }
        let account = self.sender_account();
        let (kind, text, sent_tags) = match &what {
            What::Text(kind, text) => (DirectKind::Text(*kind), text.clone(), tags.clone()),
            What::Tags(t) => (DirectKind::Tags, String::new(), Some(Arc::clone(t))),
        };
        let message = Direct {
            origin: String::new(),
            kind,
            from: from.clone(),
            userhost: self.userhost.clone(),
            account: account.clone(),
            tags: sent_tags,
            to: nick.clone(),
            text,
        };
        let sent = self.state.core.send_elsewhere(message);
        ctx.wait(sent.into_actor(self).map(move |res, act, ctx| {
            match res {
                Ok(Some(user)) => {
                    let card = user.card;
                    debug!(parent: &act.span, to = %card.nick, node = %card.node, ?what, "privmsg elsewhere");
                    if echo {
                        let event = act.private(&what, &tags, account, from, &card.nick);
                        act.echo(&event);
                    }
                    if let (Some(away), false, What::Text(..)) = (&card.away, silent, &what) {
                        act.numeric(Numeric::Away(card.nick, away.to_string()));
                    }
                }
                Ok(None) if silent => {}
                Ok(None) => act.numeric(Numeric::NoSuchNick(nick.as_str().to_string())),
                Err(_) => act.line(ServerLine::Fail {
                    command: match &what {
                        What::Text(MsgKind::Privmsg, _) => "PRIVMSG",
                        What::Text(MsgKind::Notice, _) => "NOTICE",
                        What::Tags(_) => "TAGMSG",
                    }
                    .into(),
                    code: ErrorCode::ClusterUnavailable.as_str(),
                    text: "The cluster cannot be reached: not sent",
                }),
            }
            act.message_each(what, tags, pending, ctx);
        }));
    }

    /// The event a private message or TAGMSG to `to` is.
    fn private(
        &self,
        what: &What,
        tags: &Option<Arc<str>>,
        account: Option<Arc<str>>,
        from: Nick,
        to: &Nick,
    ) -> Event {
        match what {
            What::Text(kind, text) => Event::Privmsg {
                from,
                userhost: self.userhost.clone(),
                to: Some(to.clone()),
                text: text.clone(),
                kind: *kind,
                meta: MsgMeta::now(tags.clone(), account),
            },
            What::Tags(t) => Event::TagMsg {
                target: FileTarget::User(to.clone()),
                from,
                userhost: self.userhost.clone(),
                meta: MsgMeta::now(Some(Arc::clone(t)), account),
            },
        }
    }
}
