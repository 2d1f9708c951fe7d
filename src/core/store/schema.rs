//! The schema and what [`Database::open`](super::Database::open) does on
//! the caller's thread before the database thread owns the connection:
//! configuring it, migrating it, reading what start-up needs.

use std::time::SystemTime;

use rusqlite::Connection;
use tracing::{info, warn};

use super::{from_millis, millis, BanRecord, FileRecord, Loaded, RoomRecord, ServerBanRecord};
use crate::core::names::{Nick, RoomName, STORED_NAME_LIMIT};
use crate::core::{FileId, FileTarget};

/// The schema, one step per version; `PRAGMA user_version` says how many
/// steps a database has had.
pub(super) const MIGRATIONS: &[&str] = &[
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
    // 4: accounts (an argon2id PHC string per account, keyed by the
    // folded name as nicknames are), and what rooms keep by account: the
    // owning account, operators granted by account, and bans.
    "CREATE TABLE accounts (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        password TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    );
    ALTER TABLE rooms ADD COLUMN owner_account TEXT;
    CREATE TABLE room_ops (
        room TEXT NOT NULL,
        account TEXT NOT NULL,
        PRIMARY KEY (room, account)
    ) WITHOUT ROWID;
    CREATE TABLE room_bans (
        room TEXT NOT NULL,
        mask TEXT NOT NULL,
        set_by TEXT NOT NULL,
        set_ms INTEGER NOT NULL,
        PRIMARY KEY (room, mask)
    ) WITHOUT ROWID;",
    // 5: server bans (KLINE), by normalised mask; no expiry is NULL.
    "CREATE TABLE server_bans (
        mask TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        set_by TEXT NOT NULL,
        set_ms INTEGER NOT NULL,
        expires_ms INTEGER
    );",
    // 6: the journal, where a commit's messages wait (a row per commit,
    // each room's piece in it) until they move into segments; the view
    // shows both.
    "CREATE TABLE journal (
        id INTEGER PRIMARY KEY,
        body TEXT NOT NULL
    );
    DROP VIEW messages;
    CREATE VIEW messages (room, seq, time_ms, sender, text) AS
        SELECT s.room, m.value ->> 0, m.value ->> 1, m.value ->> 2, m.value ->> 3
        FROM segments s, json_each(s.body) m
        UNION ALL
        SELECT p.value ->> 0, m.value ->> 0, m.value ->> 1, m.value ->> 2, m.value ->> 3
        FROM journal j, json_each(j.body) p, json_each(p.value, '$[1]') m;",
];

pub(super) fn configure(conn: &Connection) -> rusqlite::Result<()> {
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

pub(super) fn migrate(conn: &mut Connection, from: i64) -> rusqlite::Result<()> {
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

pub(super) fn load(conn: &Connection) -> rusqlite::Result<Loaded> {
    let mut rooms = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT r.name, r.owner, r.key_hash, r.topic, r.created_ms,
                COALESCE((SELECT s.last_seq FROM segments s WHERE s.room = r.key
                          ORDER BY s.first_seq DESC LIMIT 1), 0),
                r.owner_account, r.key
         FROM rooms r ORDER BY r.key",
    )?;
    let rows = stmt.query_map([], |r| {
        let record = RoomRecord {
            name: r.get(0)?,
            owner: r.get(1)?,
            key_hash: r.get(2)?,
            topic: r.get(3)?,
            created: from_millis(r.get(4)?),
            messages: u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
            owner_account: r.get(6)?,
            ops: Vec::new(),
            bans: Vec::new(),
        };
        Ok((r.get::<_, String>(7)?, record))
    })?;
    let mut ops = conn.prepare("SELECT account FROM room_ops WHERE room = ?1 ORDER BY account")?;
    let mut bans =
        conn.prepare("SELECT mask, set_by, set_ms FROM room_bans WHERE room = ?1 ORDER BY set_ms")?;
    for row in rows {
        let (key, mut room) = row?;
        room.ops = ops
            .query_map([&key], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        room.bans = bans
            .query_map([&key], |r| {
                Ok(BanRecord {
                    mask: r.get(0)?,
                    by: r.get(1)?,
                    at: from_millis(r.get(2)?),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        rooms.push(room);
    }
    let accounts = conn
        .prepare("SELECT name FROM accounts ORDER BY key")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut files = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT id, target_is_room, target, sender, size, sha256, filename, stored_ms FROM files",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(FileRow {
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
    for row in rows {
        let row = row?;
        match row.typed() {
            Ok(file) => files.push(file),
            Err(field) => warn!(
                id = %row.id,
                field,
                "history database: skipping a shared file that does not parse"
            ),
        }
    }
    let server_bans = load_server_bans(conn)?;
    Ok(Loaded {
        rooms,
        files,
        accounts,
        server_bans,
    })
}

/// The server bans in force; expired ones are deleted, not loaded.
fn load_server_bans(conn: &Connection) -> rusqlite::Result<Vec<ServerBanRecord>> {
    let now = millis(SystemTime::now());
    let pruned = conn.execute(
        "DELETE FROM server_bans WHERE expires_ms IS NOT NULL AND expires_ms <= ?1",
        [now],
    )?;
    if pruned > 0 {
        info!(pruned, "history database: expired server bans deleted");
    }
    let mut stmt = conn.prepare(
        "SELECT mask, reason, set_by, set_ms, expires_ms FROM server_bans ORDER BY set_ms",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(ServerBanRecord {
            mask: r.get(0)?,
            reason: r.get(1)?,
            set_by: r.get(2)?,
            set_at: from_millis(r.get(3)?),
            expires: r.get::<_, Option<i64>>(4)?.map(from_millis),
        })
    })?;
    rows.collect()
}

/// A `files` row as stored, before its fields are checked.
struct FileRow {
    id: String,
    target_is_room: bool,
    target: String,
    from: String,
    size: u64,
    sha256: String,
    filename: String,
    stored: SystemTime,
}

impl FileRow {
    /// The row as the file index takes it, or which field does not parse.
    /// Only this server writes the table, so such a row was not made by
    /// it; its id may be no safe file name. Names are checked against
    /// [`STORED_NAME_LIMIT`], not today's limits: they were valid when
    /// written.
    fn typed(&self) -> Result<FileRecord, &'static str> {
        let target = if self.target_is_room {
            RoomName::parse_hashed(&self.target, STORED_NAME_LIMIT).map(FileTarget::Room)
        } else {
            Nick::parse(&self.target, STORED_NAME_LIMIT).map(FileTarget::User)
        };
        Ok(FileRecord {
            id: FileId::parse(&self.id).ok_or("id")?,
            target: target.map_err(|_| "target")?,
            from: Nick::parse(&self.from, STORED_NAME_LIMIT).map_err(|_| "sender")?,
            size: self.size,
            sha256: self.sha256.clone(),
            filename: self.filename.clone(),
            stored: self.stored,
        })
    }
}
