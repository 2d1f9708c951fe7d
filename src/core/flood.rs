//! Flood control: a token bucket per connection.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// What buckets count time from: nanoseconds since it fit in 8 bytes, an
/// `Instant` takes 16 (and every connection keeps a bucket). A year
/// before it is first read, so that no instant the process sees, taken
/// before or after, falls before it.
static EPOCH: LazyLock<Instant> = LazyLock::new(|| {
    let now = Instant::now();
    now.checked_sub(Duration::from_secs(365 * 24 * 3600))
        .unwrap_or(now)
});

/// `t` in nanoseconds since [`EPOCH`] (0 for an earlier instant).
fn nanos_since_epoch(t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(*EPOCH).as_nanos()).unwrap_or(u64::MAX)
}

/// The rule every bucket follows: `burst` lines at once, refilled at
/// `rate` lines per second. Kept once per server, not per connection.
#[derive(Debug, Clone, Copy)]
pub struct FloodRule {
    burst: f64,
    rate: f64,
}

impl FloodRule {
    /// The rule for `burst` lines refilled at `rate_per_sec`.
    pub fn new(burst: u32, rate_per_sec: f64) -> Self {
        FloodRule {
            burst: f64::from(burst),
            rate: rate_per_sec,
        }
    }
}

/// One connection's tokens, and when its last line came: the bucket
/// refills up to each line, so that time doubles as the idle clock.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    /// When the last line came, in nanoseconds since [`EPOCH`].
    last: u64,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rule: &FloodRule, now: Instant) -> Self {
        TokenBucket {
            tokens: rule.burst,
            last: nanos_since_epoch(now),
        }
    }

    /// A line came at `now`: refills for the time since the last one.
    pub fn touch(&mut self, rule: &FloodRule, now: Instant) {
        let now = nanos_since_epoch(now);
        self.tokens = self.refilled(rule, now).min(rule.burst);
        self.last = now;
    }

    /// Its tokens refilled up to `now` (in [`EPOCH`] nanoseconds), past
    /// the burst if long enough.
    fn refilled(&self, rule: &FloodRule, now: u64) -> f64 {
        let elapsed = Duration::from_nanos(now.saturating_sub(self.last)).as_secs_f64();
        self.tokens + elapsed * rule.rate
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self) -> bool {
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether a token is there to take (as of the last touch).
    pub fn has_token(&self) -> bool {
        self.tokens >= 1.0
    }

    /// Whether the bucket has refilled to its burst by `now`: then it is
    /// no different from a new one, and need not be kept.
    pub fn is_full_at(&self, rule: &FloodRule, now: Instant) -> bool {
        self.refilled(rule, nanos_since_epoch(now)) >= rule.burst
    }

    /// How long until a token is there to take (zero if one is), counted
    /// from the last line: what a client over its rate is made to wait
    /// (IRC's "fakelag") instead of being refused.
    pub fn wait_for_token(&self, rule: &FloodRule) -> Duration {
        let missing = (1.0 - self.tokens).max(0.0);
        Duration::from_secs_f64(missing / rule.rate)
    }

    /// When the last line came (or the bucket was made).
    pub fn last(&self) -> Instant {
        *EPOCH + Duration::from_nanos(self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(b: &mut TokenBucket, rule: &FloodRule, at: Instant) -> bool {
        b.touch(rule, at);
        b.try_take()
    }

    #[test]
    fn burst_then_refill() {
        let t0 = Instant::now();
        let rule = FloodRule::new(3, 2.0);
        let mut b = TokenBucket::new(&rule, t0);
        assert!(take(&mut b, &rule, t0));
        assert!(take(&mut b, &rule, t0));
        assert!(take(&mut b, &rule, t0));
        assert!(!take(&mut b, &rule, t0));
        assert!(!take(&mut b, &rule, t0 + Duration::from_millis(400)));
        assert!(take(&mut b, &rule, t0 + Duration::from_millis(600)));
        // Lines that take no token (PONG) still refill the bucket.
        let pong = t0 + Duration::from_millis(1100);
        b.touch(&rule, pong);
        assert_eq!(b.last(), pong);
        assert!(take(&mut b, &rule, pong));
        // Never more than the burst, however long the pause.
        let later = t0 + Duration::from_secs(100);
        for _ in 0..3 {
            assert!(take(&mut b, &rule, later));
        }
        assert!(!take(&mut b, &rule, later));
        // An empty bucket has a token again after 1/rate seconds.
        assert_eq!(b.wait_for_token(&rule), Duration::from_millis(500));
        b.touch(&rule, later + Duration::from_millis(250));
        assert_eq!(b.wait_for_token(&rule), Duration::from_millis(250));
        assert!(take(&mut b, &rule, later + Duration::from_millis(500)));
    }

    #[test]
    fn a_bucket_is_two_words() {
        // Every connection keeps one, in its session's task.
        assert_eq!(std::mem::size_of::<TokenBucket>(), 16);
    }

    #[test]
    fn instants_round_trip_through_the_epoch() {
        let rule = FloodRule::new(3, 2.0);
        // Taken before any bucket is made (in this test): still counted.
        let t = Instant::now();
        let mut b = TokenBucket::new(&rule, t);
        assert_eq!(b.last(), t);
        let later = t + Duration::from_nanos(1_234_567_891);
        b.touch(&rule, later);
        assert_eq!(b.last(), later);
        assert!(b.is_full_at(&rule, later));
    }
}
