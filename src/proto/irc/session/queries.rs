//! What a client asks about others and the server: LUSERS, WHO, WHOIS,
//! ISON, USERHOST; and AWAY, which others ask about.

use super::*;
use crate::core::cluster::wire::UserCard;
use crate::core::directory::{Describe, Search, UpdateProfile, UserInfo, Whowas, Wildcard};
use crate::core::names::STORED_NAME_LIMIT;
use crate::core::room;

impl Session {
    pub(super) fn cmd_lusers(&mut self, ctx: &mut Context<Self>) {
        self.lusers_then(ctx, |_, _| {});
    }

    /// Sends `251`-`266`, then runs `then`.
    pub(super) fn lusers_then<F>(&mut self, ctx: &mut Context<Self>, then: F)
    where
        F: FnOnce(&mut Self, &mut Context<Self>) + 'static,
    {
        let core = std::sync::Arc::clone(&self.state.core);
        let ask = async move { core.counts().await };
        ctx.wait(ask.into_actor(self).map(move |res, act, ctx| {
            if let Ok(counts) = res {
                let connections = act.state.connections.open();
                act.numeric(Numeric::LuserClient {
                    users: counts.users - counts.invisible,
                    invisible: counts.invisible,
                });
                if counts.opers > 0 {
                    act.numeric(Numeric::LuserOp(counts.opers));
                }
                let unknown = connections.saturating_sub(counts.here);
                if unknown > 0 {
                    act.numeric(Numeric::LuserUnknown(unknown));
                }
                act.numeric(Numeric::LuserChannels(counts.rooms));
                act.numeric(Numeric::LuserMe(counts.here));
                act.numeric(Numeric::LocalUsers(counts.here));
                act.numeric(Numeric::GlobalUsers(counts.users));
            }
            then(act, ctx);
        }));
    }

    /// Looks `nicks` up in the directory (and, in cluster mode, those it
    /// lacks in Redis: users of other nodes, one round trip) and hands
    /// what it found, in the order asked, to `then`.
    fn describe<F>(&mut self, nicks: Vec<Folded>, ctx: &mut Context<Self>, then: F)
    where
        F: FnOnce(&mut Self, Vec<UserCard>, &mut Context<Self>) + 'static,
    {
        if self.state.core.cluster.is_none() {
            let ask = self.state.core.directory.send(Describe { nicks });
            return ctx.wait(ask.into_actor(self).map(move |res, act, ctx| {
                let found = res.unwrap_or_default().into_iter().map(card_of).collect();
                then(act, found, ctx)
            }));
        }
        let directory = self.state.core.directory.clone();
        let core = Arc::clone(&self.state.core);
        let work = async move {
            let asked = Describe {
                nicks: nicks.clone(),
            };
            let found = directory.send(asked).await.unwrap_or_default();
            let mut known: std::collections::HashMap<Folded, UserCard> = found
                .into_iter()
                .map(|u| (u.nick.folded().clone(), card_of(u)))
                .collect();
            let missing: Vec<Nick> = nicks
                .iter()
                .filter(|k| !known.contains_key(*k))
                .filter_map(|k| Nick::parse(k.as_str(), STORED_NAME_LIMIT).ok())
                .collect();
            if !missing.is_empty() {
                // Redis not answering: the users of this node only.
                let elsewhere = core
                    .find_all_elsewhere(missing.clone())
                    .await
                    .unwrap_or_default();
                for (nick, user) in missing.iter().zip(elsewhere) {
                    if let Some(user) = user {
                        known.insert(nick.folded().clone(), user.card);
                    }
                }
            }
            nicks
                .iter()
                .filter_map(|k| known.get(k).cloned())
                .collect::<Vec<_>>()
        };
        ctx.wait(
            work.into_actor(self)
                .map(move |found, act, ctx| then(act, found, ctx)),
        );
    }

    pub(super) fn cmd_who(&mut self, mask: String, ctx: &mut Context<Self>) {
        if mask.starts_with('#') {
            let Ok(room) = RoomName::parse_hashed(&mask, STORED_NAME_LIMIT) else {
                return self.numeric(Numeric::EndOfWho(mask));
            };
            if self.joined(room.folded()).is_none() {
                // Anyone may list a channel's members, as NAMES natively.
                let find = self
                    .state
                    .core
                    .directory
                    .send(crate::core::directory::FindRoom {
                        name: room.folded().clone(),
                    });
                return ctx.wait(find.into_actor(self).map(move |res, act, ctx| match res {
                    Ok(Some(addr)) => act.who_channel(mask, addr, ctx),
                    _ => act.numeric(Numeric::EndOfWho(mask)),
                }));
            }
            let addr = self.joined(room.folded()).cloned();
            if let Some(addr) = addr {
                self.who_channel(mask, addr, ctx);
            }
            return;
        }
        let pattern = Wildcard::new(if mask == "0" { "*" } else { &mask });
        if pattern.is_wild() {
            return self.who_mask(mask, pattern, ctx);
        }
        let Ok(nick) = Nick::parse(&mask, STORED_NAME_LIMIT) else {
            return self.numeric(Numeric::EndOfWho(mask));
        };
        self.describe(vec![nick.folded().clone()], ctx, move |act, found, _| {
            act.send_who(found.into_iter().map(|user| (None, user, false)), mask);
        });
    }

    /// `WHO` with wildcards: every user matching by nickname, user name,
    /// host or real name (a bounded number), except those with user mode
    /// `+i` who share no channel with the asker.
    fn who_mask(&mut self, mask: String, pattern: Wildcard, ctx: &mut Context<Self>) {
        let me = self.nick.as_ref().map(|n| n.folded().clone());
        let mine = self.rooms.clone();
        let directory = self.state.core.directory.clone();
        let work = async move {
            let found = directory.send(Search { pattern }).await.unwrap_or_default();
            let hidden = |u: &UserInfo| u.profile.invisible && Some(u.nick.folded()) != me.as_ref();
            if !found.iter().any(hidden) {
                return found;
            }
            let mut seen = std::collections::HashSet::new();
            for addr in mine {
                if let Ok(names) = addr.send(room::GetNames).await {
                    seen.extend(names.nicks.into_iter().map(|n| n.folded().clone()));
                }
            }
            found
                .into_iter()
                .filter(|u| !hidden(u) || seen.contains(u.nick.folded()))
                .collect()
        };
        ctx.wait(work.into_actor(self).map(move |found, act, _| {
            act.send_who(
                found.into_iter().map(|user| (None, card_of(user), false)),
                mask,
            );
        }));
    }

    fn who_channel(&mut self, mask: String, addr: RoomHandle, ctx: &mut Context<Self>) {
        let ask = addr.send(room::GetNames);
        ctx.wait(ask.into_actor(self).map(move |res, act, ctx| {
            let Ok(names) = res else {
                return act.numeric(Numeric::EndOfWho(mask));
            };
            // A secret channel's members are shown to its members only.
            if names.secret && act.joined(names.name.folded()).is_none() {
                return act.numeric(Numeric::EndOfWho(mask));
            }
            let ops = names.ops.clone();
            let nicks = names.nicks.iter().map(|n| n.folded().clone()).collect();
            act.describe(nicks, ctx, move |act, found, _| {
                let rows = found.into_iter().map(|user| {
                    let op = ops.contains(user.nick.folded());
                    (Some(names.name.clone()), user, op)
                });
                act.send_who(rows, mask);
            });
        }));
    }

    /// Queues a `352` per `(channel, user, owner)` row, then `315`, as one
    /// answer (a big channel's is paced by the queue).
    fn send_who(
        &self,
        rows: impl IntoIterator<Item = (Option<RoomName>, UserCard, bool)>,
        mask: String,
    ) {
        let mut answer = BytesMut::new();
        for (channel, user, owner) in rows {
            let who = Numeric::WhoReply {
                channel,
                nick: user.nick,
                userhost: user.userhost,
                away: user.away.is_some(),
                owner,
                oper: user.oper,
                realname: user.realname.to_string(),
            };
            self.put_numeric(&mut answer, who);
        }
        self.put_numeric(&mut answer, Numeric::EndOfWho(mask));
        self.reply(answer.freeze());
    }

    pub(super) fn cmd_whois(&mut self, target: String, ctx: &mut Context<Self>) {
        let Ok(nick) = Nick::parse(&target, STORED_NAME_LIMIT) else {
            self.numeric(Numeric::NoSuchNick(target.clone()));
            return self.numeric(Numeric::EndOfWhois(target));
        };
        // Channels are listed as far as the asker shares them: a room
        // knows its members, nothing knows a user's rooms.
        let mine = self.rooms.clone();
        self.describe(
            vec![nick.folded().clone()],
            ctx,
            move |act, mut found, ctx| match found.pop() {
                Some(user) => act.whois_of(user, mine, ctx),
                None => {
                    act.numeric(Numeric::NoSuchNick(target.clone()));
                    act.numeric(Numeric::EndOfWhois(target));
                }
            },
        );
    }

    /// WHOIS's answer about `user` (of this node or another), listing
    /// the channels of `mine` it is in.
    fn whois_of(&mut self, user: UserCard, mine: Vec<RoomHandle>, ctx: &mut Context<Self>) {
        let folded = user.nick.folded().clone();
        let shared = async move {
            let mut chans = Vec::new();
            for addr in mine {
                if let Ok(names) = addr.send(room::GetNames).await {
                    if names.nicks.iter().any(|n| *n.folded() == folded) {
                        let op = names.ops.contains(&folded);
                        chans.push((names.name, op));
                    }
                }
            }
            chans
        };
        ctx.wait(shared.into_actor(self).map(move |chans, act, _| {
            act.numeric(Numeric::WhoisUser {
                nick: user.nick.clone(),
                userhost: user.userhost.clone(),
                realname: user.realname.to_string(),
            });
            if !chans.is_empty() {
                act.numeric(Numeric::WhoisChannels(user.nick.clone(), chans));
            }
            act.numeric(Numeric::WhoisServer(user.nick.clone()));
            if user.oper {
                act.numeric(Numeric::WhoisOperator(user.nick.clone()));
            }
            if let Some(account) = &user.account {
                act.numeric(Numeric::WhoisAccount(user.nick.clone(), account.clone()));
            }
            if let Some(away) = &user.away {
                act.numeric(Numeric::Away(user.nick.clone(), away.to_string()));
            }
            act.numeric(Numeric::EndOfWhois(user.nick.as_str().to_string()));
        }));
    }

    pub(super) fn cmd_whowas(
        &mut self,
        target: String,
        count: Option<usize>,
        ctx: &mut Context<Self>,
    ) {
        let Ok(nick) = Nick::parse(&target, STORED_NAME_LIMIT) else {
            self.numeric(Numeric::WasNoSuchNick(target.clone()));
            return self.numeric(Numeric::EndOfWhowas(target));
        };
        let ask = self.state.core.directory.send(Whowas {
            nick: nick.folded().clone(),
            count,
        });
        ctx.wait(ask.into_actor(self).map(move |res, act, _| {
            let found = res.unwrap_or_default();
            if found.is_empty() {
                act.numeric(Numeric::WasNoSuchNick(target.clone()));
            }
            for user in found {
                act.numeric(Numeric::WhowasUser {
                    nick: user.nick.clone(),
                    userhost: user.profile.userhost,
                    realname: user.profile.realname.to_string(),
                });
                act.numeric(Numeric::WhoisServer(user.nick));
            }
            act.numeric(Numeric::EndOfWhowas(target));
        }));
    }

    /// The valid nicknames among `nicks`, folded.
    fn folded(nicks: &[String]) -> Vec<Folded> {
        nicks
            .iter()
            .filter_map(|n| Nick::parse(n, STORED_NAME_LIMIT).ok())
            .map(|n| n.folded().clone())
            .collect()
    }

    pub(super) fn cmd_ison(&mut self, nicks: Vec<String>, ctx: &mut Context<Self>) {
        self.describe(Self::folded(&nicks), ctx, |act, found, _| {
            act.numeric(Numeric::Ison(found.into_iter().map(|u| u.nick).collect()));
        });
    }

    pub(super) fn cmd_userhost(&mut self, nicks: Vec<String>, ctx: &mut Context<Self>) {
        self.describe(Self::folded(&nicks), ctx, |act, found, _| {
            act.numeric(Numeric::Userhost(
                found
                    .into_iter()
                    .map(|u| (u.nick, u.away.is_some(), u.userhost))
                    .collect(),
            ));
        });
    }

    /// `351`, then the `005` lines again.
    pub(super) fn cmd_version(&mut self) {
        self.numeric(Numeric::Version);
        self.send_isupport();
    }

    /// Tells the directory what this client looks like now.
    pub(super) fn profile_changed(&self) {
        if let Some(nick) = &self.nick {
            self.state.core.directory.do_send(UpdateProfile {
                id: self.id,
                nick: nick.folded().clone(),
                profile: self.profile(),
            });
        }
    }

    pub(super) fn cmd_away(&mut self, text: Option<String>, ctx: &mut Context<Self>) {
        self.away = text;
        self.profile_changed();
        self.numeric(if self.away.is_some() {
            Numeric::NowAway
        } else {
            Numeric::UnAway
        });
        self.notify_away(ctx);
    }
}

/// What WHO, WHOIS and USERHOST show of a user of this node: the same
/// card as a user of another node's.
fn card_of(user: UserInfo) -> UserCard {
    UserCard {
        node: String::new(),
        nick: user.nick,
        userhost: user.profile.userhost,
        realname: user.profile.realname,
        account: user.account,
        away: user.profile.away,
        oper: user.oper,
    }
}
