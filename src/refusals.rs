//! What every limit does when it refuses: count the refusal in
//! `chatroom_limit_refusals_total{limit="..."}` and say so in the log at
//! info, at most once a second per limit (with how many were not logged),
//! so that someone hammering a limit cannot flood the log.
//!
//! Apart from the layers (like [`logging`](crate::logging)): limits of the
//! core (rooms, the password gate, file quotas) and of the transport (large
//! replies, connections per address) all report here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// A limit that refuses: its name is the metric's `limit` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `limits.max_rooms`: a JOIN that would create one room too many.
    MaxRooms,
    /// `limits.room_creates_*`: a connection or address creating rooms
    /// too fast.
    RoomCreateRate,
    /// `limits.large_replies_bytes`: large replies held for every client
    /// together; one more is queued as any other reply (and may overflow
    /// its client's send queue).
    LargeReplies,
    /// `limits.max_clients_per_ip`: a connection from an address with as
    /// many open.
    ClientsPerIp,
    /// `limits.connects_per_ip_per_sec`: an address connecting too fast.
    ConnectsPerIp,
    /// `files.max_total_bytes`: an upload that cannot fit even with every
    /// file deleted.
    FilesTotal,
    /// `files.upload_quota_bytes`: an uploader over its quota.
    UploadQuota,
    /// Back-off of repeated wrong keys (or passwords).
    KeyGuesses,
    /// `limits.max_concurrent_hashes` and `limits.max_queued_hashes`: too
    /// many key hashes waiting.
    HashConcurrency,
}

impl Limit {
    /// Every limit, in the order of their metric labels' throttles.
    pub const ALL: [Limit; 9] = [
        Limit::MaxRooms,
        Limit::RoomCreateRate,
        Limit::LargeReplies,
        Limit::ClientsPerIp,
        Limit::ConnectsPerIp,
        Limit::FilesTotal,
        Limit::UploadQuota,
        Limit::KeyGuesses,
        Limit::HashConcurrency,
    ];

    /// The metric label and the name in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::MaxRooms => "max_rooms",
            Limit::RoomCreateRate => "room_create_rate",
            Limit::LargeReplies => "large_replies",
            Limit::ClientsPerIp => "clients_per_ip",
            Limit::ConnectsPerIp => "connects_per_ip",
            Limit::FilesTotal => "files_total",
            Limit::UploadQuota => "upload_quota",
            Limit::KeyGuesses => "key_guesses",
            Limit::HashConcurrency => "hash_concurrency",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Per limit: the second (since the process's first refusal) of the last
/// line logged, plus one (0: never), and the refusals not logged since.
struct Throttle {
    logged_at: [AtomicU64; Limit::ALL.len()],
    unlogged: [AtomicU64; Limit::ALL.len()],
}

static THROTTLE: Throttle = Throttle {
    logged_at: [const { AtomicU64::new(0) }; Limit::ALL.len()],
    unlogged: [const { AtomicU64::new(0) }; Limit::ALL.len()],
};

/// When the first refusal was counted: the throttle's clock.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl Throttle {
    /// Whether a refusal of `limit` at second `now` is logged, and if so
    /// how many went unlogged before it.
    fn admit(&self, limit: Limit, now: u64) -> Option<u64> {
        let i = limit.index();
        let last = self.logged_at[i].load(Ordering::Relaxed);
        let stamp = now + 1;
        if last == stamp
            || self.logged_at[i]
                .compare_exchange(last, stamp, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            self.unlogged[i].fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(self.unlogged[i].swap(0, Ordering::Relaxed))
    }
}

/// Counts a refusal of `limit` and logs it (throttled) with `detail`:
/// who was refused and what the limit is.
pub fn refused(limit: Limit, detail: std::fmt::Arguments<'_>) {
    metrics::counter!("chatroom_limit_refusals_total", "limit" => limit.as_str()).increment(1);
    let now = epoch().elapsed().as_secs();
    if let Some(unlogged) = THROTTLE.admit(limit, now) {
        tracing::info!(
            limit = limit.as_str(),
            not_logged_before = unlogged,
            "limit refused: {detail}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_per_limit_then_how_many_were_not_logged() {
        let t = Throttle {
            logged_at: [const { AtomicU64::new(0) }; Limit::ALL.len()],
            unlogged: [const { AtomicU64::new(0) }; Limit::ALL.len()],
        };
        assert_eq!(t.admit(Limit::MaxRooms, 0), Some(0));
        assert_eq!(t.admit(Limit::MaxRooms, 0), None);
        assert_eq!(t.admit(Limit::MaxRooms, 0), None);
        // Another limit has its own line.
        assert_eq!(t.admit(Limit::RoomCreateRate, 0), Some(0));
        assert_eq!(t.admit(Limit::MaxRooms, 1), Some(2));
        assert_eq!(t.admit(Limit::MaxRooms, 5), Some(0));
    }

    #[test]
    fn labels_are_unique_snake_case() {
        for (i, l) in Limit::ALL.iter().enumerate() {
            assert_eq!(l.index(), i);
            assert!(l
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }
}
