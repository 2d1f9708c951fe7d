//! Server operators: who may become one (the `[operators]` blocks), the
//! server-wide bans they set, and the rules both follow. Front ends run
//! the commands (OPER, KILL, KLINE, UNKLINE, WALLOPS, CLOSE); the rules
//! and the state are here, once.
//!
//! - [`mask`]: what a ban matches; [`duration`]: how long it lasts.
//! - [`bans`]: the bans in force, shared by every listener and kept in
//!   the database.
//! - [`actions`]: what each operator command does, logged and counted.
//! - [`check_oper`]: the one place an OPER's name and password are
//!   checked (a later account-based check replaces its body).

pub mod actions;
pub mod bans;
pub mod duration;
pub mod mask;

use std::net::IpAddr;
use std::sync::OnceLock;

use actix::Message;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

use crate::config::Operators;
use crate::core::{Nick, UserHost};
use mask::BanMask;

pub use bans::{ServerBan, ServerBans};

/// A password as a command carries it: its `Debug` shows nothing, so that
/// a command logged at debug level does not log it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// Who an operator is, once OPER granted it: what its actions are logged
/// and shown under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperName(pub std::sync::Arc<str>);

impl std::fmt::Display for OperName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an operator's action asks of one session, sent to it by the
/// directory (which holds a [`WeakRecipient`](actix::WeakRecipient) of it
/// for every nickname).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub enum ServerOrder {
    /// `KILL`: tell the user and disconnect it.
    Kill {
        /// The operator's nickname.
        by: Nick,
        /// Why, as given.
        reason: String,
    },
    /// A server ban was set: disconnect if it matches this connection
    /// (each session knows its own address and user name).
    CheckBans,
    /// Cluster mode: Redis went away (`false`; messages to rooms are
    /// refused meanwhile) or is back (`true`): tell the user.
    ClusterLink {
        /// Whether Redis answers again.
        reachable: bool,
    },
    /// Cluster mode: this node was cut off from Redis for longer than its
    /// lease and another node took this user's nickname meanwhile: tell
    /// the user and disconnect it (as IRC's nickname collisions do).
    NickCollision {
        /// The nickname it lost.
        nick: Nick,
    },
    /// `WALLOPS`: show it, if this user wants such messages.
    Wallops {
        /// The operator's nickname.
        from: Nick,
        /// Its user and host.
        userhost: UserHost,
        /// The message.
        text: String,
    },
}

/// The operator action a metric and a log line name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperAction {
    /// OPER succeeded.
    Oper,
    /// A user was disconnected.
    Kill,
    /// A server ban was set.
    Kline,
    /// A server ban was lifted.
    Unkline,
    /// A message went to every user.
    Wallops,
    /// A room was closed.
    Close,
}

impl OperAction {
    /// The `action` label of `chatroom_oper_actions_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            OperAction::Oper => "oper",
            OperAction::Kill => "kill",
            OperAction::Kline => "kline",
            OperAction::Unkline => "unkline",
            OperAction::Wallops => "wallops",
            OperAction::Close => "close",
        }
    }

    /// Counts one action (`chatroom_oper_actions_total{action}`).
    pub fn count(self) {
        metrics::counter!("chatroom_oper_actions_total", "action" => self.as_str()).increment(1);
    }
}

/// A hash of a password nobody has, with the default cost: what an OPER
/// naming no operator is checked against, so that it takes as long as a
/// wrong password does.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(b"no operator has this password")
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Whether `password` opens the operator block `name` from `ip`: the one
/// check OPER makes. Costs an argon2id verification whatever the outcome
/// (an unknown name is checked against a dummy hash; an address not
/// allowed is refused after the check), so that the answer's timing tells
/// nothing. Blocking: run it on the blocking pool.
pub fn check_oper(operators: &Operators, name: &str, password: &str, ip: IpAddr) -> bool {
    let block = operators
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, b)| b);
    let hash: &str = match block {
        Some(b) => &b.password,
        None => dummy_hash(),
    };
    let verified = Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok();
    let Some(block) = block else { return false };
    let from_allowed = block.hosts.is_empty()
        || block
            .hosts
            .iter()
            .filter_map(|h| BanMask::parse(h).ok())
            .any(|net| net.matches(None, ip));
    verified && from_allowed
}

/// What others see in the QUIT of a user an operator killed (IRC
/// daemons' spelling, on every front end).
pub fn killed_reason(by: &Nick, reason: &str) -> String {
    format!("Killed ({by} ({reason}))")
}

/// What others see in the QUIT of a user a server ban disconnected.
pub fn banned_reason(reason: &str) -> String {
    format!("Banned ({reason})")
}

/// How long a connection waits after its `n`th failed OPER in a row
/// before it is answered (and its next line read): doubling from half a
/// second, at most 30 s.
pub fn oper_backoff(failures: u8) -> std::time::Duration {
    let shift = u32::from(failures.saturating_sub(1)).min(6);
    std::time::Duration::from_millis(500u64 << shift).min(std::time::Duration::from_secs(30))
}

/// Hashes `password` for an operator block (`chatroom hash-password`):
/// argon2id with the default cost, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    Ok(Argon2::default()
        .hash_password(password.as_bytes())?
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OperatorBlock;

    /// Counts what is incremented, by metric name and labels.
    #[derive(Default)]
    struct Tally(std::sync::Mutex<Vec<(String, u64)>>);

    struct Slot(std::sync::Arc<Tally>, String);

    impl metrics::CounterFn for Slot {
        fn increment(&self, value: u64) {
            self.0 .0.lock().unwrap().push((self.1.clone(), value));
        }
        fn absolute(&self, _: u64) {}
    }

    struct TallyRecorder(std::sync::Arc<Tally>);

    impl metrics::Recorder for TallyRecorder {
        fn describe_counter(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_gauge(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn describe_histogram(
            &self,
            _: metrics::KeyName,
            _: Option<metrics::Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn register_counter(
            &self,
            key: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Counter {
            let labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            metrics::Counter::from_arc(std::sync::Arc::new(Slot(
                std::sync::Arc::clone(&self.0),
                name,
            )))
        }
        fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
            metrics::Gauge::noop()
        }
        fn register_histogram(
            &self,
            _: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Histogram {
            metrics::Histogram::noop()
        }
    }

    #[test]
    fn each_action_is_counted_under_its_label() {
        let tally = std::sync::Arc::new(Tally::default());
        let recorder = TallyRecorder(std::sync::Arc::clone(&tally));
        metrics::with_local_recorder(&recorder, || {
            for action in [
                OperAction::Oper,
                OperAction::Kill,
                OperAction::Kline,
                OperAction::Unkline,
                OperAction::Wallops,
                OperAction::Close,
            ] {
                action.count();
            }
        });
        let got = tally.0.lock().unwrap().clone();
        let want: Vec<(String, u64)> = ["oper", "kill", "kline", "unkline", "wallops", "close"]
            .iter()
            .map(|a| (format!("chatroom_oper_actions_total{{action={a}}}"), 1))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn failed_opers_back_off_doubling_to_a_cap() {
        let ms = |n| oper_backoff(n).as_millis();
        assert_eq!([ms(1), ms(2), ms(3)], [500, 1000, 2000]);
        assert_eq!(ms(7), 30_000);
        assert_eq!(ms(255), 30_000);
    }

    #[test]
    fn oper_needs_the_name_the_password_and_an_allowed_address() {
        let hash = hash_password("s3cret").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        let mut ops = Operators::new();
        ops.insert(
            "alice".into(),
            OperatorBlock {
                password: hash.clone(),
                hosts: vec![],
            },
        );
        ops.insert(
            "bob".into(),
            OperatorBlock {
                password: hash,
                hosts: vec!["10.0.0.0/8".into()],
            },
        );
        let local: IpAddr = [127, 0, 0, 1].into();
        assert!(check_oper(&ops, "alice", "s3cret", local));
        assert!(check_oper(&ops, "ALICE", "s3cret", local));
        assert!(!check_oper(&ops, "alice", "wrong", local));
        assert!(!check_oper(&ops, "carol", "s3cret", local));
        assert!(!check_oper(&ops, "bob", "s3cret", local));
        assert!(check_oper(&ops, "bob", "s3cret", [10, 1, 2, 3].into()));
    }
}
