//! The file store: the index of shared files, their retention, and the
//! quotas that bound the disk they take ([`quota`]).
//!
//! The index is in memory for now; everything that touches it goes through
//! this actor's messages, so the storage layer can move it into the
//! database without changing its users.
//!
//! Disk use has a ceiling: the files kept and the uploads in progress
//! together never pass `files.max_total_bytes` (an upload reserves its
//! announced size before a byte is written, [`ReserveUpload`]), plus at
//! most the temporary file of each upload refused mid-way while it is
//! deleted.

pub mod content;
pub mod link;
pub mod quota;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use actix::prelude::*;
use tracing::{info, warn};

use crate::config::FilesConfig;
use crate::core::names::Nick;
use crate::core::store::{Database, FileRecord};
use crate::core::{FileId, FileTarget};
use crate::refusals::{refused, Limit};
use content::content_path;
use quota::{Ledger, QuotaRefusal, QuotaRules, Uploader};

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
    /// Bytes of the files indexed.
    used: u64,
    /// Bytes reserved by uploads in progress.
    reserved: u64,
    /// Bytes uploaded per user and address in their window.
    ledger: Ledger,
}

impl FileStore {
    /// A store over `config.dir` holding the files indexed in the database.
    pub fn new(config: &FilesConfig, db: Option<Database>, stored: Vec<FileRecord>) -> Self {
        let files: HashMap<FileId, FileRecord> =
            stored.into_iter().map(|f| (f.id.clone(), f)).collect();
        FileStore {
            dir: config.dir.clone(),
            retention: Duration::from_secs(config.retention_secs),
            used: files.values().map(|f| f.size).sum(),
            files,
            db,
            reserved: 0,
            ledger: Ledger::default(),
        }
    }

    /// Forgets the files `ids` and deletes their content.
    fn delete(&mut self, ids: &[FileId]) {
        let paths: Vec<PathBuf> = ids
            .iter()
            .filter_map(|id| self.files.remove(id))
            .map(|f| {
                self.used = self.used.saturating_sub(f.size);
                content_path(&self.dir, &f.id)
            })
            .collect();
        if let Some(db) = &self.db {
            for id in ids {
                db.remove_file(id);
            }
        }
        actix::spawn(async move {
            for path in paths {
                if let Err(e) = tokio::fs::remove_file(&path).await {
                    warn!(%e, path = %path.display(), "cannot delete a shared file");
                }
            }
        });
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
        self.delete(&expired);
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

/// Takes room for an upload of `size` bytes before any is stored: charges
/// the uploader's quota, and reserves the bytes under the total, deleting
/// the oldest files to make room. Refused if the upload would not fit even
/// with every file deleted (then none is), or the uploader is over its
/// quota.
#[derive(Message)]
#[rtype(result = "Result<Reservation, QuotaRefusal>")]
pub struct ReserveUpload {
    /// The announced size.
    pub size: u64,
    /// Who uploads.
    pub who: Uploader,
    /// The quotas in force.
    pub rules: QuotaRules,
}

impl Handler<ReserveUpload> for FileStore {
    type Result = Result<Reservation, QuotaRefusal>;

    fn handle(&mut self, msg: ReserveUpload, ctx: &mut Self::Context) -> Self::Result {
        let ReserveUpload { size, who, rules } = msg;
        let taken = self.used.saturating_add(self.reserved);
        let files = self.files.values().map(|f| (&f.id, f.stored, f.size));
        let Some(expire) = quota::to_expire(files, taken, size, rules.max_total) else {
            refused(
                Limit::FilesTotal,
                format_args!("an upload of {size} bytes, {taken} taken of files.max_total_bytes"),
            );
            return Err(QuotaRefusal::Total);
        };
        if !self.ledger.charge(&who, size, &rules, Instant::now()) {
            let ip = who.ip.map(|ip| format!(" from {ip}")).unwrap_or_default();
            refused(
                Limit::UploadQuota,
                format_args!(
                    "an upload of {size} bytes by {}{ip}: files.upload_quota_bytes",
                    who.user.as_str()
                ),
            );
            return Err(QuotaRefusal::Uploader);
        }
        if !expire.is_empty() {
            info!(
                count = expire.len(),
                size, "files.max_total_bytes: deleting the oldest shared files"
            );
            self.delete(&expire);
        }
        self.reserved = self.reserved.saturating_add(size);
        Ok(Reservation {
            store: Some(ctx.address()),
            size,
        })
    }
}

/// Room taken under `files.max_total_bytes` by an upload in progress;
/// given back when dropped, unless the file was indexed ([`AddFile`]).
#[derive(Debug)]
pub struct Reservation {
    store: Option<Addr<FileStore>>,
    size: u64,
}

impl Reservation {
    /// The bytes reserved.
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            store.do_send(Release { size: self.size });
        }
    }
}

/// An upload that reserved `size` bytes ended without a file.
#[derive(Message)]
#[rtype(result = "()")]
struct Release {
    size: u64,
}

impl Handler<Release> for FileStore {
    type Result = ();

    fn handle(&mut self, msg: Release, _: &mut Self::Context) {
        self.reserved = self.reserved.saturating_sub(msg.size);
    }
}

/// Adds a stored file to the index, in the room its upload reserved;
/// resolves once the index entry is durable, so an acknowledged file
/// survives a crash.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AddFile {
    /// The file.
    pub file: FileRecord,
    /// The room its upload reserved.
    pub reservation: Reservation,
}

impl Handler<AddFile> for FileStore {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: AddFile, _: &mut Self::Context) -> Self::Result {
        let AddFile {
            file,
            mut reservation,
        } = msg;
        // The reservation becomes the file.
        reservation.store = None;
        self.reserved = self.reserved.saturating_sub(reservation.size);
        self.used = self.used.saturating_add(file.size);
        let db = self.db.clone();
        if let Some(db) = &db {
            db.add_file(file.clone());
        }
        self.files.insert(file.id.clone(), file);
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
        if self.files.contains_key(&msg.id) {
            self.delete(&[msg.id]);
        }
    }
}
