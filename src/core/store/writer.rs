//! The database thread: it owns the connection, gathers requests for a
//! group commit, and hands acknowledgements and history reads back through
//! the [`Relay`](super::Relay) (the module docs of [`storage`](super)
//! say why).

use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use rusqlite::{params, Connection};
use tokio::sync::oneshot;
use tracing::{error, info};

use super::journal::Journal;
use super::prune::{self, Pruned, Retention};
use super::segment::{decode_message, DECODE_SEGMENT};
use super::{
    from_millis, millis, AccountRecord, AccountWriteError, Anchor, FileRecord, HistoryQuery,
    RoomRecord, ServerBanRecord, StoredMessage,
};
use crate::core::names::{Folded, Nick};
use bytes::Bytes;

use crate::core::outcome::{Ack, Said, StoreFailure};
use crate::core::{FileId, FileTarget};
use crate::transport::send_queue::{SendQueue, Ticket};

/// Requests taken into one transaction at most.
const MAX_BATCH: usize = 4096;
/// How long the database thread gathers requests before committing.
const COMMIT_WINDOW: Duration = Duration::from_millis(2);

/// How long the store waits without a request before it gives back what
/// a burst grew its buffers to (10,000 clients reconnecting save a
/// thousand rooms at once; a flood gathers thousands of messages): kept
/// while busy, not for good.
const IDLE_RELEASE: Duration = Duration::from_secs(1);

/// What the store's buffers keep when idle, in requests or rows.
const KEPT_CAPACITY: usize = 64;

pub(super) enum Request {
    Append(Row),
    SaveRoom(Folded, RoomRecord),
    DeleteRoom(Folded),
    Prune {
        rules: Retention,
        reply: oneshot::Sender<Pruned>,
    },
    History {
        room: Folded,
        upto: u64,
        count: u32,
        reply: oneshot::Sender<Vec<StoredMessage>>,
    },
    Query {
        room: Folded,
        query: HistoryQuery,
        limit: u32,
        reply: oneshot::Sender<Vec<StoredMessage>>,
    },
    AddFile(FileRecord),
    CreateAccount {
        key: Folded,
        account: AccountRecord,
        reply: oneshot::Sender<Result<(), AccountWriteError>>,
    },
    GetAccount {
        key: Folded,
        reply: oneshot::Sender<Option<AccountRecord>>,
    },
    SetPassword {
        key: Folded,
        password: String,
        reply: oneshot::Sender<Result<(), AccountWriteError>>,
    },
    RemoveFile(FileId),
    AddServerBan(ServerBanRecord),
    RemoveServerBan(String),
    Flush(oneshot::Sender<()>),
    #[cfg(test)]
    Execute(String),
}

/// One sender's queue and its replies from one commit, spelled.
pub(super) type SenderAnswers = (SendQueue, Vec<(Ticket, Bytes)>);

/// What the database thread hands back to sessions.
pub(super) enum Answer {
    /// One commit's answers: per sender, its queue and its replies in
    /// their places.
    Acks(Vec<SenderAnswers>),
    /// A history read, for the session waiting on it.
    History(oneshot::Sender<Vec<StoredMessage>>, Vec<StoredMessage>),
    /// Any other answer (accounts): it sends itself.
    Reply(Box<dyn FnOnce() + Send>),
}

impl Answer {
    pub(super) fn deliver(self) {
        match self {
            Answer::Acks(acks) => {
                for (queue, replies) in acks {
                    queue.settle(replies);
                }
            }
            Answer::History(reply, messages) => {
                let _ = reply.send(messages);
            }
            Answer::Reply(send) => send(),
        }
    }
}

/// The database thread: group commits until every handle is dropped.
pub(super) fn run(
    conn: Connection,
    rx: mpsc::Receiver<Request>,
    relay: tokio::sync::mpsc::UnboundedSender<Answer>,
) {
    let mut writer = Writer {
        conn,
        relay,
        open: false,
        failed: false,
        acks: Vec::new(),
        rows: Vec::new(),
        stored: Vec::new(),
        journal: Journal::new(),
        prune_cursor: prune::Cursor::default(),
    };
    // Kept across commits for its capacity: regrowing it to thousands of
    // requests each time cost about 5% of all the server's instructions
    // under load (reallocations and their copies). Given back once the
    // store is idle ([`IDLE_RELEASE`]).
    let mut batch = Vec::with_capacity(KEPT_CAPACITY);
    loop {
        let first = match rx.recv_timeout(IDLE_RELEASE) {
            Ok(req) => req,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Idle: what waits in the journal goes to its segments.
                writer.fold();
                writer.commit();
                batch.shrink_to(KEPT_CAPACITY);
                writer.release_spare();
                match rx.recv() {
                    Ok(req) => req,
                    Err(mpsc::RecvError) => break,
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        batch.push(first);
        // Gather for a moment: one commit then covers many messages. Only
        // OK MSG waits for it; members already have the message. Sleeping
        // through the window, rather than waiting on the channel, spares a
        // thread switch per message: this thread shares a core with the
        // server's under load.
        let deadline = Instant::now() + COMMIT_WINDOW;
        'gather: loop {
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(req) => batch.push(req),
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => break 'gather,
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if batch.len() >= MAX_BATCH || left.is_zero() {
                break;
            }
            std::thread::sleep(left);
        }
        for req in batch.drain(..) {
            writer.handle(req);
        }
        writer.commit();
    }
    writer.fold();
    writer.commit();
    info!("history database closed");
}

struct Writer {
    conn: Connection,
    /// Where answers for sessions go: to the [`Relay`](super::Relay).
    relay: tokio::sync::mpsc::UnboundedSender<Answer>,
    /// A transaction is open.
    open: bool,
    /// A statement in the open transaction failed: roll it back.
    failed: bool,
    /// Messages of the open transaction, with whether their insert worked.
    acks: Vec<(Ack, Said)>,
    /// Messages not inserted yet.
    rows: Vec<Row>,
    /// Which of the rows being written are stored (kept for its capacity).
    stored: Vec<bool>,
    /// Messages written and not yet in their rooms' segments.
    journal: Journal,
    /// Where pruning by room goes on.
    prune_cursor: prune::Cursor,
}

/// A message to store (sent to the database thread, then gathered there
/// until the commit, or until something else comes).
pub(super) struct Row {
    pub(super) room: Folded,
    pub(super) seq: u64,
    pub(super) time: SystemTime,
    pub(super) from: Nick,
    pub(super) text: String,
    pub(super) ack: Option<Ack>,
}

impl Writer {
    fn begin(&mut self) {
        if !self.open {
            match self.conn.execute_batch("BEGIN") {
                Ok(()) => self.open = true,
                Err(e) => {
                    error!(%e, "history database: cannot begin a transaction");
                    self.failed = true;
                }
            }
        }
    }

    fn write(&mut self, what: &str, res: rusqlite::Result<usize>) -> bool {
        match res {
            Ok(_) => true,
            Err(e) => {
                error!(%e, "history database: cannot store {what}");
                false
            }
        }
    }

    fn handle(&mut self, req: Request) {
        if !matches!(req, Request::Append(_)) {
            // Messages before it are stored before it, as they came.
            self.insert_rows();
        }
        match req {
            // Stored at the commit, or before the next other request.
            Request::Append(row) => self.rows.push(row),

            Request::SaveRoom(key, r) => {
                self.begin();
                let res = self
                    .conn
                    .prepare_cached(
                        "INSERT INTO rooms (key, name, owner, key_hash, topic, created_ms, owner_account)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                         ON CONFLICT (key) DO UPDATE
                         SET owner = ?3, key_hash = ?4, topic = ?5, owner_account = ?7",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            key.as_str(),
                            r.name,
                            r.owner,
                            r.key_hash,
                            r.topic,
                            millis(r.created),
                            r.owner_account
                        ])
                    })
                    .and_then(|_| self.save_room_lists(&key, &r));
                self.failed |= !self.write("a room", res);
            }
            Request::DeleteRoom(key) => {
                // Folded first: the journal then holds none of its
                // messages, to come back after a crash.
                self.fold();
                self.begin();
                let res = self.delete_room(&key);
                self.failed |= !self.write("a room removal", res);
                self.journal.forget(&key);
            }
            Request::Prune { rules, reply } => {
                // A transaction of its own: what came before is committed
                // (and acknowledged) first, what comes after waits a step.
                self.fold();
                self.commit();
                self.begin();
                let pruned =
                    prune::step(&self.conn, rules, &mut self.prune_cursor).unwrap_or_else(|e| {
                        error!(%e, "history database: cannot prune");
                        self.failed = true;
                        Pruned {
                            done: true,
                            ..Pruned::default()
                        }
                    });
                self.commit();
                let _ = reply.send(pruned);
            }
            Request::AddFile(f) => {
                let (target_is_room, target) = match &f.target {
                    FileTarget::Room(room) => (true, room.as_str()),
                    FileTarget::User(nick) => (false, nick.as_str()),
                };
                self.begin();
                let res = self
                    .conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO files
                         (id, target_is_room, target, sender, size, sha256, filename, stored_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            f.id.as_str(),
                            target_is_room,
                            target,
                            f.from.as_str(),
                            f.size as i64,
                            f.sha256,
                            f.filename,
                            millis(f.stored)
                        ])
                    });
                self.failed |= !self.write("a file", res);
            }
            Request::CreateAccount {
                key,
                account,
                reply,
            } => {
                // Alone, after what came before: a refusal (the name is
                // taken) must not roll anyone's messages back, and the
                // answer comes once the row is committed.
                self.commit();
                let res = self
                    .conn
                    .prepare_cached(
                        "INSERT INTO accounts (key, name, password, created_ms)
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO NOTHING",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            key.as_str(),
                            account.name,
                            account.password,
                            millis(account.created)
                        ])
                    });
                let res = match res {
                    Ok(1) => Ok(()),
                    Ok(_) => Err(AccountWriteError::Exists),
                    Err(e) => {
                        error!(%e, "history database: cannot store an account");
                        Err(AccountWriteError::Failed)
                    }
                };
                self.answer(Answer::Reply(Box::new(move || {
                    let _ = reply.send(res);
                })));
            }
            Request::GetAccount { key, reply } => {
                self.commit();
                let found = self.account(&key).unwrap_or_else(|e| {
                    error!(%e, "history database: cannot read an account");
                    None
                });
                self.answer(Answer::Reply(Box::new(move || {
                    let _ = reply.send(found);
                })));
            }
            Request::SetPassword {
                key,
                password,
                reply,
            } => {
                self.commit();
                let res = self
                    .conn
                    .prepare_cached("UPDATE accounts SET password = ?2 WHERE key = ?1")
                    .and_then(|mut s| s.execute(params![key.as_str(), password]));
                let res = match res {
                    Ok(1) => Ok(()),
                    Ok(_) => Err(AccountWriteError::Missing),
                    Err(e) => {
                        error!(%e, "history database: cannot change a password");
                        Err(AccountWriteError::Failed)
                    }
                };
                self.answer(Answer::Reply(Box::new(move || {
                    let _ = reply.send(res);
                })));
            }
            Request::RemoveFile(id) => {
                self.begin();
                let res = self
                    .conn
                    .prepare_cached("DELETE FROM files WHERE id = ?1")
                    .and_then(|mut s| s.execute(params![id.as_str()]));
                self.failed |= !self.write("a file removal", res);
            }
            Request::AddServerBan(b) => {
                self.begin();
                let res = self
                    .conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO server_bans (mask, reason, set_by, set_ms, expires_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            b.mask,
                            b.reason,
                            b.set_by,
                            millis(b.set_at),
                            b.expires.map(millis)
                        ])
                    });
                self.failed |= !self.write("a server ban", res);
            }
            Request::RemoveServerBan(mask) => {
                self.begin();
                let res = self
                    .conn
                    .prepare_cached("DELETE FROM server_bans WHERE mask = ?1")
                    .and_then(|mut s| s.execute(params![mask]));
                self.failed |= !self.write("a server ban removal", res);
            }
            Request::History {
                room,
                upto,
                count,
                reply,
            } => {
                self.fold_for(&room);
                self.commit();
                let messages = self.history(&room, upto, count).unwrap_or_else(|e| {
                    error!(%e, "history database: cannot read history");
                    Vec::new()
                });
                self.answer(Answer::History(reply, messages));
            }
            Request::Query {
                room,
                query,
                limit,
                reply,
            } => {
                self.fold_for(&room);
                self.commit();
                let messages = self.query(&room, query, limit).unwrap_or_else(|e| {
                    error!(%e, "history database: cannot read history");
                    Vec::new()
                });
                self.answer(Answer::History(reply, messages));
            }
            Request::Flush(done) => {
                self.fold();
                self.commit();
                let _ = done.send(());
            }
            #[cfg(test)]
            Request::Execute(sql) => {
                self.fold();
                self.commit();
                if let Err(e) = self.conn.execute_batch(&sql) {
                    error!(%e, "test statement failed");
                }
            }
        }
    }

    /// Deletes a room's record, its messages, its operators by account and
    /// its bans, in the open transaction.
    fn delete_room(&self, key: &Folded) -> rusqlite::Result<usize> {
        let mut deleted = 0;
        for table in [
            "DELETE FROM rooms WHERE key = ?1",
            "DELETE FROM segments WHERE room = ?1",
            "DELETE FROM room_ops WHERE room = ?1",
            "DELETE FROM room_bans WHERE room = ?1",
        ] {
            deleted += self
                .conn
                .prepare_cached(table)?
                .execute(params![key.as_str()])?;
        }
        Ok(deleted)
    }

    /// Replaces a room's operators by account and its bans with the
    /// record's, in the open transaction.
    fn save_room_lists(&self, key: &Folded, r: &RoomRecord) -> rusqlite::Result<usize> {
        let room = key.as_str();
        self.conn
            .prepare_cached("DELETE FROM room_ops WHERE room = ?1")?
            .execute(params![room])?;
        self.conn
            .prepare_cached("DELETE FROM room_bans WHERE room = ?1")?
            .execute(params![room])?;
        let mut op = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO room_ops (room, account) VALUES (?1, ?2)")?;
        for account in &r.ops {
            op.execute(params![room, account])?;
        }
        let mut ban = self.conn.prepare_cached(
            "INSERT OR IGNORE INTO room_bans (room, mask, set_by, set_ms) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for b in &r.bans {
            ban.execute(params![room, b.mask, b.by, millis(b.at)])?;
        }
        Ok(0)
    }

    fn account(&self, key: &Folded) -> rusqlite::Result<Option<AccountRecord>> {
        use rusqlite::OptionalExtension;
        self.conn
            .prepare_cached("SELECT name, password, created_ms FROM accounts WHERE key = ?1")?
            .query_row(params![key.as_str()], |r| {
                Ok(AccountRecord {
                    name: r.get(0)?,
                    password: r.get(1)?,
                    created: from_millis(r.get(2)?),
                })
            })
            .optional()
    }

    /// Gives back the spare room of the buffers a burst grew.
    fn release_spare(&mut self) {
        self.rows.shrink_to(KEPT_CAPACITY);
        self.acks.shrink_to(KEPT_CAPACITY);
        self.stored.shrink_to(KEPT_CAPACITY);
        self.journal.release_spare();
    }

    /// Stores the gathered messages: in the journal, a row for them all, or
    /// a room's many straight in its segments ([`Journal::write`]); a
    /// message whose number its room has already used fails alone.
    fn insert_rows(&mut self) {
        if self.rows.is_empty() {
            return;
        }
        self.begin();
        // Taken for the loop and put back emptied, keeping its capacity.
        let mut rows = std::mem::take(&mut self.rows);
        let mut stored = std::mem::take(&mut self.stored);
        // Stable: each room's messages keep the order they came in.
        rows.sort_by(|a, b| a.room.as_str().cmp(b.room.as_str()));
        let res = self.journal.write(&self.conn, &rows, &mut stored);
        let ok = self.write("messages", res.map(|()| 0)) && self.open;
        // Some of them may be in segments already: none is kept.
        self.failed |= !ok;
        for (row, stored) in rows.iter_mut().zip(stored.iter_mut()) {
            *stored &= ok;
            if let Some(ack) = row.ack.take() {
                let said = if *stored {
                    Said::Stored {
                        seq: row.seq,
                        time: row.time,
                    }
                } else {
                    Said::NotStored(StoreFailure::WriteFailed)
                };
                self.acks.push((ack, said));
            }
        }
        rows.clear();
        self.rows = rows;
        self.stored = stored;
    }

    /// Before reading `room`: moves what waits in the journal into
    /// segments if any of it is the room's (a JOIN into a quiet room, the
    /// most common read, moves nothing).
    fn fold_for(&mut self, room: &Folded) {
        self.insert_rows();
        if self.journal.holds(room) {
            self.fold();
        }
    }

    /// Moves what waits in the journal into segments, in the open
    /// transaction (a failure rolls it back).
    fn fold(&mut self) {
        self.insert_rows();
        if self.journal.is_empty() {
            return;
        }
        self.begin();
        let res = self.journal.fold(&self.conn);
        self.failed |= !self.write("messages into segments", res.map(|()| 0));
    }

    fn history(
        &self,
        room: &Folded,
        upto: u64,
        count: u32,
    ) -> rusqlite::Result<Vec<StoredMessage>> {
        let upto = i64::try_from(upto).unwrap_or(i64::MAX);
        let mut segments = self.conn.prepare_cached(
            "SELECT body FROM segments WHERE room = ?1 AND first_seq <= ?2 ORDER BY first_seq DESC",
        )?;
        let mut messages = self.conn.prepare_cached(DECODE_SEGMENT)?;
        let wanted = count as usize;
        let mut out = Vec::with_capacity(wanted.min(1024));
        // Newest segment first, only as many as it takes.
        let mut bodies = segments.query(params![room.as_str(), upto])?;
        while out.len() < wanted {
            let Some(segment) = bodies.next()? else {
                break;
            };
            let body = segment.get_ref(0)?.as_str()?;
            let mut rows = messages.query(params![body, upto])?;
            while out.len() < wanted {
                let Some(r) = rows.next()? else {
                    break;
                };
                out.push(decode_message(r)?);
            }
        }
        out.reverse();
        Ok(out)
    }

    /// Runs a [`HistoryQuery`]: the newest messages up to a number go the
    /// way of [`Writer::history`] (segments newest first, as few as it
    /// takes); the rest select from the room's segments with `json_each`.
    fn query(
        &self,
        room: &Folded,
        query: HistoryQuery,
        limit: u32,
    ) -> rusqlite::Result<Vec<StoredMessage>> {
        use std::cmp::Ordering::{Greater, Less};
        match query {
            HistoryQuery::Latest(None) => self.history(room, u64::MAX, limit),
            HistoryQuery::Before(Anchor::Seq(seq)) => {
                self.history(room, seq.saturating_sub(1), limit)
            }
            HistoryQuery::Latest(Some(a)) => self.select(room, &[(a, Greater)], true, limit),
            HistoryQuery::Before(a) => self.select(room, &[(a, Less)], true, limit),
            HistoryQuery::After(a) => self.select(room, &[(a, Greater)], false, limit),
            HistoryQuery::Around(a) => {
                let before = limit / 2;
                let mut out = self.select(room, &[(a, Less)], true, before)?;
                let taken = u32::try_from(out.len()).unwrap_or(before);
                let rest = limit.saturating_sub(taken);
                let from = a.just_before();
                out.extend(self.select(room, &[(from, Greater)], false, rest)?);
                Ok(out)
            }
            HistoryQuery::Between(a, b) => {
                let forward = a.runs_forward_to(b);
                let (first, second) = if forward {
                    (Greater, Less)
                } else {
                    (Less, Greater)
                };
                let mut out = self.select(room, &[(a, first), (b, second)], !forward, limit)?;
                if !forward {
                    // Nearest the first anchor, but oldest first all the same.
                    out.sort_by_key(|m| m.seq);
                }
                Ok(out)
            }
        }
    }

    /// Up to `limit` messages of `room` on the given side of each anchor,
    /// taken newest first when `newest`, returned oldest first.
    fn select(
        &self,
        room: &Folded,
        bounds: &[(Anchor, std::cmp::Ordering)],
        newest: bool,
        limit: u32,
    ) -> rusqlite::Result<Vec<StoredMessage>> {
        let mut sql = String::from(
            "SELECT m.value ->> 0, m.value ->> 1, m.value ->> 2, m.value ->> 3
             FROM segments s, json_each(s.body) m WHERE s.room = ?1",
        );
        let mut args: Vec<i64> = Vec::new();
        for (anchor, side) in bounds {
            let op = if *side == std::cmp::Ordering::Less {
                "<"
            } else {
                ">"
            };
            let (column, value) = match anchor {
                Anchor::Seq(s) => {
                    let v = i64::try_from(*s).unwrap_or(i64::MAX);
                    // Whole segments out of range are skipped unread.
                    let prune = if op == "<" {
                        "s.first_seq <"
                    } else {
                        "s.last_seq >"
                    };
                    sql.push_str(&format!(" AND {prune} ?{}", args.len() + 2));
                    args.push(v);
                    ("m.value ->> 0", v)
                }
                Anchor::Time(t) => ("m.value ->> 1", millis(*t)),
            };
            sql.push_str(&format!(" AND {column} {op} ?{}", args.len() + 2));
            args.push(value);
        }
        sql.push_str(if newest {
            " ORDER BY m.value ->> 0 DESC"
        } else {
            " ORDER BY m.value ->> 0 ASC"
        });
        sql.push_str(&format!(" LIMIT {limit}"));
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let room_key = room.as_str();
        let mut params: Vec<&dyn rusqlite::ToSql> = vec![&room_key];
        for a in &args {
            params.push(a);
        }
        let mut out = stmt
            .query_map(params.as_slice(), decode_message)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if newest {
            out.reverse();
        }
        Ok(out)
    }

    /// Commits the open transaction and tells each message's sender.
    fn commit(&mut self) {
        let started = Instant::now();
        self.insert_rows();
        if self.journal.due() {
            self.fold();
        }
        let mut committed = !self.failed;
        if self.open {
            let end = if self.failed { "ROLLBACK" } else { "COMMIT" };
            if let Err(e) = self.conn.execute_batch(end) {
                error!(%e, "history database: commit failed");
                let _ = self.conn.execute_batch("ROLLBACK");
                committed = false;
            }
        }
        if self.open {
            crate::telemetry::history_committed(started.elapsed());
        }
        if !committed {
            self.journal.lost();
        }
        self.open = false;
        self.failed = false;
        if self.acks.is_empty() {
            return;
        }
        // One settling per sender, not per message: each takes the
        // sender's queue lock and wakes its writer. Sorted (stably, so each
        // sender's answers keep their order) rather than hashed: cheaper
        // for the thousands of answers of a busy commit, and each sender's
        // list is allocated once at its size.
        self.acks.sort_by_key(|(ack, _)| ack.key());
        let mut grouped: Vec<SenderAnswers> = Vec::new();
        let mut acks = self.acks.drain(..).peekable();
        while let Some((first, said)) = acks.next() {
            let key = first.key();
            let mut answers = Vec::with_capacity(4);
            let spell = |ack: Ack, said: Said| {
                let said = match said {
                    Said::Stored { .. } if !committed => {
                        Said::NotStored(StoreFailure::CommitFailed)
                    }
                    said => said,
                };
                (ack.ticket, ack.spell.spell(said))
            };
            let queue = first.queue.clone();
            answers.push(spell(first, said));
            while let Some((ack, said)) = acks.next_if(|(a, _)| a.key() == key) {
                answers.push(spell(ack, said));
            }
            grouped.push((queue, answers));
        }
        drop(acks);
        self.answer(Answer::Acks(grouped));
    }

    fn answer(&self, answer: Answer) {
        if let Err(unsent) = self.relay.send(answer) {
            // Nobody relays: a session must hear back all the same.
            unsent.0.deliver();
        }
    }
}
