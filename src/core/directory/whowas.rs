//! Who held a nickname before: a bounded history of nicknames let go (on
//! quitting or changing), the newest first, for IRC's WHOWAS.

use std::collections::VecDeque;

use super::Profile;
use crate::core::names::{Folded, Nick};

/// A nickname as its holder left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastUser {
    /// The nickname as spelled.
    pub nick: Nick,
    /// What its holder looked like then.
    pub profile: Profile,
}

/// The last `capacity` nicknames let go, oldest first.
pub(super) struct History {
    entries: VecDeque<PastUser>,
    capacity: usize,
}

impl History {
    /// An empty history keeping at most `capacity` entries.
    pub(super) fn new(capacity: usize) -> Self {
        History {
            entries: VecDeque::new(),
            capacity,
        }
    }

    /// Remembers a nickname let go, forgetting the oldest past capacity.
    pub(super) fn record(&mut self, user: PastUser) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(user);
    }

    /// The holders of `key`, newest first, at most `count` (all for
    /// `None`).
    pub(super) fn find(&self, key: &Folded, count: Option<usize>) -> Vec<PastUser> {
        self.entries
            .iter()
            .rev()
            .filter(|u| u.nick.folded() == key)
            .take(count.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::core::UserHost;

    fn past(nick: &str, user: &str) -> PastUser {
        PastUser {
            nick: Nick::parse(nick, 24).unwrap(),
            profile: Profile {
                userhost: UserHost::new(user, "irc"),
                realname: Arc::from("Real"),
                away: None,
                invisible: false,
                pending: false,
            },
        }
    }

    fn users(found: &[PastUser]) -> Vec<&str> {
        found.iter().map(|u| u.profile.userhost.user()).collect()
    }

    #[test]
    fn newest_first_case_insensitively_and_counted() {
        let mut h = History::new(10);
        h.record(past("bob", "~one"));
        h.record(past("alice", "~x"));
        h.record(past("Bob", "~two"));
        let bob = Nick::parse("BOB", 24).unwrap();
        assert_eq!(users(&h.find(bob.folded(), None)), ["~two", "~one"]);
        assert_eq!(users(&h.find(bob.folded(), Some(1))), ["~two"]);
        let carol = Nick::parse("carol", 24).unwrap();
        assert!(h.find(carol.folded(), None).is_empty());
    }

    #[test]
    fn the_oldest_is_forgotten_past_capacity() {
        let mut h = History::new(2);
        for user in ["~1", "~2", "~3"] {
            h.record(past("bob", user));
        }
        let bob = Nick::parse("bob", 24).unwrap();
        assert_eq!(users(&h.find(bob.folded(), None)), ["~3", "~2"]);
        let mut none = History::new(0);
        none.record(past("bob", "~1"));
        assert!(none.find(bob.folded(), None).is_empty());
    }
}
