//! Every name this node gives a key in Redis, made in one place.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `chatroom:node:<id>` | string, `PX` lease | `alive` while node `<id>` renews it |
//! | `chatroom:node:<id>:nicks` | set | the folded nicknames node `<id>` claimed |
//! | `chatroom:node:<id>:rooms` | set | the folded rooms node `<id>` had members in |
//! | `chatroom:nodes` | set | the ids of the nodes that started and were not reaped since |
//! | `chatroom:nick:<folded>` | string | the id of the node holding the nickname |
//! | `chatroom:room:<folded>:log` | stream | the room's messages, in its order |
//! | `chatroom:room:<folded>:seq` | counter | the room's last message number |
//! | `chatroom:room:<folded>:members` | hash | folded nick → the member's `J` fields |
//! | `chatroom:room:<folded>:state` | hash | the room's settings: owner, key, topic, modes, operators, state version |
//! | `chatroom:room:<folded>:bans` | hash | the room's bans: lower-cased mask → mask, setter, time |
//! | `chatroom:rooms` | hash | folded room name → its name as spelled, for the rooms with members |
//! | `chatroom:room:<folded>` | channel | the room's messages and membership changes, as published |
//! | `chatroom:node:<id>:inbox` | channel | private messages to node `<id>`'s users |
//! | `chatroom:user:<folded>` | string | the user's card (`wire::UserCard`), while its node holds the nickname |
//! | `chatroom:file:<id>` | string, `PX` retention | a shared file's record (`wire::SharedFile`) |
//! | `chatroom:file:<id>:body` | string, `PX` retention | its content |

/// Every key of chatroom's starts with it, so that one Redis can serve
/// other programs too.
pub const PREFIX: &str = "chatroom:";

/// Where a node's lease lives (the scripts make the same key from
/// `PREFIX`, `node:` and the id).
pub fn node(id: &str) -> String {
    format!("{PREFIX}node:{id}")
}

/// The set of the nicknames node `id` claimed.
pub fn node_nicks(id: &str) -> String {
    format!("{PREFIX}node:{id}:nicks")
}

/// The rooms node `id` had members in (where they are found should it
/// die).
pub fn node_rooms(id: &str) -> String {
    format!("{PREFIX}node:{id}:rooms")
}

/// Every node that started (and was not reaped since).
pub fn nodes() -> String {
    format!("{PREFIX}nodes")
}

/// Who holds a nickname, by its folded key.
pub fn nick(folded: &str) -> String {
    format!("{PREFIX}nick:{folded}")
}

/// The rooms with members on some node: folded name → name as spelled.
pub fn rooms() -> String {
    format!("{PREFIX}rooms")
}

/// A room's stream of messages.
pub fn room_log(folded: &str) -> String {
    format!("{PREFIX}room:{folded}:log")
}

/// A room's message counter.
pub fn room_seq(folded: &str) -> String {
    format!("{PREFIX}room:{folded}:seq")
}

/// A room's members on every node: folded nick → its `J` fields.
pub fn room_members(folded: &str) -> String {
    format!("{PREFIX}room:{folded}:members")
}

/// A room's settings (owner, key, topic, modes, operators).
pub fn room_state(folded: &str) -> String {
    format!("{PREFIX}room:{folded}:state")
}

/// A room's bans.
pub fn room_bans(folded: &str) -> String {
    format!("{PREFIX}room:{folded}:bans")
}

/// The channel a room's messages are published on.
pub fn room_channel(folded: &str) -> String {
    format!("{PREFIX}room:{folded}")
}

/// The channel private messages to node `id`'s users go to.
pub fn node_inbox(id: &str) -> String {
    format!("{PREFIX}node:{id}:inbox")
}

/// A user's card, by its folded nickname.
pub fn user(folded: &str) -> String {
    format!("{PREFIX}user:{folded}")
}

/// A shared file's record.
pub fn file(id: &str) -> String {
    format!("{PREFIX}file:{id}")
}

/// A shared file's content.
pub fn file_body(id: &str) -> String {
    format!("{PREFIX}file:{id}:body")
}

/// An account, by its folded name: a hash of `name`, `password` and
/// `created`.
pub fn account(folded: &str) -> String {
    format!("{PREFIX}account:{folded}")
}

/// Every account's folded name (a set); also the channel each new
/// account's name is published on.
pub fn accounts() -> String {
    format!("{PREFIX}accounts")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_the_prefix() {
        assert_eq!(node("a1"), "chatroom:node:a1");
        assert_eq!(node_nicks("a1"), "chatroom:node:a1:nicks");
        assert_eq!(nick("zoë"), "chatroom:nick:zoë");
    }
}
