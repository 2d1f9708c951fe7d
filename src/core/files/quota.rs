//! What bounds the disk shared files take: the total of every file kept
//! (`files.max_total_bytes`: the oldest go first to make room, and an
//! upload that still does not fit is refused before a byte is stored), and
//! what one uploader may send per window (`files.upload_quota_bytes` per
//! `files.upload_quota_window_secs`, per user and per address). Pure: the
//! clock is an argument.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use crate::config::ip_prefix::client_key;
use crate::config::FilesConfig;
use crate::core::names::Folded;
use crate::core::FileId;

/// The table of uploaders is not swept below this many.
const MIN_SWEEP: usize = 1024;

/// The quotas in force, read from `[files]` at each upload.
#[derive(Debug, Clone, Copy)]
pub struct QuotaRules {
    /// Bytes every file kept may take together.
    pub max_total: u64,
    /// Bytes one uploader may send per window.
    pub per_window: u64,
    /// The window.
    pub window: Duration,
}

impl QuotaRules {
    /// The quotas of `files`.
    pub fn of(files: &FilesConfig) -> Self {
        QuotaRules {
            max_total: files.max_total_bytes,
            per_window: files.upload_quota_bytes,
            window: Duration::from_secs(files.upload_quota_window_secs),
        }
    }
}

/// Who uploads: its nickname and, unless exempt (`limits.exempt_ips`),
/// its address.
#[derive(Debug, Clone)]
pub struct Uploader {
    /// The nickname, folded.
    pub user: Folded,
    /// The address (an IPv6 /64), `None` when exempt.
    pub ip: Option<IpAddr>,
}

/// Why an upload is refused (`QUOTA_EXCEEDED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaRefusal {
    /// It would not fit under `files.max_total_bytes`, even with every
    /// file deleted.
    Total,
    /// Its user or address is over `files.upload_quota_bytes`.
    Uploader,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Charged {
    User(Folded),
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    bytes: u64,
}

/// Bytes uploaded per user and per address in their current window.
#[derive(Debug, Default)]
pub struct Ledger {
    windows: HashMap<Charged, Window>,
    sweep_at: usize,
}

impl Ledger {
    fn keys(who: &Uploader) -> impl Iterator<Item = Charged> + '_ {
        std::iter::once(Charged::User(who.user.clone()))
            .chain(who.ip.map(|ip| Charged::Ip(client_key(ip))))
    }

    /// Charges `size` bytes to `who` if both its user and its address
    /// stay within the quota; `false` (and nothing charged) otherwise.
    pub fn charge(&mut self, who: &Uploader, size: u64, rules: &QuotaRules, now: Instant) -> bool {
        let used = |w: Option<&Window>| match w {
            Some(w) if now.saturating_duration_since(w.start) < rules.window => w.bytes,
            _ => 0,
        };
        if Self::keys(who)
            .any(|k| used(self.windows.get(&k)).saturating_add(size) > rules.per_window)
        {
            return false;
        }
        if self.windows.len() >= self.sweep_at.max(MIN_SWEEP) {
            self.windows
                .retain(|_, w| now.saturating_duration_since(w.start) < rules.window);
            self.sweep_at = self.windows.len() * 2;
        }
        for k in Self::keys(who) {
            let w = self.windows.entry(k).or_insert(Window {
                start: now,
                bytes: 0,
            });
            if now.saturating_duration_since(w.start) >= rules.window {
                *w = Window {
                    start: now,
                    bytes: 0,
                };
            }
            w.bytes = w.bytes.saturating_add(size);
        }
        true
    }

    /// Uploaders remembered now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.windows.len()
    }
}

/// The oldest files to delete so that `size` more bytes fit under
/// `max_total`, given `used` bytes taken (files and uploads in progress);
/// `None` if deleting every file would not be enough (then none is).
pub fn to_expire<'a>(
    files: impl Iterator<Item = (&'a FileId, SystemTime, u64)>,
    used: u64,
    size: u64,
    max_total: u64,
) -> Option<Vec<FileId>> {
    let mut over = used.saturating_add(size).saturating_sub(max_total);
    if over == 0 {
        return Some(Vec::new());
    }
    let mut by_age: Vec<_> = files.collect();
    by_age.sort_by_key(|(_, stored, _)| *stored);
    let mut gone = Vec::new();
    for (id, _, bytes) in by_age {
        gone.push(id.clone());
        over = over.saturating_sub(bytes);
        if over == 0 {
            return Some(gone);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::names::Nick;

    fn rules() -> QuotaRules {
        QuotaRules {
            max_total: 100,
            per_window: 10,
            window: Duration::from_secs(60),
        }
    }

    fn who(nick: &str, ip: Option<[u8; 4]>) -> Uploader {
        Uploader {
            user: Nick::parse(nick, 24).unwrap().folded().clone(),
            ip: ip.map(IpAddr::from),
        }
    }

    #[test]
    fn each_user_and_address_has_its_quota_per_window() {
        let mut l = Ledger::default();
        let r = rules();
        let t = Instant::now();
        assert!(l.charge(&who("alice", Some([192, 0, 2, 1])), 6, &r, t));
        assert!(
            !l.charge(&who("Alice", None), 5, &r, t),
            "the user's, any address"
        );
        assert!(
            !l.charge(&who("bob", Some([192, 0, 2, 1])), 5, &r, t),
            "the address's, any user"
        );
        assert!(l.charge(&who("bob", Some([192, 0, 2, 1])), 4, &r, t));
        assert!(l.charge(&who("carol", Some([198, 51, 100, 1])), 10, &r, t));
        assert!(!l.charge(&who("carol", None), 1, &r, t));
        // A new window: all again.
        let later = t + r.window;
        assert!(l.charge(&who("alice", Some([192, 0, 2, 1])), 10, &r, later));
        assert!(!l.charge(&who("alice", None), 1, &r, later));
    }

    #[test]
    fn the_ledger_is_swept_of_past_windows() {
        let mut l = Ledger::default();
        let r = rules();
        let t = Instant::now();
        for i in 0..MIN_SWEEP {
            assert!(l.charge(&who(&format!("u{i}"), None), 1, &r, t));
        }
        assert_eq!(l.len(), MIN_SWEEP);
        assert!(l.charge(&who("late", None), 1, &r, t + r.window));
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn the_oldest_files_make_room_or_none_does() {
        let t = SystemTime::UNIX_EPOCH;
        let ids: Vec<FileId> = (0..3).map(|_| FileId::fresh()).collect();
        let files = || {
            vec![
                (&ids[0], t + Duration::from_secs(30), 40),
                (&ids[1], t + Duration::from_secs(10), 30),
                (&ids[2], t + Duration::from_secs(20), 20),
            ]
            .into_iter()
        };
        assert_eq!(to_expire(files(), 90, 10, 100), Some(vec![]));
        // 15 over: the oldest (30 bytes) goes.
        assert_eq!(to_expire(files(), 90, 25, 100), Some(vec![ids[1].clone()]));
        // 45 over: the two oldest.
        assert_eq!(
            to_expire(files(), 90, 55, 100),
            Some(vec![ids[1].clone(), ids[2].clone()])
        );
        // 95 over, 90 in files: cannot fit.
        assert_eq!(to_expire(files(), 90, 105, 100), None);
    }
}
