//! What is addressed to one user across nodes: private messages, handed
//! to the node holding the recipient's nickname on that node's inbox
//! channel; users' cards (what WHOIS shows of a user on another node);
//! and shared files, kept in Redis for their retention so that any node
//! can serve a FETCH (docs/CLUSTER.md, "Private messages and files across
//! nodes").
//!
//! A private message is one script (`DIRECT`): the holder of the
//! nickname is read, its lease checked, and the message published on its
//! inbox once, in one step, so it cannot go to a node that let the name
//! go in between. Each node has one more pub/sub connection, for its own
//! inbox (`inbox`).

use std::sync::Arc;
use std::time::Duration;

use actix::Recipient;
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::keys::{self, PREFIX};
use super::wire::{Direct, SharedFile, UserCard};
use super::{ClusterError, COMMAND_TIMEOUT};
use crate::core::names::{Folded, Nick};

/// Publishes `ARGV[3]` on the inbox of the node holding nickname
/// `KEYS[1]`, if a live node other than `ARGV[1]` holds it (`ARGV[2]` is
/// the key prefix); answers `{receivers, holder, card}` (the user's card
/// `KEYS[2]`, or empty), or nil for nobody.
const DIRECT: &str = r"
local holder = redis.call('GET', KEYS[1])
if not holder or holder == ARGV[1] then return false end
if redis.call('EXISTS', ARGV[2] .. 'node:' .. holder) == 0 then return false end
local n = redis.call('PUBLISH', ARGV[2] .. 'node:' .. holder .. ':inbox', ARGV[3])
return {n, holder, redis.call('GET', KEYS[2]) or ''}
";

/// The holder of nickname `KEYS[1]` and the user's card `KEYS[2]` (or
/// empty), if a live node other than `ARGV[1]` holds it; nil otherwise.
const LOCATE: &str = r"
local holder = redis.call('GET', KEYS[1])
if not holder or holder == ARGV[1] then return false end
if redis.call('EXISTS', ARGV[2] .. 'node:' .. holder) == 0 then return false end
return {holder, redis.call('GET', KEYS[2]) or ''}
";

/// Sets user card `KEYS[2]` to `ARGV[2]` if node `ARGV[1]` holds its
/// nickname `KEYS[1]` (a card written late, after the name was let go,
/// is dropped).
const CARD: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[2], ARGV[2]) end
return 1
";

/// A user held by another node, as Redis knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUser {
    /// Its card; a plain one (a native user's look: `native@native`, the
    /// nickname as real name) while the node has not written it yet.
    pub card: UserCard,
}

impl RemoteUser {
    /// `card` if it is `holder`'s (a card left by a node that lost the
    /// name is not), else a plain card for `nick` on `holder`.
    fn from_card(holder: &str, card: &[u8], nick: &Nick) -> RemoteUser {
        let card = UserCard::decode(card)
            .ok()
            .filter(|c| c.node == holder)
            .unwrap_or_else(|| UserCard {
                node: holder.to_string(),
                nick: nick.clone(),
                userhost: crate::core::event::UserHost::native(),
                realname: Arc::from(nick.as_str()),
                account: None,
                away: None,
                oper: false,
            });
        RemoteUser { card }
    }
}

/// What a node's inbox hands the directory.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub enum Inboxed {
    /// A private message to one of this node's users.
    Direct(Direct),
    /// A file sent to one of this node's users (its record's target).
    File(SharedFile),
}

impl Inboxed {
    /// Reads an inbox payload.
    fn decode(payload: &[u8]) -> Result<Inboxed, super::wire::BadPayload> {
        if payload.starts_with(b"1:F") {
            SharedFile::decode(payload).map(Inboxed::File)
        } else {
            Direct::decode(payload).map(Inboxed::Direct)
        }
    }
}

impl super::Cluster {
    /// Hands the private message `message` to the node holding its
    /// recipient: `Ok(None)` when no other live node holds it,
    /// [`ClusterError::Unanswered`] when that node's inbox is not
    /// listened to (its subscription is being made again).
    pub fn send_direct(
        &self,
        message: &Direct,
    ) -> impl std::future::Future<Output = Result<Option<RemoteUser>, ClusterError>> {
        self.to_inbox(message.to.clone(), message.encode())
    }

    /// Announces a file sent to a user of another node (the record's
    /// target) to that user's node, as [`Cluster::send_direct`] does a
    /// message: keep it first ([`Cluster::keep_file`]).
    ///
    /// [`Cluster::send_direct`]: super::Cluster::send_direct
    /// [`Cluster::keep_file`]: super::Cluster::keep_file
    pub fn send_file(
        &self,
        to: Nick,
        file: &SharedFile,
    ) -> impl std::future::Future<Output = Result<Option<RemoteUser>, ClusterError>> {
        self.to_inbox(to, file.encode())
    }

    /// Publishes `payload` on the inbox of the node holding `to`.
    fn to_inbox(
        &self,
        to: Nick,
        payload: Vec<u8>,
    ) -> impl std::future::Future<Output = Result<Option<RemoteUser>, ClusterError>> {
        let mut redis = self.redis.clone();
        let folded = to.folded().as_str().to_string();
        let mut script = redis::cmd("EVAL");
        script
            .arg(DIRECT)
            .arg(2)
            .arg(keys::nick(&folded))
            .arg(keys::user(&folded))
            .arg(&*self.node_id)
            .arg(PREFIX)
            .arg(payload);
        async move {
            let answer: Option<(i64, String, Vec<u8>)> =
                bounded(script.query_async(&mut redis)).await?;
            let Some((receivers, holder, card)) = answer else {
                return Ok(None);
            };
            if receivers == 0 {
                return Err(ClusterError::Unanswered);
            }
            Ok(Some(RemoteUser::from_card(&holder, &card, &to)))
        }
    }

    /// The user holding nickname `nick` on another live node, if any.
    pub fn locate(
        &self,
        nick: &Nick,
    ) -> impl std::future::Future<Output = Result<Option<RemoteUser>, ClusterError>> {
        let mut redis = self.redis.clone();
        let nick = nick.clone();
        let mut script = redis::cmd("EVAL");
        self.locate_args(&mut script, &nick);
        async move {
            let answer: Option<(String, Vec<u8>)> = bounded(script.query_async(&mut redis)).await?;
            Ok(answer.map(|(holder, card)| RemoteUser::from_card(&holder, &card, &nick)))
        }
    }

    /// `LOCATE`'s script and arguments for `nick`, after `cmd` (`EVAL`).
    fn locate_args(&self, cmd: &mut redis::Cmd, nick: &Nick) {
        let folded = nick.folded().as_str();
        cmd.arg(LOCATE)
            .arg(2)
            .arg(keys::nick(folded))
            .arg(keys::user(folded))
            .arg(&*self.node_id)
            .arg(PREFIX);
    }

    /// The users holding `nicks` on other live nodes, in the order
    /// asked (`None` for a nick no other node holds): one round trip.
    pub fn locate_all(
        &self,
        nicks: Vec<Nick>,
    ) -> impl std::future::Future<Output = Result<Vec<Option<RemoteUser>>, ClusterError>> {
        let mut redis = self.redis.clone();
        let mut pipe = redis::pipe();
        for nick in &nicks {
            let mut cmd = redis::cmd("EVAL");
            self.locate_args(&mut cmd, nick);
            pipe.add_command(cmd);
        }
        async move {
            if nicks.is_empty() {
                return Ok(Vec::new());
            }
            let answers: Vec<Option<(String, Vec<u8>)>> =
                bounded(pipe.query_async(&mut redis)).await?;
            Ok(nicks
                .iter()
                .zip(answers)
                .map(|(nick, answer)| {
                    answer.map(|(holder, card)| RemoteUser::from_card(&holder, &card, nick))
                })
                .collect())
        }
    }

    /// Writes (or rewrites) the card of a user of this node: kept only
    /// while this node holds its nickname. Cards are written in the
    /// order asked.
    pub fn write_card(&self, card: &UserCard) {
        let _ = self.cards.send((card.nick.folded().clone(), card.encode()));
    }

    /// Keeps a shared file in Redis (its record and its content, read
    /// from `path`) for `retention`, so that every node can serve it.
    pub fn keep_file(
        &self,
        file: &SharedFile,
        path: std::path::PathBuf,
        retention: Duration,
    ) -> impl std::future::Future<Output = Result<(), ClusterError>> {
        let mut redis = self.redis.clone();
        let id = file.record.id.as_str().to_string();
        let record = file.encode();
        async move {
            let body = tokio::fs::read(&path).await.map_err(|e| {
                warn!(%e, "cannot read a shared file to keep it in Redis");
                ClusterError::Unanswered
            })?;
            let ms = u64::try_from(retention.as_millis())
                .unwrap_or(u64::MAX)
                .max(1);
            let mut pipe = redis::pipe();
            // Body first: a node that finds the record finds the body.
            pipe.atomic()
                .cmd("SET")
                .arg(keys::file_body(&id))
                .arg(body)
                .arg("PX")
                .arg(ms)
                .ignore()
                .cmd("SET")
                .arg(keys::file(&id))
                .arg(record)
                .arg("PX")
                .arg(ms)
                .ignore();
            bounded(pipe.query_async::<()>(&mut redis)).await
        }
    }

    /// A shared file's record, if Redis still keeps it.
    pub fn file_record(
        &self,
        id: &crate::core::FileId,
    ) -> impl std::future::Future<Output = Result<Option<SharedFile>, ClusterError>> {
        let mut redis = self.redis.clone();
        let key = keys::file(id.as_str());
        async move {
            let found: Option<Vec<u8>> =
                bounded(redis::cmd("GET").arg(key).query_async(&mut redis)).await?;
            Ok(found.and_then(|r| SharedFile::decode(&r).ok()))
        }
    }

    /// A shared file's content, if Redis still keeps it.
    pub fn file_body(
        &self,
        id: &crate::core::FileId,
    ) -> impl std::future::Future<Output = Result<Option<Vec<u8>>, ClusterError>> {
        let mut redis = self.redis.clone();
        let key = keys::file_body(id.as_str());
        async move { bounded(redis::cmd("GET").arg(key).query_async(&mut redis)).await }
    }

    /// Has what comes to this node's inbox handed to `to` from now on.
    pub fn serve_inbox(&self, to: Recipient<Inboxed>) {
        actix_rt::spawn(inbox(
            (*self.client).clone(),
            keys::node_inbox(&self.node_id),
            to,
        ));
    }
}

/// Writes users' cards, one at a time, in the order asked.
pub(super) async fn card_writer(
    mut redis: ConnectionManager,
    node_id: Arc<str>,
    mut cards: mpsc::UnboundedReceiver<(Folded, Vec<u8>)>,
) {
    while let Some((nick, card)) = cards.recv().await {
        let mut script = redis::cmd("EVAL");
        script
            .arg(CARD)
            .arg(2)
            .arg(keys::nick(nick.as_str()))
            .arg(keys::user(nick.as_str()))
            .arg(&*node_id)
            .arg(card);
        if let Err(e) = bounded(script.query_async::<i64>(&mut redis)).await {
            warn!(%e, nick = nick.as_str(), "user card not written to Redis");
        }
    }
}

/// The node's inbox: a subscription of its own to `channel`, made again
/// whenever it drops, handing each private message to `to`.
async fn inbox(client: redis::Client, channel: String, to: Recipient<Inboxed>) {
    let mut lost = false;
    loop {
        let pubsub = match tokio::time::timeout(COMMAND_TIMEOUT, client.get_async_pubsub()).await {
            Ok(Ok(p)) => p,
            _ => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        match tokio::time::timeout(COMMAND_TIMEOUT, sink.subscribe(&channel)).await {
            Ok(Ok(())) => {}
            _ => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        }
        if lost {
            info!("listening to this node's inbox again");
        }
        while let Some(msg) = stream.next().await {
            match Inboxed::decode(msg.get_payload_bytes()) {
                Ok(inboxed) => to.do_send(inboxed),
                Err(e) => warn!(%e, "skipping an inbox payload"),
            }
        }
        lost = true;
        warn!("this node's inbox subscription lost; connecting again");
    }
}

/// `fut`, or [`ClusterError::Timeout`] after [`COMMAND_TIMEOUT`].
async fn bounded<T>(
    fut: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, ClusterError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, fut).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(ClusterError::Timeout(COMMAND_TIMEOUT)),
    }
}
