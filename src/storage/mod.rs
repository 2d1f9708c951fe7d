//! The embedded database: room messages, rooms and the shared-file index,
//! in SQLite (WAL mode) at `history.db`.
//!
//! One dedicated thread owns the connection and is fed through a channel,
//! so no actor ever waits on SQLite. It commits in groups: from the first
//! request it gathers for 2 ms (or until a batch fills), writes them in one
//! transaction, commits, and only then acknowledges each message (`OK MSG`,
//! pushed into the sender's queue). Members receive a message before it is
//! stored, so the window delays only the sender's `OK MSG`. With
//! `synchronous = NORMAL` in WAL mode a commit is a write to the WAL file:
//! it survives the process being killed (SIGKILL), which is the guarantee
//! the protocol makes.
//!
//! A commit stores each room's new messages as one *segment* row (at most
//! 64 messages): `room`, `first_seq`, `last_seq`, and `body`, a
//! JSON array of `[seq, time_ms, sender, text]`, read back with SQLite's
//! `json_each` (the `messages` view does it for a person with `sqlite3`).
//! A B-tree insert per message was most of the database thread's time
//! under load, and the database thread was half the server's CPU in
//! `rooms` with history on; a busy commit now inserts one row per room.
//!
//! Requests are handled in the order they were sent, and a read commits
//! what is pending first, so a reader sees every write sent before it.
//!
//! What goes back to sessions (a commit's acknowledgements, a history
//! read) goes through the server's thread, by the [`Relay`], and is handed
//! over from there: tokio's `LocalSet` polls a task woken from another
//! thread only once every 31 polls while local tasks are ready, so a
//! commit waking hundreds of sessions straight from this thread left some
//! unpolled for 0.3 s under load, and their send queues overflowed.

use std::collections::HashMap;
use std::path::Path;

use bytes::{Bytes, BytesMut};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::oneshot;
use tracing::{error, info};

use crate::names::{Folded, Nick, RoomName};
use crate::protocol::{ErrorCode, ProtocolError, Verb};
use crate::reply::Reply;
use crate::send_queue::SendQueue;

/// Messages of one room kept in one segment row at most: reading a room's
/// last few messages decodes little more than it returns.
const SEGMENT_MESSAGES: usize = 64;
/// Requests taken into one transaction at most.
const MAX_BATCH: usize = 4096;
/// How long the database thread gathers requests before committing.
const COMMIT_WINDOW: Duration = Duration::from_millis(2);

/// The schema, one step per version; `PRAGMA user_version` says how many
/// steps a database has had.
const MIGRATIONS: &[&str] = &[
    // 1: rooms and their messages.
    "CREATE TABLE rooms (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        owner TEXT,
        key_hash TEXT,
        topic TEXT,
        created_ms INTEGER NOT NULL
    );
    CREATE TABLE messages (
        room TEXT NOT NULL,
        seq INTEGER NOT NULL,
        time_ms INTEGER NOT NULL,
        sender TEXT NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (room, seq)
    ) WITHOUT ROWID;",
    // 2: the shared-file index.
    "CREATE TABLE files (
        id TEXT PRIMARY KEY,
        target_is_room INTEGER NOT NULL,
        target TEXT NOT NULL,
        sender TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        filename TEXT NOT NULL,
        stored_ms INTEGER NOT NULL
    );",
    // 3: messages in segments, a row per room per commit (module docs);
    // the view keeps the row-per-message shape for people reading the
    // file with sqlite3.
    "CREATE TABLE segments (
        id INTEGER PRIMARY KEY,
        room TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE UNIQUE INDEX segments_by_room ON segments (room, first_seq);
    INSERT INTO segments (room, first_seq, last_seq, body)
        SELECT room, seq, seq, json_array(json_array(seq, time_ms, sender, text))
        FROM messages ORDER BY room, seq;
    DROP TABLE messages;
    CREATE VIEW messages (room, seq, time_ms, sender, text) AS
        SELECT s.room, m.value ->> 0, m.value ->> 1, m.value ->> 2, m.value ->> 3
        FROM segments s, json_each(s.body) m;",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database could not be opened, read or migrated.
    #[error("configuration key `history.db`: cannot use {path}: {source}")]
    Open {
        /// The database file.
        path: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The database's directory could not be created.
    #[error("configuration key `history.db`: cannot create the directory of {path}: {source}")]
    Dir {
        /// The database file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The database was written by a newer version of the server.
    #[error("configuration key `history.db`: {path} has schema version {found}, newer than this server's {SCHEMA_VERSION}")]
    TooNew {
        /// The database file.
        path: String,
        /// Its version.
        found: i64,
    },
}

/// A stored room message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Its number within the room, from 1.
    pub seq: u64,
    /// When it was said.
    pub time: SystemTime,
    /// Who said it.
    pub from: String,
    /// What was said.
    pub text: String,
}

/// A room as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRecord {
    /// Its name as first spelled, with `#`.
    pub name: String,
    /// The owner's nickname.
    pub owner: Option<String>,
    /// The salted hash of its key, if private.
    pub key_hash: Option<String>,
    /// Its topic.
    pub topic: Option<String>,
    /// When it was created.
    pub created: SystemTime,
    /// Messages said in it (the highest sequence number).
    pub messages: u64,
}

/// A shared file as indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// Its id.
    pub id: String,
    /// Whether the target is a room (else a user).
    pub target_is_room: bool,
    /// The room or nickname.
    pub target: String,
    /// The sender's nickname.
    pub from: String,
    /// Size in bytes.
    pub size: u64,
    /// sha256, lower-case hex.
    pub sha256: String,
    /// The sender's label.
    pub filename: String,
    /// When it was stored.
    pub stored: SystemTime,
}

/// What a database holds at start-up.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every room.
    pub rooms: Vec<RoomRecord>,
    /// Every indexed file.
    pub files: Vec<FileRecord>,
}

/// Whom to tell once a message is committed.
#[derive(Debug)]
pub struct Ack {
    /// The sender's queue.
    pub queue: SendQueue,
    /// The room's `OK MSG` line, sent once the message is stored.
    pub ok: Bytes,
}

enum Request {
    Append(Row),
    SaveRoom(RoomRecord),
    History {
        room: String,
        upto: u64,
        count: u32,
        reply: oneshot::Sender<Vec<StoredMessage>>,
    },
    AddFile(FileRecord),
    RemoveFile(String),
    Flush(oneshot::Sender<()>),
    #[cfg(test)]
    Execute(String),
}

/// What the database thread hands back to sessions.
enum Answer {
    /// One commit's acknowledgements: per sender, its queue, its replies
    /// joined, and how many they are.
    Acks(Vec<(SendQueue, Bytes, usize)>),
    /// A history read, for the session waiting on it.
    History(oneshot::Sender<Vec<StoredMessage>>, Vec<StoredMessage>),
}

impl Answer {
    fn deliver(self) {
        match self {
            Answer::Acks(acks) => {
                for (queue, lines, count) in acks {
                    queue.ack_many(lines, count);
                }
            }
            Answer::History(reply, messages) => {
                let _ = reply.send(messages);
            }
        }
    }
}

/// Hands the database thread's answers to sessions on the thread that runs
/// it (see the module docs for why not the database's).
pub struct Relay {
    rx: tokio::sync::mpsc::UnboundedReceiver<Answer>,
}

impl Relay {
    /// Delivers until the database thread ends. Should it not run at all,
    /// the database thread hands them over itself.
    pub async fn run(mut self) {
        while let Some(answer) = self.rx.recv().await {
            answer.deliver();
        }
    }
}

/// A handle to the database thread; cheap to clone.
#[derive(Clone)]
pub struct Database {
    tx: mpsc::Sender<Request>,
}

fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// The folded key a room is stored under.
fn room_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl Database {
    /// Opens (creating and migrating as needed) the database at `path`,
    /// loads what start-up needs, and starts the database thread, whose
    /// answers the returned relay hands over (run it where sessions run).
    pub fn open(path: &Path) -> Result<(Database, Loaded, Relay), StorageError> {
        let shown = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StorageError::Dir {
                path: shown.clone(),
                source,
            })?;
        }
        let open = |source| StorageError::Open {
            path: shown.clone(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open)?;
        configure(&conn).map_err(open)?;
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(open)?;
        if found > SCHEMA_VERSION as i64 {
            return Err(StorageError::TooNew { path: shown, found });
        }
        migrate(&mut conn, found).map_err(open)?;
        let loaded = load(&conn).map_err(open)?;
        info!(
            path = %shown,
            rooms = loaded.rooms.len(),
            files = loaded.files.len(),
            "history database open"
        );
        let (tx, rx) = mpsc::channel();
        let (answers, relay) = tokio::sync::mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("chatroom-db".into())
            .spawn(move || run(conn, rx, answers))
            .map_err(|e| StorageError::Dir {
                path: shown.clone(),
                source: e,
            })?;
        Ok((Database { tx }, loaded, Relay { rx: relay }))
    }

    fn send(&self, req: Request) -> bool {
        self.tx.send(req).is_ok()
    }

    /// Stores a room message; `ack` is told (`OK MSG` or `ERR MSG INTERNAL`)
    /// once it is committed or has failed.
    pub fn append(
        &self,
        room: &RoomName,
        seq: u64,
        time: SystemTime,
        from: Nick,
        text: String,
        ack: Option<Ack>,
    ) {
        // Shared or moved, not copied: this runs for every message.
        let req = Request::Append(Row {
            room: room.folded().clone(),
            seq,
            time,
            from,
            text,
            ack,
        });
        if let Err(mpsc::SendError(Request::Append(Row { ack: Some(ack), .. }))) = self.tx.send(req)
        {
            // The database thread is gone: say so rather than hang.
            ack_failed(ack);
        }
    }

    /// Creates or updates a room's record.
    pub fn save_room(&self, room: RoomRecord) {
        self.send(Request::SaveRoom(room));
    }

    /// The last `count` messages of `room` numbered at most `upto`,
    /// oldest first.
    pub async fn history(&self, room: &RoomName, upto: u64, count: u32) -> Vec<StoredMessage> {
        let (reply, rx) = oneshot::channel();
        if !self.send(Request::History {
            room: room_key(room.as_str()),
            upto,
            count,
            reply,
        }) {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// Indexes a shared file.
    pub fn add_file(&self, file: FileRecord) {
        self.send(Request::AddFile(file));
    }

    /// Forgets a shared file.
    pub fn remove_file(&self, id: &str) {
        self.send(Request::RemoveFile(id.to_string()));
    }

    /// Resolves once everything sent before is committed.
    pub async fn flush(&self) {
        let (done, rx) = oneshot::channel();
        if self.send(Request::Flush(done)) {
            let _ = rx.await;
        }
    }

    #[cfg(test)]
    fn execute(&self, sql: &str) {
        self.send(Request::Execute(sql.to_string()));
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // Reading the mode proves the file is a database at all.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "cannot switch to WAL mode (got {mode})"
        )));
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;")?;
    // A checkpoint copies the pages the WAL holds back into the database
    // and syncs it. Busy rooms dirty a page each per group commit, so at
    // the default (1000 pages) checkpoints ran several times a second;
    // 10000 pages (about 40 MB of WAL, capped on disk at 64 MB) measured
    // 22% more deliveries per server-CPU second in `rooms` with history on.
    conn.execute_batch("PRAGMA wal_autocheckpoint = 10000; PRAGMA journal_size_limit = 67108864;")?;
    Ok(())
}

fn migrate(conn: &mut Connection, from: i64) -> rusqlite::Result<()> {
    let from = usize::try_from(from).unwrap_or(0);
    for (i, step) in MIGRATIONS.iter().enumerate().skip(from) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        info!(version = i + 1, "history database migrated");
    }
    Ok(())
}

fn load(conn: &Connection) -> rusqlite::Result<Loaded> {
    let mut rooms = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT r.name, r.owner, r.key_hash, r.topic, r.created_ms,
                COALESCE((SELECT s.last_seq FROM segments s WHERE s.room = r.key
                          ORDER BY s.first_seq DESC LIMIT 1), 0)
         FROM rooms r ORDER BY r.key",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(RoomRecord {
            name: r.get(0)?,
            owner: r.get(1)?,
            key_hash: r.get(2)?,
            topic: r.get(3)?,
            created: from_millis(r.get(4)?),
            messages: u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
        })
    })?;
    for room in rows {
        rooms.push(room?);
    }
    let mut files = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT id, target_is_room, target, sender, size, sha256, filename, stored_ms FROM files",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(FileRecord {
            id: r.get(0)?,
            target_is_room: r.get(1)?,
            target: r.get(2)?,
            from: r.get(3)?,
            size: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
            sha256: r.get(5)?,
            filename: r.get(6)?,
            stored: from_millis(r.get(7)?),
        })
    })?;
    for file in rows {
        files.push(file?);
    }
    Ok(Loaded { rooms, files })
}

/// What a sender hears when its message could not be stored.
fn store_failed() -> Reply {
    Reply::Err(ProtocolError::new(
        Verb::Msg,
        ErrorCode::Internal,
        "the message could not be stored",
    ))
}

/// Appends `rows` to `out` as a JSON array of `[seq, time_ms, sender, text]`.
fn encode_segment(rows: &[Row], out: &mut String) {
    out.push('[');
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut digits = itoa::Buffer::new();
        out.push('[');
        out.push_str(digits.format(row.seq));
        out.push(',');
        out.push_str(digits.format(millis(row.time)));
        out.push(',');
        push_json_string(out, row.from.as_str());
        out.push(',');
        push_json_string(out, &row.text);
        out.push(']');
    }
    out.push(']');
}

/// Appends `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    use std::fmt::Write;
    out.push('"');
    // Most texts need no escape: one pass without branches (which the
    // compiler vectorises) tells, before the byte-by-byte one.
    let needs_escape = s.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        // ASCII bytes are always character boundaries.
        match b {
            b'"' | b'\\' => {
                out.push_str(&s[plain..i]);
                out.push('\\');
                out.push(char::from(b));
            }
            0x00..=0x1f => {
                out.push_str(&s[plain..i]);
                let _ = write!(out, "\\u{b:04x}");
            }
            _ => continue,
        }
        plain = i + 1;
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

fn ack_failed(ack: Ack) {
    ack.queue.ack(store_failed().to_line());
}

/// The database thread: group commits until every handle is dropped.
fn run(
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
        body: String::new(),
    };
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::with_capacity(64);
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
        for req in batch {
            writer.handle(req);
        }
        writer.commit();
    }
    writer.commit();
    info!("history database closed");
}

struct Writer {
    conn: Connection,
    /// Where answers for sessions go: to the [`Relay`].
    relay: tokio::sync::mpsc::UnboundedSender<Answer>,
    /// A transaction is open.
    open: bool,
    /// A statement in the open transaction failed: roll it back.
    failed: bool,
    /// Messages of the open transaction, with whether their insert worked.
    acks: Vec<(Ack, bool)>,
    /// Messages not inserted yet.
    rows: Vec<Row>,
    /// A segment's body, being encoded (kept for its capacity).
    body: String,
}

/// A message to store (sent to the database thread, then gathered there
/// until the commit, or until something else comes).
struct Row {
    room: Folded,
    seq: u64,
    time: SystemTime,
    from: Nick,
    text: String,
    ack: Option<Ack>,
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

            Request::SaveRoom(r) => {
                self.begin();
                let res = self
                    .conn
                    .prepare_cached(
                        "INSERT INTO rooms (key, name, owner, key_hash, topic, created_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (key) DO UPDATE SET owner = ?3, key_hash = ?4, topic = ?5",
                    )
                    .and_then(|mut s| {
                        s.execute(params![
                            room_key(&r.name),
                            r.name,
                            r.owner,
                            r.key_hash,
                            r.topic,
                            millis(r.created)
                        ])
                    });
                self.failed |= !self.write("a room", res);
            }
            Request::AddFile(f) => {
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
                            f.id,
                            f.target_is_room,
                            f.target,
                            f.from,
                            f.size as i64,
                            f.sha256,
                            f.filename,
                            millis(f.stored)
                        ])
                    });
                self.failed |= !self.write("a file", res);
            }
            Request::RemoveFile(id) => {
                self.begin();
                let res = self
                    .conn
                    .prepare_cached("DELETE FROM files WHERE id = ?1")
                    .and_then(|mut s| s.execute(params![id]));
                self.failed |= !self.write("a file removal", res);
            }
            Request::History {
                room,
                upto,
                count,
                reply,
            } => {
                self.commit();
                let messages = self.history(&room, upto, count).unwrap_or_else(|e| {
                    error!(%e, "history database: cannot read history");
                    Vec::new()
                });
                self.answer(Answer::History(reply, messages));
            }
            Request::Flush(done) => {
                self.commit();
                let _ = done.send(());
            }
            #[cfg(test)]
            Request::Execute(sql) => {
                self.commit();
                if let Err(e) = self.conn.execute_batch(&sql) {
                    error!(%e, "test statement failed");
                }
            }
        }
    }

    /// Stores the gathered messages, a segment per room (or per
    /// [`SEGMENT_MESSAGES`] of it); a segment that cannot be stored fails
    /// only its own messages.
    fn insert_rows(&mut self) {
        if self.rows.is_empty() {
            return;
        }
        self.begin();
        let mut rows = std::mem::take(&mut self.rows);
        // Stable: each room's messages keep the order they came in.
        rows.sort_by(|a, b| a.room.as_str().cmp(b.room.as_str()));
        let mut start = 0;
        while start < rows.len() {
            let room = &rows[start].room;
            let end = rows[start..]
                .iter()
                .take(SEGMENT_MESSAGES)
                .take_while(|r| r.room == *room)
                .count()
                + start;
            let res = self.insert_segment(&rows[start..end]);
            let ok = self.write("messages", res) && self.open;
            for row in &mut rows[start..end] {
                if let Some(ack) = row.ack.take() {
                    self.acks.push((ack, ok));
                }
            }
            start = end;
        }
    }

    /// Inserts `rows` (one room's, in order) as one segment.
    fn insert_segment(&mut self, rows: &[Row]) -> rusqlite::Result<usize> {
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Ok(0);
        };
        self.body.clear();
        encode_segment(rows, &mut self.body);
        self.conn
            .prepare_cached(
                "INSERT INTO segments (room, first_seq, last_seq, body) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                first.room.as_str(),
                first.seq as i64,
                last.seq as i64,
                self.body.as_str()
            ])
    }

    fn history(&self, room: &str, upto: u64, count: u32) -> rusqlite::Result<Vec<StoredMessage>> {
        let upto = i64::try_from(upto).unwrap_or(i64::MAX);
        let mut segments = self.conn.prepare_cached(
            "SELECT body FROM segments WHERE room = ?1 AND first_seq <= ?2 ORDER BY first_seq DESC",
        )?;
        let mut messages = self.conn.prepare_cached(
            "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?1)
             WHERE value ->> 0 <= ?2 ORDER BY key DESC",
        )?;
        let wanted = count as usize;
        let mut out = Vec::with_capacity(wanted.min(1024));
        // Newest segment first, only as many as it takes.
        let mut bodies = segments.query(params![room, upto])?;
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
                out.push(StoredMessage {
                    seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    time: from_millis(r.get(1)?),
                    from: r.get(2)?,
                    text: r.get(3)?,
                });
            }
        }
        out.reverse();
        Ok(out)
    }

    /// Commits the open transaction and tells each message's sender.
    fn commit(&mut self) {
        self.insert_rows();
        let mut committed = !self.failed;
        if self.open {
            let end = if self.failed { "ROLLBACK" } else { "COMMIT" };
            if let Err(e) = self.conn.execute_batch(end) {
                error!(%e, "history database: commit failed");
                let _ = self.conn.execute_batch("ROLLBACK");
                committed = false;
            }
        }
        self.open = false;
        self.failed = false;
        if self.acks.is_empty() {
            return;
        }
        // One push per sender, not per message: each push takes the
        // queue's lock and wakes its writer.
        let mut grouped: HashMap<usize, (SendQueue, BytesMut, usize)> = HashMap::new();
        for (ack, ok) in self.acks.drain(..) {
            let entry = grouped
                .entry(ack.queue.key())
                .or_insert_with(|| (ack.queue.clone(), BytesMut::new(), 0));
            if ok && committed {
                entry.1.extend_from_slice(&ack.ok);
            } else {
                store_failed().encode(&mut entry.1);
            }
            entry.2 += 1;
        }
        self.answer(Answer::Acks(
            grouped
                .into_values()
                .map(|(queue, lines, count)| (queue, lines.freeze(), count))
                .collect(),
        ));
    }

    fn answer(&self, answer: Answer) {
        if let Err(unsent) = self.relay.send(answer) {
            // Nobody relays: a session must hear back all the same.
            unsent.0.deliver();
        }
    }
}

/// Reads a database's schema version without opening it for writing (for
/// tests and tools).
pub fn schema_version(path: &Path) -> rusqlite::Result<Option<i64>> {
    let conn = Connection::open(path)?;
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::OkReply;
    use crate::send_queue::run_writer;
    use tokio::io::AsyncReadExt;

    fn room(name: &str) -> RoomName {
        RoomName::parse(name, 32).unwrap()
    }

    fn nick(name: &str) -> Nick {
        Nick::parse(name, 24).unwrap()
    }

    fn texts(messages: Vec<StoredMessage>) -> Vec<String> {
        messages.into_iter().map(|m| m.text).collect()
    }

    fn seqs(messages: Vec<StoredMessage>) -> Vec<u64> {
        messages.into_iter().map(|m| m.seq).collect()
    }

    #[tokio::test]
    async fn messages_round_trip_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/h.db");
        let (db, loaded, _) = Database::open(&path).unwrap();
        assert!(loaded.rooms.is_empty());
        let r = room("#Lobby");
        db.save_room(RoomRecord {
            name: "#Lobby".into(),
            owner: Some("alice".into()),
            key_hash: None,
            topic: Some("hi".into()),
            created: SystemTime::now(),
            messages: 0,
        });
        for (seq, text) in [(1, "one"), (2, "two"), (3, "  three")] {
            db.append(
                &r,
                seq,
                SystemTime::now(),
                nick("alice"),
                text.to_string(),
                None,
            );
        }
        let got = texts(db.history(&r, u64::MAX, 2).await);
        assert_eq!(got, ["two", "  three"]);
        let got = seqs(db.history(&r, 2, 10).await);
        assert_eq!(got, [1, 2]);
        db.flush().await;
        drop(db);
        let (_db, loaded, _) = Database::open(&path).unwrap();
        assert_eq!(loaded.rooms.len(), 1);
        assert_eq!(loaded.rooms[0].messages, 3);
        assert_eq!(loaded.rooms[0].owner.as_deref(), Some("alice"));
        assert_eq!(schema_version(&path).unwrap(), Some(SCHEMA_VERSION as i64));
    }

    #[tokio::test]
    async fn migrates_from_version_1() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch(
                "PRAGMA user_version = 1;
                 INSERT INTO rooms VALUES ('#old', '#Old', 'bob', NULL, 'kept', 0);
                 INSERT INTO messages VALUES ('#old', 1, 1000, 'bob', 'from before');",
            )
            .unwrap();
        }
        let (db, loaded, _) = Database::open(&path).unwrap();
        assert_eq!(schema_version(&path).unwrap(), Some(SCHEMA_VERSION as i64));
        assert_eq!(loaded.rooms[0].name, "#Old");
        assert_eq!(loaded.rooms[0].topic.as_deref(), Some("kept"));
        let msgs = db.history(&room("#old"), u64::MAX, 10).await;
        assert_eq!(msgs[0].text, "from before");
        assert_eq!(msgs[0].time, UNIX_EPOCH + Duration::from_secs(1));
        // The new table works.
        db.add_file(FileRecord {
            id: "abc".into(),
            target_is_room: true,
            target: "#Old".into(),
            from: "bob".into(),
            size: 1,
            sha256: "00".into(),
            filename: "f".into(),
            stored: SystemTime::now(),
        });
        db.flush().await;
        drop(db);
        let (_db, loaded, _) = Database::open(&path).unwrap();
        assert_eq!(loaded.files.len(), 1);
    }

    #[test]
    fn corrupt_and_newer_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.db");
        std::fs::write(&garbage, vec![0x42u8; 8192]).unwrap();
        let err = Database::open(&garbage).err().expect("refused").to_string();
        assert!(
            err.contains("history.db") && err.contains("garbage.db"),
            "{err}"
        );

        let newer = dir.path().join("newer.db");
        Connection::open(&newer)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99")
            .unwrap();
        let err = Database::open(&newer).err().expect("refused").to_string();
        assert!(err.contains("99"), "{err}");
    }

    /// Stores a message whose sender's queue expects its ack.
    fn append_acked(db: &Database, r: &RoomName, queue: &SendQueue, seq: u64, text: String) {
        queue.expect_ack();
        let ack = Ack {
            queue: queue.clone(),
            ok: Reply::Ok(OkReply::Msg(r.clone())).to_line(),
        };
        db.append(r, seq, SystemTime::now(), nick("a"), text, Some(ack));
    }

    /// A queue whose writer fills a pipe, and a way to read what it wrote
    /// once every promised ack has come.
    struct AckedQueue {
        queue: SendQueue,
        written: tokio::io::DuplexStream,
        writer: tokio::task::JoinHandle<crate::send_queue::WriterEnd>,
    }

    impl AckedQueue {
        fn new() -> Self {
            let queue = SendQueue::new(1 << 20);
            let (client, written) = tokio::io::duplex(1 << 20);
            let writer = tokio::spawn(run_writer(queue.clone(), client));
            AckedQueue {
                queue,
                written,
                writer,
            }
        }

        async fn lines(mut self) -> Vec<String> {
            self.queue.acks_at_most(0).await;
            self.queue.close();
            let mut got = String::new();
            self.written.read_to_string(&mut got).await.unwrap();
            self.writer.await.unwrap();
            got.lines().map(String::from).collect()
        }
    }

    #[tokio::test]
    async fn a_full_database_answers_internal_and_keeps_going() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _, relay) = Database::open(&dir.path().join("full.db")).unwrap();
        tokio::spawn(relay.run());
        let r = room("#r");
        let acked = AckedQueue::new();
        append_acked(&db, &r, &acked.queue, 1, "fits".to_string());
        db.flush().await;
        // No more pages: every later write fails as on a full disk.
        db.execute("PRAGMA max_page_count = 1");
        let big = "x".repeat(3000);
        for seq in 2..5 {
            append_acked(&db, &r, &acked.queue, seq, big.clone());
        }
        let lines = acked.lines().await;
        assert_eq!(lines[0], "OK MSG #r");
        assert_eq!(lines.len(), 4, "{lines:?}");
        for line in &lines[1..] {
            assert!(line.starts_with("ERR MSG INTERNAL "), "{line}");
        }
    }

    /// Reads the file as a person with `sqlite3` would, through the view.
    fn viewed(path: &Path, room: &str) -> Vec<(i64, String, String)> {
        let conn = Connection::open(path).unwrap();
        let mut stmt = conn
            .prepare("SELECT seq, sender, text FROM messages WHERE room = ?1 ORDER BY seq")
            .unwrap();
        let rows = stmt
            .query_map([room], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        rows.map(Result::unwrap).collect()
    }

    #[tokio::test]
    async fn version_2_messages_move_into_segments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch(MIGRATIONS[1]).unwrap();
            conn.execute_batch(
                r#"PRAGMA user_version = 2;
                 INSERT INTO rooms VALUES ('#a', '#A', 'bob', NULL, NULL, 0);
                 INSERT INTO messages VALUES ('#a', 1, 1000, 'bob', 'one');
                 INSERT INTO messages VALUES ('#a', 2, 2000, 'eve', 'say "two" \ ok');
                 INSERT INTO messages VALUES ('#b', 7, 3000, 'bob', 'elsewhere');"#,
            )
            .unwrap();
        }
        let (db, loaded, _) = Database::open(&path).unwrap();
        assert_eq!(loaded.rooms[0].messages, 2);
        let got: Vec<(u64, String, String)> = db
            .history(&room("#a"), u64::MAX, 10)
            .await
            .into_iter()
            .map(|m| (m.seq, m.from, m.text))
            .collect();
        assert_eq!(
            got,
            [
                (1, "bob".to_string(), "one".to_string()),
                (2, "eve".to_string(), r#"say "two" \ ok"#.to_string())
            ]
        );
        assert_eq!(db.history(&room("#b"), u64::MAX, 10).await[0].seq, 7);
        db.flush().await;
        assert_eq!(
            viewed(&path, "#b"),
            [(7, "bob".to_string(), "elsewhere".to_string())]
        );
    }

    #[tokio::test]
    async fn any_text_survives_its_segment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("text.db");
        let (db, _, _) = Database::open(&path).unwrap();
        let r = room("#r");
        let sent = [
            r#"quotes " and \ backslashes \""#,
            "tab\there, bell \u{7}, escape \u{1b}[0m, nul \u{0}",
            "unicode: été 🎉 \u{2028} \u{7f}",
            "",
            "   spaces kept   ",
        ];
        for (i, text) in sent.iter().enumerate() {
            db.append(
                &r,
                i as u64 + 1,
                SystemTime::now(),
                nick("al_ice"),
                text.to_string(),
                None,
            );
        }
        let got = texts(db.history(&r, u64::MAX, 10).await);
        assert_eq!(got, sent);
        let seen: Vec<String> = viewed(&path, "#r").into_iter().map(|(_, _, t)| t).collect();
        assert_eq!(seen, sent);
    }

    #[tokio::test]
    async fn a_busy_room_is_split_into_segments_and_read_across_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.db");
        let (db, _, relay) = Database::open(&path).unwrap();
        tokio::spawn(relay.run());
        let (busy, quiet) = (room("#busy"), room("#quiet"));
        for seq in 1..=150 {
            db.append(
                &busy,
                seq,
                SystemTime::now(),
                nick("a"),
                format!("m{seq}"),
                None,
            );
            if seq % 50 == 0 {
                db.append(
                    &quiet,
                    seq / 50,
                    SystemTime::now(),
                    nick("b"),
                    format!("q{seq}"),
                    None,
                );
            }
        }
        let seqs = seqs(db.history(&busy, 100, 70).await);
        assert_eq!(seqs, (31..=100).collect::<Vec<u64>>());
        let quiet_texts = texts(db.history(&quiet, u64::MAX, 10).await);
        assert_eq!(quiet_texts, ["q50", "q100", "q150"]);
        let conn = Connection::open(&path).unwrap();
        let (segments, largest): (i64, i64) = conn
            .query_row(
                "SELECT count(*), max(last_seq - first_seq + 1) FROM segments WHERE room = '#busy'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!(segments >= 3, "{segments} segments");
        assert!(
            largest <= SEGMENT_MESSAGES as i64,
            "{largest} in one segment"
        );
    }

    #[tokio::test]
    async fn a_segment_that_cannot_be_stored_fails_only_its_own_messages() {
        let dir = tempfile::tempdir().unwrap();
        // No relay runs here: the database thread hands over acks itself.
        let (db, _, _) = Database::open(&dir.path().join("segments.db")).unwrap();
        let (a, b) = (room("#a"), room("#b"));
        let acked = AckedQueue::new();
        for seq in 1..=3 {
            append_acked(&db, &a, &acked.queue, seq, format!("a{seq}"));
        }
        append_acked(&db, &b, &acked.queue, 1, "b1".to_string());
        db.flush().await;
        // #a's segment starts at a number #a has already used: refused.
        append_acked(&db, &a, &acked.queue, 1, "again".to_string());
        append_acked(&db, &b, &acked.queue, 2, "b2".to_string());
        let lines = acked.lines().await;
        assert_eq!(lines.len(), 6, "{lines:?}");
        assert_eq!(
            lines[..4],
            ["OK MSG #a", "OK MSG #a", "OK MSG #a", "OK MSG #b"]
        );
        // The two of one commit are acknowledged in the order of rooms.
        assert!(lines[4].starts_with("ERR MSG INTERNAL "), "{}", lines[4]);
        assert_eq!(lines[5], "OK MSG #b");
        assert_eq!(
            texts(db.history(&a, u64::MAX, 10).await),
            ["a1", "a2", "a3"]
        );
        assert_eq!(texts(db.history(&b, u64::MAX, 10).await), ["b1", "b2"]);
    }
}
