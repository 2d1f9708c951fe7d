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
//! A room's messages are kept in *segment* rows (at most 64 messages):
//! `room`, `first_seq`, `last_seq`, and `body`, a JSON array of
//! `[seq, time_ms, sender, text]`, read back with SQLite's `json_each`
//! (the `messages` view does it for a person with `sqlite3`). A B-tree
//! insert per message was most of the database thread's time under load,
//! and the database thread was half the server's CPU in `rooms` with
//! history on. A commit writes its messages as one *journal* row, every
//! room's together (a room with many goes straight to its segments);
//! about once a second they move into their rooms' segments (the
//! [`journal`] module says why), and before a read of a room whose
//! messages wait there.
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

mod journal;
mod prune;
mod schema;
mod segment;
#[cfg(test)]
mod tests;
mod writer;

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension};
use tokio::sync::oneshot;
use tracing::{error, info};

use crate::core::names::{Folded, Nick, RoomName};
use crate::core::outcome::{Ack, Said, StoreFailure};
use crate::core::{FileId, FileTarget};
pub use prune::{Pruned, Retention};
use writer::{Answer, Request, Row};

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = schema::MIGRATIONS.len();

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

/// Where a history query starts or ends: a message's number in its room,
/// or a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// A message's number in the room.
    Seq(u64),
    /// A time (millisecond precision, as stored).
    Time(SystemTime),
}

impl Anchor {
    /// The anchor just before this one (one number, or one millisecond,
    /// earlier): "from `a` on" as "after `a.just_before()`".
    pub fn just_before(self) -> Anchor {
        match self {
            Anchor::Seq(s) => Anchor::Seq(s.saturating_sub(1)),
            Anchor::Time(t) => Anchor::Time(t - std::time::Duration::from_millis(1)),
        }
    }

    /// Whether messages between `self` and `to` are read forwards (`to`
    /// is not earlier). Mixed kinds read forwards: numbers and times grow
    /// together, so either way would agree.
    pub fn runs_forward_to(self, to: Anchor) -> bool {
        match (self, to) {
            (Anchor::Seq(x), Anchor::Seq(y)) => x <= y,
            (Anchor::Time(x), Anchor::Time(y)) => x <= y,
            _ => true,
        }
    }
}

/// Which of a room's stored messages to read, at most a limit of them,
/// always returned oldest first (IRC's CHATHISTORY subcommands; native
/// HISTORY and the replay on JOIN are `Before`/`Latest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryQuery {
    /// The newest, after the anchor if one is given.
    Latest(Option<Anchor>),
    /// The newest before the anchor.
    Before(Anchor),
    /// The oldest after the anchor.
    After(Anchor),
    /// Those around the anchor: half before, the rest from it on.
    Around(Anchor),
    /// Those strictly between two anchors, nearest the first.
    Between(Anchor, Anchor),
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
    /// The owning account, when its creator was logged in: then the owner
    /// is whoever is logged in to it, whatever its nickname.
    pub owner_account: Option<String>,
    /// Accounts made operators of the room (as spelled).
    pub ops: Vec<String>,
    /// Its bans, oldest first.
    pub bans: Vec<BanRecord>,
}

/// A room's ban as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanRecord {
    /// The pattern (`nick!user@host` with wildcards, or `$a:account`).
    pub mask: String,
    /// Who set it.
    pub by: String,
    /// When.
    pub at: SystemTime,
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// Its name as first spelled (a valid nickname).
    pub name: String,
    /// Its password's argon2id hash, a PHC string.
    pub password: String,
    /// When it was registered.
    pub created: SystemTime,
}

/// Why an account could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccountWriteError {
    /// One of that (folded) name exists.
    #[error("the account exists")]
    Exists,
    /// No such account (to change).
    #[error("no such account")]
    Missing,
    /// The database failed or is gone.
    #[error("the database could not store it")]
    Failed,
}

/// A shared file as indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// Its id.
    pub id: FileId,
    /// The room or user it was sent to.
    pub target: FileTarget,
    /// The sender.
    pub from: Nick,
    /// Size in bytes.
    pub size: u64,
    /// sha256, lower-case hex.
    pub sha256: String,
    /// The sender's label.
    pub filename: String,
    /// When it was stored.
    pub stored: SystemTime,
}

/// A server ban as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerBanRecord {
    /// The mask, normalised.
    pub mask: String,
    /// Why.
    pub reason: String,
    /// The operator who set it.
    pub set_by: String,
    /// When.
    pub set_at: SystemTime,
    /// When it ends; `None`: never.
    pub expires: Option<SystemTime>,
}

/// What a database holds at start-up.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Every room.
    pub rooms: Vec<RoomRecord>,
    /// Every indexed file.
    pub files: Vec<FileRecord>,
    /// Every account's name as spelled (the nicknames they reserve).
    pub accounts: Vec<String>,
    /// The server bans in force.
    pub server_bans: Vec<ServerBanRecord>,
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

/// How often the history is pruned ([`Database::prune_forever`]).
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// The pause between two steps of one pruning round.
const PRUNE_PAUSE: Duration = Duration::from_millis(5);

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
        schema::configure(&conn).map_err(open)?;
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(open)?;
        if found > SCHEMA_VERSION as i64 {
            return Err(StorageError::TooNew { path: shown, found });
        }
        schema::migrate(&mut conn, found).map_err(open)?;
        // Before the rooms' message numbers are read from their segments.
        let tx = conn.transaction().map_err(open)?;
        journal::recover(&tx).map_err(open)?;
        tx.commit().map_err(open)?;
        let loaded = schema::load(&conn).map_err(open)?;
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
            .spawn(move || writer::run(conn, rx, answers))
            .map_err(|e| StorageError::Dir {
                path: shown.clone(),
                source: e,
            })?;
        Ok((Database { tx }, loaded, Relay { rx: relay }))
    }

    fn send(&self, req: Request) -> bool {
        self.tx.send(req).is_ok()
    }

    /// Stores a room message; `ack` is told ([`Said::Stored`] or [`Said::NotStored`])
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
            ack.settle(Said::NotStored(StoreFailure::Unavailable));
        }
    }

    /// Creates or updates a room's record.
    pub fn save_room(&self, room: RoomRecord) {
        // The record holds the name as spelled; its key must be the one
        // names folds for every other lookup of the room. No length bound:
        // the name was checked against the configured one when the room
        // was made.
        match RoomName::parse_hashed(&room.name, usize::MAX) {
            Ok(name) => {
                self.send(Request::SaveRoom(name.folded().clone(), room));
            }
            Err(e) => error!(name = %room.name, %e, "history database: cannot store a room"),
        }
    }

    /// Prunes one step of `rules` (a few hundred segments at most, in a
    /// transaction of its own between group commits); says what it did
    /// and whether the round is over.
    pub async fn prune(&self, rules: Retention) -> Pruned {
        let (reply, rx) = oneshot::channel();
        if !self.send(Request::Prune { rules, reply }) {
            return Pruned {
                done: true,
                ..Pruned::default()
            };
        }
        rx.await.unwrap_or(Pruned {
            done: true,
            ..Pruned::default()
        })
    }

    /// Prunes `history` as configured, round after round, every
    /// [`PRUNE_EVERY`], until the database thread ends: what the server
    /// runs in the background. The rules are read at each round, so that
    /// a reloaded configuration applies at the next.
    pub async fn prune_forever(self, config: crate::config::SharedConfig) {
        loop {
            tokio::time::sleep(PRUNE_EVERY).await;
            let Some(rules) = Retention::from_config(&config.get().history, SystemTime::now())
            else {
                continue;
            };
            let (mut segments, mut messages) = (0, 0);
            loop {
                let step = self.prune(rules).await;
                segments += step.segments;
                messages += step.messages;
                if step.done {
                    break;
                }
                // Room for the group commits between two steps.
                tokio::time::sleep(PRUNE_PAUSE).await;
            }
            if segments > 0 {
                info!(segments, messages, "history pruned");
            }
        }
    }

    /// Forgets a room: its record, any messages stored for it, its
    /// operators by account and its bans (an empty room expired, or an
    /// operator closed it).
    pub fn delete_room(&self, room: &RoomName) {
        self.send(Request::DeleteRoom(room.folded().clone()));
    }

    /// The last `count` messages of `room` numbered at most `upto`,
    /// oldest first.
    pub async fn history(&self, room: &RoomName, upto: u64, count: u32) -> Vec<StoredMessage> {
        let (reply, rx) = oneshot::channel();
        if !self.send(Request::History {
            room: room.folded().clone(),
            upto,
            count,
            reply,
        }) {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// At most `limit` messages of `room` chosen by `query`, oldest
    /// first.
    pub async fn query(
        &self,
        room: &RoomName,
        query: HistoryQuery,
        limit: u32,
    ) -> Vec<StoredMessage> {
        let (reply, rx) = oneshot::channel();
        if !self.send(Request::Query {
            room: room.folded().clone(),
            query,
            limit,
            reply,
        }) {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// Stores a new account; resolves once it is committed (durable as a
    /// message is), or with why not.
    pub async fn create_account(
        &self,
        key: &Folded,
        account: AccountRecord,
    ) -> Result<(), AccountWriteError> {
        let (reply, rx) = oneshot::channel();
        if !self.send(Request::CreateAccount {
            key: key.clone(),
            account,
            reply,
        }) {
            return Err(AccountWriteError::Failed);
        }
        rx.await.unwrap_or(Err(AccountWriteError::Failed))
    }

    /// The account of that folded name, if there is one.
    pub async fn account(&self, key: &Folded) -> Option<AccountRecord> {
        let (reply, rx) = oneshot::channel();
        if !self.send(Request::GetAccount {
            key: key.clone(),
            reply,
        }) {
            return None;
        }
        rx.await.unwrap_or(None)
    }

    /// Replaces an account's password hash; resolves once committed.
    pub async fn set_password(
        &self,
        key: &Folded,
        password: String,
    ) -> Result<(), AccountWriteError> {
        let (reply, rx) = oneshot::channel();
        if !self.send(Request::SetPassword {
            key: key.clone(),
            password,
            reply,
        }) {
            return Err(AccountWriteError::Failed);
        }
        rx.await.unwrap_or(Err(AccountWriteError::Failed))
    }

    /// Indexes a shared file.
    pub fn add_file(&self, file: FileRecord) {
        self.send(Request::AddFile(file));
    }

    /// Forgets a shared file.
    pub fn remove_file(&self, id: &FileId) {
        self.send(Request::RemoveFile(id.clone()));
    }

    /// Stores a server ban, replacing one with the same mask.
    pub fn add_server_ban(&self, ban: ServerBanRecord) {
        self.send(Request::AddServerBan(ban));
    }

    /// Deletes the server ban on `mask`.
    pub fn remove_server_ban(&self, mask: &str) {
        self.send(Request::RemoveServerBan(mask.to_string()));
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

/// Reads a database's schema version without opening it for writing (for
/// tests and tools).
pub fn schema_version(path: &Path) -> rusqlite::Result<Option<i64>> {
    let conn = Connection::open(path)?;
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .optional()
}
