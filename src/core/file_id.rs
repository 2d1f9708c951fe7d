//! File ids: the name a shared file is fetched by, and the name of its
//! content on disk. A leaf, so that the store and events can name files
//! without depending on the file index.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// Length of a file id, in hex digits.
const ID_LEN: usize = 20;

/// A shared file's id: 20 lower-case hex digits. Only such words are ids,
/// so an id is always safe as a file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(Box<str>);

impl FileId {
    /// A fresh id, unpredictable enough that ids cannot be guessed from
    /// one another.
    pub fn fresh() -> FileId {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut h = Sha256::new();
        h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        h.update(now.to_le_bytes());
        h.update(std::process::id().to_le_bytes());
        // RandomState is seeded from the OS: ids are not predictable.
        h.update(RandomState::new().hash_one(0u8).to_le_bytes());
        let digest = h.finalize();
        let id: String = digest[..ID_LEN / 2]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        FileId(id.into_boxed_str())
    }

    /// `s` as an id, if it could have been made by [`FileId::fresh`].
    pub fn parse(s: &str) -> Option<FileId> {
        let valid = s.len() == ID_LEN
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| FileId(s.into()))
    }

    /// The id as written on the wire and on disk.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_are_distinct_and_parse_back() {
        let a = FileId::fresh();
        let b = FileId::fresh();
        assert_ne!(a, b);
        assert_eq!(FileId::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.to_string(), a.as_str());
    }

    #[test]
    fn only_lower_case_hex_of_the_right_length_parses() {
        assert!(FileId::parse("0123456789abcdef0123").is_some());
        for bad in [
            "",
            "../etc/passwd",
            "abc123",
            "0123456789ABCDEF0123",
            "0123456789abcdef012",
            "0123456789abcdef01234",
            "0123456789abcdeg0123",
            ".upload-0123456789ab",
        ] {
            assert_eq!(FileId::parse(bad), None, "{bad:?}");
        }
    }
}
