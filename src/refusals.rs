//! Refusals by the abuse limits: one counter,
//! `chatroom_limit_refusals_total{limit="..."}`, with a label per limit,
//! and a log line at info that an attacker cannot turn into a flood (at
//! most one a second per limit, saying how many were left out).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits that refuse clients, as the metric's `limit` label names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `limits.max_clients_per_ip`.
    ClientsPerIp,
    /// `limits.connects_per_ip_per_sec`.
    ConnectsPerIp,
    /// `files.max_total_bytes`.
    FilesTotal,
    /// `files.upload_quota_bytes`.
    UploadQuota,
    /// Back-off of repeated wrong keys or passwords.
    KeyGuesses,
    /// `limits.max_concurrent_hashes` and its queue.
    Hashing,
}

impl Limit {
    /// Every limit (each one's own log throttle is at its position here).
    pub const ALL: [Limit; 6] = [
        Limit::ClientsPerIp,
        Limit::ConnectsPerIp,
        Limit::FilesTotal,
        Limit::UploadQuota,
        Limit::KeyGuesses,
        Limit::Hashing,
    ];

    /// The metric's label.
    pub fn label(self) -> &'static str {
        match self {
            Limit::ClientsPerIp => "clients_per_ip",
            Limit::ConnectsPerIp => "connects_per_ip",
            Limit::FilesTotal => "files_total",
            Limit::UploadQuota => "upload_quota",
            Limit::KeyGuesses => "key_guesses",
            Limit::Hashing => "hash_concurrency",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The least time between two log lines of one limit.
const LOG_EVERY: Duration = Duration::from_secs(1);

/// Per limit: when it was last logged, and refusals not logged since.
static LOGGED: [Mutex<Option<(Instant, u64)>>; Limit::ALL.len()] =
    [const { Mutex::new(None) }; Limit::ALL.len()];

/// Counts one refusal by `limit`. `Some(n)` when it is to be logged, `n`
/// being how many refusals by it were not logged since the last line.
pub fn refused(limit: Limit) -> Option<u64> {
    metrics::counter!("chatroom_limit_refusals_total", "limit" => limit.label()).increment(1);
    let now = Instant::now();
    // A panic while held cannot leave a half-written pair.
    let mut logged = LOGGED[limit.index()]
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    throttle(&mut logged, now)
}

/// Whether a refusal at `now` is logged, given when the last line was.
fn throttle(logged: &mut Option<(Instant, u64)>, now: Instant) -> Option<u64> {
    match logged {
        Some((at, skipped)) if now.saturating_duration_since(*at) < LOG_EVERY => {
            *skipped += 1;
            None
        }
        slot => {
            let skipped = slot.map_or(0, |(_, n)| n);
            *slot = Some((now, 0));
            Some(skipped)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logging_is_throttled() {
        let t0 = Instant::now();
        let mut slot = None;
        assert_eq!(throttle(&mut slot, t0), Some(0));
        assert_eq!(throttle(&mut slot, t0 + Duration::from_millis(10)), None);
        assert_eq!(throttle(&mut slot, t0 + Duration::from_millis(900)), None);
        assert_eq!(throttle(&mut slot, t0 + LOG_EVERY), Some(2), "two left out");
        assert_eq!(throttle(&mut slot, t0 + LOG_EVERY * 3), Some(0));
        for (i, l) in Limit::ALL.into_iter().enumerate() {
            assert_eq!(l.index(), i);
        }
    }
}
