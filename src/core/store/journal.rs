//! The journal: where a group commit puts its messages, one row per
//! commit holding each room's piece, until they move into their rooms'
//! segments (*folding*) once a second, every [`FOLD_PENDING`] messages,
//! or before a room whose messages wait here is read.
//!
//! Why: a segment row per room per commit dirtied a page of the
//! `segments_by_room` index for each room in each commit (rooms' entries
//! lie apart in it). A hundred busy rooms wrote about a hundred pages to
//! the WAL every 2 ms, 27 times the bytes of their messages, and the
//! history thread took 17% of the server's CPU in `rooms-shared`. A
//! journal row is appended at the end of its table, and a fold writes
//! each room's index page once per fold, not once per commit; segments
//! hold up to 64 messages again rather than one or two. A room with
//! [`DIRECT_PIECE`] messages or more in a commit has them stored in its
//! segments at once, as before: there the journal would only write them
//! twice.
//!
//! The journal table holds exactly the messages in [`Journal`]'s rooms,
//! unless a commit failed since ([`Journal::lost`]): then the journal is
//! moved into segments as it stands ([`recover`]) before anything else is
//! written. The same happens at start-up, before the rooms' message
//! numbers are read from their segments.

use std::collections::hash_map::{Entry, HashMap};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension};

use super::segment::{encode_message, encode_segment, push_json_string, SEGMENT_MESSAGES};
use super::writer::Row;
use crate::core::names::Folded;

/// Messages waiting in the journal that make a fold due. In
/// `rooms-shared`, 2,048 made 261 database writes per 1,000 messages and
/// 32,768 made 194, against 174 at this.
const FOLD_PENDING: usize = 8192;
/// How long a message waits in the journal at most (while the store is
/// busy; an idle store folds at once).
const FOLD_AFTER: Duration = Duration::from_secs(1);

/// A room with this many messages in one commit has them stored as
/// segments at once: the journal would write them twice, and a segment
/// of this many is worth its page of the index. Measured in `rooms` (about
/// 30 a room in a commit), the journal for all cost 16% of the deliveries
/// per server CPU-second; in `rooms-shared` (one or two) it cuts the
/// database's writes by 62% and the history thread's CPU per message by
/// a third.
const DIRECT_PIECE: usize = 32;

const INSERT_SEGMENT: &str =
    "INSERT INTO segments (room, first_seq, last_seq, body) VALUES (?1, ?2, ?3, ?4)";

/// Moves what the journal holds into segments, a piece each, when the
/// messages are not all in memory. `OR IGNORE`: a piece whose segment is
/// already there is not stored twice.
const RECOVER: &str = "INSERT OR IGNORE INTO segments (room, first_seq, last_seq, body)
         SELECT p.value ->> 0, p.value ->> '$[1][0][0]', p.value ->> '$[1][#-1][0]', p.value -> 1
         FROM journal j, json_each(j.body) p ORDER BY j.id, p.key;
     DELETE FROM journal;";

/// Moves a journal left by a crash (or a failed commit) into segments, in
/// the open transaction (or one of its own if none is open).
pub(super) fn recover(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(RECOVER)
}

/// Messages written to the journal and not yet in segments, room by room,
/// already encoded as their segments will hold them.
pub(super) struct Journal {
    /// Each room this thread has written to or looked up.
    rooms: HashMap<Folded, RoomLog>,
    /// Messages in the journal.
    waiting: usize,
    /// When the oldest of them came.
    since: Option<Instant>,
    /// The journal table may hold messages `rooms` does not: move it
    /// first.
    lost: bool,
    /// A journal row's body, being encoded (kept for its capacity).
    body: String,
    /// A segment stored at once, being encoded (kept for its capacity).
    segment: String,
}

/// One room's part.
struct RoomLog {
    /// Its last stored message number.
    last: u64,
    /// Its messages in the journal, as the segments they will be.
    segments: Vec<Segment>,
}

/// A segment being gathered.
struct Segment {
    first: u64,
    last: u64,
    count: usize,
    /// `[` and the messages, comma-separated (the `]` is added when
    /// stored).
    body: String,
}

impl Journal {
    /// An empty journal ([`recover`] ran at start-up).
    pub(super) fn new() -> Journal {
        Journal {
            rooms: HashMap::new(),
            waiting: 0,
            since: None,
            lost: false,
            body: String::new(),
            segment: String::new(),
        }
    }

    /// Writes `rows` (sorted by room, each room's in order) as one journal
    /// row in the open transaction, and says in `stored` which of them it
    /// holds: a row whose number its room has already used is refused
    /// alone. On an error none is stored: the transaction must be rolled
    /// back.
    pub(super) fn write(
        &mut self,
        conn: &Connection,
        rows: &[Row],
        stored: &mut Vec<bool>,
    ) -> rusqlite::Result<()> {
        stored.clear();
        self.recover_if_lost(conn)?;
        let res = self.gather(conn, rows, stored).and_then(|()| {
            if self.body.len() > 2 {
                conn.prepare_cached("INSERT INTO journal (body) VALUES (?1)")?
                    .execute(params![self.body.as_str()])?;
            }
            Ok(())
        });
        if res.is_err() {
            // What `gather` took in is not in the table.
            self.lost();
            stored.iter_mut().for_each(|s| *s = false);
        }
        res
    }

    /// Encodes the rows it can store into the journal row's body (a JSON
    /// array of `[room, segment body]`, a piece per room, which
    /// [`RECOVER`] reads) and into their rooms' segments; a room with
    /// [`DIRECT_PIECE`] messages or more goes straight to its segments.
    fn gather(
        &mut self,
        conn: &Connection,
        rows: &[Row],
        stored: &mut Vec<bool>,
    ) -> rusqlite::Result<()> {
        self.body.clear();
        self.body.push('[');
        for run in rows.chunk_by(|a, b| a.room == b.room) {
            let room = &run[0].room;
            let log = match self.rooms.entry(room.clone()) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(RoomLog {
                    last: last_seq(conn, room)?,
                    segments: Vec::new(),
                }),
            };
            let from = stored.len();
            stored.extend(run.iter().map(|row| log.take_number(row.seq)));
            let fresh = &stored[from..];
            let count = fresh.iter().filter(|s| **s).count();
            let kept = run.iter().zip(fresh).filter(|(_, s)| **s).map(|(r, _)| r);
            if count >= DIRECT_PIECE {
                store_direct(conn, room, kept, &mut self.segment)?;
            } else if count > 0 {
                if self.body.len() > 1 {
                    self.body.push(',');
                }
                add_piece(&mut self.body, log, room, kept);
                self.waiting += count;
                self.since.get_or_insert_with(Instant::now);
            }
        }
        self.body.push(']');
        Ok(())
    }

    /// A fold is due: enough messages wait, or the oldest has waited long
    /// enough.
    pub(super) fn due(&self) -> bool {
        self.waiting >= FOLD_PENDING || self.since.is_some_and(|t| t.elapsed() >= FOLD_AFTER)
    }

    /// Some of `room`'s messages wait in the journal (or may: after a
    /// failed commit).
    pub(super) fn holds(&self, room: &Folded) -> bool {
        self.lost
            || self
                .rooms
                .get(room)
                .is_some_and(|log| !log.segments.is_empty())
    }

    /// Nothing waits in the journal.
    pub(super) fn is_empty(&self) -> bool {
        self.waiting == 0 && !self.lost
    }

    /// Moves every waiting message into its room's segments and empties
    /// the journal, in the open transaction. On an error the transaction
    /// must be rolled back and [`Journal::lost`] called.
    pub(super) fn fold(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        self.recover_if_lost(conn)?;
        if self.waiting == 0 {
            return Ok(());
        }
        let mut insert = conn.prepare_cached(INSERT_SEGMENT)?;
        for (room, log) in &mut self.rooms {
            for mut segment in log.segments.drain(..) {
                segment.body.push(']');
                insert.execute(params![
                    room.as_str(),
                    segment.first as i64,
                    segment.last as i64,
                    segment.body.as_str()
                ])?;
            }
        }
        conn.prepare_cached("DELETE FROM journal")?.execute([])?;
        self.waiting = 0;
        self.since = None;
        Ok(())
    }

    /// A room is gone: its numbers may start again (its messages were
    /// folded first).
    pub(super) fn forget(&mut self, room: &Folded) {
        self.rooms.remove(room);
    }

    /// The transaction that wrote or folded was rolled back: the journal
    /// table no longer matches what is in memory.
    pub(super) fn lost(&mut self) {
        self.rooms.clear();
        self.waiting = 0;
        self.since = None;
        self.lost = true;
    }

    /// Gives back the spare room of the buffers a burst grew.
    pub(super) fn release_spare(&mut self) {
        self.body.shrink_to(0);
        self.segment.shrink_to(0);
    }

    fn recover_if_lost(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        if self.lost {
            recover(conn)?;
            self.lost = false;
        }
        Ok(())
    }
}

impl RoomLog {
    /// Whether `seq` follows the room's last number (and is now its last).
    fn take_number(&mut self, seq: u64) -> bool {
        let fresh = seq > self.last;
        if fresh {
            self.last = seq;
        }
        fresh
    }

    /// Adds an encoded message to the room's waiting segments.
    fn push(&mut self, seq: u64, message: &str) {
        match self.segments.last_mut() {
            Some(s) if s.count < SEGMENT_MESSAGES => {
                s.body.push(',');
                s.body.push_str(message);
                s.count += 1;
                s.last = seq;
            }
            _ => {
                let mut body = String::with_capacity(message.len() * 4 + 2);
                body.push('[');
                body.push_str(message);
                self.segments.push(Segment {
                    first: seq,
                    last: seq,
                    count: 1,
                    body,
                });
            }
        }
    }
}

/// Stores one room's `rows` as segments at once (`buf` to encode them in).
fn store_direct<'a>(
    conn: &Connection,
    room: &Folded,
    mut rows: impl Iterator<Item = &'a Row>,
    buf: &mut String,
) -> rusqlite::Result<()> {
    let mut insert = conn.prepare_cached(INSERT_SEGMENT)?;
    loop {
        buf.clear();
        // No first and last: the rows are all stored.
        let Some((first, last)) = encode_segment(rows.by_ref().take(SEGMENT_MESSAGES), buf) else {
            return Ok(());
        };
        insert.execute(params![
            room.as_str(),
            first as i64,
            last as i64,
            buf.as_str()
        ])?;
    }
}

/// Appends one room's `rows` to a journal row's `body` as its piece,
/// `[room, [messages]]`, and to the room's waiting segments.
fn add_piece<'a>(
    body: &mut String,
    log: &mut RoomLog,
    room: &Folded,
    rows: impl Iterator<Item = &'a Row>,
) {
    body.push('[');
    push_json_string(body, room.as_str());
    body.push_str(",[");
    for (i, row) in rows.enumerate() {
        if i > 0 {
            body.push(',');
        }
        let start = body.len();
        encode_message(row, body);
        log.push(row.seq, &body[start..]);
    }
    body.push_str("]]");
}

/// A room's last stored message number (0 for none).
fn last_seq(conn: &Connection, room: &Folded) -> rusqlite::Result<u64> {
    let last: Option<i64> = conn
        .prepare_cached(
            "SELECT last_seq FROM segments WHERE room = ?1 ORDER BY first_seq DESC LIMIT 1",
        )?
        .query_row(params![room.as_str()], |r| r.get(0))
        .optional()?;
    Ok(last.and_then(|l| u64::try_from(l).ok()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::core::names::{Nick, RoomName};

    fn key(room: &str) -> Folded {
        RoomName::parse(room, 32).unwrap().folded().clone()
    }

    fn row(room: &str, seq: u64) -> Row {
        Row {
            room: key(room),
            seq,
            time: SystemTime::now(),
            from: Nick::parse("al", 24).unwrap(),
            text: format!("m{seq}"),
            ack: None,
        }
    }

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_few_wait_in_the_journal_and_many_go_straight_to_segments() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn, 0).unwrap();
        let mut journal = Journal::new();
        let rows: Vec<Row> = (1..=3)
            .map(|s| row("#few", s))
            .chain((1..=40).map(|s| row("#many", s)))
            .collect();
        let mut stored = Vec::new();
        journal.write(&conn, &rows, &mut stored).unwrap();
        assert_eq!(stored, vec![true; 43]);
        assert!(journal.holds(&key("#few")));
        assert!(!journal.holds(&key("#many")));
        assert!(!journal.holds(&key("#other")));
        assert_eq!((count(&conn, "journal"), count(&conn, "segments")), (1, 1));

        // A number the room has used is refused alone.
        let again = [row("#few", 3), row("#few", 4)];
        journal.write(&conn, &again, &mut stored).unwrap();
        assert_eq!(stored, [false, true]);
        assert!(!journal.due());

        journal.fold(&conn).unwrap();
        assert!(journal.is_empty());
        assert!(!journal.holds(&key("#few")));
        // #few's four in one segment, beside #many's forty.
        assert_eq!((count(&conn, "journal"), count(&conn, "segments")), (0, 2));
        let few: (i64, i64, i64) = conn
            .query_row(
                "SELECT first_seq, last_seq, json_array_length(body) FROM segments
                 WHERE room = '#few'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(few, (1, 4, 4));
    }

    #[test]
    fn a_lost_journal_is_moved_into_segments_before_the_next_write() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn, 0).unwrap();
        let mut journal = Journal::new();
        let mut stored = Vec::new();
        journal
            .write(&conn, &[row("#a", 1), row("#b", 1)], &mut stored)
            .unwrap();
        // As after a commit that failed: memory no longer trusted.
        journal.lost();
        assert!(journal.holds(&key("#a")) && !journal.is_empty());
        journal.write(&conn, &[row("#a", 2)], &mut stored).unwrap();
        assert_eq!(stored, [true]);
        // The old row moved as it stood (a segment per piece); the new one
        // waits.
        assert_eq!((count(&conn, "journal"), count(&conn, "segments")), (1, 2));
        journal.fold(&conn).unwrap();
        let seqs: Vec<i64> = conn
            .prepare("SELECT seq FROM messages WHERE room = '#a' ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(seqs, [1, 2]);
    }
}
