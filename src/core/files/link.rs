//! Short-lived proofs that a client may download a file: a client that
//! would be allowed to `FETCH` a file can ask for a token instead, and
//! whoever presents the token before it expires gets the file, without a
//! session (a browser's `<img src>`).
//!
//! A token is `<expiry>.<mac>`: the expiry in Unix seconds and the
//! HMAC-SHA256 of the file id and that expiry, in lower-case hex, under a
//! key drawn at random when the process starts. Nothing is stored per
//! token; a restart invalidates every token handed out before.

use std::fmt;
use std::time::{Duration, SystemTime};

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use super::content::hex;
use crate::core::FileId;

/// Where the HTTP listener serves shared files: `/files/<id>?token=…`.
pub const FILES_ROUTE: &str = "/files/";

/// How long a token stays valid.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 60);

type HmacSha256 = hmac::Hmac<Sha256>;

/// Issues and checks download tokens with this process's key.
pub struct LinkSigner {
    key: [u8; 32],
}

/// A download token for one file, as handed to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkToken(String);

impl LinkToken {
    /// The token's text, `<expiry>.<mac>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The path, on the HTTP listener, of file `id` opened with `token`.
pub fn link_path(id: &FileId, token: &LinkToken) -> String {
    format!("{FILES_ROUTE}{id}?token={token}")
}

impl fmt::Display for LinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not of the form `<expiry>.<mac>`, or not made with this key for
    /// this file.
    #[error("the token is not valid for this file")]
    Invalid,
    /// Valid once, but expired.
    #[error("the token has expired")]
    Expired,
}

/// Why the process's random key could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("no randomness from the operating system for link tokens: {0}")]
pub struct KeyError(String);

impl LinkSigner {
    /// A signer with a fresh random key.
    pub fn random() -> Result<LinkSigner, KeyError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| KeyError(e.to_string()))?;
        Ok(LinkSigner { key })
    }

    /// A signer with a given key (tests).
    pub fn with_key(key: [u8; 32]) -> LinkSigner {
        LinkSigner { key }
    }

    fn mac(&self, id: &FileId, expiry: u64) -> HmacSha256 {
        // Any key length is accepted by HMAC.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        // The id is hex only, so `<id>.<expiry>` cannot be read two ways.
        mac.update(id.as_str().as_bytes());
        mac.update(b".");
        mac.update(expiry.to_string().as_bytes());
        mac
    }

    /// A token for `id`, valid for [`TOKEN_LIFETIME`] from `now`.
    pub fn issue(&self, id: &FileId, now: SystemTime) -> LinkToken {
        let expiry = unix_secs(now + TOKEN_LIFETIME);
        let mac = self.mac(id, expiry).finalize().into_bytes();
        LinkToken(format!("{expiry}.{}", hex(&mac)))
    }

    /// Checks that `token` was issued for `id` and has not expired at `now`.
    pub fn verify(&self, id: &FileId, token: &str, now: SystemTime) -> Result<(), TokenError> {
        let (expiry, mac_hex) = token.split_once('.').ok_or(TokenError::Invalid)?;
        let digits = !expiry.is_empty() && expiry.bytes().all(|b| b.is_ascii_digit());
        let expiry: u64 = match expiry.parse() {
            Ok(e) if digits => e,
            _ => return Err(TokenError::Invalid),
        };
        let mac = unhex(mac_hex).ok_or(TokenError::Invalid)?;
        // In constant time: a guess learns nothing from how long it took.
        self.mac(id, expiry)
            .verify_slice(&mac)
            .map_err(|_| TokenError::Invalid)?;
        if unix_secs(now) >= expiry {
            return Err(TokenError::Expired);
        }
        Ok(())
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Lower-case hex to bytes; `None` unless it is exactly that.
fn unhex(s: &str) -> Option<Vec<u8>> {
    fn digit(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        }
    }
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> FileId {
        FileId::parse(s).expect("an id")
    }

    #[test]
    fn a_token_opens_its_file_until_it_expires() {
        let signer = LinkSigner::with_key([7; 32]);
        let a = id("0123456789abcdef0123");
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let token = signer.issue(&a, now);
        let (expiry, mac) = token.as_str().split_once('.').unwrap();
        assert_eq!(expiry, "1000600");
        assert_eq!(mac.len(), 64);
        assert_eq!(signer.verify(&a, token.as_str(), now), Ok(()));
        let later = now + TOKEN_LIFETIME - Duration::from_secs(1);
        assert_eq!(signer.verify(&a, token.as_str(), later), Ok(()));
        assert_eq!(
            signer.verify(&a, token.as_str(), now + TOKEN_LIFETIME),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_token_opens_no_other_file_and_cannot_be_forged() {
        let signer = LinkSigner::with_key([7; 32]);
        let a = id("0123456789abcdef0123");
        let b = id("0123456789abcdef0124");
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let token = signer.issue(&a, now);
        assert_eq!(
            signer.verify(&b, token.as_str(), now),
            Err(TokenError::Invalid)
        );
        let other_key = LinkSigner::with_key([8; 32]);
        assert_eq!(
            other_key.verify(&a, token.as_str(), now),
            Err(TokenError::Invalid)
        );
        // A later expiry with the old MAC.
        let (_, mac) = token.as_str().split_once('.').unwrap();
        let extended = format!("9999999999.{mac}");
        assert_eq!(signer.verify(&a, &extended, now), Err(TokenError::Invalid));
        for bad in [
            "",
            ".",
            "123",
            "123.",
            ".abcd",
            "+1000600.00",
            "1000600.zz",
            "1000600.abc",
            "1000600.ABCDEF",
        ] {
            assert_eq!(
                signer.verify(&a, bad, now),
                Err(TokenError::Invalid),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn unhex_reads_what_hex_writes() {
        assert_eq!(
            unhex(&hex(&[0, 1, 0xab, 0xff])),
            Some(vec![0, 1, 0xab, 0xff])
        );
        assert_eq!(unhex("0g"), None);
    }
}
