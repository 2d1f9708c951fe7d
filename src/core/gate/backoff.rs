//! The memory of wrong guesses: per connection, per address and per
//! target, how many failed lately and until when the next attempt waits.
//! Pure: the clock is an argument.
//!
//! Each key allows `free` failures; from the `free`-th on, the next
//! attempt waits `first`, doubling with each further failure up to `max`.
//! Attempts still being checked count as failures until they are known,
//! so that guesses sent together cannot all slip in before the first one
//! fails: past the free ones, one attempt at a time per key. A key whose
//! last failure is `max` old is forgotten; the table is swept when it has
//! doubled, and never holds more than [`MAX_RECORDS`].

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// The most keys remembered; past it, settled keys are dropped.
pub const MAX_RECORDS: usize = 100_000;

/// The table is not swept below this many keys.
const MIN_SWEEP: usize = 1024;

/// How fast failures back off.
#[derive(Debug, Clone, Copy)]
pub struct Delays {
    /// The first wait.
    pub first: Duration,
    /// The longest wait; failures this old are forgotten.
    pub max: Duration,
}

impl Delays {
    /// The wait after the `n`-th failure past the free ones (0-based).
    fn after(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }
}

#[derive(Debug, Clone)]
struct Record {
    failures: u32,
    in_flight: u32,
    /// No attempt before this.
    until: Instant,
    /// The last failure (or attempt).
    last: Instant,
}

impl Record {
    fn allows(&self, free: u32, now: Instant) -> bool {
        now >= self.until && (self.failures + self.in_flight < free || self.in_flight == 0)
    }

    fn settled(&self, delays: &Delays, now: Instant) -> bool {
        self.in_flight == 0 && now.saturating_duration_since(self.last) >= delays.max
    }
}

/// Wrong guesses by key.
#[derive(Debug)]
pub struct BackOff<K> {
    records: HashMap<K, Record>,
    sweep_at: usize,
}

impl<K> Default for BackOff<K> {
    fn default() -> Self {
        BackOff {
            records: HashMap::new(),
            sweep_at: MIN_SWEEP,
        }
    }
}

impl<K: Hash + Eq + Clone> BackOff<K> {
    /// Keys remembered now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether every key (with the failures it allows for free) may
    /// attempt now; if so the attempt is counted in flight on each, until
    /// [`BackOff::failed`] or [`BackOff::ended`].
    pub fn begin(&mut self, keys: &[(K, u32)], delays: &Delays, now: Instant) -> bool {
        let allowed = keys.iter().all(|(k, free)| {
            self.records
                .get(k)
                .is_none_or(|r| r.settled(delays, now) || r.allows(*free, now))
        });
        if !allowed {
            return false;
        }
        self.make_room(delays, now);
        for (k, _) in keys {
            let r = self.records.entry(k.clone()).or_insert(Record {
                failures: 0,
                in_flight: 0,
                until: now,
                last: now,
            });
            if r.settled(delays, now) {
                r.failures = 0;
            }
            r.in_flight += 1;
            r.last = now;
        }
        true
    }

    /// An attempt begun on `keys` was wrong.
    pub fn failed(&mut self, keys: &[(K, u32)], delays: &Delays, now: Instant) {
        for (k, free) in keys {
            if let Some(r) = self.records.get_mut(k) {
                r.in_flight = r.in_flight.saturating_sub(1);
                r.failures = r.failures.saturating_add(1);
                r.last = now;
                if r.failures >= *free {
                    r.until = now + delays.after(r.failures - free);
                }
            }
        }
    }

    /// An attempt begun on `keys` ended without being wrong (right, or
    /// never checked); `forget` is dropped altogether (a connection that
    /// gave the right key has nothing left to prove).
    pub fn ended(&mut self, keys: &[(K, u32)], forget: Option<&K>) {
        for (k, _) in keys {
            if let Some(r) = self.records.get_mut(k) {
                r.in_flight = r.in_flight.saturating_sub(1);
                if Some(k) == forget {
                    r.failures = 0;
                    r.until = r.last;
                }
            }
        }
    }

    /// Sweeps settled keys once the table has doubled, and drops settled
    /// ones past [`MAX_RECORDS`].
    fn make_room(&mut self, delays: &Delays, now: Instant) {
        if self.records.len() < self.sweep_at.min(MAX_RECORDS) {
            return;
        }
        self.records.retain(|_, r| !r.settled(delays, now));
        if self.records.len() >= MAX_RECORDS {
            // Under a flood of distinct keys, those with nothing in flight
            // go: the target's own record still backs off its guessers.
            let mut excess = self.records.len() - MAX_RECORDS / 2;
            self.records.retain(|_, r| {
                if excess > 0 && r.in_flight == 0 {
                    excess -= 1;
                    false
                } else {
                    true
                }
            });
        }
        self.sweep_at = (self.records.len() * 2).max(MIN_SWEEP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Delays = Delays {
        first: Duration::from_secs(1),
        max: Duration::from_secs(8),
    };

    fn ms(t: Instant, ms: u64) -> Instant {
        t + Duration::from_millis(ms)
    }

    #[test]
    fn free_failures_then_a_growing_wait() {
        let mut b = BackOff::default();
        let k = [("conn", 2)];
        let t = Instant::now();
        for _ in 0..2 {
            assert!(b.begin(&k, &D, t));
            b.failed(&k, &D, t);
        }
        // Two failures: the next waits a second.
        assert!(!b.begin(&k, &D, ms(t, 999)));
        let t1 = ms(t, 1000);
        assert!(b.begin(&k, &D, t1));
        b.failed(&k, &D, t1);
        // Then two seconds, four, and eight at most.
        assert!(!b.begin(&k, &D, ms(t1, 1999)));
        let t2 = ms(t1, 2000);
        assert!(b.begin(&k, &D, t2));
        b.failed(&k, &D, t2);
        assert!(!b.begin(&k, &D, ms(t2, 3999)));
        assert_eq!(D.after(10), D.max);
        assert_eq!(D.after(40), D.max);
        // The right key after the wait works, and clears the connection.
        let t3 = ms(t2, 4000);
        assert!(b.begin(&k, &D, t3));
        b.ended(&k, Some(&"conn"));
        assert!(b.begin(&k, &D, t3));
        b.ended(&k, None);
    }

    #[test]
    fn attempts_in_flight_count_until_known() {
        let mut b = BackOff::default();
        let k = [("target", 2)];
        let t = Instant::now();
        assert!(b.begin(&k, &D, t));
        assert!(b.begin(&k, &D, t));
        // Two in flight: as many as are free; the third waits for them.
        assert!(!b.begin(&k, &D, t));
        b.ended(&k, None);
        assert!(b.begin(&k, &D, t));
        b.failed(&k, &D, t);
        b.failed(&k, &D, t);
        assert!(!b.begin(&k, &D, t));
        // Past the wait, one at a time.
        let later = ms(t, 1000);
        assert!(b.begin(&k, &D, later));
        assert!(!b.begin(&k, &D, later));
    }

    #[test]
    fn every_key_must_allow_and_old_failures_are_forgotten() {
        let mut b = BackOff::default();
        let t = Instant::now();
        let conns = [
            [("a", 1), ("ip", 3)],
            [("b", 1), ("ip", 3)],
            [("c", 1), ("ip", 3)],
        ];
        for keys in &conns {
            assert!(b.begin(keys, &D, t));
            b.failed(keys, &D, t);
        }
        // Each connection is backed off, and now the address too.
        assert!(!b.begin(&conns[0], &D, t));
        assert!(!b.begin(&[("d", 1), ("ip", 3)], &D, t));
        assert!(b.begin(&[("d", 1), ("other ip", 3)], &D, t));
        b.ended(&[("d", 1), ("other ip", 3)], None);
        // Quiet for the longest wait: forgotten, three free again.
        let later = t + D.max;
        for keys in &conns {
            assert!(b.begin(keys, &D, later));
            b.failed(keys, &D, later);
        }
        assert!(!b.begin(&[("d", 1), ("ip", 3)], &D, later));
    }

    #[test]
    fn the_table_is_bounded() {
        let mut b = BackOff::default();
        let t = Instant::now();
        for i in 0..(MAX_RECORDS as u32 + 10) {
            let k = [(i, 1)];
            assert!(b.begin(&k, &D, t));
            b.failed(&k, &D, t);
        }
        assert!(b.len() <= MAX_RECORDS, "{}", b.len());
    }

    #[test]
    fn settled_keys_are_swept() {
        let mut b = BackOff::default();
        let t = Instant::now();
        for i in 0..MIN_SWEEP as u32 {
            let k = [(i, 1)];
            assert!(b.begin(&k, &D, t));
            b.failed(&k, &D, t);
        }
        assert_eq!(b.len(), MIN_SWEEP);
        let later = t + D.max;
        assert!(b.begin(&[(u32::MAX, 1)], &D, later));
        assert_eq!(b.len(), 1);
    }
}
