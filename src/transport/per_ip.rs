//! Connections per client address, like the connect classes of IRC
//! daemons: how many one address has open (`limits.max_clients_per_ip`)
//! and how fast it opens new ones (`limits.connects_per_ip_per_sec`, a
//! token bucket of `limits.connects_per_ip_burst`), so that one host
//! cannot take all of `limits.max_clients`. Addresses in
//! `limits.exempt_ips` are not counted at all.
//!
//! An IPv6 client counts by its /64 ([`client_key`]). The table holds an
//! entry only for an address with a connection open or a bucket not yet
//! refilled: an entry goes when its last connection closes with its
//! bucket full, and the rest are swept whenever the table has doubled
//! since the last sweep, so it stays within twice what is live.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::config::ip_prefix::{client_key, IpPrefix};
use crate::config::Limits;

/// The table is not swept below this many entries.
const MIN_SWEEP: usize = 1024;

/// The per-address rules in force, read from the configuration at each
/// connection (so that a reload applies to the next one).
#[derive(Debug, Clone, Copy)]
pub struct IpRules<'a> {
    /// Connections one address may have open.
    pub max_open: usize,
    /// Connections per second refilled.
    pub rate: f64,
    /// Connections one address may open at once.
    pub burst: f64,
    /// Addresses not counted.
    pub exempt: &'a [IpPrefix],
}

impl<'a> IpRules<'a> {
    /// The rules of `limits`.
    pub fn of(limits: &'a Limits) -> Self {
        IpRules {
            max_open: limits.max_clients_per_ip,
            rate: limits.connects_per_ip_per_sec,
            burst: f64::from(limits.connects_per_ip_burst),
            exempt: &limits.exempt_ips,
        }
    }

    fn exempt(&self, ip: IpAddr) -> bool {
        self.exempt.iter().any(|p| p.contains(ip))
    }
}

/// Why an address may not connect now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpRefusal {
    /// It has `max_open` connections open.
    TooMany,
    /// It connected faster than the rate allows.
    TooFast,
}

#[derive(Debug)]
struct Entry {
    open: usize,
    tokens: f64,
    at: Instant,
    /// The rate and burst of the rules last applied, for a refill where
    /// the rules are not at hand (a connection closing).
    rate: f64,
    burst: f64,
}

impl Entry {
    fn new(rules: &IpRules<'_>, now: Instant) -> Self {
        Entry {
            open: 0,
            tokens: rules.burst,
            at: now,
            rate: rules.rate,
            burst: rules.burst,
        }
    }

    fn refill(&mut self, rules: &IpRules<'_>, now: Instant) {
        (self.rate, self.burst) = (rules.rate, rules.burst);
        self.tokens = self.tokens_at(now);
        self.at = self.at.max(now);
    }

    /// The tokens the bucket holds at `now`.
    fn tokens_at(&self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        (self.tokens + elapsed * self.rate).min(self.burst)
    }

    /// Nothing open and the bucket refilled: nothing left to remember.
    fn idle(&self, now: Instant) -> bool {
        self.open == 0 && self.tokens_at(now) >= self.burst
    }
}

#[derive(Debug, Default)]
struct Table {
    entries: HashMap<IpKey, Entry>,
    /// Sweep once the table holds this many.
    sweep_at: usize,
}

/// Every address's connections and bucket.
#[derive(Debug, Default)]
pub struct PerIp {
    table: Mutex<Table>,
}

impl PerIp {
    fn lock(&self) -> MutexGuard<'_, Table> {
        // A panic while held leaves counts at worst one off.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Addresses remembered now.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no address is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `ip` could connect now, without taking a token: checked
    /// before a TLS handshake, whose connection is then admitted (and
    /// charged) by its front end.
    pub fn check(&self, ip: IpAddr, rules: &IpRules<'_>, now: Instant) -> Result<(), IpRefusal> {
        if rules.exempt(ip) {
            return Ok(());
        }
        let mut table = self.lock();
        match table.entries.get_mut(&IpKey::of(ip)) {
            None => Ok(()),
            Some(e) => {
                e.refill(rules, now);
                if e.open >= rules.max_open {
                    Err(IpRefusal::TooMany)
                } else if e.tokens < 1.0 {
                    Err(IpRefusal::TooFast)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Counts a connection from `ip` (taking a token), or says why not.
    /// The connection counts until the slot is dropped.
    pub fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        rules: &IpRules<'_>,
        now: Instant,
    ) -> Result<IpSlot, IpRefusal> {
        if rules.exempt(ip) {
            return Ok(IpSlot(None));
        }
        self.take(ip, rules, now, true)
    }

    /// Counts a connection from `ip` without taking a token (a TLS
    /// handshake in progress), or says why not.
    pub fn hold(
        self: &Arc<Self>,
        ip: IpAddr,
        rules: &IpRules<'_>,
        now: Instant,
    ) -> Result<IpSlot, IpRefusal> {
        if rules.exempt(ip) {
            return Ok(IpSlot(None));
        }
        self.take(ip, rules, now, false)
    }

    fn take(
        self: &Arc<Self>,
        ip: IpAddr,
        rules: &IpRules<'_>,
        now: Instant,
        charge: bool,
    ) -> Result<IpSlot, IpRefusal> {
        let key = IpKey::of(ip);
        let mut table = self.lock();
        if table.entries.len() >= table.sweep_at.max(MIN_SWEEP) {
            table.entries.retain(|_, e| !e.idle(now));
            table.sweep_at = table.entries.len() * 2;
        }
        let e = table
            .entries
            .entry(key)
            .or_insert_with(|| Entry::new(rules, now));
        e.refill(rules, now);
        if e.open >= rules.max_open {
            return Err(IpRefusal::TooMany);
        }
        if charge {
            if e.tokens < 1.0 {
                return Err(IpRefusal::TooFast);
            }
            e.tokens -= 1.0;
        }
        e.open += 1;
        Ok(IpSlot(Some((Arc::clone(self), key))))
    }

    /// Gives back one connection of the address `key`.
    pub fn release(&self, key: IpKey) {
        let mut table = self.lock();
        if let Some(e) = table.entries.get_mut(&key) {
            e.open = e.open.saturating_sub(1);
            if e.idle(Instant::now()) {
                table.entries.remove(&key);
            }
        }
    }
}

/// One counted connection; dropping it gives the count back.
#[derive(Debug)]
pub struct IpSlot(Option<(Arc<PerIp>, IpKey)>);

impl IpSlot {
    /// A connection not counted by address (an exempt one).
    pub fn uncounted() -> IpSlot {
        IpSlot(None)
    }

    /// The address's key, for a holder that gives the connection back
    /// itself ([`PerIp::release`]) through a table it already reaches.
    pub fn into_key(mut self) -> Option<IpKey> {
        self.0.take().map(|(_, key)| key)
    }
}

/// The address a client is counted under ([`client_key`]) in one word:
/// what every connection holds to give its place back.
///
/// An IPv6 client counts by its /64, whose 64 bits are the key. An IPv4
/// address is the key `0:1:a.b:c.d::` (its /64 in `::/8`, a block no host
/// is given) and the /64 `::` (loopback, unspecified) is `0:2::`, so that
/// no key is zero and none is two addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpKey(NonZeroU64);

impl IpKey {
    /// The key `ip` is counted under.
    pub fn of(ip: IpAddr) -> IpKey {
        let bits = match client_key(ip) {
            IpAddr::V4(v4) => 1 << 32 | u64::from(u32::from(v4)),
            IpAddr::V6(v6) => match (u128::from(v6) >> 64) as u64 {
                0 => 2 << 32,
                prefix => prefix,
            },
        };
        IpKey(NonZeroU64::new(bits).unwrap_or(NonZeroU64::MIN))
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        if let Some((table, key)) = self.0.take() {
            table.release(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_an_address_or_a_64_once_and_never_two() {
        let key = |s: &str| IpKey::of(s.parse().unwrap());
        assert_eq!(key("192.0.2.1"), key("::ffff:192.0.2.1"));
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
        assert_eq!(key("2001:db8::1"), key("2001:db8::ffff:2"));
        assert_ne!(key("2001:db8::1"), key("2001:db8:0:1::1"));
        // The lowest addresses of each family stay apart; :: and ::1 are
        // one /64. (IPv4 shares its keys with 0:1::/32, and ::/64 with
        // 0:2::/64: blocks of ::/8, which no host is given.)
        assert_eq!(key("::"), key("::1"));
        let low = [
            "::1",
            "0.0.0.0",
            "0.0.0.1",
            "0.0.0.2",
            "127.0.0.1",
            "1::",
            "2::",
        ];
        for (i, a) in low.iter().enumerate() {
            for b in &low[i + 1..] {
                assert_ne!(key(a), key(b), "{a} {b}");
            }
        }
    }
    use std::time::Duration;

    fn rules(exempt: &[IpPrefix]) -> IpRules<'_> {
        IpRules {
            max_open: 2,
            rate: 1.0,
            burst: 3.0,
            exempt,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_is_bounded_in_count_and_in_rate() {
        let t = Arc::new(PerIp::default());
        let r = rules(&[]);
        let now = Instant::now();
        let a = ip("192.0.2.1");
        let s1 = t.admit(a, &r, now).unwrap();
        let s2 = t.admit(a, &r, now).unwrap();
        assert_eq!(t.admit(a, &r, now).unwrap_err(), IpRefusal::TooMany);
        assert_eq!(t.check(a, &r, now), Err(IpRefusal::TooMany));
        // Another address is not affected.
        let other = t.admit(ip("192.0.2.2"), &r, now).unwrap();
        drop(s1);
        // One open, one token left of three.
        let s3 = t.admit(a, &r, now).unwrap();
        drop((s2, s3));
        assert_eq!(t.admit(a, &r, now).unwrap_err(), IpRefusal::TooFast);
        assert_eq!(t.check(a, &r, now), Err(IpRefusal::TooFast));
        // A second later, one more token.
        let later = now + Duration::from_secs(1);
        assert_eq!(t.check(a, &r, later), Ok(()));
        let s4 = t.admit(a, &r, later).unwrap();
        assert_eq!(t.admit(a, &r, later).unwrap_err(), IpRefusal::TooFast);
        drop((s4, other));
    }

    #[test]
    fn ipv6_counts_by_64_and_exempt_addresses_not_at_all() {
        let t = Arc::new(PerIp::default());
        let exempt = ["::1".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
        let r = rules(&exempt);
        let now = Instant::now();
        let _a = t.admit(ip("2001:db8::1"), &r, now).unwrap();
        let _b = t.admit(ip("2001:db8::2:2"), &r, now).unwrap();
        assert_eq!(
            t.admit(ip("2001:db8::ffff:3"), &r, now).unwrap_err(),
            IpRefusal::TooMany
        );
        let _c = t.admit(ip("2001:db8:0:1::1"), &r, now).unwrap();
        let held: Vec<_> = (0..10)
            .map(|_| t.admit(ip("::1"), &r, now).unwrap())
            .chain((0..10).map(|_| t.admit(ip("10.9.8.7"), &r, now).unwrap()))
            .collect();
        assert_eq!(held.len(), 20);
        assert_eq!(t.len(), 2, "exempt addresses take no entry");
    }

    #[test]
    fn a_handshake_holds_a_place_without_a_token() {
        let t = Arc::new(PerIp::default());
        let r = rules(&[]);
        let now = Instant::now();
        let a = ip("192.0.2.9");
        let h1 = t.hold(a, &r, now).unwrap();
        let h2 = t.hold(a, &r, now).unwrap();
        assert_eq!(t.hold(a, &r, now).unwrap_err(), IpRefusal::TooMany);
        drop((h1, h2));
        for _ in 0..3 {
            drop(t.admit(a, &r, now).unwrap());
        }
        assert_eq!(t.check(a, &r, now), Err(IpRefusal::TooFast));
    }

    #[test]
    fn entries_go_when_closed_and_refilled_and_the_table_is_swept() {
        let t = Arc::new(PerIp::default());
        let r = rules(&[]);
        let now = Instant::now();
        // Closed, the bucket still short of a token: remembered...
        drop(t.admit(ip("192.0.2.1"), &r, now).unwrap());
        assert_eq!(t.len(), 1);
        // ... closed with a full bucket: forgotten at once.
        let slot = t.hold(ip("192.0.2.2"), &r, now).unwrap();
        drop(slot);
        assert_eq!(t.len(), 1);
        // Many addresses, each charged: all remembered while refilling.
        let later = now + Duration::from_secs(10);
        let addr = |i: u32| IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
        let n = 3 * MIN_SWEEP as u32;
        for i in 0..n {
            drop(t.admit(addr(i), &r, later).unwrap());
        }
        assert_eq!(t.len(), 3 * MIN_SWEEP);
        // Ten seconds on, their buckets are full: swept once the table
        // has grown enough, leaving only the new ones.
        let much_later = later + Duration::from_secs(10);
        for i in n..n + 2 * MIN_SWEEP as u32 {
            drop(t.admit(addr(i), &r, much_later).unwrap());
        }
        assert_eq!(t.len(), 2 * MIN_SWEEP);
    }
}
