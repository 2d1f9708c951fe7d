//! Cluster mode: several server processes (nodes) sharing one chat
//! through one Redis (docs/CLUSTER.md has the design, the keys and the
//! guarantees).
//!
//! Nothing here runs on a standalone server: `cluster.redis_url` empty
//! leaves [`Services::cluster`](crate::core::services::Services) and the
//! directory's handle `None`, and every path that could reach Redis checks
//! that `Option` first.
//!
//! What is built: room messages across nodes, in one order
//! ([`Cluster::publish`], [`Cluster::subscribe`], `rooms.rs`); the room's
//! history read back from its stream ([`Cluster::history`], and
//! CHATHISTORY's queries in `history.rs`); the cluster's counts
//! ([`Cluster::census`]); a room's settings, decided by Redis and applied
//! on every node in the room's order ([`Cluster::change`],
//! [`Cluster::room_state`], `setting.rs`); whether Redis answers ([`Cluster::link`]); the node's lease (a key renewed every
//! `cluster.heartbeat_secs` that expires `cluster.lease_secs` after the
//! node stops renewing it) and nicknames unique across the cluster
//! ([`Cluster::claim`], [`Cluster::release`]); private messages, users'
//! cards (WHOIS) and shared files across nodes (`direct.rs`). The local
//! [`Directory`](crate::core::directory::Directory) still decides between
//! the connections of this node; Redis decides between nodes.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tracing::info;

use crate::config::ClusterConfig;
use crate::core::names::{Folded, RoomName};

pub mod accounts;
mod census;
mod clock;
pub mod direct;
mod error;
pub mod history;
pub mod keys;
mod once;
mod rooms;
mod setting;
pub mod wire;
mod worker;

pub use census::{Census, CensusRoom};
pub use direct::{Inboxed, RemoteUser};
pub use error::ClusterError;
pub use once::SeenOnce;
pub use rooms::Delivered;
use rooms::{Item, Publish, Subscribe};
pub use setting::{RoomState, MAX_BANS};
use wire::MemberChange;
use worker::{Links, Op, Worker};

/// How long one Redis command may take before the node gives up on it
/// (and answers `CLUSTER_UNAVAILABLE`): a node cut off from Redis must
/// not leave a client's NICK hanging.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// What [`Cluster::claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The nickname is this node's now (or was already).
    Granted,
    /// Another live node holds it.
    HeldElsewhere,
}

/// What start-up made of `[cluster]`, before the runtime runs: the parsed
/// address and the node's id.
pub struct ClusterPlan {
    client: redis::Client,
    node_id: Arc<str>,
    lease: Duration,
    heartbeat: Duration,
    max_log: u64,
}

impl ClusterPlan {
    /// The plan for `config`; `None` for a standalone server. A node
    /// without `node_id` gets a random one, logged. Each room's stream
    /// keeps about `max_log` messages (`history.max_messages_per_room`,
    /// read at start-up; 0 keeps every one).
    pub fn new(config: &ClusterConfig, max_log: u64) -> Result<Option<ClusterPlan>, ClusterError> {
        if !config.enabled() {
            return Ok(None);
        }
        let client =
            redis::Client::open(config.redis_url.as_str()).map_err(ClusterError::BadUrl)?;
        let client = redis::Client::open(
            client
                .get_connection_info()
                .clone()
                .set_tcp_settings(tcp_settings()),
        )
        .map_err(ClusterError::BadUrl)?;
        let node_id: Arc<str> = if config.node_id.is_empty() {
            Arc::from(random_id())
        } else {
            Arc::from(config.node_id.as_str())
        };
        info!(node_id = %node_id, generated = config.node_id.is_empty(), "cluster node");
        Ok(Some(ClusterPlan {
            client,
            node_id,
            lease: Duration::from_secs(config.lease_secs),
            heartbeat: Duration::from_secs(config.heartbeat_secs),
            max_log,
        }))
    }

    /// Starts the node's connection to Redis, its lease and its worker,
    /// on the current runtime. Redis need not be up: the connection is
    /// made (and remade) when needed, and claims meanwhile answer
    /// [`ClusterError`].
    pub fn start(self) -> Result<Cluster, ClusterError> {
        let manager = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            // Down is down: a command fails fast and the next one tries
            // again, rather than each one waiting through a long back-off.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let redis =
            redis::aio::ConnectionManager::new_lazy_with_config(self.client.clone(), manager)?;
        let (ops, queue) = mpsc::unbounded_channel();
        let (reachable, link) = watch::channel(true);
        let (lost, lost_nicks) = mpsc::unbounded_channel();
        let (rejoined, rejoins) = watch::channel(Arc::default());
        let clock = Arc::new(clock::RedisClock::default());
        let links = Links {
            lost,
            rejoined,
            clock: Arc::clone(&clock),
        };
        let worker = Worker::new(
            redis.clone(),
            Arc::clone(&self.node_id),
            self.lease,
            self.heartbeat,
            reachable,
            links,
        );
        actix_rt::spawn(worker.run(queue));
        let (publish, to_publish) = mpsc::unbounded_channel();
        actix_rt::spawn(rooms::publisher(
            redis.clone(),
            to_publish,
            self.max_log,
            clock,
        ));
        let (subscribe, asks) = mpsc::unbounded_channel();
        let client = Arc::new(self.client.clone());
        actix_rt::spawn(rooms::subscriber(self.client, asks, rejoins));
        let (cards, to_write) = mpsc::unbounded_channel();
        actix_rt::spawn(direct::card_writer(
            redis.clone(),
            Arc::clone(&self.node_id),
            to_write,
        ));
        Ok(Cluster {
            client,
            node_id: self.node_id,
            ops,
            publish,
            subscribe,
            redis,
            link,
            seen: Arc::default(),
            lost_nicks: Arc::new(std::sync::Mutex::new(Some(lost_nicks))),
            cards,
        })
    }
}

/// What Redis made of a change of a room's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Made, and published to every node.
    Changed,
    /// It was so already (another node's change came first): nothing
    /// published.
    Unchanged,
    /// The room has `MAX_BANS` bans already.
    TooManyBans,
}

/// How the node's TCP connections to Redis notice a network cut.
///
/// Without this, a cut leaves them open: Linux keeps retransmitting,
/// ever more rarely (back-off up to minutes), so that once the network
/// heals a node may wait many seconds for its old connection to move
/// again, and what it gave up on (a message it refused with `ERR`) may
/// still reach Redis then. `TCP_USER_TIMEOUT` has the kernel drop a
/// connection whose data stays unacknowledged past [`COMMAND_TIMEOUT`],
/// discarding what it had not delivered; keepalive probes every second
/// make an idle connection (the subscription) find out too. A dropped
/// connection is made again on the next command (and the subscription
/// at once), the normal way back after Redis was away.
fn tcp_settings() -> redis::io::tcp::TcpSettings {
    use redis::io::tcp::socket2::TcpKeepalive;
    let second = Duration::from_secs(1);
    redis::io::tcp::TcpSettings::default()
        .set_keepalive(
            TcpKeepalive::new()
                .with_time(second)
                .with_interval(second)
                .with_retries(2),
        )
        .set_user_timeout(COMMAND_TIMEOUT)
}

/// A stream entry as XRANGE answers it: its id and its field-value pairs.
type StreamEntry = (String, Vec<(String, Vec<u8>)>);

/// A handle on this node's part of the cluster; cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    /// For connections of their own (subscriptions).
    client: Arc<redis::Client>,
    node_id: Arc<str>,
    ops: mpsc::UnboundedSender<Op>,
    publish: mpsc::UnboundedSender<Publish>,
    subscribe: mpsc::UnboundedSender<Subscribe>,
    redis: redis::aio::ConnectionManager,
    link: watch::Receiver<bool>,
    /// The remote QUIT and NICK lines each local session was shown, so
    /// that one shown by several rooms is shown once.
    seen: Arc<std::sync::Mutex<SeenOnce>>,
    /// The names this node lost to another while cut off longer than its
    /// lease, for the one who takes them ([`Cluster::lost_nicks`]).
    lost_nicks: Arc<std::sync::Mutex<Option<mpsc::UnboundedReceiver<Folded>>>>,
    /// Users' cards to write, in order (`direct.rs`).
    cards: mpsc::UnboundedSender<(Folded, Vec<u8>)>,
}

impl Cluster {
    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Whether Redis answers this node, as its heartbeat last found
    /// (`true` until a beat fails): changes once when Redis goes away and
    /// once when it is back.
    pub fn link(&self) -> watch::Receiver<bool> {
        self.link.clone()
    }

    /// The nicknames this node held and lost to another node while it was
    /// cut off from Redis longer than its lease (found when it claims its
    /// names again, once back): their holders here are to be let go.
    /// Given once; `None` after.
    pub fn lost_nicks(&self) -> Option<mpsc::UnboundedReceiver<Folded>> {
        self.lost_nicks.lock().ok()?.take()
    }

    /// Claims the nickname `folded` for this node. Claims and releases
    /// reach Redis in the order they are asked for (one worker, one
    /// command at a time), so that a release asked before a claim of the
    /// same name can never undo it.
    pub fn claim(
        &self,
        folded: Folded,
    ) -> impl std::future::Future<Output = Result<Claim, ClusterError>> {
        let (reply, answer) = oneshot::channel();
        let sent = self.ops.send(Op::Claim {
            nick: folded,
            reply,
        });
        async move {
            sent.map_err(|_| ClusterError::Stopped)?;
            answer.await.map_err(|_| ClusterError::Stopped)?
        }
    }

    /// Publishes a room message (the fields of
    /// [`wire::Outgoing::encode`]) once for every node; answers its number
    /// in the room and its time once Redis has it. Messages reach Redis in
    /// the order they are published here.
    pub fn publish(
        &self,
        room: Folded,
        fields: Vec<u8>,
    ) -> impl std::future::Future<Output = Result<(u64, std::time::SystemTime), ClusterError>> {
        let (reply, answer) = oneshot::channel();
        let sent = self.publish.send(Publish {
            room,
            item: Item::Msg(fields),
            reply,
        });
        async move {
            sent.map_err(|_| ClusterError::Stopped)?;
            answer.await.map_err(|_| ClusterError::Stopped)?
        }
    }

    /// Records a membership change of one of this node's members in the
    /// room's member hash and publishes it, in line with this node's
    /// messages; failures are logged (the member hash is then stale until
    /// the member's next change).
    pub fn announce(&self, room: &RoomName, change: &MemberChange) {
        // What the member hash keeps of a member: its `J` fields.
        let joined = |nick: &crate::core::names::Nick| {
            let kept = MemberChange {
                change: wire::Change::Join,
                nick: nick.clone(),
                reason: None,
                renamed: None,
                ..change.clone()
            };
            (nick.folded().clone(), kept.encode())
        };
        let (del, set) = match (change.change, &change.renamed) {
            (wire::Change::Join, _) => (None, Some(joined(&change.nick))),
            (wire::Change::Rename, Some(new)) => {
                (Some(change.nick.folded().clone()), Some(joined(new)))
            }
            _ => (Some(change.nick.folded().clone()), None),
        };
        let item = Item::Member {
            del,
            set,
            fields: change.encode(),
            node_rooms: keys::node_rooms(&self.node_id),
            node: Arc::clone(&self.node_id),
            display: room.as_str().to_string(),
        };
        self.publish_logged(
            room.folded().clone(),
            item,
            "membership change not published",
        );
    }

    /// Announces a file shared in `room` to its members on every node,
    /// in line with this node's messages there; failures are logged (the
    /// other nodes' members miss the announcement).
    pub fn share_file(&self, room: Folded, file: &wire::SharedFile) {
        let item = Item::Announce(file.encode());
        self.publish_logged(room, item, "file announcement not published");
    }

    /// Queues `item` for `room`'s channel, in line with this node's
    /// messages there; a failure is logged as `failed` (nobody waits for
    /// the answer).
    fn publish_logged(&self, room: Folded, item: Item, failed: &'static str) {
        let (reply, answer) = oneshot::channel();
        let publish = Publish {
            room: room.clone(),
            item,
            reply,
        };
        if self.publish.send(publish).is_err() {
            return;
        }
        actix_rt::spawn(async move {
            if let Ok(Err(e)) = answer.await {
                tracing::warn!(%e, room = room.as_str(), "{failed}");
            }
        });
    }

    /// The room's members on every node, as its member hash has them.
    /// And the number of its last message (nothing numbered up to it is
    /// to be delivered to a member joining now).
    pub fn members(
        &self,
        room: Folded,
    ) -> impl std::future::Future<Output = Result<(Vec<MemberChange>, u64), ClusterError>> {
        let redis = self.redis.clone();
        async move {
            let mut pipe = redis::pipe();
            pipe.cmd("HGETALL")
                .arg(keys::room_members(room.as_str()))
                .cmd("GET")
                .arg(keys::room_seq(room.as_str()));
            let (all, seq): (Vec<(String, Vec<u8>)>, Option<u64>) = read_twice(|| {
                let (pipe, mut redis) = (pipe.clone(), redis.clone());
                async move { pipe.query_async(&mut redis).await }
            })
            .await?;
            let members = all
                .into_iter()
                .filter_map(|(_, fields)| MemberChange::decode(&fields).ok())
                .collect();
            Ok((members, seq.unwrap_or(0)))
        }
    }

    /// The room's messages numbered after `after`, oldest first, from its
    /// stream (what a node missed while its subscription was down).
    pub fn since(
        &self,
        room: Folded,
        after: u64,
    ) -> impl std::future::Future<Output = Result<Vec<wire::Incoming>, ClusterError>> {
        let redis = self.redis.clone();
        async move {
            let mut xrange = redis::cmd("XRANGE");
            xrange
                .arg(keys::room_log(room.as_str()))
                .arg(format!("{}-0", after.saturating_add(1)))
                .arg("+");
            let entries: Vec<StreamEntry> = read_twice(|| {
                let (xrange, mut redis) = (xrange.clone(), redis.clone());
                async move { xrange.query_async(&mut redis).await }
            })
            .await?;
            Ok(decode_entries(entries))
        }
    }

    /// The last `count` messages of the room numbered at most `upto`,
    /// oldest first, from its stream: the cluster-wide history, the same
    /// on every node.
    pub fn history(
        &self,
        room: Folded,
        upto: u64,
        count: u32,
    ) -> impl std::future::Future<Output = Result<Vec<wire::Incoming>, ClusterError>> {
        let redis = self.redis.clone();
        async move {
            if count == 0 || upto == 0 {
                return Ok(Vec::new());
            }
            let mut xrevrange = redis::cmd("XREVRANGE");
            xrevrange.arg(keys::room_log(room.as_str()));
            if upto == u64::MAX {
                xrevrange.arg("+");
            } else {
                xrevrange.arg(format!("{upto}-0"));
            }
            xrevrange.arg("-").arg("COUNT").arg(count);
            let entries: Vec<StreamEntry> = read_twice(|| {
                let (xrevrange, mut redis) = (xrevrange.clone(), redis.clone());
                async move { xrevrange.query_async(&mut redis).await }
            })
            .await?;
            let mut messages = decode_entries(entries);
            messages.reverse();
            Ok(messages)
        }
    }

    /// Has the room's messages, from every node, handed to `to` (the local
    /// room) from now on; done once Redis confirms the subscription.
    pub fn subscribe(
        &self,
        room: Folded,
        to: actix::Recipient<Delivered>,
    ) -> impl std::future::Future<Output = Result<(), ClusterError>> {
        let (done, answer) = oneshot::channel();
        let sent = self.subscribe.send(Subscribe { room, to, done });
        async move {
            sent.map_err(|_| ClusterError::Stopped)?;
            answer.await.map_err(|_| ClusterError::Stopped)?
        }
    }

    /// Tells `add` every account's folded name, on any node, now and as
    /// they are made, for the node's life (see [`accounts`]).
    pub fn follow_accounts(&self, add: impl Fn(Folded) + 'static) {
        let (client, redis) = ((*self.client).clone(), self.redis.clone());
        actix_rt::spawn(accounts::follow(client, redis, add));
    }

    /// Has Redis decide a change of `room`'s settings (a TOPIC, MODE,
    /// KICK, or the room's creation), in line with this node's messages
    /// and membership changes; a change made is published to every node
    /// (this one too), which apply it as they receive it.
    pub fn change(
        &self,
        room: &RoomName,
        change: &wire::SettingChange,
    ) -> impl std::future::Future<Output = Result<Applied, ClusterError>> {
        let item = Item::Setting(change.script(), change.encode());
        self.send_setting(room, item)
    }

    /// Marks `nick` an operator of `room` in Redis, or no longer (it
    /// left, or was renamed), publishing nothing: what a node reading the
    /// room's state lists as operators. Failures are logged.
    pub fn mark_op(&self, room: &RoomName, nick: &crate::core::names::Nick, on: bool) {
        let answer = self.send_setting(room, Item::Setting(setting::op_mark(nick, on), Vec::new()));
        let room = room.clone();
        actix_rt::spawn(async move {
            if let Err(e) = answer.await {
                tracing::warn!(%e, %room, "operator mark not stored");
            }
        });
    }

    /// Records an invitation of `nick` (folded) into `room` in Redis,
    /// or deletes it (used up), publishing nothing: a JOIN on any node
    /// reads it with the room's state.
    pub fn mark_invite(
        &self,
        room: &RoomName,
        nick: &Folded,
        on: bool,
    ) -> impl std::future::Future<Output = Result<Applied, ClusterError>> {
        self.send_setting(
            room,
            Item::Setting(setting::invite_mark(nick, on), Vec::new()),
        )
    }

    fn send_setting(
        &self,
        room: &RoomName,
        item: Item,
    ) -> impl std::future::Future<Output = Result<Applied, ClusterError>> {
        let (reply, answer) = oneshot::channel();
        let sent = self.publish.send(Publish {
            room: room.folded().clone(),
            item,
            reply,
        });
        async move {
            sent.map_err(|_| ClusterError::Stopped)?;
            let (status, _) = answer.await.map_err(|_| ClusterError::Stopped)??;
            Ok(match status {
                0 => Applied::Unchanged,
                2 => Applied::TooManyBans,
                _ => Applied::Changed,
            })
        }
    }

    /// The room's settings as Redis keeps them (`None`: it has none
    /// there yet), read at once (one transaction).
    pub fn room_state(
        &self,
        room: Folded,
    ) -> impl std::future::Future<Output = Result<Option<RoomState>, ClusterError>> {
        let mut redis = self.redis.clone();
        async move {
            let mut pipe = redis::pipe();
            pipe.atomic()
                .cmd("HGETALL")
                .arg(keys::room_state(room.as_str()))
                .cmd("HGETALL")
                .arg(keys::room_bans(room.as_str()));
            type Fields = Vec<(String, Vec<u8>)>;
            let (state, bans): (Fields, Fields) =
                tokio::time::timeout(COMMAND_TIMEOUT, pipe.query_async(&mut redis))
                    .await
                    .map_err(|_| ClusterError::Timeout(COMMAND_TIMEOUT))??;
            Ok(RoomState::read(state, bans))
        }
    }

    /// Whether anyone may speak to `room` from outside (`-n`), as Redis
    /// has it: `None` when it has no member on any node.
    pub fn open_to_outside(
        &self,
        room: Folded,
    ) -> impl std::future::Future<Output = Result<Option<bool>, ClusterError>> {
        let redis = self.redis.clone();
        async move {
            let mut pipe = redis::pipe();
            pipe.cmd("HLEN")
                .arg(keys::room_members(room.as_str()))
                .cmd("HGET")
                .arg(keys::room_state(room.as_str()))
                .arg("n");
            let (members, n): (u64, Option<String>) = read_twice(|| {
                let (pipe, mut redis) = (pipe.clone(), redis.clone());
                async move { pipe.query_async(&mut redis).await }
            })
            .await?;
            // `n` absent is the default: members only.
            Ok((members > 0).then(|| n.as_deref() == Some("0")))
        }
    }

    /// Whether a remote QUIT or NICK (`what`) is to be shown to local
    /// session `session`: the first room to ask for it says yes, the
    /// others (the same user in several shared rooms) no.
    pub fn first_sight(&self, what: &str, session: u64) -> bool {
        match self.seen.lock() {
            Ok(mut seen) => seen.first(what, session),
            Err(_) => true,
        }
    }

    /// A remote member joined: a later QUIT (or NICK) of that nickname
    /// is another one, to be shown again.
    pub fn forget_sight(&self, what: &str) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.forget(what);
        }
    }

    /// Lets go of the nickname `folded` if this node holds it; kept and
    /// tried again while Redis is away.
    pub fn release(&self, folded: Folded) {
        // The worker is gone only when the server stops: the lease lapses.
        let _ = self.ops.send(Op::Release { nick: folded });
    }
}

/// Runs a read, bounded by [`COMMAND_TIMEOUT`]; once more if the first
/// try found the connection dropped (a network cut ended it): the
/// connection manager makes a new one for the second. Reads only: run
/// twice, they change nothing.
async fn read_twice<T, F, Fut>(mut run: F) -> Result<T, ClusterError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = redis::RedisResult<T>>,
{
    let bounded = |fut: Fut| async move {
        tokio::time::timeout(COMMAND_TIMEOUT, fut)
            .await
            .map_err(|_| ClusterError::Timeout(COMMAND_TIMEOUT))
    };
    match bounded(run()).await? {
        Err(e) if e.is_connection_dropped() || e.is_io_error() => Ok(bounded(run()).await??),
        answer => Ok(answer?),
    }
}

/// The messages of stream entries, in their order (anything else
/// skipped).
fn decode_entries(entries: Vec<StreamEntry>) -> Vec<wire::Incoming> {
    entries
        .into_iter()
        .flat_map(|(_, fields)| fields)
        .filter_map(|(_, payload)| match wire::Published::decode(&payload) {
            Ok(wire::Published::Msg(m)) => Some(m),
            _ => None,
        })
        .collect()
}

/// 16 hex digits from the OS's generator (or, should it fail, from the
/// clock and the process id).
fn random_id() -> String {
    let n = getrandom::u64().unwrap_or_else(|_| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        t.as_nanos() as u64 ^ u64::from(std::process::id()) << 32
    });
    format!("{n:016x}")
}
