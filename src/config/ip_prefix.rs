//! Addresses and CIDR prefixes as the configuration names them
//! (`limits.exempt_ips`), and the per-address key the limits count by.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address or a CIDR prefix: `203.0.113.7`, `10.0.0.0/8`, `::1`,
/// `2001:db8::/32`. An IPv4 client seen on an IPv6 socket
/// (`::ffff:203.0.113.7`) is matched as the IPv4 address it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct IpPrefix {
    /// The network, with the bits past `len` cleared.
    net: IpAddr,
    /// Bits that must match.
    len: u8,
}

/// Why a text is not an [`IpPrefix`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an address nor a prefix like 10.0.0.0/8 or 2001:db8::/32")]
pub struct BadPrefix(String);

impl IpPrefix {
    /// Whether `ip` lies inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => mask_v4(ip, self.len) == net,
            (IpAddr::V6(net), IpAddr::V6(ip)) => mask_v6(ip, self.len) == net,
            _ => false,
        }
    }
}

impl FromStr for IpPrefix {
    type Err = BadPrefix;

    fn from_str(s: &str) -> Result<Self, BadPrefix> {
        let bad = || BadPrefix(s.to_string());
        let (addr, len) = match s.split_once('/') {
            Some((addr, len)) => (addr, Some(len)),
            None => (s, None),
        };
        let addr = canonical(addr.trim().parse::<IpAddr>().map_err(|_| bad())?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            Some(len) => len.trim().parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if len > max {
            return Err(bad());
        }
        let net = match addr {
            IpAddr::V4(a) => IpAddr::V4(mask_v4(a, len)),
            IpAddr::V6(a) => IpAddr::V6(mask_v6(a, len)),
        };
        Ok(IpPrefix { net, len })
    }
}

impl TryFrom<String> for IpPrefix {
    type Error = BadPrefix;

    fn try_from(s: String) -> Result<Self, BadPrefix> {
        s.parse()
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.len)
    }
}

/// An IPv4 address seen as IPv4-mapped IPv6 is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn mask_v4(ip: Ipv4Addr, len: u8) -> Ipv4Addr {
    let bits = u32::from(ip);
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    Ipv4Addr::from(bits & mask)
}

fn mask_v6(ip: Ipv6Addr, len: u8) -> Ipv6Addr {
    let bits = u128::from(ip);
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    Ipv6Addr::from(bits & mask)
}

/// The address a client is counted under: an IPv4 address itself, an
/// IPv6 address by its /64 (what one subscriber, one LAN, gets: one host
/// can pick any address in it).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => IpAddr::V6(mask_v6(v6, 64)),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn prefixes_match_what_they_cover() {
        let cases = [
            ("127.0.0.0/8", "127.0.0.1", true),
            ("127.0.0.0/8", "127.255.1.2", true),
            ("127.0.0.0/8", "128.0.0.1", false),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("10.1.2.3/16", "10.1.200.1", true),
            ("0.0.0.0/0", "198.51.100.1", true),
            ("0.0.0.0/0", "::1", false),
            ("::1", "::1", true),
            ("::1", "::2", false),
            ("2001:db8::/32", "2001:db8:ffff::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("::/0", "2001:db8::1", true),
            // A mapped IPv4 client is its IPv4 address, both ways.
            ("127.0.0.1", "::ffff:127.0.0.1", true),
            ("::ffff:10.0.0.1", "10.0.0.1", true),
        ];
        for (prefix, addr, want) in cases {
            let p: IpPrefix = prefix.parse().unwrap();
            assert_eq!(p.contains(ip(addr)), want, "{prefix} ∋ {addr}");
        }
    }

    #[test]
    fn bad_prefixes_are_refused() {
        for bad in [
            "",
            "localhost",
            "10.0.0.0/33",
            "::/129",
            "1.2.3.4/x",
            "1.2.3/8",
        ] {
            assert!(bad.parse::<IpPrefix>().is_err(), "{bad:?}");
        }
        assert_eq!(
            "10.1.2.3/8".parse::<IpPrefix>().unwrap().to_string(),
            "10.0.0.0/8"
        );
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        assert_eq!(client_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(client_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(client_key(ip("192.0.2.1")), ip("192.0.2.1"));
    }
}
