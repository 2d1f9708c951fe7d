//! The nickname an account reserves, on IRC: a client on another
//! account's nickname gets a `NOTICE` and is renamed to `Guest<digits>`
//! after `accounts.nick_grace_secs`, unless it logs in to that account
//! (SASL) or changes its nickname first. The rules are the native ones
//! (docs/PROTOCOL.md, "Reserved nicknames").

use super::*;
use crate::core::accounts;

impl Session {
    /// After registration, a change of nickname or a login: if the
    /// nickname is another account's, warns and schedules the rename;
    /// otherwise calls off a rename scheduled before.
    pub(super) fn check_reservation(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.take_grace() {
            ctx.cancel_future(handle);
        }
        let Some(nick) = self.nick.clone() else {
            return;
        };
        if self.registration.is_some() {
            return;
        }
        let Some(grace) = accounts::reservation(&self.state.core, &nick, self.account()) else {
            return;
        };
        info!(parent: &self.span, %nick, "on a reserved nickname");
        self.line(ServerLine::Reserved {
            nick: nick.clone(),
            grace_secs: grace.as_secs(),
        });
        let handle = ctx.run_later(grace, move |act, ctx| act.grace_over(&nick, ctx));
        self.set_grace(handle);
    }

    /// The grace on `nick` is over: rename the client unless it left the
    /// nickname or logged in to its account meanwhile.
    fn grace_over(&mut self, nick: &Nick, ctx: &mut Context<Self>) {
        self.take_grace();
        let still = self
            .nick
            .as_ref()
            .is_some_and(|n| n.folded() == nick.folded());
        let owner = self.account().is_some_and(|a| a.folded() == nick.folded());
        if !still || owner || self.closing() {
            return;
        }
        metrics::counter!("chatroom_reserved_nick_renames_total").increment(1);
        match accounts::guest_nick(self.id, self.state.core.config().limits.max_nick_len) {
            Some(guest) => self.cmd_nick(Ok(guest), ctx),
            None => self.close(Ending::NickReserved, ctx),
        }
    }
}
