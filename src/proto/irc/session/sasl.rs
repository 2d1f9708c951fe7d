//! SASL PLAIN (IRCv3 `sasl`): `AUTHENTICATE PLAIN`, `AUTHENTICATE +`, then
//! `authzid NUL authcid NUL password` in base64, in chunks of 400 (a chunk
//! of exactly 400 means more follow; `+` ends a message that filled its
//! last chunk), checked as a native
//! `LOGIN` is (the same accounts, the same back-off after a wrong
//! password), answered `900` and `903`, or `904`.

use super::*;
use crate::core::accounts::{self, AccountName, LoggedIn, Policy};
use crate::core::directory::SetLogin;
use crate::core::gate::Guesser;
use crate::core::room;
use crate::core::ErrorCode;
use base64ct::{Base64, Encoding as _};

/// What the session knows of accounts; boxed in the session, made at the
/// first `AUTHENTICATE` (most connections never send one).
#[derive(Default)]
pub(super) struct Login {
    /// The account logged in to.
    account: Option<LoggedIn>,
    /// `AUTHENTICATE PLAIN` came and its data has not (all of it).
    plain: bool,
    /// The base64 chunks of the PLAIN message received so far.
    chunks: String,
    /// The rename due when the grace on a reserved nickname is over.
    grace: Option<SpawnHandle>,
}

/// The longest chunk of an `AUTHENTICATE`: one that long means more
/// follow (a 24-character account named twice and a 256-byte password
/// take two).
const CHUNK: usize = 400;

/// The longest PLAIN message, in base64: two names of at most 64
/// characters of 4 bytes and a password of 256 bytes fit; longer is `905`.
const MAX_PLAIN: usize = 4 * CHUNK;

/// `authzid NUL authcid NUL password`, decoded: the account and password,
/// when the authorization identity is none or the same account.
fn plain_credentials(data: &str) -> Option<(String, String)> {
    let mut buf = [0u8; MAX_PLAIN];
    let raw = Base64::decode(data, &mut buf).ok()?;
    let text = std::str::from_utf8(raw).ok()?;
    let mut parts = text.split('\0');
    let (authzid, authcid, password) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || (!authzid.is_empty() && authzid != authcid) {
        return None;
    }
    Some((authcid.to_owned(), password.to_owned()))
}

/// Users logged in, across every front end (a gauge).
const LOGGED_IN: &str = "chatroom_logged_in_users";

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

    /// Takes the pending rename off a reserved nickname, if any.
    pub(super) fn take_grace(&mut self) -> Option<SpawnHandle> {
        self.login.as_mut()?.grace.take()
    }

    /// Records the pending rename off a reserved nickname.
    pub(super) fn set_grace(&mut self, handle: SpawnHandle) {
        self.login_mut().grace = Some(handle);
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

    pub(super) fn cmd_authenticate(&mut self, arg: String, ctx: &mut Context<Self>) {
        let policy = Policy::of(&self.state.core);
        if !self.caps.sasl || policy.enabled().is_err() {
            return self.numeric(Numeric::SaslFail);
        }
        if self.account().is_some() {
            return self.numeric(Numeric::SaslAlready);
        }
        let plain = std::mem::take(&mut self.login_mut().plain);
        if arg == "*" {
            self.login_mut().chunks.clear();
            return self.numeric(Numeric::SaslAborted);
        }
        if !plain {
            if arg.eq_ignore_ascii_case("PLAIN") {
                self.login_mut().plain = true;
                return self.line(ServerLine::AuthenticateGoOn);
            }
            self.numeric(Numeric::SaslMechs);
            return self.numeric(Numeric::SaslFail);
        }
        let login = self.login_mut();
        if arg.len() > CHUNK || login.chunks.len() + arg.len() > MAX_PLAIN {
            login.chunks.clear();
            return self.numeric(Numeric::SaslTooLong);
        }
        if arg != "+" {
            login.chunks.push_str(&arg);
        }
        if arg.len() == CHUNK {
            // More follow.
            login.plain = true;
            return;
        }
        let data = std::mem::take(&mut login.chunks);
        let max = self.state.core.config().limits.max_nick_len;
        let credentials = plain_credentials(&data)
            .and_then(|(name, password)| Some((Nick::parse(&name, max).ok()?, password)));
        let Some((name, password)) = credentials else {
            return self.numeric(Numeric::SaslFail);
        };
        let who = Guesser {
            conn: self.id,
            addr: self.ip,
        };
        let work = accounts::login(Arc::clone(&self.state.core), who, name, password);
        ctx.wait(work.into_actor(self).map(|res, act, ctx| match res {
            Ok(account) => {
                info!(parent: &act.span, %account, "logged in (SASL)");
                metrics::counter!("chatroom_logins_total", "result" => "ok").increment(1);
                metrics::gauge!(LOGGED_IN).increment(1.0);
                if let (Some(who), Some(nick)) = (act.member_key(), act.nick.clone()) {
                    let rooms = act.rooms.clone();
                    let (userhost, login) = (act.userhost.clone(), Some(account.clone()));
                    actix::spawn(room::announce_login(&rooms, who, nick, userhost, login));
                }
                act.state.core.directory.do_send(SetLogin {
                    id: act.id,
                    account: Some(account.clone()),
                });
                act.login_mut().account = Some(LoggedIn::new(account.clone()));
                act.numeric(Numeric::LoggedIn {
                    userhost: act.userhost.clone(),
                    account,
                });
                act.numeric(Numeric::SaslSuccess);
                act.check_reservation(ctx);
            }
            // A wrong password, or held back by the password gate.
            Err(code) => {
                if code == ErrorCode::BadLogin {
                    metrics::counter!("chatroom_logins_total", "result" => "bad").increment(1);
                }
                act.numeric(Numeric::SaslFail);
            }
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::plain_credentials;

    #[test]
    fn plain_messages_decode_or_are_refused() {
        // "\0alice\0sesame123", "alice\0alice\0sesame123", "bob\0alice\0x"
        assert_eq!(
            plain_credentials("AGFsaWNlAHNlc2FtZTEyMw=="),
            Some(("alice".into(), "sesame123".into()))
        );
        assert_eq!(
            plain_credentials("YWxpY2UAYWxpY2UAc2VzYW1lMTIz"),
            Some(("alice".into(), "sesame123".into()))
        );
        assert_eq!(plain_credentials("Ym9iAGFsaWNlAHg="), None);
        assert_eq!(plain_credentials("not base64!"), None);
        assert_eq!(plain_credentials(""), None);
    }
}
