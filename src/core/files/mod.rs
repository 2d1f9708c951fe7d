//! The file store: the index of shared files, and their retention.
//!
//! The index is in memory for now; everything that touches it goes through
//! this actor's messages, so the storage layer can move it into the
//! database without changing its users.

pub mod content;
pub mod link;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use actix::prelude::*;
use tracing::{info, warn};

use crate::config::FilesConfig;
use crate::core::names::Nick;
use crate::core::store::{Database, FileRecord};
use crate::core::{FileId, FileTarget};
use content::content_path;

// The rule lives with the index that applies it; the record is the
// store's, so that the index and the database hold one type.
impl FileRecord {
    /// Whether a client with `nick`, in rooms matching `in_room`, may fetch
    /// it: room files by the room's members, private files by the sender
    /// and by whoever holds the recipient's nickname.
    pub fn may_fetch(
        &self,
        nick: &Nick,
        in_room: impl Fn(&crate::core::names::Folded) -> bool,
    ) -> bool {
        match &self.target {
            FileTarget::Room(room) => in_room(room.folded()),
            FileTarget::User(to) => {
                to.folded() == nick.folded() || self.from.folded() == nick.folded()
            }
        }
    }
}

/// The index of shared files, kept in the database where history is on.
pub struct FileStore {
    dir: PathBuf,
    retention: Duration,
    files: HashMap<FileId, FileRecord>,
    db: Option<Database>,
}

impl FileStore {
    /// A store over `config.dir` holding the files indexed in the database.
    pub fn new(config: &FilesConfig, db: Option<Database>, stored: Vec<FileRecord>) -> Self {
        let files = stored.into_iter().map(|f| (f.id.clone(), f)).collect();
        FileStore {
            dir: config.dir.clone(),
            retention: Duration::from_secs(config.retention_secs),
            files,
            db,
        }
    }

    fn expired(&self, file: &FileRecord, now: SystemTime) -> bool {
        now.duration_since(file.stored)
            .is_ok_and(|age| age >= self.retention)
    }

    fn sweep(&mut self) {
        let now = SystemTime::now();
        let expired: Vec<FileId> = self
            .files
            .values()
            .filter(|f| self.expired(f, now))
            .map(|f| f.id.clone())
            .collect();
        if expired.is_empty() {
            return;
        }
        info!(count = expired.len(), "retention: deleting shared files");
        let paths: Vec<PathBuf> = expired
            .iter()
            .filter_map(|id| self.files.remove(id))
            .map(|f| content_path(&self.dir, &f.id))
            .collect();
        if let Some(db) = &self.db {
            for id in &expired {
                db.remove_file(id);
            }
        }
        actix::spawn(async move {
            for path in paths {
                if let Err(e) = tokio::fs::remove_file(&path).await {
                    warn!(%e, path = %path.display(), "cannot delete an expired file");
                }
            }
        });
    }
}

impl Actor for FileStore {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Files that expired while the server was down go at once.
        self.sweep();
        // Sweep often enough that a file outlives its retention by at most
        // half of it (and by at most a minute).
        let every = (self.retention / 2).clamp(Duration::from_millis(200), Duration::from_secs(60));
        ctx.run_interval(every, |store, _| store.sweep());
    }
}

/// Adds a stored file to the index; resolves once the index entry is
/// durable, so an acknowledged file survives a crash.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AddFile(pub FileRecord);

impl Handler<AddFile> for FileStore {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: AddFile, _: &mut Self::Context) -> Self::Result {
        let db = self.db.clone();
        if let Some(db) = &db {
            db.add_file(msg.0.clone());
        }
        self.files.insert(msg.0.id.clone(), msg.0);
        Box::pin(async move {
            if let Some(db) = db {
                db.flush().await;
            }
        })
    }
}

/// Looks a file up by id (expired files are not found); also gives the
/// path of its content.
#[derive(Message)]
#[rtype(result = "Option<(FileRecord, PathBuf)>")]
pub struct GetFile {
    /// The file's id.
    pub id: FileId,
}

impl Handler<GetFile> for FileStore {
    type Result = Option<(FileRecord, PathBuf)>;

    fn handle(&mut self, msg: GetFile, _: &mut Self::Context) -> Self::Result {
        let file = self.files.get(&msg.id)?;
        if self.expired(file, SystemTime::now()) {
            return None;
        }
        Some((file.clone(), content_path(&self.dir, &file.id)))
    }
}

/// Forgets a file and deletes its content (an upload whose recipient
/// vanished before it could be announced).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemoveFile {
    /// The file's id.
    pub id: FileId,
}

impl Handler<RemoveFile> for FileStore {
    type Result = ();

    fn handle(&mut self, msg: RemoveFile, _: &mut Self::Context) {
        if self.files.remove(&msg.id).is_some() {
            if let Some(db) = &self.db {
                db.remove_file(&msg.id);
            }
            let path = content_path(&self.dir, &msg.id);
            actix::spawn(async move {
                let _ = tokio::fs::remove_file(path).await;
            });
        }
    }
}
