//! The password gate: every argon2 hash of a key or password goes through
//! it, so that hashing (milliseconds of a core and megabytes of memory
//! each, by design) cannot become a weapon.
//!
//! - **Concurrency.** At most `limits.max_concurrent_hashes` run at once,
//!   on the blocking pool; up to `limits.max_queued_hashes` more wait
//!   their turn, and beyond that a check is refused at once
//!   ([`ErrorCode::TryLater`]): whatever guessers send, the hashing takes
//!   that many cores at most, and the actor thread none.
//! - **Back-off of wrong guesses** ([`PasswordGate::verify`]) per
//!   connection, per address (an IPv6 /64; not for one in
//!   `limits.exempt_ips`, such as a reverse proxy's) and per target (a room's key,
//!   an account's password: [`GuessTarget`]): each allows a few failures
//!   (`limits.guess_failures_per_conn`, `_per_ip`, `_per_target`), then
//!   the next attempt waits `limits.guess_backoff_ms`, doubling with each
//!   failure up to `limits.guess_backoff_max_secs`. An attempt that comes
//!   too soon is refused `TRY_LATER` without hashing anything; a right
//!   key once the wait is over works.
//!
//! The rules are read from the configuration at each call ([`GateRules`]),
//! so a reload applies to the next check.

mod backoff;
mod slots;

use std::fmt;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use self::backoff::{BackOff, Delays};
use self::slots::Slots;
use super::error::ErrorCode;
use super::member::SessionId;
use super::names::Folded;
use crate::config::ip_prefix::{client_key, IpPrefix};
use crate::config::Limits;
use crate::refusals::{refused, Limit};

/// What a guess is about: the back-off of its target is shared by every
/// guesser.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GuessTarget {
    /// A private room's key (the room's folded name).
    Room(Folded),
    /// An account's password (the account's folded name).
    Account(Folded),
    /// A server operator block's password (the name as tried, in lower
    /// case).
    Operator(String),
}

impl fmt::Display for GuessTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuessTarget::Room(name) => write!(f, "room {}", name.as_str()),
            GuessTarget::Account(name) => write!(f, "account {}", name.as_str()),
            GuessTarget::Operator(name) => write!(f, "operator {name}"),
        }
    }
}

/// Who guesses: its connection and the address it connects from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guesser {
    /// The connection.
    pub conn: SessionId,
    /// Its address (counted by its /64 for IPv6).
    pub addr: IpAddr,
}

/// The gate's rules in force, read from `[limits]` at each check.
#[derive(Debug, Clone, Copy)]
pub struct GateRules<'a> {
    /// Hashes running at once.
    pub max_concurrent: usize,
    /// Hashes waiting their turn.
    pub max_queued: usize,
    /// Free failures per connection, per address and per target.
    pub free: [u32; 3],
    delays: Delays,
    /// Addresses not backed off as such (`limits.exempt_ips`: behind a
    /// reverse proxy, every web client comes from the proxy's address).
    pub exempt: &'a [IpPrefix],
}

impl<'a> GateRules<'a> {
    /// The rules of `limits`.
    pub fn of(limits: &'a Limits) -> Self {
        GateRules {
            exempt: &limits.exempt_ips,
            max_concurrent: limits.max_concurrent_hashes,
            max_queued: limits.max_queued_hashes,
            free: [
                limits.guess_failures_per_conn,
                limits.guess_failures_per_ip,
                limits.guess_failures_per_target,
            ],
            delays: Delays {
                first: Duration::from_millis(limits.guess_backoff_ms),
                max: Duration::from_secs(limits.guess_backoff_max_secs),
            },
        }
    }
}

/// What the back-off remembers a failure under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Conn(SessionId),
    Addr(IpAddr),
    Target(GuessTarget),
}

/// The gate every key and password hash goes through; one per server,
/// shared by every session and room (it is `Sync`).
#[derive(Debug, Default)]
pub struct PasswordGate {
    backoff: Mutex<BackOff<Key>>,
    slots: Slots,
}

impl PasswordGate {
    fn backoff(&self) -> MutexGuard<'_, BackOff<Key>> {
        // A panic while held leaves at worst a count one off.
        self.backoff.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks a guess: `check` (an argon2 verification, `true` for a
    /// right key) runs on the blocking pool once neither the guesser nor
    /// the target is backed off and a slot is free; a wrong guess is
    /// remembered against all three. `Err(TryLater)` when backed off or
    /// too busy (nothing hashed), `Err(Internal)` if the check panicked.
    pub async fn verify<F>(
        &self,
        rules: &GateRules<'_>,
        who: Guesser,
        target: GuessTarget,
        check: F,
    ) -> Result<bool, ErrorCode>
    where
        F: FnOnce() -> bool + Send + 'static,
    {
        let mut keys = vec![
            (Key::Conn(who.conn), rules.free[0]),
            (Key::Target(target.clone()), rules.free[2]),
        ];
        if !rules.exempt.iter().any(|p| p.contains(who.addr)) {
            keys.push((Key::Addr(client_key(who.addr)), rules.free[1]));
        }
        if !self.backoff().begin(&keys, &rules.delays, Instant::now()) {
            refused(
                Limit::KeyGuesses,
                format_args!("{}: too many wrong guesses lately for {target}", who.addr),
            );
            return Err(ErrorCode::TryLater);
        }
        // Ends the attempt if the future is dropped before it is known.
        let mut attempt = Attempt {
            gate: self,
            keys,
            open: true,
        };
        let ok = self.run(rules, check).await?;
        attempt.open = false;
        let mut backoff = self.backoff();
        if ok {
            let conn = Key::Conn(who.conn);
            backoff.ended(&attempt.keys, Some(&conn));
        } else {
            backoff.failed(&attempt.keys, &rules.delays, Instant::now());
        }
        Ok(ok)
    }

    /// Runs `work` (hashing a new key or password: no guess) on the
    /// blocking pool once a slot is free. `Err(TryLater)` when too many
    /// wait already, `Err(Internal)` if it panicked.
    pub async fn hash<T, F>(&self, rules: &GateRules<'_>, work: F) -> Result<T, ErrorCode>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.run(rules, work).await
    }

    async fn run<T, F>(&self, rules: &GateRules<'_>, work: F) -> Result<T, ErrorCode>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let Some(slot) = self
            .slots
            .acquire(rules.max_concurrent, rules.max_queued)
            .await
        else {
            refused(
                Limit::HashConcurrency,
                format_args!("a key check: too many waiting to be hashed"),
            );
            return Err(ErrorCode::TryLater);
        };
        let done = tokio::task::spawn_blocking(work).await;
        drop(slot);
        done.map_err(|_| ErrorCode::Internal)
    }
}

/// An attempt begun in the back-off: ended without a failure if dropped
/// before its outcome is known (refused as busy, or given up).
struct Attempt<'a> {
    gate: &'a PasswordGate,
    keys: Vec<(Key, u32)>,
    open: bool,
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.open {
            self.gate.backoff().ended(&self.keys, None);
        }
    }
}

#[cfg(test)]
mod tests;
