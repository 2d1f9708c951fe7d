//! Server operators' commands: OPER, KILL, KLINE, UNKLINE, WALLOPS and
//! CLOSE, and what operators order a session ([`ServerOrder`]). What each
//! command does is [`actions`]'s, for every front end; here it is checked
//! and answered.

use super::*;
use crate::core::directory::SetOper;
use crate::core::opers::actions::{self, Operator};
use crate::core::opers::mask::BanMask;
use crate::core::opers::{oper_backoff, OperName, Password, ServerOrder};
use crate::proto::native::parser::KlineArgs;

impl Session {
    /// The session as an operator, or `NO_PRIVILEGES` answered to `verb`.
    fn operator(&self, verb: Verb) -> Option<Operator> {
        match (&self.oper, &self.nick) {
            (Some(name), Some(nick)) => Some(Operator {
                name: OperName::clone(name),
                nick: nick.clone(),
                userhost: UserHost::native(),
                peer: self.ip,
            }),
            _ => {
                self.error(
                    verb,
                    ErrorCode::NoPrivileges,
                    "only server operators may do that (OPER <name> <password>)",
                );
                None
            }
        }
    }

    pub(super) fn cmd_oper(&mut self, name: String, password: Password, ctx: &mut Context<Self>) {
        let Some(nick) = self.nick.clone() else {
            return;
        };
        let core = Arc::clone(&self.state.core);
        let (id, peer) = (self.id, self.ip);
        let check =
            async move { actions::authenticate(&core, id, &nick, name, password, peer).await };
        ctx.wait(check.into_actor(self).map(|granted, act, ctx| {
            let Some(name) = granted else {
                act.oper_failures = act.oper_failures.saturating_add(1);
                let wait = oper_backoff(act.oper_failures);
                ctx.wait(tokio::time::sleep(wait).into_actor(act).map(|(), act, _| {
                    act.error(
                        Verb::Oper,
                        ErrorCode::BadLogin,
                        "wrong operator name or password",
                    );
                }));
                return;
            };
            act.oper_failures = 0;
            act.state.core.directory.do_send(SetOper {
                id: act.id,
                on: true,
            });
            act.oper = Some(Box::new(name));
            act.send(OkReply::Oper);
        }));
    }

    pub(super) fn cmd_kill(&mut self, nick: Nick, reason: Option<String>, ctx: &mut Context<Self>) {
        let Some(op) = self.operator(Verb::Kill) else {
            return;
        };
        let core = Arc::clone(&self.state.core);
        let target = nick.clone();
        let work = async move { actions::kill(&core, &op, &target, reason).await };
        ctx.wait(work.into_actor(self).map(move |res, act, _| match res {
            Ok(killed) => act.send(OkReply::Kill(killed)),
            Err(ErrorCode::NoSuchNick) => act.error(
                Verb::Kill,
                ErrorCode::NoSuchNick,
                format!("no such nick: {nick}"),
            ),
            Err(code) => act.error(Verb::Kill, code, "could not kill"),
        }));
    }

    pub(super) fn cmd_kline(&mut self, ban: Option<KlineArgs>, ctx: &mut Context<Self>) {
        let Some(op) = self.operator(Verb::Kline) else {
            return;
        };
        let Some(args) = ban else {
            let bans = self.state.core.bans.list();
            for b in &bans {
                self.send(Reply::Kline {
                    mask: b.mask.to_string(),
                    expires: b.expires.map(rfc3339),
                    set_by: b.set_by.clone(),
                    reason: b.reason.clone(),
                });
            }
            return self.send(OkReply::Klines(bans.len()));
        };
        let core = Arc::clone(&self.state.core);
        let work =
            async move { actions::kline(&core, &op, args.mask, args.duration, args.reason).await };
        ctx.wait(
            work.into_actor(self)
                .map(|ban, act, _| act.send(OkReply::Kline(ban.mask.to_string()))),
        );
    }

    pub(super) fn cmd_unkline(&mut self, mask: BanMask) {
        let Some(op) = self.operator(Verb::Unkline) else {
            return;
        };
        match actions::unkline(&self.state.core, &op, &mask) {
            Ok(()) => self.send(OkReply::Unkline(mask.to_string())),
            Err(code) => self.error(Verb::Unkline, code, format!("no server ban on {mask}")),
        }
    }

    pub(super) fn cmd_wallops(&mut self, text: String, ctx: &mut Context<Self>) {
        let Some(op) = self.operator(Verb::Wallops) else {
            return;
        };
        let core = Arc::clone(&self.state.core);
        let work = async move { actions::wallops(&core, &op, text).await };
        ctx.wait(
            work.into_actor(self)
                .map(|_, act, _| act.send(OkReply::Wallops)),
        );
    }

    pub(super) fn cmd_close(
        &mut self,
        room: RoomName,
        reason: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let Some(op) = self.operator(Verb::Close) else {
            return;
        };
        let core = Arc::clone(&self.state.core);
        let asked = room.clone();
        let work = async move { actions::close(&core, &op, &asked, reason).await };
        ctx.wait(work.into_actor(self).map(move |res, act, _| match res {
            Ok(name) => act.send(OkReply::Close(name)),
            Err(code) => act.error(Verb::Close, code, format!("no such room: {room}")),
        }));
    }
}

impl Session {
    /// The ban keeping this connection out, if one does: `ERR * SERVER_BANNED`,
    /// then the session ends. Operators are not disconnected by a ban (one
    /// of them set it). Whether it was.
    pub(super) fn check_bans(&mut self, ctx: &mut Context<Self>) -> bool {
        if self.oper.is_some() {
            return false;
        }
        let user = UserHost::native();
        let Some(ban) = self.state.core.bans.find(Some(user.user()), self.ip) else {
            return false;
        };
        info!(parent: &self.span, mask = %ban.mask, "disconnected: server ban");
        self.error(VerbTag::Star, ErrorCode::ServerBanned, ban.reason.clone());
        self.close(Disconnect::Banned(ban.reason), ctx);
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
                self.send(Reply::Killed {
                    by: by.clone(),
                    reason: reason.clone(),
                });
                self.close(Disconnect::Killed { by, reason }, ctx);
            }
            ServerOrder::CheckBans => {
                self.check_bans(ctx);
            }
            ServerOrder::Wallops { from, text, .. } => self.send(Reply::Notice { from, text }),
            ServerOrder::ClusterLink { reachable } => self.send(Reply::ClusterLink { reachable }),
            ServerOrder::NickCollision { nick } => {
                info!(parent: &self.span, %nick, "nickname taken by another node during a cut from Redis");
                self.send(Reply::NickCollision { nick });
                self.close(Disconnect::NickCollision, ctx);
            }
        }
    }
}
