//! Shared files on disk: where they live, and how uploads are written and
//! hashed.
//!
//! A file's client-given name is only a label and never touches the file
//! system: content is stored as `<files.dir>/<id>`, where the id is a
//! [`FileId`], letters and digits only. An upload is written to a temporary
//! `<files.dir>/.upload-<id>` while its sha256 is computed, and renamed into
//! place only when complete, so a cut-off upload leaves nothing behind.
//!
//! Hashing and writing run on tokio's blocking pool (`spawn_blocking`), one
//! chunk at a time: no actor thread ever waits on the disk or burns CPU on
//! sha256, and since the session waits for each chunk before reading the
//! next, a fast uploader is slowed to the disk's pace instead of filling
//! memory.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::core::FileId;

/// Prefix of the temporary file of an upload in progress.
const TEMP_PREFIX: &str = ".upload-";

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

/// Where the content of file `id` is stored.
pub fn content_path(dir: &Path, id: &FileId) -> PathBuf {
    dir.join(id.as_str())
}

/// Creates `dir` and removes what earlier runs left in it: unfinished
/// uploads, and content whose id is not in `indexed`. Only names this
/// module makes are touched, whatever else the directory holds. Returns how
/// many files were removed and which indexed ids have content.
pub fn prepare_dir(dir: &Path, indexed: &HashSet<FileId>) -> io::Result<(usize, HashSet<FileId>)> {
    std::fs::create_dir_all(dir)?;
    let mut removed = 0;
    let mut present = HashSet::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !entry.file_type()?.is_file() {
            continue;
        }
        let stale = match FileId::parse(name) {
            Some(id) if indexed.contains(&id) => {
                present.insert(id);
                false
            }
            Some(_) => true,
            None => name
                .strip_prefix(TEMP_PREFIX)
                .and_then(FileId::parse)
                .is_some(),
        };
        if stale {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    // Prove the directory is writable now rather than at the first upload.
    let probe = dir.join(format!("{TEMP_PREFIX}{}", FileId::fresh()));
    File::create(&probe)?;
    std::fs::remove_file(&probe)?;
    Ok((removed, present))
}

/// An upload being written: the temporary file and the running sha256.
/// Dropping it before [`UploadSink::finish`] removes the temporary file.
pub struct UploadSink {
    file: Option<File>,
    hasher: Sha256,
    /// `None` once finished: nothing left to clean up.
    temp: Option<PathBuf>,
    written: u64,
}

/// A finished upload, stored under its id.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The content's sha256, lower-case hex.
    pub sha256: String,
    /// Bytes written.
    pub size: u64,
}

impl UploadSink {
    /// Opens a new temporary file in `dir`.
    pub async fn create(dir: PathBuf) -> io::Result<UploadSink> {
        blocking(move || {
            let temp = dir.join(format!("{TEMP_PREFIX}{}", FileId::fresh()));
            let file = File::create_new(&temp)?;
            Ok(UploadSink {
                file: Some(file),
                hasher: Sha256::new(),
                temp: Some(temp),
                written: 0,
            })
        })
        .await
    }

    /// Hashes and writes one chunk. On failure the temporary file is
    /// removed.
    pub async fn write(mut self, chunk: Bytes) -> io::Result<UploadSink> {
        blocking(move || {
            self.hasher.update(&chunk);
            let file = self
                .file
                .as_mut()
                .ok_or_else(|| io::Error::other("upload closed"))?;
            file.write_all(&chunk)?;
            self.written += chunk.len() as u64;
            Ok(self)
        })
        .await
    }

    /// Makes the content durable and moves it to its place as file `id`.
    pub async fn finish(mut self, dir: PathBuf, id: FileId) -> io::Result<Stored> {
        blocking(move || {
            let file = self
                .file
                .take()
                .ok_or_else(|| io::Error::other("upload closed"))?;
            file.sync_data()?;
            drop(file);
            if let Some(temp) = &self.temp {
                std::fs::rename(temp, content_path(&dir, &id))?;
            }
            self.temp = None;
            Ok(Stored {
                sha256: hex(&std::mem::take(&mut self.hasher).finalize()),
                size: self.written,
            })
        })
        .await
    }
}

impl Drop for UploadSink {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            drop(self.file.take());
            // Off the actor thread where there is a runtime to do it.
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn_blocking(move || {
                        let _ = std::fs::remove_file(temp);
                    });
                }
                Err(_) => {
                    let _ = std::fs::remove_file(temp);
                }
            }
        }
    }
}

/// Writes `body` (a file another node received, read from Redis) to a
/// temporary file in `dir` and opens it for reading, so that it streams
/// to the client as a file of this node's does. The name is removed at
/// once (the open file stays readable until closed); one a crash leaves
/// behind is an unfinished upload's, removed at the next start.
pub async fn spool(dir: PathBuf, body: Vec<u8>) -> io::Result<tokio::fs::File> {
    blocking(move || {
        let temp = dir.join(format!("{TEMP_PREFIX}{}", FileId::fresh()));
        let mut file = File::create_new(&temp)?;
        let opened = file.write_all(&body).and_then(|()| File::open(&temp));
        let removed = std::fs::remove_file(&temp);
        let opened = opened?;
        removed?;
        Ok(tokio::fs::File::from_std(opened))
    })
    .await
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
    }

    #[test]
    fn prepare_dir_removes_only_our_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join(FileId::fresh().as_str());
        let temp = dir.path().join(format!("{TEMP_PREFIX}{}", FileId::fresh()));
        let theirs = dir.path().join("notes.txt");
        let kept_id = FileId::fresh();
        let kept = dir.path().join(kept_id.as_str());
        for p in [&ours, &temp, &theirs, &kept] {
            std::fs::write(p, b"x").unwrap();
        }
        let indexed: HashSet<FileId> = [kept_id.clone(), FileId::fresh()].into_iter().collect();
        let (removed, present) = prepare_dir(dir.path(), &indexed).unwrap();
        assert_eq!(removed, 2);
        assert_eq!(present, [kept_id].into_iter().collect());
        assert!(!ours.exists() && !temp.exists() && theirs.exists() && kept.exists());
    }

    #[tokio::test]
    async fn upload_is_hashed_and_renamed_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let sink = UploadSink::create(dir.path().to_path_buf()).await.unwrap();
        let sink = sink.write(Bytes::from_static(b"hello ")).await.unwrap();
        let sink = sink.write(Bytes::from_static(b"world")).await.unwrap();
        let id = FileId::fresh();
        let stored = sink
            .finish(dir.path().to_path_buf(), id.clone())
            .await
            .unwrap();
        assert_eq!(
            stored.sha256,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(stored.size, 11);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec![id.to_string()]);
    }

    #[tokio::test]
    async fn discarded_upload_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let sink = UploadSink::create(dir.path().to_path_buf()).await.unwrap();
        let sink = sink.write(Bytes::from_static(b"partial")).await.unwrap();
        drop(sink);
        // The removal runs on the blocking pool; wait for it by polling.
        for _ in 0..500 {
            if std::fs::read_dir(dir.path()).unwrap().count() == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        panic!("temporary file left behind");
    }
}
