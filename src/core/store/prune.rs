//! History retention: pruning old messages in small steps on the database
//! thread, each its own short transaction between group commits, so that
//! a long prune never holds up an `OK MSG` by more than a step.
//!
//! Messages go a whole segment (one room's messages of one commit, at most
//! [`SEGMENT_MESSAGES`](super::segment::SEGMENT_MESSAGES)) at a time:
//! - by age (`history.retention_days`): the oldest segments first, in the
//!   order they were committed, each once its newest message is older than
//!   the cutoff;
//! - by count (`history.max_messages_per_room`): a room keeps at least its
//!   newest N messages, and fewer than N plus a segment's worth; rooms are
//!   visited a few at a time, in name order, round after round.

use std::time::{Duration, SystemTime};

use rusqlite::{params, Connection};

use super::millis;
use crate::config::HistoryConfig;

/// Segments one step deletes at most, per rule.
const STEP_SEGMENTS: usize = 256;
/// Rooms one step looks at for the per-room cap.
const STEP_ROOMS: usize = 64;

/// What to prune, read from the configuration for each round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Messages said before this go.
    pub before: Option<SystemTime>,
    /// Each room keeps its newest this many messages (and fewer than a
    /// segment more).
    pub keep_per_room: Option<u64>,
}

impl Retention {
    /// The rules of `history` at `now`; `None` when messages are kept
    /// forever.
    pub fn from_config(history: &HistoryConfig, now: SystemTime) -> Option<Retention> {
        let days = history.retention_days;
        let before = (days > 0)
            .then(|| now.checked_sub(Duration::from_secs(days.saturating_mul(86_400))))
            .flatten();
        let keep_per_room =
            (history.max_messages_per_room > 0).then_some(history.max_messages_per_room);
        (before.is_some() || keep_per_room.is_some()).then_some(Retention {
            before,
            keep_per_room,
        })
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Segments deleted.
    pub segments: usize,
    /// Messages they held.
    pub messages: u64,
    /// Nothing is left to prune for this round: the next step starts the
    /// next round.
    pub done: bool,
}

/// Where the per-room cap goes on: the room after which the next step
/// looks. Kept by the database thread between steps.
#[derive(Debug, Default)]
pub struct Cursor {
    after: Option<String>,
}

/// One step of `rules`, in the current transaction of `conn`.
pub(super) fn step(
    conn: &Connection,
    rules: Retention,
    cursor: &mut Cursor,
) -> rusqlite::Result<Pruned> {
    let mut pruned = Pruned::default();
    let aged_done = match rules.before {
        Some(before) => by_age(conn, before, &mut pruned)?,
        None => true,
    };
    let capped_done = match rules.keep_per_room {
        Some(keep) => by_count(conn, keep, cursor, &mut pruned)?,
        None => true,
    };
    pruned.done = aged_done && capped_done;
    Ok(pruned)
}

/// Deletes the oldest segments whose newest message is before `before`;
/// whether none is left.
fn by_age(conn: &Connection, before: SystemTime, pruned: &mut Pruned) -> rusqlite::Result<bool> {
    // Segment ids grow with each commit: the oldest come first (to
    // within a second: a fold stores messages that waited up to a second
    // in the journal after newer rooms' went straight in). `#-1` is the
    // segment's last (newest) message, `[1]` its time.
    let mut oldest = conn.prepare_cached(
        "SELECT id, last_seq - first_seq + 1, body ->> '$[#-1][1]' FROM segments
         ORDER BY id LIMIT ?1",
    )?;
    let cutoff = millis(before);
    let mut expired = Vec::new();
    let mut rows = oldest.query(params![STEP_SEGMENTS as i64])?;
    let mut seen = 0;
    while let Some(row) = rows.next()? {
        seen += 1;
        let newest: i64 = row.get(2)?;
        if newest >= cutoff {
            // Newer ones follow: this round is over.
            drop(rows);
            delete(conn, &expired, pruned)?;
            return Ok(true);
        }
        expired.push((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?));
    }
    drop(rows);
    delete(conn, &expired, pruned)?;
    Ok(seen < STEP_SEGMENTS)
}

/// Trims the next rooms after `cursor` to their newest `keep` messages;
/// whether the round has been through every room.
fn by_count(
    conn: &Connection,
    keep: u64,
    cursor: &mut Cursor,
    pruned: &mut Pruned,
) -> rusqlite::Result<bool> {
    let mut rooms = conn.prepare_cached(
        "SELECT room, MAX(last_seq) FROM segments WHERE room > ?1
         GROUP BY room ORDER BY room LIMIT ?2",
    )?;
    let after = cursor.after.clone().unwrap_or_default();
    let found: Vec<(String, i64)> = rooms
        .query_map(params![after, STEP_ROOMS as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut excess = conn.prepare_cached(
        "SELECT id, last_seq - first_seq + 1 FROM segments
         WHERE room = ?1 AND first_seq <= ?2 AND last_seq <= ?2
         ORDER BY first_seq LIMIT ?3",
    )?;
    let mut budget = STEP_SEGMENTS;
    for (room, newest) in &found {
        let upto = *newest - i64::try_from(keep).unwrap_or(i64::MAX);
        if upto < 1 {
            cursor.after = Some(room.clone());
            continue;
        }
        let ids: Vec<(i64, i64)> = excess
            .query_map(params![room, upto, budget as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        budget -= ids.len();
        delete(conn, &ids, pruned)?;
        if budget == 0 {
            // This room may have more: it is looked at again next step.
            return Ok(false);
        }
        cursor.after = Some(room.clone());
    }
    if found.len() < STEP_ROOMS {
        cursor.after = None;
        return Ok(true);
    }
    Ok(false)
}

/// Deletes segments `(id, messages)`, counting them into `pruned`.
fn delete(conn: &Connection, segments: &[(i64, i64)], pruned: &mut Pruned) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached("DELETE FROM segments WHERE id = ?1")?;
    for (id, messages) in segments {
        stmt.execute(params![id])?;
        pruned.segments += 1;
        pruned.messages += u64::try_from(*messages).unwrap_or(0);
    }
    Ok(())
}
