//! Every name this node gives a key in Redis, made in one place.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `chatroom:node:<id>` | string, `PX` lease | `alive` while node `<id>` renews it |
//! | `chatroom:node:<id>:nicks` | set | the folded nicknames node `<id>` claimed |
//! | `chatroom:nick:<folded>` | string | the id of the node holding the nickname |

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

/// Who holds a nickname, by its folded key.
pub fn nick(folded: &str) -> String {
    format!("{PREFIX}nick:{folded}")
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
