//! User accounts: a name (a valid nickname, folded like one), a password
//! kept as an argon2id hash, stored in the database beside the rooms.
//!
//! What a front end calls: [`register`], [`login`] and [`change_password`],
//! each hashing or verifying through the password gate
//! ([`PasswordGate`](crate::core::gate::PasswordGate): a bound on hashes at
//! once, and the back-off of wrong guesses per connection, address and
//! account) and reading or writing through the database thread (a write
//! resolves once committed). Every password check goes through
//! [`check_password`]. Which account a connection is
//! logged in to is the front end's session's to keep (see ACCT_API.md);
//! the [`Directory`](crate::core::directory::Directory) knows which
//! nicknames accounts reserve ([`AccountAdded`](crate::core::directory::AccountAdded)).
//!
//! Rules drawn from `[accounts]` in one place: [`Policy`].

pub mod password;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::config::{AccountsConfig, Config, Registration, MAX_PASSWORD_BYTES};
use crate::core::cluster::accounts::Written;
use crate::core::cluster::ClusterError;
use crate::core::error::ErrorCode;
use crate::core::gate::{GateRules, GuessTarget, Guesser};
use crate::core::member::SessionId;
use crate::core::names::Folded;
use crate::core::names::Nick;
use crate::core::services::Services;
use crate::core::store::{AccountRecord, AccountWriteError};

/// An account's name: a nickname, validated and folded as one (the
/// nickname it reserves).
pub type AccountName = Nick;

/// The account a session is logged in to, with its name as that
/// session's messages carry it (IRC `account-tag`): made once at login,
/// shared by every message after.
pub struct LoggedIn {
    name: AccountName,
    tag: Arc<str>,
}

impl LoggedIn {
    /// Logged in to `name`.
    pub fn new(name: AccountName) -> Self {
        let tag = Arc::from(name.as_str());
        LoggedIn { name, tag }
    }

    /// The account.
    pub fn name(&self) -> &AccountName {
        &self.name
    }

    /// Its name for a message: a shared copy, nothing allocated.
    pub fn tag(&self) -> Arc<str> {
        Arc::clone(&self.tag)
    }
}

/// Checks `password` against `stored` (the hash of the account
/// `account`, or `None` for no such account) through the password gate, as
/// a guess of `who` at that account: `TryLater` while backed off or too
/// busy. The one function every password verification goes through.
pub async fn check_password(
    core: &Services,
    who: Guesser,
    account: &Folded,
    password: String,
    stored: Option<String>,
) -> Result<bool, ErrorCode> {
    let config = core.config();
    let rules = GateRules::of(&config.limits);
    let target = GuessTarget::Account(account.clone());
    core.gate
        .verify(&rules, who, target, move || {
            password::verify_password(&password, stored.as_deref())
        })
        .await
}

/// Hashes a new password through the gate (no guess: no back-off).
async fn hash(core: &Services, password: String) -> Result<String, ErrorCode> {
    let config = core.config();
    let rules = GateRules::of(&config.limits);
    core.gate
        .hash(&rules, move || password::hash_password(&password))
        .await?
        .ok_or(ErrorCode::Internal)
}

/// What `[accounts]` allows, read when a command runs (so that a reload
/// of the configuration applies to the next one).
pub struct Policy {
    config: Arc<Config>,
    /// Accounts live in the history database (or, on a cluster node, in
    /// Redis): without either there are none.
    stored: bool,
}

impl Policy {
    /// The rules of `config` (the one in force now), with or without a
    /// database.
    pub fn new(config: Arc<Config>, stored: bool) -> Self {
        Policy { config, stored }
    }

    /// The rules in force on `core`'s server, wherever it keeps accounts.
    pub fn of(core: &Services) -> Self {
        Policy::new(core.config(), core.db.is_some() || core.cluster.is_some())
    }

    fn accounts(&self) -> &AccountsConfig {
        &self.config.accounts
    }

    /// `AccountsDisabled` unless accounts are on and can be stored.
    pub fn enabled(&self) -> Result<(), ErrorCode> {
        if self.accounts().enabled && self.stored {
            Ok(())
        } else {
            Err(ErrorCode::AccountsDisabled)
        }
    }

    /// Whether a new account may be made with `password`.
    pub fn may_register(&self, password: &str) -> Result<(), ErrorCode> {
        self.enabled()?;
        if self.accounts().registration == Registration::Closed {
            return Err(ErrorCode::RegistrationClosed);
        }
        self.strong_enough(password)
    }

    /// `WeakPassword` for a password shorter than `min_password_len`
    /// characters (or longer than [`MAX_PASSWORD_BYTES`] bytes).
    pub fn strong_enough(&self, password: &str) -> Result<(), ErrorCode> {
        if password.chars().count() < self.accounts().min_password_len
            || password.len() > MAX_PASSWORD_BYTES
        {
            return Err(ErrorCode::WeakPassword);
        }
        Ok(())
    }

    /// How long a user may hold another account's nickname.
    pub fn grace(&self) -> Duration {
        Duration::from_secs(self.accounts().nick_grace_secs)
    }

    /// Whether commands other than the few allowed before it need a login.
    pub fn login_required(&self) -> bool {
        self.accounts().enabled && self.accounts().require_login
    }
}

/// The grace before a rename, when `nick` is another account's than
/// `account` (the one its user is logged in to) and accounts are on: what
/// both front ends ask after a change of nickname or login.
pub fn reservation(
    core: &Services,
    nick: &Nick,
    account: Option<&AccountName>,
) -> Option<Duration> {
    let policy = Policy::of(core);
    let own = account.is_some_and(|a| a.folded() == nick.folded());
    (policy.enabled().is_ok() && !own && core.reserved.contains(nick.folded()))
        .then(|| policy.grace())
}

/// Makes the account `name` with `password`: hashed off the actor
/// thread, then stored; resolves once committed. `AccountExists` when one
/// of that folded name exists.
pub async fn register(
    core: Arc<Services>,
    name: AccountName,
    password: String,
) -> Result<(), ErrorCode> {
    if core.db.is_none() && core.cluster.is_none() {
        return Err(ErrorCode::AccountsDisabled);
    }
    let hash = hash(&core, password).await?;
    let record = AccountRecord {
        name: name.as_str().to_owned(),
        password: hash,
        created: SystemTime::now(),
    };
    let db = match &core.cluster {
        Some(cluster) => {
            return match cluster.create_account(name.folded(), record).await {
                Ok(Written::Done) => Ok(()),
                Ok(Written::Refused) => Err(ErrorCode::AccountExists),
                Err(e) => Err(unavailable(&e)),
            };
        }
        None => core.db.clone().ok_or(ErrorCode::AccountsDisabled)?,
    };
    db.create_account(name.folded(), record)
        .await
        .map_err(|e| match e {
            AccountWriteError::Exists => ErrorCode::AccountExists,
            _ => ErrorCode::Internal,
        })
}

/// The account `name` if `password` is its password; `BadLogin` for an
/// unknown account and a wrong password alike, after the same work;
/// `TryLater` while `who` or the account is backed off (nothing checked).
pub async fn login(
    core: Arc<Services>,
    who: Guesser,
    name: AccountName,
    password: String,
) -> Result<AccountName, ErrorCode> {
    let record = match (&core.cluster, &core.db) {
        (Some(cluster), _) => cluster
            .account(name.folded())
            .await
            .map_err(|e| unavailable(&e))?,
        (None, Some(db)) => db.account(name.folded()).await,
        (None, None) => return Err(ErrorCode::AccountsDisabled),
    };
    let stored = record.as_ref().map(|r| r.password.clone());
    if !check_password(&core, who, name.folded(), password, stored).await? {
        return Err(ErrorCode::BadLogin);
    }
    // Answered as first spelled: `ALICE` logs in to `alice`.
    let spelled = record
        .and_then(|r| Nick::parse(&r.name, crate::core::names::STORED_NAME_LIMIT).ok())
        .unwrap_or(name);
    Ok(spelled)
}

/// Replaces `account`'s password after checking the old one (`BadLogin`).
pub async fn change_password(
    core: Arc<Services>,
    who: Guesser,
    account: AccountName,
    old: String,
    new: String,
) -> Result<(), ErrorCode> {
    login(Arc::clone(&core), who, account.clone(), old).await?;
    let hash = hash(&core, new).await?;
    match (&core.cluster, &core.db) {
        (Some(cluster), _) => match cluster.set_password(account.folded(), hash).await {
            Ok(Written::Done) => Ok(()),
            Ok(Written::Refused) => Err(ErrorCode::Internal),
            Err(e) => Err(unavailable(&e)),
        },
        (None, Some(db)) => db
            .set_password(account.folded(), hash)
            .await
            .map_err(|_| ErrorCode::Internal),
        (None, None) => Err(ErrorCode::AccountsDisabled),
    }
}

/// Redis could not be asked (cluster mode): logged, and the client told
/// to try again later.
fn unavailable(e: &ClusterError) -> ErrorCode {
    tracing::warn!(%e, "cannot reach the cluster's accounts in Redis");
    ErrorCode::ClusterUnavailable
}

/// A `Guest<digits>` nickname within `max` characters, for a client
/// renamed off a reserved nickname: different per session and per call
/// (a clash is unlikely, and only fails that one rename).
pub fn guest_nick(id: SessionId, max: usize) -> Option<Nick> {
    use std::hash::BuildHasher;
    let digits = max.checked_sub("Guest".len())?.clamp(1, 5);
    let n = std::collections::hash_map::RandomState::new().hash_one(id);
    let n = n % 10u64.pow(u32::try_from(digits).unwrap_or(5));
    Nick::parse(&format!("Guest{n:0digits$}"), max).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_nicks_fit_the_limit() {
        let id = SessionId::next();
        let long = guest_nick(id, 24).unwrap();
        assert!(long.as_str().starts_with("Guest"));
        assert_eq!(long.as_str().len(), 10);
        assert_eq!(guest_nick(id, 6).unwrap().as_str().len(), 6);
        assert!(guest_nick(id, 5).is_none());
    }

    #[test]
    fn the_policy_reads_the_config() {
        let mut config = Config::default();
        assert_eq!(
            Policy::new(Arc::new(config.clone()), false).enabled(),
            Err(ErrorCode::AccountsDisabled)
        );
        assert_eq!(
            Policy::new(Arc::new(config.clone()), true).enabled(),
            Ok(())
        );
        assert_eq!(
            Policy::new(Arc::new(config.clone()), true).may_register("short"),
            Err(ErrorCode::WeakPassword)
        );
        assert_eq!(
            Policy::new(Arc::new(config.clone()), true).may_register("long enough"),
            Ok(())
        );
        config.accounts.registration = Registration::Closed;
        assert_eq!(
            Policy::new(Arc::new(config.clone()), true).may_register("long enough"),
            Err(ErrorCode::RegistrationClosed)
        );
        config.accounts.enabled = false;
        assert_eq!(
            Policy::new(Arc::new(config.clone()), true).may_register("long enough"),
            Err(ErrorCode::AccountsDisabled)
        );
    }
}
