//! The node's one writer of nickname claims to Redis, and its lease.
//!
//! Claims and releases go through one queue, one command at a time, so
//! that Redis applies them in the order the directory decided them: a
//! release of `bob` asked before a claim of `bob` (one connection quits,
//! another takes the name) can never delete the newer claim. A release
//! that fails (Redis away) is kept and tried again, unless a later claim
//! of the same name makes it moot.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::Script;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn};

use super::clock::RedisClock;
use super::keys::{self, PREFIX};
use super::{Claim, ClusterError, COMMAND_TIMEOUT};
use crate::core::names::Folded;

/// Gives `KEYS[1]` (a nickname) to node `ARGV[1]` if nobody holds it, this
/// node does, or the holder's lease (`ARGV[2]` .. holder) has lapsed; 1
/// granted, 2 granted, taken from a dead node, 0 held by a live node, -1
/// this node's own lease is gone (the caller renews it and asks again), -2
/// Redis's time is past the deadline `ARGV[4]` (0: none; `clock.rs`) and
/// nothing was done. `KEYS[2]` is this node's set of nicknames, `KEYS[3]`
/// its lease, `ARGV[3]` the folded nickname.
const CLAIM: &str = r"
if ARGV[4] ~= '0' then
  local now = redis.call('TIME')
  if now[1] * 1000 + math.floor(now[2] / 1000) > tonumber(ARGV[4]) then return -2 end
end
if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  if redis.call('EXISTS', ARGV[2] .. holder) == 1 then return 0 end
  redis.call('SREM', ARGV[2] .. holder .. ':nicks', ARGV[3])
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('SADD', KEYS[2], ARGV[3])
  return 2
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
";

/// Deletes `KEYS[1]` (a nickname) and its user's card `KEYS[3]` if node
/// `ARGV[1]` holds it, and drops `ARGV[2]` from the node's set `KEYS[2]`.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('DEL', KEYS[3])
end
redis.call('SREM', KEYS[2], ARGV[2])
return 1
";

/// Renews node lease `KEYS[1]` for `ARGV[1]` ms, and its set of
/// nicknames `KEYS[2]` with it (a dead node's set goes with its lease);
/// answers `{lapsed, ms}`: 1 if the lease had lapsed (the node was cut
/// off, or Redis lost it), and Redis's time.
const BEAT: &str = r"
local lapsed = 0
if redis.call('EXISTS', KEYS[1]) == 0 then lapsed = 1 end
redis.call('SET', KEYS[1], 'alive', 'PX', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
local now = redis.call('TIME')
return {lapsed, now[1] * 1000 + math.floor(now[2] / 1000)}
";

/// A node (re)starting under id `ARGV[1]` lets go of what an earlier
/// process of that id held (`KEYS[1]`, keys `ARGV[2]` .. name, and their
/// cards `ARGV[4]` .. name), then takes its lease `KEYS[2]` for `ARGV[3]`
/// ms.
const START: &str = r"
for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[2] .. name
  if redis.call('GET', key) == ARGV[1] then
    redis.call('DEL', key)
    redis.call('DEL', ARGV[4] .. name)
  end
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], 'alive', 'PX', ARGV[3])
return 1
";

/// Takes the members of every node whose lease lapsed (and of node
/// `ARGV[2]`, restarting: what its earlier process left) out of the rooms
/// it had members in, publishing a QUIT for each on the room's channel
/// (their `J` fields with a `Q` tag); `ARGV[1]` is the key prefix. Answers
/// how many members it took out.
const REAP: &str = r"
local prefix = ARGV[1]
local reaped = 0
for _, id in ipairs(redis.call('SMEMBERS', prefix .. 'nodes')) do
  if id == ARGV[2] or redis.call('EXISTS', prefix .. 'node:' .. id) == 0 then
    local rooms = prefix .. 'node:' .. id .. ':rooms'
    for _, room in ipairs(redis.call('SMEMBERS', rooms)) do
      local members = prefix .. 'room:' .. room .. ':members'
      local all = redis.call('HGETALL', members)
      for i = 1, #all, 2 do
        local rest = string.sub(all[i + 1], 4)
        local colon = string.find(rest, ':', 1, true)
        if colon then
          local n = tonumber(string.sub(rest, 1, colon - 1)) or 0
          if string.sub(rest, colon + 1, colon + n) == id then
            redis.call('HDEL', members, all[i])
            local now = redis.call('TIME')
            local ms = now[1] * 1000 + math.floor(now[2] / 1000)
            redis.call('PUBLISH', prefix .. 'room:' .. room, '0 ' .. ms .. ' 1:Q' .. rest)
            reaped = reaped + 1
          end
        end
      end
    end
    redis.call('DEL', rooms)
    if id ~= ARGV[2] then redis.call('SREM', prefix .. 'nodes', id) end
  end
end
return reaped
";

/// What the worker tells the rest of the node, and the clock it shares
/// with the publisher.
pub(super) struct Links {
    pub(super) lost: mpsc::UnboundedSender<Folded>,
    pub(super) rejoined: watch::Sender<Arc<HashSet<Folded>>>,
    pub(super) clock: Arc<RedisClock>,
}

/// What the directory asks of Redis.
pub(super) enum Op {
    /// Claim a nickname; the answer goes back.
    Claim {
        /// The folded nickname.
        nick: Folded,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<Claim, ClusterError>>,
    },
    /// Let go of a nickname.
    Release {
        /// The folded nickname.
        nick: Folded,
    },
}

pub(super) struct Worker {
    redis: ConnectionManager,
    node_id: Arc<str>,
    lease: Duration,
    heartbeat: Duration,
    /// This process has cleared what an earlier one of its id left.
    started: bool,
    /// Releases Redis did not take yet.
    unreleased: HashSet<Folded>,
    /// The names Redis granted this node and it did not let go since:
    /// what it claims again after its lease lapsed.
    held: HashSet<Folded>,
    /// The lease was found lapsed and the names in `held` are not all
    /// claimed again yet.
    lapsed: bool,
    /// Where the names lost meanwhile to another node are told.
    lost: mpsc::UnboundedSender<Folded>,
    /// Told, with the names lost, once the node has claimed its names
    /// again (its rooms then announce their members again).
    rejoined: watch::Sender<Arc<HashSet<Folded>>>,
    clock: Arc<RedisClock>,
    /// The last beat failed (logged once per outage).
    away: bool,
    /// Whether Redis answered the last beat, for the node's clients.
    reachable: watch::Sender<bool>,
    claim: Script,
    release: Script,
    beat: Script,
    start: Script,
    reap: Script,
}

impl Worker {
    pub(super) fn new(
        redis: ConnectionManager,
        node_id: Arc<str>,
        lease: Duration,
        heartbeat: Duration,
        reachable: watch::Sender<bool>,
        links: Links,
    ) -> Self {
        Worker {
            redis,
            node_id,
            lease,
            heartbeat,
            started: false,
            unreleased: HashSet::new(),
            held: HashSet::new(),
            lapsed: false,
            lost: links.lost,
            rejoined: links.rejoined,
            clock: links.clock,
            away: false,
            reachable,
            claim: Script::new(CLAIM),
            release: Script::new(RELEASE),
            beat: Script::new(BEAT),
            start: Script::new(START),
            reap: Script::new(REAP),
        }
    }

    /// Serves the queue until every handle is gone, renewing the lease
    /// every `heartbeat` in between.
    pub(super) async fn run(mut self, mut ops: mpsc::UnboundedReceiver<Op>) {
        let mut beat = tokio::time::interval(self.heartbeat);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                op = ops.recv() => match op {
                    Some(Op::Claim { nick, reply }) => {
                        self.unreleased.remove(&nick);
                        let answer = self.claim(&nick).await;
                        if let Ok(Claim::Granted) = answer {
                            self.held.insert(nick);
                        }
                        let _ = reply.send(answer);
                    }
                    Some(Op::Release { nick }) => {
                        self.held.remove(&nick);
                        if let Err(e) = self.release(&nick).await {
                            warn!(%e, nick = nick.as_str(), "nickname not released in Redis yet; will retry");
                            self.unreleased.insert(nick);
                        }
                    }
                    None => return,
                },
                _ = beat.tick() => self.renew().await,
            }
        }
    }

    /// Renews the lease (starting first, if this process has not), and
    /// retries the releases Redis missed.
    async fn renew(&mut self) {
        let result = match self.ensure_started().await {
            Ok(()) => self.run_beat().await,
            Err(e) => Err(e),
        };
        // Every node reaps the dead (the script is cheap when none is):
        // whoever runs it first publishes their QUITs, once.
        let result = match result {
            Ok(()) => self.run_reap("").await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) if self.away => {
                self.away = false;
                self.reachable.send_replace(true);
                info!(node_id = %self.node_id, "Redis reachable again: lease renewed");
            }
            Ok(()) => {}
            Err(e) if !self.away => {
                self.away = true;
                self.reachable.send_replace(false);
                warn!(%e, node_id = %self.node_id, "cannot renew this node's lease in Redis");
            }
            Err(_) => {}
        }
        if !self.away && !self.unreleased.is_empty() {
            for nick in std::mem::take(&mut self.unreleased) {
                if self.release(&nick).await.is_err() {
                    self.unreleased.insert(nick);
                }
            }
        }
    }

    async fn ensure_started(&mut self) -> Result<(), ClusterError> {
        if self.started {
            return Ok(());
        }
        let mut invocation = self.start.prepare_invoke();
        invocation
            .key(keys::node_nicks(&self.node_id))
            .key(keys::node(&self.node_id))
            .arg(&*self.node_id)
            .arg(format!("{PREFIX}nick:"))
            .arg(self.lease_ms())
            .arg(format!("{PREFIX}user:"));
        let mut redis = self.redis.clone();
        bounded(invocation.invoke_async::<i64>(&mut redis)).await?;
        // Its earlier process's room members go, and this node is listed
        // for the others to reap should it die.
        self.run_reap(&self.node_id.clone()).await?;
        let mut sadd = redis::cmd("SADD");
        sadd.arg(keys::nodes()).arg(&*self.node_id);
        bounded(sadd.query_async::<i64>(&mut redis)).await?;
        self.started = true;
        check_durability(&mut redis).await;
        Ok(())
    }

    /// Takes dead nodes' members (and `own`'s) out of their rooms.
    async fn run_reap(&mut self, own: &str) -> Result<(), ClusterError> {
        let mut invocation = self.reap.prepare_invoke();
        invocation.arg(PREFIX).arg(own);
        let mut redis = self.redis.clone();
        let reaped = bounded(invocation.invoke_async::<i64>(&mut redis)).await?;
        if reaped > 0 {
            info!(
                members = reaped,
                "took the members of stopped nodes out of their rooms"
            );
        }
        Ok(())
    }

    /// Renews the lease; if it had lapsed, claims this node's names
    /// again first thing (and goes on trying at each beat until done).
    async fn run_beat(&mut self) -> Result<(), ClusterError> {
        let mut invocation = self.beat.prepare_invoke();
        invocation
            .key(keys::node(&self.node_id))
            .key(keys::node_nicks(&self.node_id))
            .arg(self.lease_ms());
        let mut redis = self.redis.clone();
        let (lapsed, ms) = bounded(invocation.invoke_async::<(i64, u64)>(&mut redis)).await?;
        self.clock.observe(ms);
        if lapsed == 1 && self.started {
            warn!(node_id = %self.node_id, names = self.held.len(), "this node's lease had lapsed (cut off from Redis longer than the lease): claiming its nicknames again");
            self.lapsed = true;
        }
        if self.lapsed {
            self.rejoin().await?;
            self.lapsed = false;
        }
        Ok(())
    }

    /// After a lapsed lease: other nodes reaped this one (its members
    /// left their rooms, it left `chatroom:nodes`) and may have taken its
    /// names. Lists the node again, claims each name it holds again
    /// (one lost to another node meanwhile is told, for its holder here
    /// to be disconnected), then has its rooms announce their members
    /// again.
    async fn rejoin(&mut self) -> Result<(), ClusterError> {
        let mut redis = self.redis.clone();
        let mut sadd = redis::cmd("SADD");
        sadd.arg(keys::nodes()).arg(&*self.node_id);
        bounded(sadd.query_async::<i64>(&mut redis)).await?;
        let mut lost = HashSet::new();
        let mut names: Vec<Folded> = self.held.iter().cloned().collect();
        names.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        for nick in names {
            match self.claim_once(&nick).await? {
                1 => {}
                0 => {
                    warn!(nick = nick.as_str(), "nickname taken by another node while this one was cut off: its holder here is disconnected");
                    self.held.remove(&nick);
                    let _ = self.lost.send(nick.clone());
                    lost.insert(nick);
                }
                -2 => return Err(ClusterError::Late),
                _ => return Err(ClusterError::LeaseLost),
            }
        }
        self.rejoined.send_replace(Arc::new(lost));
        Ok(())
    }

    async fn claim(&mut self, nick: &Folded) -> Result<Claim, ClusterError> {
        self.ensure_started().await?;
        for _ in 0..2 {
            match self.claim_once(nick).await? {
                1 => return Ok(Claim::Granted),
                2 => {
                    // The dead node's members leave their rooms (their
                    // QUITs published) before the name's new holder can
                    // join one: otherwise its JOIN could come first, and
                    // the reap would then find nothing of the dead node's
                    // under that name to announce.
                    if let Err(e) = self.run_reap("").await {
                        warn!(%e, "dead node not reaped yet; the next heartbeat will");
                    }
                    return Ok(Claim::Granted);
                }
                0 => return Ok(Claim::HeldElsewhere),
                -2 => return Err(ClusterError::Late),
                // The lease lapsed (Redis lost it, or was away longer
                // than the lease): renew it and ask again.
                _ => self.run_beat().await?,
            }
        }
        Err(ClusterError::LeaseLost)
    }

    /// One run of the claim script: its answer.
    async fn claim_once(&mut self, nick: &Folded) -> Result<i64, ClusterError> {
        let mut invocation = self.claim.prepare_invoke();
        invocation
            .key(keys::nick(nick.as_str()))
            .key(keys::node_nicks(&self.node_id))
            .key(keys::node(&self.node_id))
            .arg(&*self.node_id)
            .arg(format!("{PREFIX}node:"))
            .arg(nick.as_str())
            .arg(self.clock.deadline());
        let mut redis = self.redis.clone();
        bounded(invocation.invoke_async::<i64>(&mut redis)).await
    }

    async fn release(&mut self, nick: &Folded) -> Result<(), ClusterError> {
        let mut invocation = self.release.prepare_invoke();
        invocation
            .key(keys::nick(nick.as_str()))
            .key(keys::node_nicks(&self.node_id))
            .key(keys::user(nick.as_str()))
            .arg(&*self.node_id)
            .arg(nick.as_str());
        let mut redis = self.redis.clone();
        bounded(invocation.invoke_async::<i64>(&mut redis)).await?;
        Ok(())
    }

    fn lease_ms(&self) -> u64 {
        u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX)
    }
}

/// Warns when Redis does not keep what it acknowledges on disk before
/// answering (`appendonly yes`, `appendfsync always`): `OK MSG` promises
/// a stored message, and with anything less a Redis that crashes loses
/// up to a second of acknowledged messages and claims.
async fn check_durability(redis: &mut ConnectionManager) {
    let mut pipe = redis::pipe();
    pipe.cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .cmd("CONFIG")
        .arg("GET")
        .arg("appendfsync");
    let found = bounded(pipe.query_async::<(Vec<String>, Vec<String>)>(redis)).await;
    let (appendonly, appendfsync) = match found {
        Ok((only, fsync)) => (
            only.get(1).cloned().unwrap_or_default(),
            fsync.get(1).cloned().unwrap_or_default(),
        ),
        Err(e) => {
            // Managed Redis services often rename or forbid CONFIG.
            warn!(%e, "cannot read Redis's appendonly and appendfsync settings: acknowledged messages are durable only if they are yes and always");
            return;
        }
    };
    if appendonly != "yes" || appendfsync != "always" {
        warn!(
            appendonly = %appendonly,
            appendfsync = %appendfsync,
            "Redis may lose acknowledged messages: run it with appendonly yes and appendfsync always"
        );
    }
}

/// `fut`, or [`ClusterError::Timeout`] after [`COMMAND_TIMEOUT`].
async fn bounded<T>(fut: impl Future<Output = redis::RedisResult<T>>) -> Result<T, ClusterError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, fut).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(ClusterError::Timeout(COMMAND_TIMEOUT)),
    }
}
