//! How fast rooms may be created: a token bucket per connection and one
//! per IP address (`limits.room_creates_*`), both of which must have a
//! token for a JOIN to create a room. Buckets that have refilled are
//! dropped (a full bucket is a new one), so the maps hold only those who
//! created rooms lately.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::config::Limits;
use crate::core::flood::{FloodRule, TokenBucket};
use crate::core::member::SessionId;

/// Who asks for a room to be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Creator {
    /// The connection.
    pub id: SessionId,
    /// Its peer's address.
    pub ip: IpAddr,
}

/// Which bucket was empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooFast {
    /// The connection's.
    Connection,
    /// The address's (all its connections together).
    Address,
}

/// How often refilled buckets are swept out at most.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The buckets of those who created rooms lately.
#[derive(Default)]
pub struct Creations {
    by_connection: HashMap<SessionId, TokenBucket>,
    by_address: HashMap<IpAddr, TokenBucket>,
    last_sweep: Option<Instant>,
}

/// The rules of `limits`, read each time (a reload may change them).
fn rules(limits: &Limits) -> (FloodRule, FloodRule) {
    (
        FloodRule::new(
            limits.room_creates_burst,
            limits.room_creates_per_min / 60.0,
        ),
        FloodRule::new(
            limits.room_creates_per_ip_burst,
            limits.room_creates_per_ip_per_min / 60.0,
        ),
    )
}

/// `key`'s bucket in `map`, refilled up to `now`.
fn bucket<'a, K: Hash + Eq>(
    map: &'a mut HashMap<K, TokenBucket>,
    key: K,
    rule: &FloodRule,
    now: Instant,
) -> &'a mut TokenBucket {
    let b = map
        .entry(key)
        .or_insert_with(|| TokenBucket::new(rule, now));
    b.touch(rule, now);
    b
}

impl Creations {
    /// Takes a token from both of `who`'s buckets if both have one.
    pub fn try_create(
        &mut self,
        who: Creator,
        limits: &Limits,
        now: Instant,
    ) -> Result<(), TooFast> {
        let (per_connection, per_address) = rules(limits);
        self.sweep(&per_connection, &per_address, now);
        if !bucket(&mut self.by_connection, who.id, &per_connection, now).has_token() {
            return Err(TooFast::Connection);
        }
        if !bucket(&mut self.by_address, who.ip, &per_address, now).has_token() {
            return Err(TooFast::Address);
        }
        for b in [
            self.by_connection.get_mut(&who.id),
            self.by_address.get_mut(&who.ip),
        ]
        .into_iter()
        .flatten()
        {
            b.try_take();
        }
        Ok(())
    }

    /// Drops buckets that have refilled, once a [`SWEEP_EVERY`].
    fn sweep(&mut self, per_connection: &FloodRule, per_address: &FloodRule, now: Instant) {
        if self
            .last_sweep
            .is_some_and(|t| now.saturating_duration_since(t) < SWEEP_EVERY)
        {
            return;
        }
        self.last_sweep = Some(now);
        self.by_connection
            .retain(|_, b| !b.is_full_at(per_connection, now));
        self.by_address
            .retain(|_, b| !b.is_full_at(per_address, now));
    }

    /// Buckets kept (for tests).
    #[cfg(test)]
    fn kept(&self) -> (usize, usize) {
        (self.by_connection.len(), self.by_address.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            room_creates_burst: 2,
            room_creates_per_min: 60.0,
            room_creates_per_ip_burst: 3,
            room_creates_per_ip_per_min: 60.0,
            ..Limits::default()
        }
    }

    #[test]
    fn a_connection_and_an_address_each_have_their_bucket() {
        let (l, t0) = (limits(), Instant::now());
        let mut c = Creations::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        let a = Creator {
            id: SessionId::next(),
            ip,
        };
        let b = Creator {
            id: SessionId::next(),
            ip,
        };
        assert_eq!(c.try_create(a, &l, t0), Ok(()));
        assert_eq!(c.try_create(a, &l, t0), Ok(()));
        assert_eq!(c.try_create(a, &l, t0), Err(TooFast::Connection));
        // Another connection from the same address: the address's third.
        assert_eq!(c.try_create(b, &l, t0), Ok(()));
        assert_eq!(c.try_create(b, &l, t0), Err(TooFast::Address));
        // Elsewhere, nothing is spent.
        let far = Creator {
            id: SessionId::next(),
            ip: [10, 0, 0, 2].into(),
        };
        assert_eq!(c.try_create(far, &l, t0), Ok(()));
        // A second later (one a second), one more each.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(c.try_create(b, &l, t1), Ok(()));
        assert_eq!(c.try_create(a, &l, t1), Err(TooFast::Address));
    }

    #[test]
    fn refilled_buckets_are_swept_out() {
        let (l, t0) = (limits(), Instant::now());
        let mut c = Creations::default();
        let a = Creator {
            id: SessionId::next(),
            ip: [10, 0, 0, 1].into(),
        };
        c.try_create(a, &l, t0).unwrap();
        assert_eq!(c.kept(), (1, 1));
        let later = t0 + SWEEP_EVERY + Duration::from_secs(1);
        let b = Creator {
            id: SessionId::next(),
            ip: [10, 0, 0, 2].into(),
        };
        c.try_create(b, &l, later).unwrap();
        assert_eq!(c.kept(), (1, 1), "only the new creator's are left");
    }
}
