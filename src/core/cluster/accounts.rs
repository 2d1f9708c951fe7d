//! Accounts in cluster mode: one set for every node, in Redis, instead of
//! each node's database (docs/CLUSTER.md, "Accounts across nodes"). An
//! account made on one node logs in on any other, and its name is a
//! reserved nickname on every node a moment later.
//!
//! An account is a hash (`name`, `password`: the argon2id PHC string,
//! `created`: Unix milliseconds); the set `chatroom:accounts` lists every
//! folded name, and each new one is published on channel
//! `chatroom:accounts`, which every node follows (its `follow` task) to keep its
//! reserved nicknames.

use std::time::{Duration, UNIX_EPOCH};

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use redis::Script;
use tracing::{info, warn};

use super::{keys, Cluster, ClusterError, COMMAND_TIMEOUT};
use crate::core::names::{Folded, Nick, STORED_NAME_LIMIT};
use crate::core::store::AccountRecord;

/// Makes account hash `KEYS[1]` unless it exists (0), lists folded name
/// `ARGV[1]` in set `KEYS[2]` and publishes the spelled name `ARGV[2]` on
/// channel `ARGV[5]` (1). One script: two nodes making the same account
/// at once cannot both succeed.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[2], 'password', ARGV[3], 'created', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[5], ARGV[2])
return 1
";

/// Replaces the password of account hash `KEYS[1]` if it exists (1),
/// else 0.
const SET_PASSWORD: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'password', ARGV[1])
return 1
";

/// What an account write found, besides Redis failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Done.
    Done,
    /// Creating: one of that folded name exists. Changing: none does.
    Refused,
}

impl Cluster {
    /// Makes account `key` from `record`, unless one of that folded name
    /// exists on any node; resolves once Redis has it.
    pub async fn create_account(
        &self,
        key: &Folded,
        record: AccountRecord,
    ) -> Result<Written, ClusterError> {
        let created = record
            .created
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
            .to_string();
        let script = Script::new(CREATE);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(keys::account(key.as_str()))
            .key(keys::accounts())
            .arg(key.as_str())
            .arg(&record.name)
            .arg(&record.password)
            .arg(created)
            .arg(keys::accounts());
        let mut redis = self.redis.clone();
        let made: i64 = bounded(invocation.invoke_async(&mut redis)).await?;
        Ok(if made == 1 {
            Written::Done
        } else {
            Written::Refused
        })
    }

    /// Account `key`, if one exists on any node.
    pub async fn account(&self, key: &Folded) -> Result<Option<AccountRecord>, ClusterError> {
        let mut redis = self.redis.clone();
        let mut hmget = redis::cmd("HMGET");
        hmget
            .arg(keys::account(key.as_str()))
            .arg("name")
            .arg("password")
            .arg("created");
        let (name, password, created): (Option<String>, Option<String>, Option<u64>) =
            bounded(hmget.query_async(&mut redis)).await?;
        Ok(match (name, password) {
            (Some(name), Some(password)) => Some(AccountRecord {
                name,
                password,
                created: UNIX_EPOCH + Duration::from_millis(created.unwrap_or(0)),
            }),
            _ => None,
        })
    }

    /// Replaces account `key`'s password hash.
    pub async fn set_password(&self, key: &Folded, hash: String) -> Result<Written, ClusterError> {
        let script = Script::new(SET_PASSWORD);
        let mut invocation = script.prepare_invoke();
        invocation.key(keys::account(key.as_str())).arg(hash);
        let mut redis = self.redis.clone();
        let changed: i64 = bounded(invocation.invoke_async(&mut redis)).await?;
        Ok(if changed == 1 {
            Written::Done
        } else {
            Written::Refused
        })
    }
}

/// Keeps `add` told of every account's name, on every node: subscribes to
/// the accounts channel, then reads the whole set (so that nothing made
/// in between is missed; told twice is harmless), then hands on each new
/// one; and does it all again whenever the subscription is lost. Runs for
/// the node's life.
pub(super) async fn follow(client: redis::Client, redis: ConnectionManager, add: impl Fn(Folded)) {
    let channel = keys::accounts();
    let mut told = false;
    loop {
        let pubsub = match bounded(client.get_async_pubsub()).await {
            Ok(p) => p,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        if bounded(sink.subscribe(&channel)).await.is_err() {
            continue;
        }
        let mut smembers = redis::cmd("SMEMBERS");
        smembers.arg(&channel);
        let mut conn = redis.clone();
        match bounded(smembers.query_async::<Vec<String>>(&mut conn)).await {
            Ok(names) => {
                if !told {
                    info!(
                        accounts = names.len(),
                        "the cluster's accounts reserve their nicknames"
                    );
                    told = true;
                }
                names.iter().filter_map(|n| folded(n)).for_each(&add);
            }
            Err(e) => {
                warn!(%e, "cannot read the cluster's accounts; trying again");
                continue;
            }
        }
        while let Some(msg) = stream.next().await {
            if let Some(name) = std::str::from_utf8(msg.get_payload_bytes())
                .ok()
                .and_then(folded)
            {
                add(name);
            }
        }
        warn!("lost the accounts channel; subscribing again");
    }
}

/// The folded form of an account name as Redis holds it (anything else
/// skipped).
fn folded(name: &str) -> Option<Folded> {
    Nick::parse(name, STORED_NAME_LIMIT)
        .ok()
        .map(|n| n.folded().clone())
}

/// `f`, given up on after [`COMMAND_TIMEOUT`].
async fn bounded<T>(
    f: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, ClusterError> {
    tokio::time::timeout(COMMAND_TIMEOUT, f)
        .await
        .map_err(|_| ClusterError::Timeout(COMMAND_TIMEOUT))?
        .map_err(ClusterError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_redis_fold_and_junk_is_skipped() {
        assert_eq!(
            folded("Alice").map(|f| f.as_str().to_string()),
            Some("alice".into())
        );
        assert_eq!(folded("not a nick"), None);
    }
}
