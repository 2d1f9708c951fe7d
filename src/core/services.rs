//! What the core offers every front end: the configuration and the rules
//! drawn from it, the directory of nicknames and rooms, the file index and
//! the message store.

mod elsewhere;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix::{Addr, MailboxError};
use bytes::Bytes;
use tokio::sync::Semaphore;

use super::cluster::{CensusRoom, Cluster};
use super::directory::{
    CountMissing, Counts, Creator, Directory, GetCounts, ListRooms, OpenRoom, ReservedNicks,
};
use super::error::ErrorCode;
use super::files::link::LinkSigner;
use super::files::FileStore;
use super::flood::FloodRule;
use super::gate::{GateRules, GuessTarget, Guesser, PasswordGate};
use super::names::NameLimits;
use super::names::{RoomName, STORED_NAME_LIMIT};
use super::opers::ServerBans;
use super::room::{self, JoinStep, KeyProof, KeyWork, RoomHandle, RoomSummary};
use super::room_key;
use super::store::{HistoryQuery, StoredMessage};
use crate::config::{Config, Motd, SharedConfig};
use crate::core::store::Database;
use crate::transport::send_queue::PacedBudget;

/// Shared by every session of every front end.
pub struct Services {
    /// The configuration in force, which a reload replaces: read it with
    /// [`Services::config`] where a setting applies.
    pub live: SharedConfig,
    /// Unique nicknames and the rooms by name.
    pub directory: Addr<Directory>,
    /// The index of shared files.
    pub files: Addr<FileStore>,
    /// The message store, where history is kept.
    pub db: Option<Database>,
    /// When the server started.
    pub started: Instant,
    /// Issues and checks the download tokens of file links.
    pub links: LinkSigner,
    /// The server bans (KLINE) in force.
    pub bans: ServerBans,
    /// What large replies waiting for their clients hold together
    /// (`limits.large_replies_bytes`).
    pub large_replies: Arc<PacedBudget>,
    /// Every key and password hash goes through it: bounded, and backed
    /// off for repeated wrong guesses.
    pub gate: PasswordGate,
    /// The settings every line reads, as configured now.
    pub per_line: Arc<PerLine>,
    /// The nicknames accounts reserve, read after every change of nick.
    pub reserved: ReservedNicks,
    /// Cluster mode's handle on Redis (docs/CLUSTER.md); `None` on a
    /// standalone server, where no Redis code runs.
    pub cluster: Option<Cluster>,
    /// Turns for the JOINs being worked through: [`JOINS_AT_ONCE`].
    pub joins: Semaphore,
}

/// JOINs worked through at once; the others wait their turn, in order.
/// Ten thousand clients reconnecting send ten thousand JOINs together:
/// all in flight at once, their envelopes, answers and lines filled the
/// heap's small blocks between the rooms being made, which kept them
/// when the burst was over. A few hundred keep every room busy.
pub const JOINS_AT_ONCE: usize = 256;

/// The settings read at every line a client sends (name bounds for the
/// parser, the flood rule, whether a login is needed), kept in atomics
/// that a reload sets
/// ([`PerLine::set`]): two loads of the reloadable configuration per line
/// measured some 160 instructions, a fortieth of a message's work.
#[derive(Debug, Default)]
pub struct PerLine {
    max_nick_len: AtomicUsize,
    max_room_len: AtomicUsize,
    flood_burst: AtomicU32,
    flood_rate_bits: AtomicU64,
    login_required: AtomicBool,
}

impl PerLine {
    /// The settings of `config`.
    pub fn of(config: &Config) -> Self {
        let per_line = PerLine::default();
        per_line.set(config);
        per_line
    }

    /// Puts `config`'s settings in force (at a reload).
    pub fn set(&self, config: &Config) {
        let limits = &config.limits;
        self.max_nick_len
            .store(limits.max_nick_len, Ordering::Relaxed);
        self.max_room_len
            .store(limits.max_room_len, Ordering::Relaxed);
        self.flood_burst
            .store(limits.flood_burst, Ordering::Relaxed);
        self.flood_rate_bits
            .store(limits.flood_rate_per_sec.to_bits(), Ordering::Relaxed);
        let accounts = &config.accounts;
        self.login_required.store(
            accounts.enabled && accounts.require_login,
            Ordering::Relaxed,
        );
    }
}

/// What joining a room found.
pub struct Entered {
    /// The room's name as first spelled.
    pub name: RoomName,
    /// The room.
    pub addr: RoomHandle,
    /// The messages to replay to the joiner, oldest first.
    pub history: Vec<StoredMessage>,
    /// The `JOIN` and listing the joiner is to send itself, when it asked
    /// for them ([`room::Join::hand_back`]).
    pub welcome: Option<Bytes>,
    /// The room holds the member's events until [`room::Replayed`].
    pub held: bool,
}

impl Services {
    /// The configuration in force now. Read a setting from it when the
    /// setting applies (`core.config().limits.max_clients`), and keep no
    /// copy in long-lived state, so that a reload (SIGHUP) reaches it.
    pub fn config(&self) -> Arc<Config> {
        self.live.get()
    }

    /// The message of the day in force now (empty for none).
    pub fn motd(&self) -> Arc<Motd> {
        self.live.motd()
    }

    /// Name bounds for parsers, as configured now.
    pub fn names(&self) -> NameLimits {
        NameLimits {
            max_nick_len: self.per_line.max_nick_len.load(Ordering::Relaxed),
            max_room_len: self.per_line.max_room_len.load(Ordering::Relaxed),
        }
    }

    /// Whether commands other than the few allowed before it need a login
    /// (`accounts.require_login`), as configured now: asked at every line
    /// of a client not logged in.
    pub fn login_required(&self) -> bool {
        self.per_line.login_required.load(Ordering::Relaxed)
    }

    /// Every connection's flood limits, as configured now.
    pub fn flood(&self) -> FloodRule {
        let per_line = &self.per_line;
        FloodRule::new(
            per_line.flood_burst.load(Ordering::Relaxed),
            f64::from_bits(per_line.flood_rate_bits.load(Ordering::Relaxed)),
        )
    }

    /// Opens the room `name` and joins it as `join` says, then reads the
    /// history a joiner is replayed: what every front end's JOIN does.
    /// A key the room asks for is checked (or, creating the room, hashed)
    /// through the [`PasswordGate`], the joiner (`creator`) guessing:
    /// `TRY_LATER` when it or the room is backed off, or too many wait.
    pub async fn enter_room(
        self: Arc<Self>,
        name: RoomName,
        join: room::Join,
        creator: Creator,
    ) -> Result<Entered, ErrorCode> {
        // Never closed: an error is only possible once it is.
        let _turn = self
            .joins
            .acquire()
            .await
            .map_err(|_| ErrorCode::Internal)?;
        let mut proof = None;
        // A room that emptied and stopped a moment ago is replaced by a
        // fresh one on the next try; a key changed meanwhile is checked
        // again.
        for _ in 0..8 {
            let addr = self
                .directory
                .send(OpenRoom {
                    name: name.clone(),
                    creator,
                })
                .await
                .map_err(|_| ErrorCode::Internal)??;
            if let Some(cluster) = &self.cluster {
                // Boxed: a standalone server's joins (thousands at once
                // when clients reconnect) need not carry Redis's futures.
                Box::pin(follow_in_cluster(cluster, &name, &addr)).await?;
            }
            let attempt = room::Join {
                member: join.member.clone(),
                nick: join.nick.clone(),
                userhost: join.userhost.clone(),
                realname: Arc::clone(&join.realname),
                key: join.key.clone(),
                account: join.account.clone(),
                hand_back: join.hand_back,
                proof: proof.take(),
            };
            let joined = match addr.send(attempt).await {
                Ok(Ok(JoinStep::Joined(joined))) => joined,
                Ok(Ok(JoinStep::CheckKey(work))) => {
                    let who = Guesser {
                        conn: creator.id,
                        addr: creator.ip,
                    };
                    let key = join.key.clone().unwrap_or_default();
                    // Boxed, as the cluster's part: few joins need it.
                    proof = Some(Box::pin(self.check_key(&name, who, key, work)).await?);
                    continue;
                }
                Ok(Err(e)) => return Err(e),
                Err(MailboxError::Closed) => continue,
                Err(MailboxError::Timeout) => return Err(ErrorCode::Internal),
            };
            let on_join = self.live.load().history.on_join;
            let history = match joined.replay_upto {
                Some(upto) if upto > 0 && on_join > 0 => self
                    .history(&joined.name, upto, on_join)
                    .await
                    // The member is in; it misses its replay, not its room.
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            return Ok(Entered {
                name: joined.name,
                addr,
                history,
                welcome: joined.welcome,
                held: joined.held,
            });
        }
        Err(ErrorCode::Internal)
    }

    /// The last `count` messages of `room` numbered at most `upto`, oldest
    /// first: what HISTORY and the replay on JOIN read. A standalone
    /// server reads its database (nothing when history is off); a cluster
    /// node reads the room's stream in Redis, the same on every node
    /// (`CLUSTER_UNAVAILABLE` when Redis does not answer).
    pub async fn history(
        &self,
        room: &RoomName,
        upto: u64,
        count: u32,
    ) -> Result<Vec<StoredMessage>, ErrorCode> {
        let Some(cluster) = &self.cluster else {
            return Ok(match &self.db {
                Some(db) => db.history(room, upto, count).await,
                None => Vec::new(),
            });
        };
        // Boxed: every JOIN replaying history awaits this function, and
        // a standalone server's should not carry Redis's future.
        stored(
            room,
            Box::pin(cluster.history(room.folded().clone(), upto, count)).await,
        )
    }

    /// At most `limit` messages of `room` chosen by `query`, oldest first:
    /// what IRC's CHATHISTORY reads, from the database or (cluster mode)
    /// the room's stream, as [`Services::history`] does.
    pub async fn query_history(
        &self,
        room: &RoomName,
        query: HistoryQuery,
        limit: u32,
    ) -> Result<Vec<StoredMessage>, ErrorCode> {
        let Some(cluster) = &self.cluster else {
            return Ok(match &self.db {
                Some(db) => db.query(room, query, limit).await,
                None => Vec::new(),
            });
        };
        stored(
            room,
            cluster.query(room.folded().clone(), query, limit).await,
        )
    }

    /// The rooms LIST shows, sorted by name: this node's, and on a
    /// cluster node every other node's too, with their members on every
    /// node (one round trip to Redis; without Redis, this node's alone).
    pub async fn list_rooms(&self) -> Vec<RoomSummary> {
        let local = self.directory.send(ListRooms).await.unwrap_or_default();
        let Some(cluster) = &self.cluster else {
            return local;
        };
        match cluster.census().await {
            Ok(census) => merge_rooms(local, census.rooms),
            Err(e) => {
                tracing::warn!(%e, "cannot count the cluster's rooms in Redis");
                local
            }
        }
    }

    /// The counts INFO and LUSERS show: this node's, and on a cluster node
    /// the users and rooms of every node (one round trip to Redis; without
    /// Redis, this node's alone). Invisible users and operators are this
    /// node's only.
    pub async fn counts(&self) -> Result<Counts, MailboxError> {
        let mut counts = self.directory.send(GetCounts).await?;
        let Some(cluster) = &self.cluster else {
            return Ok(counts);
        };
        match cluster.census().await {
            Ok(census) => {
                let rooms = census
                    .rooms
                    .iter()
                    .filter_map(|r| RoomName::parse_hashed(&r.name, STORED_NAME_LIMIT).ok())
                    .map(|name| name.folded().clone())
                    .collect();
                let missing = self.directory.send(CountMissing { rooms }).await?;
                counts.users += census.elsewhere;
                counts.rooms += missing;
            }
            Err(e) => tracing::warn!(%e, "cannot count the cluster's users in Redis"),
        }
        Ok(counts)
    }

    /// Cluster mode: what someone said to a room this node does not
    /// have (no member here, now or before), from outside it: published
    /// for every node's members if the room lets anyone speak (`-n`, as
    /// Redis has it). Its number and time once Redis has it;
    /// `NoSuchRoom` when it has no member anywhere (or on a standalone
    /// server), `NotInRoom` when only members speak.
    pub async fn say_to_room_elsewhere(
        &self,
        room: &RoomName,
        say: room::SayOutside,
    ) -> Result<(u64, std::time::SystemTime), ErrorCode> {
        let Some(cluster) = &self.cluster else {
            return Err(ErrorCode::NoSuchRoom);
        };
        let unavailable = |e: crate::core::cluster::ClusterError| {
            tracing::warn!(%e, %room, "room message from outside not published");
            ErrorCode::ClusterUnavailable
        };
        match cluster.open_to_outside(room.folded().clone()).await {
            Ok(Some(true)) => {}
            Ok(Some(false)) => return Err(ErrorCode::NotInRoom),
            Ok(None) => return Err(ErrorCode::NoSuchRoom),
            Err(e) => return Err(unavailable(e)),
        }
        let fields = crate::core::cluster::wire::Outgoing {
            origin: cluster.node_id(),
            // No member's session: nobody is left out of it.
            sender: 0,
            echo: true,
            kind: say.kind,
            from: &say.from,
            userhost: &say.userhost,
            account: say.account.as_deref(),
            tags: say.tags.as_deref(),
            text: &say.text,
        }
        .encode();
        cluster
            .publish(room.folded().clone(), fields)
            .await
            .map_err(unavailable)
    }

    /// Does what a room asked of a JOIN's key, through the gate.
    async fn check_key(
        &self,
        room: &RoomName,
        who: Guesser,
        key: String,
        work: KeyWork,
    ) -> Result<KeyProof, ErrorCode> {
        let config = self.config();
        let rules = GateRules::of(&config.limits);
        match work {
            KeyWork::Create => {
                let hash = self
                    .gate
                    .hash(&rules, move || room_key::hash_key(&key))
                    .await?;
                Ok(KeyProof::created(hash))
            }
            KeyWork::Verify { hash } => {
                let target = GuessTarget::Room(room.folded().clone());
                let stored = hash.clone();
                let right = self
                    .gate
                    .verify(&rules, who, target, move || {
                        room_key::verify_key(&key, &stored)
                    })
                    .await?;
                if right {
                    Ok(KeyProof::matches(hash))
                } else {
                    Err(ErrorCode::BadKey)
                }
            }
        }
    }
}

/// Before a node's member joins `name` (at `addr`): the room subscribed
/// in Redis (nothing said there after its OK JOIN can pass it by), with
/// the members on other nodes and its owner, key, modes and bans, which
/// the JOIN is checked against.
async fn follow_in_cluster(
    cluster: &Cluster,
    name: &RoomName,
    addr: &RoomHandle,
) -> Result<(), ErrorCode> {
    let room = (**addr).clone().recipient();
    let known = match cluster.subscribe(name.folded().clone(), room).await {
        Ok(()) => cluster.members(name.folded().clone()).await,
        Err(e) => Err(e),
    };
    let (members, seq) = known.map_err(|e| {
        tracing::warn!(%e, room = %name, "cannot subscribe to the room in Redis");
        ErrorCode::ClusterUnavailable
    })?;
    let _ = addr.send(room::KnownMembers { members, seq }).await;
    let state = cluster
        .room_state(name.folded().clone())
        .await
        .map_err(|e| {
            tracing::warn!(%e, room = %name, "cannot read the room's state in Redis");
            ErrorCode::ClusterUnavailable
        })?;
    let _ = addr.send(room::KnownState(state)).await;
    Ok(())
}

/// Messages read from a room's stream, as the store answers them.
fn stored(
    room: &RoomName,
    read: Result<Vec<crate::core::cluster::wire::Incoming>, crate::core::cluster::ClusterError>,
) -> Result<Vec<StoredMessage>, ErrorCode> {
    match read {
        Ok(messages) => Ok(messages
            .into_iter()
            .map(|m| StoredMessage {
                seq: m.seq,
                time: m.time,
                from: m.from.as_str().to_string(),
                text: m.text,
            })
            .collect()),
        Err(e) => {
            tracing::warn!(%e, %room, "cannot read the room's history in Redis");
            Err(ErrorCode::ClusterUnavailable)
        }
    }
}

/// This node's rooms with their members on every node, and the rooms
/// with members on other nodes only, sorted by name.
fn merge_rooms(mut local: Vec<RoomSummary>, cluster: Vec<CensusRoom>) -> Vec<RoomSummary> {
    let at: std::collections::HashMap<_, _> = local
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.folded().clone(), i))
        .collect();
    let mut elsewhere = Vec::new();
    for room in cluster {
        let Ok(name) = RoomName::parse_hashed(&room.name, STORED_NAME_LIMIT) else {
            continue;
        };
        match at.get(name.folded()) {
            // Its own members reach the member hash a moment after they
            // join: the larger count is the newer. Its key, `+s` and
            // topic are the node's copy's (which follows Redis's).
            Some(&i) => local[i].members = local[i].members.max(room.members),
            // Not here: as Redis's state hash has them.
            None => elsewhere.push(RoomSummary {
                name,
                members: room.members,
                private: room.private,
                secret: room.secret,
                topic: room.topic,
                listed: true,
                disposable: false,
            }),
        }
    }
    if !elsewhere.is_empty() {
        local.extend(elsewhere);
        local.sort_by(|a, b| a.name.folded().cmp(b.name.folded()));
    }
    local
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(name: &str, members: usize) -> RoomSummary {
        RoomSummary {
            name: RoomName::parse_hashed(name, STORED_NAME_LIMIT).expect("room name"),
            members,
            private: false,
            secret: false,
            topic: None,
            listed: true,
            disposable: false,
        }
    }

    /// The size of the future `f` returns, without calling it.
    fn future_size<F, Fut>(_: F) -> usize
    where
        F: FnOnce(Arc<Services>, RoomName, room::Join, Creator) -> Fut,
    {
        std::mem::size_of::<Fut>()
    }

    #[test]
    fn a_join_in_flight_stays_out_of_the_2048_byte_class() {
        // Each JOIN waiting for its room holds this future (in its
        // session's box): ten thousand at once when clients reconnect.
        // jemalloc fits two 2,048-byte blocks in a page and keeps every
        // page's descriptor for good; 1,280-byte blocks go sixteen to five
        // pages. Redis's futures, the key check and the cluster's history
        // read are boxed so that a standalone server's JOIN carries none.
        assert!(future_size(Services::enter_room) <= 1_152);
    }

    #[test]
    fn the_clusters_rooms_join_this_nodes_in_name_order() {
        let local = vec![summary("#b", 2), summary("#d", 5)];
        let room = |name: &str, members| CensusRoom {
            name: name.to_string(),
            members,
            ..CensusRoom::default()
        };
        let cluster = vec![
            CensusRoom {
                private: true,
                secret: true,
                topic: Some("hi".into()),
                ..room("#a", 1)
            },
            CensusRoom {
                secret: true,
                ..room("#B", 3)
            },
            room("#d", 4),
            room("bad name", 9),
        ];
        let merged = merge_rooms(local, cluster);
        let counts: Vec<(String, usize)> = merged
            .iter()
            .map(|r| (r.name.as_str().to_string(), r.members))
            .collect();
        assert_eq!(
            counts,
            [
                ("#a".to_string(), 1),
                ("#b".to_string(), 3),
                ("#d".to_string(), 5)
            ]
        );
        // Another node's room as Redis has it; this node's as its copy.
        assert!(merged[0].private && merged[0].secret);
        assert_eq!(merged[0].topic.as_deref(), Some("hi"));
        assert!(!merged[1].secret);
    }

    #[test]
    fn per_line_settings_follow_a_reload() {
        let mut config = Config::default();
        let per_line = PerLine::of(&config);
        assert_eq!(per_line.max_nick_len.load(Ordering::Relaxed), 24);
        config.limits.max_nick_len = 9;
        config.limits.max_room_len = 7;
        config.limits.flood_burst = 3;
        config.limits.flood_rate_per_sec = 0.5;
        per_line.set(&config);
        assert_eq!(per_line.max_nick_len.load(Ordering::Relaxed), 9);
        assert_eq!(per_line.max_room_len.load(Ordering::Relaxed), 7);
        assert_eq!(per_line.flood_burst.load(Ordering::Relaxed), 3);
        let rate = f64::from_bits(per_line.flood_rate_bits.load(Ordering::Relaxed));
        assert_eq!(rate, 0.5);
    }
}
