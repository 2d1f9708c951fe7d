//! Counting the cluster: the users of the other live nodes and the
//! members of every room, in one script (one round trip), for LIST, INFO
//! and IRC's LUSERS.

use super::keys::{self, PREFIX};
use super::{Cluster, ClusterError, COMMAND_TIMEOUT};

/// Answers `{users, rooms}`: `users`, the nicknames held by live nodes
/// other than `ARGV[2]` (the sizes of their sets of nicknames), and
/// `rooms`, name as spelled, member count, whether it has a key and
/// whether it is secret (`1`/`0`) and its topic field (or empty) by
/// turns, from its member and state hashes, for every room in `KEYS[2]`
/// (the rooms with members); one whose member hash emptied (its last
/// members reaped) is dropped from it. `KEYS[1]` is the set of nodes,
/// `ARGV[1]` the key prefix.
const CENSUS: &str = r"
local prefix = ARGV[1]
local users = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if id ~= ARGV[2] and redis.call('EXISTS', prefix .. 'node:' .. id) == 1 then
    users = users + redis.call('SCARD', prefix .. 'node:' .. id .. ':nicks')
  end
end
local rooms = {}
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local n = redis.call('HLEN', prefix .. 'room:' .. all[i] .. ':members')
  if n > 0 then
    local state = prefix .. 'room:' .. all[i] .. ':state'
    local kept = redis.call('HMGET', state, 'key', 's', 'topic')
    rooms[#rooms + 1] = all[i + 1]
    rooms[#rooms + 1] = n
    rooms[#rooms + 1] = kept[1] and 1 or 0
    rooms[#rooms + 1] = kept[2] == '1' and 1 or 0
    rooms[#rooms + 1] = kept[3] or ''
  else
    redis.call('HDEL', KEYS[2], all[i])
  end
end
return {users, rooms}
";

/// What the cluster counts beyond this node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Census {
    /// Users with a nickname on the other live nodes.
    pub elsewhere: usize,
    /// Every room with members on some node (this one too).
    pub rooms: Vec<CensusRoom>,
}

/// A room as LIST shows it, from Redis: what a node without the room
/// knows of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CensusRoom {
    /// Its name as first spelled.
    pub name: String,
    /// Its members on every node.
    pub members: usize,
    /// It needs a key.
    pub private: bool,
    /// It is hidden from those outside it (`+s`).
    pub secret: bool,
    /// Its topic.
    pub topic: Option<String>,
}

impl Cluster {
    /// Counts the cluster's users and rooms, in one round trip.
    pub fn census(&self) -> impl std::future::Future<Output = Result<Census, ClusterError>> {
        let mut redis = self.redis.clone();
        let own = self.node_id.to_string();
        async move {
            let mut eval = redis::cmd("EVAL");
            eval.arg(CENSUS)
                .arg(2)
                .arg(keys::nodes())
                .arg(keys::rooms())
                .arg(PREFIX)
                .arg(own);
            type Flat = Vec<(String, usize, u8, u8, Vec<u8>)>;
            let (elsewhere, flat): (usize, Flat) =
                tokio::time::timeout(COMMAND_TIMEOUT, eval.query_async(&mut redis))
                    .await
                    .map_err(|_| ClusterError::Timeout(COMMAND_TIMEOUT))??;
            let rooms = flat
                .into_iter()
                .map(|(name, members, private, secret, topic)| CensusRoom {
                    name,
                    members,
                    private: private == 1,
                    secret: secret == 1,
                    topic: super::setting::topic_text(&topic),
                })
                .collect();
            Ok(Census { elsewhere, rooms })
        }
    }
}
