//! Server ban masks: what a `KLINE` names and which connections it keeps
//! out.
//!
//! A mask is one of:
//! - an IP address (`192.0.2.7`, `2001:db8::1`): that address;
//! - a CIDR prefix (`10.0.0.0/8`, `2001:db8::/32`): every address in it;
//! - `<user>@<host>`: `user` a glob (`*` any run, `?` one character, ASCII
//!   case ignored) over the connection's user name, `host` an address, a
//!   prefix, or a glob over the address as text (`*@10.1.*`).
//!
//! The user name is IRC's (`~` and the USER name, as WHO shows it); every
//! native connection's is `native` (the native protocol has no ident), so
//! `native@*` bans every native client and `~*@*` every IRC one. The
//! host is always the connection's IP address: no name is looked up.
//! An IPv4 address reached over IPv6 (`::ffff:a.b.c.d`) is matched as
//! IPv4.

use std::fmt;
use std::net::IpAddr;

/// Why a mask could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaskError {
    /// Empty, too long, or with characters no mask holds.
    #[error("a mask is an IP address, a CIDR prefix or user@host")]
    Malformed,
    /// A prefix longer than its address.
    #[error("the prefix length is out of range")]
    Prefix,
}

/// Longest mask accepted, in bytes.
pub const MAX_MASK_LEN: usize = 128;

/// The host half of a mask.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// An address and how many leading bits must match (all of them for
    /// a single address).
    Net(IpAddr, u8),
    /// A glob over the address as text.
    Glob(String),
}

/// A parsed ban mask (see the module's notes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanMask {
    /// As the operator wrote it, normalised (an address or prefix in its
    /// canonical form, globs lower-cased): the key it is stored and
    /// removed by.
    text: String,
    /// The user glob; `None` for a bare address or prefix.
    user: Option<String>,
    host: HostPattern,
}

/// An IPv4-mapped IPv6 address as IPv4; any other address as it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn bits(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `ip` with all but its first `len` bits cleared.
fn network(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

/// `addr` or `addr/len`; `None` when it is neither.
fn parse_net(s: &str) -> Result<Option<(IpAddr, u8)>, MaskError> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return Ok(None);
    };
    let ip = canonical(ip);
    let len = match len {
        None => bits(ip),
        Some(l) => {
            let l: u8 = l.parse().map_err(|_| MaskError::Prefix)?;
            // A mapped prefix counts the IPv6 bits: take the IPv4 part.
            let l = if addr.contains(':') && ip.is_ipv4() {
                l.checked_sub(96).ok_or(MaskError::Prefix)?
            } else {
                l
            };
            if l > bits(ip) {
                return Err(MaskError::Prefix);
            }
            l
        }
    };
    Ok(Some((network(ip, len), len)))
}

fn net_text(ip: IpAddr, len: u8) -> String {
    if len == bits(ip) {
        ip.to_string()
    } else {
        format!("{ip}/{len}")
    }
}

/// Whether `text` matches `glob` (`*` any run, `?` one character), ASCII
/// case ignored.
pub fn glob_match(glob: &str, text: &str) -> bool {
    let (g, t): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    // The classic two-pointer match with one backtrack point: linear
    // enough for masks of at most MAX_MASK_LEN bytes.
    let (mut gi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if gi < g.len() && (g[gi] == '?' || g[gi].eq_ignore_ascii_case(&t[ti])) {
            gi += 1;
            ti += 1;
        } else if gi < g.len() && g[gi] == '*' {
            star = Some((gi, ti));
            gi += 1;
        } else if let Some((sg, st)) = star {
            gi = sg + 1;
            ti = st + 1;
            star = Some((sg, st + 1));
        } else {
            return false;
        }
    }
    g[gi..].iter().all(|&c| c == '*')
}

fn is_glob_text(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'@' | b'!' | b',' | b'#'))
}

impl BanMask {
    /// Reads a mask (see the module's notes).
    pub fn parse(s: &str) -> Result<BanMask, MaskError> {
        if s.is_empty() || s.len() > MAX_MASK_LEN {
            return Err(MaskError::Malformed);
        }
        let (user, host) = match s.split_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, s),
        };
        if let Some(u) = user {
            if !is_glob_text(u) {
                return Err(MaskError::Malformed);
            }
        }
        let host = match parse_net(host)? {
            Some((ip, len)) => HostPattern::Net(ip, len),
            None if user.is_some() && is_glob_text(host) => {
                HostPattern::Glob(host.to_ascii_lowercase())
            }
            None => return Err(MaskError::Malformed),
        };
        let user = user.map(str::to_ascii_lowercase);
        let host_text = match &host {
            HostPattern::Net(ip, len) => net_text(*ip, *len),
            HostPattern::Glob(g) => g.clone(),
        };
        let text = match &user {
            Some(u) => format!("{u}@{host_text}"),
            None => host_text,
        };
        Ok(BanMask { text, user, host })
    }

    /// The mask, normalised: the key it is stored and removed by.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a connection from `ip` whose user name is `user` matches;
    /// `user` is `None` where it is not known yet (an IRC client before
    /// USER): then only masks whose user part matches anything apply.
    pub fn matches(&self, user: Option<&str>, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        let host = match &self.host {
            HostPattern::Net(net, len) => bits(*net) == bits(ip) && network(ip, *len) == *net,
            HostPattern::Glob(g) => glob_match(g, &ip.to_string()),
        };
        if !host {
            return false;
        }
        match (&self.user, user) {
            (None, _) => true,
            (Some(u), Some(user)) => glob_match(u, user),
            (Some(u), None) => u.chars().all(|c| c == '*'),
        }
    }
}

impl fmt::Display for BanMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_prefixes_and_user_globs() {
        let cases: &[(&str, Option<&str>, &str, bool)] = &[
            ("192.0.2.7", Some("native"), "192.0.2.7", true),
            ("192.0.2.7", None, "192.0.2.8", false),
            ("192.0.2.7", None, "::ffff:192.0.2.7", true),
            ("10.0.0.0/8", None, "10.200.3.4", true),
            ("10.0.0.0/8", None, "11.0.0.1", false),
            ("10.9.9.9/8", None, "10.1.1.1", true),
            ("0.0.0.0/0", None, "203.0.113.1", true),
            ("0.0.0.0/0", None, "2001:db8::1", false),
            ("2001:db8::/32", None, "2001:db8:5::1", true),
            ("2001:db8::/32", None, "2001:db9::1", false),
            ("*@127.0.0.1", Some("native"), "127.0.0.1", true),
            ("*@127.0.0.1", None, "127.0.0.1", true),
            ("native@*", Some("native"), "127.0.0.1", true),
            ("native@*", Some("~al"), "127.0.0.1", false),
            ("native@*", None, "127.0.0.1", false),
            ("~*@127.*", Some("~Al"), "127.0.0.1", true),
            ("~a?@127.0.0.*", Some("~al"), "127.0.0.9", true),
            ("~a?@127.0.0.*", Some("~alx"), "127.0.0.9", false),
            ("*@10.0.0.0/8", Some("x"), "10.0.0.1", true),
        ];
        for &(mask, user, addr, want) in cases {
            let m = BanMask::parse(mask).unwrap();
            assert_eq!(m.matches(user, ip(addr)), want, "{mask} {user:?} {addr}");
        }
    }

    #[test]
    fn masks_are_normalised_and_bad_ones_refused() {
        assert_eq!(BanMask::parse("10.9.9.9/8").unwrap().as_str(), "10.0.0.0/8");
        assert_eq!(
            BanMask::parse("*@::FFFF:1.2.3.4").unwrap().as_str(),
            "*@1.2.3.4"
        );
        assert_eq!(BanMask::parse("~Al@Host*").unwrap().as_str(), "~al@host*");
        assert_eq!(BanMask::parse("1.2.3.4/32").unwrap().as_str(), "1.2.3.4");
        for bad in [
            "",
            "nick",
            "*",
            "10.0.0.0/33",
            "a@",
            "@1.2.3.4",
            "a b@c",
            "1.2.3.4/x",
        ] {
            assert!(BanMask::parse(bad).is_err(), "{bad:?}");
        }
        assert!(BanMask::parse(&"1".repeat(MAX_MASK_LEN + 1)).is_err());
    }

    #[test]
    fn globs() {
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXbYbc"));
        assert!(!glob_match("a*b", "ac"));
        assert!(glob_match("A?C", "abc"));
    }
}
