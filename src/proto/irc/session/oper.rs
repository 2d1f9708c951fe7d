//! Server operators' commands on IRC: OPER (`381` and user mode `+o`),
//! KILL, KLINE/UNKLINE (InspIRCd's and Ergo's spelling; the answers are
//! server NOTICEs), WALLOPS (to users with `+w` and operators) and CLOSE
//! (a chatroom extension), and what operators order a session. What each
//! command does is [`actions`]'s, shared with the native front end.

use super::*;
use crate::core::directory::SetOper;
use crate::core::names::STORED_NAME_LIMIT;
use crate::core::opers::actions::{self, Operator};
use crate::core::opers::mask::BanMask;
use crate::core::opers::{oper_backoff, OperName, Password, ServerOrder};
use crate::core::ErrorCode;
use crate::proto::irc::command::{ChannelArg, KlineRequest};
use crate::proto::irc::render::OperNotice;

/// RFC 3339 in UTC, to the second.
fn rfc3339(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

impl Session {
    /// The session as an operator, or `481` answered.
    fn operator(&self) -> Option<Operator> {
        match (&self.oper, &self.nick) {
            (Some(name), Some(nick)) => Some(Operator {
                name: OperName::clone(name),
                nick: nick.clone(),
                userhost: self.userhost.clone(),
                peer: self.peer,
            }),
            _ => {
                self.numeric(Numeric::NoPrivileges);
                None
            }
        }
    }

    /// The user modes, as `221` shows them.
    pub(super) fn user_modes(&self) -> String {
        let mut modes = String::from("+");
        for (on, letter) in [
            (self.invisible, 'i'),
            (self.oper.is_some(), 'o'),
            (self.wallops, 'w'),
        ] {
            if on {
                modes.push(letter);
            }
        }
        modes
    }

    pub(super) fn cmd_oper(&mut self, name: String, password: Password, ctx: &mut Context<Self>) {
        let Some(nick) = self.nick.clone() else {
            return;
        };
        let core = Arc::clone(&self.state.core);
        let (id, peer) = (self.id, self.peer);
        let check =
            async move { actions::authenticate(&core, id, &nick, name, password, peer).await };
        ctx.wait(check.into_actor(self).map(|granted, act, ctx| {
            let Some(name) = granted else {
                act.oper_failures = act.oper_failures.saturating_add(1);
                let wait = oper_backoff(act.oper_failures);
                ctx.wait(
                    tokio::time::sleep(wait)
                        .into_actor(act)
                        .map(|(), act, _| act.numeric(Numeric::PasswdMismatch)),
                );
                return;
            };
            act.oper_failures = 0;
            act.state.core.directory.do_send(SetOper {
                id: act.id,
                on: true,
            });
            let was = act.oper.replace(Box::new(name)).is_some();
            act.numeric(Numeric::YoureOper);
            if !was {
                act.line(ServerLine::UserModeChanged("+o".into()));
            }
        }));
    }

    pub(super) fn cmd_kill(
        &mut self,
        nick: String,
        reason: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let Some(op) = self.operator() else {
            return;
        };
        let Ok(target) = Nick::parse(&nick, STORED_NAME_LIMIT) else {
            return self.numeric(Numeric::NoSuchNick(nick));
        };
        let core = Arc::clone(&self.state.core);
        let work = async move { actions::kill(&core, &op, &target, reason).await };
        ctx.wait(work.into_actor(self).map(move |res, act, _| match res {
            Ok(killed) => act.line(ServerLine::OperNotice(OperNotice::Killed(killed))),
            Err(_) => act.numeric(Numeric::NoSuchNick(nick)),
        }));
    }

    pub(super) fn cmd_kline(&mut self, req: Option<KlineRequest>, ctx: &mut Context<Self>) {
        let Some(op) = self.operator() else {
            return;
        };
        let Some(req) = req else {
            let bans = self.state.core.bans.list();
            for b in &bans {
                self.line(ServerLine::OperNotice(OperNotice::Kline {
                    mask: b.mask.to_string(),
                    expires: b.expires.map(rfc3339),
                    set_by: b.set_by.clone(),
                    reason: b.reason.clone(),
                }));
            }
            return self.line(ServerLine::OperNotice(OperNotice::EndOfKlines(bans.len())));
        };
        let Ok(mask) = BanMask::parse(&req.mask) else {
            return self.line(ServerLine::OperNotice(OperNotice::BadMask(req.mask)));
        };
        let core = Arc::clone(&self.state.core);
        let work = async move { actions::kline(&core, &op, mask, req.duration, req.reason).await };
        ctx.wait(work.into_actor(self).map(|ban, act, _| {
            act.line(ServerLine::OperNotice(OperNotice::KlineAdded {
                mask: ban.mask.to_string(),
                expires: ban.expires.map(rfc3339),
            }));
        }));
    }

    pub(super) fn cmd_unkline(&mut self, mask: String) {
        let Some(op) = self.operator() else {
            return;
        };
        let Ok(parsed) = BanMask::parse(&mask) else {
            return self.line(ServerLine::OperNotice(OperNotice::BadMask(mask)));
        };
        let notice = match actions::unkline(&self.state.core, &op, &parsed) {
            Ok(()) => OperNotice::KlineRemoved(parsed.to_string()),
            Err(_) => OperNotice::NoSuchKline(parsed.to_string()),
        };
        self.line(ServerLine::OperNotice(notice));
    }

    pub(super) fn cmd_wallops(&mut self, text: String, ctx: &mut Context<Self>) {
        let Some(op) = self.operator() else {
            return;
        };
        let core = Arc::clone(&self.state.core);
        let work = async move { actions::wallops(&core, &op, text).await };
        ctx.wait(work.into_actor(self).map(|_, _, _| ()));
    }

    pub(super) fn cmd_close(
        &mut self,
        channel: ChannelArg,
        reason: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let Some(op) = self.operator() else {
            return;
        };
        let room = match channel {
            Ok(room) => room,
            Err(raw) => return self.numeric(Numeric::NoSuchChannel(raw)),
        };
        let core = Arc::clone(&self.state.core);
        let asked = room.clone();
        let work = async move { actions::close(&core, &op, &asked, reason).await };
        ctx.wait(work.into_actor(self).map(move |res, act, _| match res {
            Ok(name) => act.line(ServerLine::OperNotice(OperNotice::Closed(name))),
            Err(ErrorCode::NoSuchRoom) | Err(_) => {
                act.numeric(Numeric::NoSuchChannel(room.as_str().to_string()))
            }
        }));
    }

    /// The ban keeping this connection out, if one does: `465`, then the
    /// session ends. Operators are not disconnected by a ban (one of them
    /// set it). Whether it was.
    pub(super) fn check_bans(&mut self, ctx: &mut Context<Self>) -> bool {
        if self.oper.is_some() {
            return false;
        }
        let user = self.userhost.user().to_string();
        let Some(ban) = self.state.core.bans.find(Some(&user), self.peer) else {
            return false;
        };
        info!(parent: &self.span, mask = %ban.mask, "disconnected: server ban");
        self.numeric(Numeric::YoureBannedCreep(ban.reason.clone()));
        self.close(Ending::Banned(ban.reason), ctx);
        true
    }
}

impl Handler<ServerOrder> for Session {
    type Result = ();

    fn handle(&mut self, order: ServerOrder, ctx: &mut Self::Context) {
        if self.closing() {
            return;
        }
        match order {
            ServerOrder::Kill { by, reason } => {
                info!(parent: &self.span, %by, %reason, "killed by an operator");
                self.close(Ending::Killed { by, reason }, ctx);
            }
            ServerOrder::CheckBans => {
                self.check_bans(ctx);
            }
            ServerOrder::NickCollision { nick } => {
                info!(parent: &self.span, %nick, "nickname taken by another node during a cut from Redis");
                self.close(Ending::NickCollision(nick), ctx);
            }
            ServerOrder::ClusterLink { reachable } => {
                if self.registered() {
                    self.line(ServerLine::ClusterLink { reachable });
                }
            }
            ServerOrder::Wallops {
                from,
                userhost,
                text,
            } => {
                if self.registered() && (self.wallops || self.oper.is_some()) {
                    self.line(ServerLine::Wallops {
                        from,
                        userhost,
                        text,
                    });
                }
            }
        }
    }
}
