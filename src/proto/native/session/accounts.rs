//! REGISTER, LOGIN, LOGOUT and PASSWD, and the nickname an account
//! reserves: a user on another account's nickname is told so and renamed
//! after `accounts.nick_grace_secs`, unless it logs in to that account.
//!
//! The session keeps which account it is logged in to ([`Login`]); rooms
//! are told ([`room::SetAccount`]) so that ownership, operators by account
//! and `$a:` bans follow the login, not the nickname.

use super::*;
use crate::config::MAX_PASSWORD_BYTES;
use crate::core::accounts::{self, AccountName, LoggedIn, Policy};
use crate::core::directory::{AccountAdded, SetLogin};
use crate::core::gate::Guesser;
use crate::proto::native::parser::Secret;

/// What a session knows of accounts; boxed in the session and made at its
/// first account command or reserved nickname (most connections have
/// neither).
#[derive(Default)]
pub(super) struct Login {
    /// The account logged in to.
    account: Option<LoggedIn>,
    /// The rename due when the grace on a reserved nickname is over.
    grace: Option<SpawnHandle>,
}

/// Users logged in, across every front end (a gauge).
const LOGGED_IN: &str = "chatroom_logged_in_users";

/// WEAK_PASSWORD's text: the rule `password` broke, too short or too long.
fn weak_password_text(password: &str, min_len: usize) -> String {
    if password.len() > MAX_PASSWORD_BYTES {
        format!("passwords may have at most {MAX_PASSWORD_BYTES} bytes")
    } else {
        format!("passwords need at least {min_len} characters")
    }
}

impl Session {
    /// The account this connection is logged in to.
    pub(super) fn account(&self) -> Option<&AccountName> {
        Some(self.login.as_ref()?.account.as_ref()?.name())
    }

    /// The account's name as its messages carry it (IRC `account-tag`): a
    /// shared copy of the name, nothing looked up; `None`, without
    /// allocating, when not logged in.
    pub(super) fn sender_account(&self) -> Option<Arc<str>> {
        Some(self.login.as_ref()?.account.as_ref()?.tag())
    }

    fn login_mut(&mut self) -> &mut Login {
        self.login.get_or_insert_with(Box::default)
    }

    /// The rules of `[accounts]`, as configured now.
    pub(super) fn policy(&self) -> Policy {
        Policy::of(&self.state.core)
    }

    /// This connection, as the password gate backs off its guesses.
    fn guesser(&self) -> Guesser {
        Guesser {
            conn: self.id,
            addr: self.ip,
        }
    }

    /// The password gate holds this connection (or the account, or its
    /// address) back after wrong passwords, or is too busy.
    fn held_back(&self, verb: Verb) {
        self.error(
            verb,
            ErrorCode::TryLater,
            "too many wrong passwords lately, or too many checks: try again later",
        );
    }

    /// Accounts are in Redis (cluster mode) and it cannot be reached.
    fn cluster_away(&self, verb: Verb) {
        self.error(
            verb,
            ErrorCode::ClusterUnavailable,
            "the cluster cannot be reached: try again later",
        );
    }

    /// A password was wrong (the gate backs off the next attempts).
    fn password_failed(&mut self, verb: Verb) {
        metrics::counter!("chatroom_logins_total", "result" => "bad").increment(1);
        info!(parent: &self.span, verb = verb.as_str(), "wrong password");
        self.error(
            verb,
            ErrorCode::BadLogin,
            "unknown account or wrong password",
        );
    }

    /// Logs in to `account` (or out, with `None`), telling the rooms.
    fn set_account(&mut self, account: Option<AccountName>) {
        let was = self.account().is_some();
        match (&account, was) {
            (Some(_), false) => metrics::gauge!(LOGGED_IN).increment(1.0),
            (None, true) => metrics::gauge!(LOGGED_IN).decrement(1.0),
            _ => {}
        }
        if let (Some(who), Some(nick)) = (self.member_key(), self.nick.clone()) {
            let rooms: Vec<RoomHandle> = self.rooms.iter().map(|j| j.addr.clone()).collect();
            let userhost = UserHost::native();
            actix::spawn(room::announce_login(
                &rooms,
                who,
                nick,
                userhost,
                account.clone(),
            ));
        }
        self.state.core.directory.do_send(SetLogin {
            id: self.id,
            account: account.clone(),
        });
        self.login_mut().account = account.map(LoggedIn::new);
    }

    /// The session ends: it is no longer a logged-in user.
    pub(super) fn forget_login(&mut self) {
        if self.account().is_some() {
            metrics::gauge!(LOGGED_IN).decrement(1.0);
            self.state.core.directory.do_send(SetLogin {
                id: self.id,
                account: None,
            });
        }
    }

    pub(super) fn cmd_register(
        &mut self,
        account: Option<AccountName>,
        password: Secret,
        ctx: &mut Context<Self>,
    ) {
        if let Err(code) = self.policy().may_register(&password.0) {
            let text = match code {
                ErrorCode::WeakPassword => weak_password_text(
                    &password.0,
                    self.state.core.config().accounts.min_password_len,
                ),
                ErrorCode::RegistrationClosed => "registration is closed".into(),
                _ => "accounts are disabled on this server".into(),
            };
            return self.error(Verb::Register, code, text);
        }
        if self.account().is_some() {
            return self.error(
                Verb::Register,
                ErrorCode::AlreadyLoggedIn,
                "you are logged in already: LOGOUT first",
            );
        }
        let Some(name) = account.or_else(|| self.nick.clone()) else {
            return self.error(
                Verb::Register,
                ErrorCode::NoNick,
                "name the account (REGISTER <account> <password>) or set a nickname first",
            );
        };
        let core = Arc::clone(&self.state.core);
        let directory = self.state.core.directory.clone();
        let me = self.id;
        let wanted = name.clone();
        let work = async move {
            // Another user's nickname is theirs while they hold it.
            let holder = directory
                .send(FindNick {
                    nick: wanted.folded().clone(),
                })
                .await
                .map_err(|_| ErrorCode::Internal)?;
            if holder.is_some_and(|(_, inbox)| inbox.id != me) {
                return Err(ErrorCode::NickInUse);
            }
            accounts::register(core, wanted.clone(), password.0).await?;
            directory.do_send(AccountAdded { name: wanted });
            Ok(())
        };
        ctx.wait(work.into_actor(self).map(move |res, act, ctx| match res {
            Ok(()) => {
                info!(parent: &act.span, account = %name, "account registered");
                metrics::counter!("chatroom_accounts_registered_total").increment(1);
                act.set_account(Some(name.clone()));
                act.send(OkReply::Register(name));
                // Registered under another name than the nickname held.
                act.check_reservation(ctx);
            }
            Err(ErrorCode::AccountExists) => act.error(
                Verb::Register,
                ErrorCode::AccountExists,
                format!("the account {name} exists"),
            ),
            Err(ErrorCode::NickInUse) => act.error(
                Verb::Register,
                ErrorCode::NickInUse,
                format!("{name} is another user's nickname"),
            ),
            Err(ErrorCode::ClusterUnavailable) => act.cluster_away(Verb::Register),
            Err(code) => act.error(Verb::Register, code, "could not make the account"),
        }));
    }

    pub(super) fn cmd_login(
        &mut self,
        account: AccountName,
        password: Secret,
        ctx: &mut Context<Self>,
    ) {
        if let Err(code) = self.policy().enabled() {
            return self.error(Verb::Login, code, "accounts are disabled on this server");
        }
        if self.account().is_some() {
            return self.error(
                Verb::Login,
                ErrorCode::AlreadyLoggedIn,
                "you are logged in already: LOGOUT first",
            );
        }
        let core = Arc::clone(&self.state.core);
        let work = accounts::login(core, self.guesser(), account, password.0);
        ctx.wait(work.into_actor(self).map(move |res, act, ctx| match res {
            Ok(account) => {
                info!(parent: &act.span, %account, "logged in");
                metrics::counter!("chatroom_logins_total", "result" => "ok").increment(1);
                act.set_account(Some(account.clone()));
                act.send(OkReply::Login(account));
                act.check_reservation(ctx);
            }
            Err(ErrorCode::BadLogin) => act.password_failed(Verb::Login),
            Err(ErrorCode::TryLater) => act.held_back(Verb::Login),
            Err(ErrorCode::ClusterUnavailable) => act.cluster_away(Verb::Login),
            Err(code) => act.error(Verb::Login, code, "could not log in"),
        }));
    }

    pub(super) fn cmd_logout(&mut self, ctx: &mut Context<Self>) {
        let Some(account) = self.account().cloned() else {
            return self.error(
                Verb::Logout,
                ErrorCode::NotLoggedIn,
                "you are not logged in",
            );
        };
        info!(parent: &self.span, %account, "logged out");
        self.set_account(None);
        self.send(OkReply::Logout);
        self.check_reservation(ctx);
    }

    pub(super) fn cmd_passwd(&mut self, old: Secret, new: Secret, ctx: &mut Context<Self>) {
        let Some(account) = self.account().cloned() else {
            return self.error(Verb::Passwd, ErrorCode::NotLoggedIn, "LOGIN first");
        };
        if self.policy().strong_enough(&new.0).is_err() {
            let min = self.state.core.config().accounts.min_password_len;
            return self.error(
                Verb::Passwd,
                ErrorCode::WeakPassword,
                weak_password_text(&new.0, min),
            );
        }
        let core = Arc::clone(&self.state.core);
        let work = accounts::change_password(core, self.guesser(), account, old.0, new.0);
        ctx.wait(work.into_actor(self).map(move |res, act, _| match res {
            Ok(()) => {
                info!(parent: &act.span, "password changed");
                act.send(OkReply::Passwd);
            }
            Err(ErrorCode::BadLogin) => act.password_failed(Verb::Passwd),
            Err(ErrorCode::TryLater) => act.held_back(Verb::Passwd),
            Err(ErrorCode::ClusterUnavailable) => act.cluster_away(Verb::Passwd),
            Err(code) => act.error(Verb::Passwd, code, "could not change the password"),
        }));
    }

    /// After a change of nickname or login: if the nickname is another
    /// account's, says so and schedules the rename for when the grace is
    /// over; otherwise calls off a rename scheduled before.
    pub(super) fn check_reservation(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.login.as_mut().and_then(|l| l.grace.take()) {
            ctx.cancel_future(handle);
        }
        let Some(nick) = self.nick.clone() else {
            return;
        };
        let Some(grace) = accounts::reservation(&self.state.core, &nick, self.account()) else {
            return;
        };
        info!(parent: &self.span, %nick, "on a reserved nickname");
        self.send(Reply::Reserved {
            nick: nick.clone(),
            grace_secs: grace.as_secs(),
        });
        let handle = ctx.run_later(grace, move |act, ctx| act.grace_over(&nick, ctx));
        self.login_mut().grace = Some(handle);
    }

    /// The grace on `nick` is over: rename the user unless it left the
    /// nickname or logged in to its account meanwhile.
    fn grace_over(&mut self, nick: &Nick, ctx: &mut Context<Self>) {
        if let Some(login) = self.login.as_mut() {
            login.grace = None;
        }
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
            Some(guest) => self.in_order(0, ctx, move |act, ctx| {
                act.change_nick(guest, NickChange::Forced, ctx)
            }),
            None => self.close(Disconnect::NickReserved, ctx),
        }
    }
}
