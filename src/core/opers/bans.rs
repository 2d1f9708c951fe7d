//! The server bans in force (`KLINE`): shared by every listener, which
//! checks a new connection against them before anything else, and kept in
//! the database (where history is kept) so that they outlive a restart.
//!
//! A ban past its expiry is ignored, and forgotten (here and in the
//! database) the next time the list is read; start-up skips and deletes
//! the expired ones.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use super::mask::BanMask;
use crate::core::store::{Database, ServerBanRecord};

/// One server ban.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerBan {
    /// Who it keeps out.
    pub mask: BanMask,
    /// Why, as the banned are told.
    pub reason: String,
    /// The operator who set it (its oper name).
    pub set_by: String,
    /// When.
    pub set_at: SystemTime,
    /// When it ends; `None`: never.
    pub expires: Option<SystemTime>,
}

impl ServerBan {
    fn expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }

    fn record(&self) -> ServerBanRecord {
        ServerBanRecord {
            mask: self.mask.as_str().to_string(),
            reason: self.reason.clone(),
            set_by: self.set_by.clone(),
            set_at: self.set_at,
            expires: self.expires,
        }
    }
}

/// The bans in force (a handle: clones share them).
#[derive(Clone, Default)]
pub struct ServerBans {
    list: Arc<Mutex<Vec<ServerBan>>>,
    db: Option<Database>,
}

impl ServerBans {
    /// The bans the database kept (those that no longer parse are skipped
    /// with a warning), stored in `db` from now on.
    pub fn new(stored: Vec<ServerBanRecord>, db: Option<Database>) -> Self {
        let list = stored
            .into_iter()
            .filter_map(|r| match BanMask::parse(&r.mask) {
                Ok(mask) => Some(ServerBan {
                    mask,
                    reason: r.reason,
                    set_by: r.set_by,
                    set_at: r.set_at,
                    expires: r.expires,
                }),
                Err(e) => {
                    tracing::warn!(mask = %r.mask, %e, "skipping a stored server ban");
                    None
                }
            })
            .collect();
        ServerBans {
            list: Arc::new(Mutex::new(list)),
            db,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<ServerBan>> {
        // Nothing here is left half-done by a panic.
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets the bans expired by `now`, here and in the database.
    fn prune(&self, list: &mut Vec<ServerBan>, now: SystemTime) {
        list.retain(|b| {
            let expired = b.expired(now);
            if let (true, Some(db)) = (expired, &self.db) {
                db.remove_server_ban(b.mask.as_str());
            }
            !expired
        });
    }

    /// The ban keeping out a connection from `ip` whose user name is
    /// `user` (`None` where not known yet), if one does.
    pub fn find(&self, user: Option<&str>, ip: IpAddr) -> Option<ServerBan> {
        let now = SystemTime::now();
        let mut list = self.lock();
        if list.iter().any(|b| b.expired(now)) {
            self.prune(&mut list, now);
        }
        list.iter().find(|b| b.mask.matches(user, ip)).cloned()
    }

    /// Sets `ban`, replacing one with the same mask; stores it.
    pub fn add(&self, ban: ServerBan) {
        if let Some(db) = &self.db {
            db.add_server_ban(ban.record());
        }
        let mut list = self.lock();
        list.retain(|b| b.mask != ban.mask);
        list.push(ban);
    }

    /// Lifts the ban on `mask`; whether there was one in force.
    pub fn remove(&self, mask: &BanMask) -> bool {
        let now = SystemTime::now();
        let mut list = self.lock();
        let before = list.len();
        list.retain(|b| b.mask != *mask);
        let removed = list.len() < before;
        if removed {
            if let Some(db) = &self.db {
                db.remove_server_ban(mask.as_str());
            }
        }
        self.prune(&mut list, now);
        removed
    }

    /// The bans in force, oldest first.
    pub fn list(&self) -> Vec<ServerBan> {
        let mut list = self.lock();
        self.prune(&mut list, SystemTime::now());
        list.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ban(mask: &str, expires: Option<SystemTime>) -> ServerBan {
        ServerBan {
            mask: BanMask::parse(mask).unwrap(),
            reason: "spam".into(),
            set_by: "alice".into(),
            set_at: SystemTime::now(),
            expires,
        }
    }

    #[test]
    fn bans_match_expire_and_lift() {
        let bans = ServerBans::default();
        let ip: IpAddr = [10, 1, 2, 3].into();
        assert!(bans.find(None, ip).is_none());
        bans.add(ban("10.0.0.0/8", None));
        assert_eq!(bans.find(Some("native"), ip).unwrap().reason, "spam");
        let past = SystemTime::now() - Duration::from_secs(1);
        bans.add(ban("192.0.2.1", Some(past)));
        assert!(bans.find(None, [192, 0, 2, 1].into()).is_none());
        assert_eq!(bans.list().len(), 1, "the expired ban is forgotten");
        assert!(!bans.remove(&BanMask::parse("192.0.2.1").unwrap()));
        assert!(bans.remove(&BanMask::parse("10.0.0.0/8").unwrap()));
        assert!(bans.find(None, ip).is_none());
    }
}
