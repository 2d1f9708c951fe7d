//! Deadlines in Redis's clock, so that a command the node gave up on is
//! never run later.
//!
//! A node cut off from Redis by the network gives up on a command after
//! [`COMMAND_TIMEOUT`] and answers its client `CLUSTER_UNAVAILABLE`; but
//! the command's bytes may still sit in the TCP connection's send queue,
//! and reach Redis once the network heals, seconds later: a message
//! refused with `ERR` would then be published after all, and a nickname
//! refused would be held by nobody. So every message and nickname claim
//! carries a deadline, in Redis's clock, by which the node still waits
//! for it; the script refuses to run after it (`late`).
//!
//! The node learns Redis's clock from the times its scripts answer
//! (`TIME`): the offset kept is Redis's time minus the node's when the
//! answer arrived, which is at most the true offset (the answer took
//! some time to come back). A deadline made from it is therefore never
//! later than the moment the node gives up, whatever the round trip:
//! a slow link only makes it earlier by that trip.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::COMMAND_TIMEOUT;

/// What the node knows of Redis's clock; shared by its worker and its
/// publisher.
#[derive(Debug, Default)]
pub(super) struct RedisClock {
    /// Redis's time minus this node's, in ms, as last seen.
    offset_ms: AtomicI64,
    /// Whether an answer has shown Redis's time yet.
    known: AtomicBool,
}

impl RedisClock {
    /// Notes Redis's time `redis_ms` (ms since the epoch), from an answer
    /// that just arrived.
    pub(super) fn observe(&self, redis_ms: u64) {
        let redis_ms = i64::try_from(redis_ms).unwrap_or(i64::MAX);
        self.offset_ms
            .store(redis_ms.saturating_sub(now_ms()), Ordering::Relaxed);
        self.known.store(true, Ordering::Relaxed);
    }

    /// The deadline, in Redis's clock (ms since the epoch), for a command
    /// sent now and waited for [`COMMAND_TIMEOUT`]; 0 (none) until Redis's
    /// time is known.
    pub(super) fn deadline(&self) -> u64 {
        if !self.known.load(Ordering::Relaxed) {
            return 0;
        }
        let wait = i64::try_from(COMMAND_TIMEOUT.as_millis()).unwrap_or(i64::MAX);
        let at = now_ms()
            .saturating_add(wait)
            .saturating_add(self.offset_ms.load(Ordering::Relaxed));
        u64::try_from(at).unwrap_or(0).max(1)
    }
}

/// This node's time, ms since the epoch.
fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_deadline_until_redis_time_is_known() {
        let clock = RedisClock::default();
        assert_eq!(clock.deadline(), 0);
    }

    #[test]
    fn the_deadline_is_the_wait_in_redis_clock() {
        let clock = RedisClock::default();
        // Redis an hour ahead of this node.
        let hour = 3_600_000;
        clock.observe(u64::try_from(now_ms() + hour).unwrap());
        let want = now_ms() + hour + COMMAND_TIMEOUT.as_millis() as i64;
        let got = clock.deadline() as i64;
        assert!((want - 50..=want + 50).contains(&got), "{got} vs {want}");
    }
}
