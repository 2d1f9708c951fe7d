//! One remote QUIT (or NICK) line per local session, not one per room it
//! shares with the user: the node's rooms each receive the change on
//! their own channel and ask here before showing it.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How long a remote QUIT or NICK is remembered: the copies of one on
/// several rooms' channels arrive within milliseconds of each other (one
/// pub/sub connection, published by one node's one queue).
const WINDOW: Duration = Duration::from_secs(5);

/// Past this many remembered changes, those older than [`WINDOW`] are
/// dropped at the next one.
const PRUNE_AT: usize = 64;

/// The remote changes recently shown, and to which sessions.
#[derive(Default)]
pub struct SeenOnce {
    shown: HashMap<String, (Instant, HashSet<u64>)>,
}

impl SeenOnce {
    /// Whether `what` is shown to `session` for the first time (and from
    /// now on, not).
    pub fn first(&mut self, what: &str, session: u64) -> bool {
        let now = Instant::now();
        if self.shown.len() > PRUNE_AT {
            self.shown
                .retain(|_, (at, _)| now.duration_since(*at) < WINDOW);
        }
        let entry = self
            .shown
            .entry(what.to_string())
            .or_insert_with(|| (now, HashSet::new()));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, HashSet::new());
        }
        entry.1.insert(session)
    }

    /// Forgets `what`: shown again next time.
    pub fn forget(&mut self, what: &str) {
        self.shown.remove(what);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_session_until_forgotten() {
        let mut seen = SeenOnce::default();
        assert!(seen.first("a Q ben", 1));
        assert!(seen.first("a Q ben", 2));
        assert!(!seen.first("a Q ben", 1));
        assert!(seen.first("b Q ben", 1));
        seen.forget("a Q ben");
        assert!(seen.first("a Q ben", 1));
    }
}
