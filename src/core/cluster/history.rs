//! IRC CHATHISTORY's queries on a room's stream. The stream's ids are the
//! room's message numbers, so a number anchor is a range at once; a time
//! anchor is found by reading the stream from its newest end, a page at a
//! time, and at most [`MAX_SCAN`] entries (times grow with numbers).

use super::wire::{Incoming, Published};
use super::{keys, Cluster, ClusterError, StreamEntry, COMMAND_TIMEOUT};
use crate::core::names::Folded;
use crate::core::store::{Anchor, HistoryQuery};

/// Entries one read takes.
const PAGE: usize = 256;

/// The most entries one query reads: a time anchor further back than
/// this finds nothing older.
pub const MAX_SCAN: usize = 10_000;

/// What a scan does with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Take,
    Skip,
    Stop,
}

fn after(m: &Incoming, a: Anchor) -> bool {
    match a {
        Anchor::Seq(s) => m.seq > s,
        Anchor::Time(t) => m.time > t,
    }
}

fn before(m: &Incoming, a: Anchor) -> bool {
    match a {
        Anchor::Seq(s) => m.seq < s,
        Anchor::Time(t) => m.time < t,
    }
}

/// The newest entry a scan for messages before `a` can start at.
fn start_before(a: Anchor) -> Option<u64> {
    match a {
        Anchor::Seq(s) => Some(s.saturating_sub(1)),
        Anchor::Time(_) => None,
    }
}

/// Keeps the oldest `limit` of messages listed newest first; answers them
/// oldest first.
fn oldest(mut newest_first: Vec<Incoming>, limit: usize) -> Vec<Incoming> {
    newest_first.reverse();
    newest_first.truncate(limit);
    newest_first
}

impl Cluster {
    /// At most `limit` messages of the room chosen by `query`, oldest
    /// first, from its stream (as the store's `query` answers them).
    pub async fn query(
        &self,
        room: Folded,
        query: HistoryQuery,
        limit: u32,
    ) -> Result<Vec<Incoming>, ClusterError> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let log = keys::room_log(room.as_str());
        match query {
            HistoryQuery::Latest(None) => self.newest(&log, None, limit, |_| Step::Take).await,
            HistoryQuery::Latest(Some(a)) => {
                let step = |m: &Incoming| if after(m, a) { Step::Take } else { Step::Stop };
                self.newest(&log, None, limit, step).await
            }
            HistoryQuery::Before(a) => {
                let step = |m: &Incoming| if before(m, a) { Step::Take } else { Step::Skip };
                self.newest(&log, start_before(a), limit, step).await
            }
            HistoryQuery::After(a) => self.oldest_after(&log, a, None, limit).await,
            HistoryQuery::Around(a) => {
                let half = limit / 2;
                let step = |m: &Incoming| if before(m, a) { Step::Take } else { Step::Skip };
                let mut out = self.newest(&log, start_before(a), half, step).await?;
                let rest = limit.saturating_sub(out.len());
                let from = a.just_before();
                out.extend(self.oldest_after(&log, from, None, rest).await?);
                Ok(out)
            }
            HistoryQuery::Between(a, b) => {
                let forward = a.runs_forward_to(b);
                if forward {
                    self.oldest_after(&log, a, Some(b), limit).await
                } else {
                    // Nearest `a`: the newest before it, down to `b`.
                    let step = |m: &Incoming| match (before(m, a), after(m, b)) {
                        (false, _) => Step::Skip,
                        (true, true) => Step::Take,
                        (true, false) => Step::Stop,
                    };
                    self.newest(&log, start_before(a), limit, step).await
                }
            }
        }
    }

    /// The oldest `limit` messages after `a` (and before `until`).
    async fn oldest_after(
        &self,
        log: &str,
        a: Anchor,
        until: Option<Anchor>,
        limit: usize,
    ) -> Result<Vec<Incoming>, ClusterError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        if let Anchor::Seq(s) = a {
            // Numbers: a range read forward, at once.
            let mut xrange = redis::cmd("XRANGE");
            xrange
                .arg(log)
                .arg(format!("{}-0", s.saturating_add(1)))
                .arg("+")
                .arg("COUNT")
                .arg(limit);
            let entries: Vec<StreamEntry> = self.read(xrange).await?;
            return Ok(super::decode_entries(entries)
                .into_iter()
                .take_while(|m| until.is_none_or(|b| before(m, b)))
                .collect());
        }
        // Times: from the newest end back to the anchor, the oldest kept.
        let step = |m: &Incoming| match (until.is_none_or(|b| before(m, b)), after(m, a)) {
            (false, _) => Step::Skip,
            (true, true) => Step::Take,
            (true, false) => Step::Stop,
        };
        let newest_first = self.scan_back(log, None, MAX_SCAN, step).await?;
        Ok(oldest(newest_first, limit))
    }

    /// The newest `limit` messages `step` takes, reading back from number
    /// `from` (the newest end if `None`); oldest first.
    async fn newest(
        &self,
        log: &str,
        from: Option<u64>,
        limit: usize,
        step: impl Fn(&Incoming) -> Step,
    ) -> Result<Vec<Incoming>, ClusterError> {
        let mut out = self.scan_back(log, from, limit, step).await?;
        out.reverse();
        Ok(out)
    }

    /// Reads the stream back from number `from` (the newest end if
    /// `None`), a page at a time, until `step` stops it, `take` are taken
    /// or [`MAX_SCAN`] are read; newest first.
    async fn scan_back(
        &self,
        log: &str,
        from: Option<u64>,
        take: usize,
        step: impl Fn(&Incoming) -> Step,
    ) -> Result<Vec<Incoming>, ClusterError> {
        let mut out = Vec::new();
        if take == 0 || from == Some(0) {
            return Ok(out);
        }
        let mut start = from.map_or_else(|| "+".to_string(), |s| format!("{s}-0"));
        let mut scanned = 0;
        while scanned < MAX_SCAN {
            let mut xrevrange = redis::cmd("XREVRANGE");
            xrevrange
                .arg(log)
                .arg(&start)
                .arg("-")
                .arg("COUNT")
                .arg(PAGE);
            let entries: Vec<StreamEntry> = self.read(xrevrange).await?;
            let Some((last_id, _)) = entries.last() else {
                break;
            };
            start = format!("({last_id}");
            let full = entries.len() == PAGE;
            scanned += entries.len();
            for (_, fields) in entries {
                for (_, payload) in fields {
                    let Ok(Published::Msg(m)) = Published::decode(&payload) else {
                        continue;
                    };
                    match step(&m) {
                        Step::Take => out.push(m),
                        Step::Skip => {}
                        Step::Stop => return Ok(out),
                    }
                    if out.len() >= take {
                        return Ok(out);
                    }
                }
            }
            if !full {
                break;
            }
        }
        Ok(out)
    }

    async fn read(&self, cmd: redis::Cmd) -> Result<Vec<StreamEntry>, ClusterError> {
        let mut redis = self.redis.clone();
        tokio::time::timeout(COMMAND_TIMEOUT, cmd.query_async(&mut redis))
            .await
            .map_err(|_| ClusterError::Timeout(COMMAND_TIMEOUT))?
            .map_err(ClusterError::Redis)
    }
}
