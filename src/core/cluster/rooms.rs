//! Rooms across nodes: the node's publisher of room messages and its one
//! subscription, which hands each room's messages to the local room in
//! the order Redis published them.
//!
//! A message is published once per room: one script `XADD`s it to the
//! room's stream (`chatroom:room:<folded>:log`, the cluster-wide history;
//! with `appendfsync always` on disk before Redis answers) and `PUBLISH`es
//! it on `chatroom:room:<folded>`, numbered by the room's counter
//! (`chatroom:room:<folded>:seq`; the stream entry's id is `<seq>-0`).
//! Redis runs one script at a time, so the numbers, the stream and the
//! channel agree on one order, and every node, the origin too, delivers in
//! it. What a node missed (its subscription was down) it reads from the
//! stream by number ([`Cluster::since`](super::Cluster::since)).
//!
//! The publisher sends whatever is queued as one pipeline, one batch at a
//! time: the node's messages reach Redis in the order they were said, and
//! a busy node pays one round trip per batch, not per message. The
//! messages are sent with `EVAL` (not `EVALSHA` with a fallback), so that
//! a Redis that restarted and forgot its scripts cannot reorder a batch.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix::Recipient;
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn};

use super::clock::RedisClock;
use super::keys;
use super::setting::{Script, SETTING};
use super::wire::Published;
use super::{ClusterError, COMMAND_TIMEOUT};
use crate::core::names::Folded;

/// Numbers the messages `ARGV[3]`.. (one or more, said one after the
/// other in one room) in room counter `KEYS[2]`, appends each to stream
/// `KEYS[1]` (trimmed to about `ARGV[1]` entries, unless 0) and publishes
/// each on channel `KEYS[3]`, as `<seq> <ms> <fields>`; answers `{first
/// seq, ms}` (the others numbered on from it), or `{0, ms}` without doing
/// anything when Redis's time is past the deadline `ARGV[2]` (0: none;
/// `clock.rs`). Several messages in one call: the script's own cost
/// (finding it, starting it) is paid once per run of a room's messages in
/// a batch, not once per message.
const PUBLISH: &str = r"
local now = redis.call('TIME')
local ms = now[1] * 1000 + math.floor(now[2] / 1000)
if ARGV[2] ~= '0' and ms > tonumber(ARGV[2]) then return {0, ms} end
local count = #ARGV - 2
local last = redis.call('INCRBY', KEYS[2], count)
local first = last - count + 1
local stamp = ' ' .. string.format('%d', ms) .. ' '
for i = 1, count do
  local seq = first + i - 1
  local payload = seq .. stamp .. ARGV[i + 2]
  if ARGV[1] == '0' then
    redis.call('XADD', KEYS[1], seq .. '-0', 'm', payload)
  else
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], seq .. '-0', 'm', payload)
  end
  redis.call('PUBLISH', KEYS[3], payload)
end
return {first, ms}
";

/// Deletes member `ARGV[1]` (if not empty, and held there by node
/// `ARGV[8]`: another node's member of that nickname, one taken while
/// this node was cut off, stays) from the room's member hash `KEYS[1]`,
/// sets member `ARGV[2]` (if not empty) to `ARGV[3]` there (and
/// notes room `ARGV[6]` in its node's set of rooms `ARGV[5]`, where the
/// node's members are found should it die), keeps the cluster's rooms
/// `KEYS[3]` (folded name → `ARGV[7]`, its name as spelled) to those with
/// members, and publishes the change `ARGV[4]` on channel `KEYS[2]` as
/// `0 <ms> <fields>`, in line with the room's messages.
const MEMBER: &str = r"
if ARGV[1] ~= '' then
  local kept = redis.call('HGET', KEYS[1], ARGV[1])
  if kept then
    local rest = string.sub(kept, 4)
    local colon = string.find(rest, ':', 1, true)
    local n = colon and tonumber(string.sub(rest, 1, colon - 1)) or 0
    if colon and string.sub(rest, colon + 1, colon + n) == ARGV[8] then
      redis.call('HDEL', KEYS[1], ARGV[1])
    end
  end
end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  redis.call('SADD', ARGV[5], ARGV[6])
  redis.call('HSETNX', KEYS[3], ARGV[6], ARGV[7])
elseif redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HDEL', KEYS[3], ARGV[6])
end
local now = redis.call('TIME')
local ms = now[1] * 1000 + math.floor(now[2] / 1000)
redis.call('PUBLISH', KEYS[2], '0 ' .. ms .. ' ' .. ARGV[4])
return {0, ms}
";

/// Publishes `ARGV[1]` on room channel `KEYS[1]` as `0 <ms> <fields>`,
/// unnumbered and not kept in the stream (a file announcement), in line
/// with the room's messages.
const ANNOUNCE: &str = r"
local now = redis.call('TIME')
local ms = now[1] * 1000 + math.floor(now[2] / 1000)
redis.call('PUBLISH', KEYS[1], '0 ' .. ms .. ' ' .. ARGV[1])
return {0, ms}
";

/// The most messages one pipeline carries.
const MAX_BATCH: usize = 256;

/// What a room publishes.
pub(super) enum Item {
    /// A message: its fields.
    Msg(Vec<u8>),
    /// A membership change.
    Member {
        /// The member to take out of the member hash.
        del: Option<Folded>,
        /// The member to put in it, and what it keeps for it.
        set: Option<(Folded, Vec<u8>)>,
        /// The change, as published.
        fields: Vec<u8>,
        /// The key of the node's set of rooms.
        node_rooms: String,
        /// The room's name as spelled.
        display: String,
        /// This node's id.
        node: std::sync::Arc<str>,
    },
    /// A change of the room's settings (`setting.rs`): what the script
    /// is to do, and the change as published (empty: not published).
    Setting(Script, Vec<u8>),
    /// Something for the room's members on every node that is neither a
    /// message nor kept (a file announcement): its fields.
    Announce(Vec<u8>),
}

/// A message or membership change to publish.
pub(super) struct Publish {
    pub(super) room: Folded,
    pub(super) item: Item,
    pub(super) reply: oneshot::Sender<Result<(u64, SystemTime), ClusterError>>,
}

/// What the node asks of its subscription.
pub(super) struct Subscribe {
    pub(super) room: Folded,
    pub(super) to: Recipient<Delivered>,
    pub(super) done: oneshot::Sender<Result<(), ClusterError>>,
}

/// What the node's subscription hands a room.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub enum Delivered {
    /// A message or membership change, in the room's order.
    Published(Published),
    /// The subscription was made again (Redis came back): what was
    /// published meanwhile was missed, and is to be read from the stream.
    Resumed,
    /// The node's lease had lapsed (cut off from Redis for longer) and
    /// other nodes took its members out of their rooms: the room
    /// announces its members again, but for those whose nicknames were
    /// lost meanwhile to another node (they are being disconnected).
    Rejoined(Arc<HashSet<Folded>>),
}

/// Publishes what is queued, a batch at a time, until the node stops;
/// each room's stream keeps about `max_log` messages (0: all).
pub(super) async fn publisher(
    mut redis: ConnectionManager,
    mut queue: mpsc::UnboundedReceiver<Publish>,
    max_log: u64,
    clock: Arc<RedisClock>,
) {
    let mut batch = Vec::new();
    while let Some(first) = queue.recv().await {
        let deadline = clock.deadline();
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let mut pipe = redis::pipe();
        // How many of the batch each command of the pipeline answers for.
        let mut runs: Vec<usize> = Vec::with_capacity(batch.len());
        let mut i = 0;
        while i < batch.len() {
            let p = &batch[i];
            let room = p.room.as_str();
            match &p.item {
                Item::Msg(_) => {
                    // The messages of this room that follow at once: one
                    // call for them all, in the order said.
                    let run = batch[i..]
                        .iter()
                        .take_while(|q| q.room == p.room && matches!(q.item, Item::Msg(_)))
                        .count();
                    let cmd = pipe
                        .cmd("EVAL")
                        .arg(PUBLISH)
                        .arg(3)
                        .arg(keys::room_log(room))
                        .arg(keys::room_seq(room))
                        .arg(keys::room_channel(room))
                        .arg(max_log)
                        .arg(deadline);
                    for q in &batch[i..i + run] {
                        if let Item::Msg(fields) = &q.item {
                            cmd.arg(&fields[..]);
                        }
                    }
                    runs.push(run);
                    i += run;
                    continue;
                }
                Item::Announce(fields) => pipe
                    .cmd("EVAL")
                    .arg(ANNOUNCE)
                    .arg(1)
                    .arg(keys::room_channel(room))
                    .arg(&fields[..]),
                Item::Member {
                    del,
                    set,
                    fields,
                    node_rooms,
                    display,
                    node,
                } => {
                    let (set_nick, set_value) = match set {
                        Some((nick, value)) => (nick.as_str(), &value[..]),
                        None => ("", &b""[..]),
                    };
                    pipe.cmd("EVAL")
                        .arg(MEMBER)
                        .arg(3)
                        .arg(keys::room_members(room))
                        .arg(keys::room_channel(room))
                        .arg(keys::rooms())
                        .arg(del.as_ref().map_or("", Folded::as_str))
                        .arg(set_nick)
                        .arg(set_value)
                        .arg(&fields[..])
                        .arg(node_rooms)
                        .arg(room)
                        .arg(display)
                        .arg(&**node)
                }
                Item::Setting(script, fields) => {
                    let call = pipe
                        .cmd("EVAL")
                        .arg(SETTING)
                        .arg(4)
                        .arg(keys::room_state(room))
                        .arg(keys::room_bans(room))
                        .arg(keys::room_channel(room))
                        .arg(keys::room_members(room))
                        .arg(script.kind)
                        .arg(&script.field)
                        .arg(&script.value[..])
                        .arg(&fields[..]);
                    for extra in &script.extra {
                        call.arg(extra);
                    }
                    call
                }
            };
            runs.push(1);
            i += 1;
        }
        let answer = tokio::time::timeout(
            COMMAND_TIMEOUT,
            pipe.query_async::<Vec<(u64, u64)>>(&mut redis),
        )
        .await;
        let answers = match answer {
            Ok(Ok(answers)) if answers.len() == runs.len() => Ok(spread(&answers, &runs)),
            Ok(Ok(_)) => Err(None),
            Ok(Err(e)) => Err(Some(ClusterError::Redis(e))),
            Err(_) => Err(Some(ClusterError::Timeout(COMMAND_TIMEOUT))),
        };
        match answers {
            Ok(answers) => {
                if let Some(&(_, ms)) = answers.last() {
                    clock.observe(ms);
                }
                for (p, (seq, ms)) in batch.drain(..).zip(answers) {
                    let answer = if seq == 0 && matches!(p.item, Item::Msg(_)) {
                        Err(ClusterError::Late)
                    } else {
                        Ok((seq, SystemTime::UNIX_EPOCH + Duration::from_millis(ms)))
                    };
                    let _ = p.reply.send(answer);
                }
            }
            Err(e) => {
                if let Some(e) = &e {
                    warn!(%e, messages = batch.len(), "room messages not published");
                }
                for p in batch.drain(..) {
                    let error = match &e {
                        Some(ClusterError::Timeout(d)) => ClusterError::Timeout(*d),
                        _ => ClusterError::Unanswered,
                    };
                    let _ = p.reply.send(Err(error));
                }
            }
        }
    }
}

/// The node's one subscription: subscribes rooms when asked, hands each
/// message to its room, and (Redis gone) connects and subscribes again.
pub(super) async fn subscriber(
    client: redis::Client,
    mut asks: mpsc::UnboundedReceiver<Subscribe>,
    mut rejoins: watch::Receiver<Arc<HashSet<Folded>>>,
) {
    // Until the worker is gone (the node stopping), rejoins are told.
    let mut worker = true;
    let mut rooms: HashMap<String, Recipient<Delivered>> = HashMap::new();
    let mut pending: Option<Subscribe> = None;
    loop {
        let pubsub = match tokio::time::timeout(COMMAND_TIMEOUT, client.get_async_pubsub()).await {
            Ok(Ok(p)) => p,
            failed => {
                if let Ok(Err(e)) = failed {
                    tracing::debug!(%e, "no subscription connection to Redis yet");
                }
                // Refuse what waits meanwhile: a JOIN must not hang.
                if let Some(ask) = pending.take() {
                    let _ = ask.done.send(Err(ClusterError::Unanswered));
                }
                while let Ok(ask) = asks.try_recv() {
                    let _ = ask.done.send(Err(ClusterError::Unanswered));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        let mut lost = false;
        for channel in rooms.keys() {
            if let Err(e) = sink.subscribe(channel).await {
                warn!(%e, "cannot subscribe again");
                lost = true;
                break;
            }
        }
        if lost {
            continue;
        }
        if !rooms.is_empty() {
            info!(rooms = rooms.len(), "subscribed to the rooms again");
            for room in rooms.values() {
                room.do_send(Delivered::Resumed);
            }
        }
        loop {
            let ask = match pending.take() {
                Some(ask) => Some(ask),
                None => tokio::select! {
                    ask = asks.recv() => match ask {
                        Some(ask) => Some(ask),
                        None => return,
                    },
                    msg = stream.next() => match msg {
                        Some(msg) => {
                            deliver(&rooms, msg.get_channel_name(), msg.get_payload_bytes());
                            None
                        }
                        None => break,
                    },
                    changed = rejoins.changed(), if worker => {
                        worker = changed.is_ok();
                        if worker {
                            let lost = Arc::clone(&rejoins.borrow_and_update());
                            for room in rooms.values() {
                                room.do_send(Delivered::Rejoined(Arc::clone(&lost)));
                            }
                        }
                        None
                    },
                },
            };
            let Some(ask) = ask else { continue };
            let channel = keys::room_channel(ask.room.as_str());
            if let Some(room) = rooms.get_mut(&channel) {
                // Subscribed already; the room may be a new actor.
                *room = ask.to;
                let _ = ask.done.send(Ok(()));
                continue;
            }
            match tokio::time::timeout(COMMAND_TIMEOUT, sink.subscribe(&channel)).await {
                Ok(Ok(())) => {
                    rooms.insert(channel, ask.to);
                    let _ = ask.done.send(Ok(()));
                }
                _ => {
                    pending = Some(ask);
                    break;
                }
            }
        }
        warn!("subscription to Redis lost; connecting again");
    }
}

/// One `(seq, ms)` per published item, from one answer per command: a
/// run of `n` messages answered `{first, ms}` was numbered `first`,
/// `first + 1`, ... (`{0, ms}`, too late, stays 0 for each).
fn spread(answers: &[(u64, u64)], runs: &[usize]) -> Vec<(u64, u64)> {
    let mut each = Vec::with_capacity(runs.iter().sum());
    for (&(first, ms), &run) in answers.iter().zip(runs) {
        let run = u64::try_from(run).unwrap_or(u64::MAX);
        each.extend((0..run).map(|k| (if first == 0 { 0 } else { first + k }, ms)));
    }
    each
}

fn deliver(rooms: &HashMap<String, Recipient<Delivered>>, channel: &str, payload: &[u8]) {
    let Some(room) = rooms.get(channel) else {
        return;
    };
    match Published::decode(payload) {
        Ok(msg) => room.do_send(Delivered::Published(msg)),
        Err(e) => warn!(%e, channel, "skipping a room message"),
    }
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn a_runs_answer_numbers_each_of_its_messages_in_turn() {
        // A run of three from 7, a membership change, a run of one late.
        let each = spread(&[(7, 100), (0, 101), (0, 102)], &[3, 1, 1]);
        assert_eq!(each, [(7, 100), (8, 100), (9, 100), (0, 101), (0, 102)]);
        assert_eq!(spread(&[(0, 5)], &[2]), [(0, 5), (0, 5)]);
    }
}
