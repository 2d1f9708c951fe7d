//! Room keys are never stored in clear: a salted argon2id hash is kept and
//! compared in constant time. Hashing costs milliseconds by design, so
//! callers run it on the blocking pool, never on an actor thread.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::SystemTime;

use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

use crate::core::files::content::hex;

/// Memory per hash in KiB: enough to make guessing costly, small enough
/// that a burst of JOINs cannot exhaust memory.
const M_COST_KIB: u32 = 8 * 1024;
const T_COST: u32 = 2;
const OUT_LEN: usize = 32;

fn argon2() -> Option<Argon2<'static>> {
    let params = Params::new(M_COST_KIB, T_COST, 1, Some(OUT_LEN)).ok()?;
    Some(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn derive(key: &str, salt: &[u8]) -> Option<[u8; OUT_LEN]> {
    let mut out = [0u8; OUT_LEN];
    argon2()?
        .hash_password_into(key.as_bytes(), salt, &mut out)
        .ok()?;
    Some(out)
}

fn salt() -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(RandomState::new().hash_one(0u8).to_le_bytes());
    h.update(RandomState::new().hash_one(1u8).to_le_bytes());
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.update(now.to_le_bytes());
    let digest = h.finalize();
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&digest[..16]);
    salt
}

/// Hashes `key` as `<salt hex>$<hash hex>`.
pub fn hash_key(key: &str) -> String {
    let salt = salt();
    match derive(key, &salt) {
        Some(out) => format!("{}${}", hex(&salt), hex(&out)),
        // Unreachable with the constants above; an unmatchable hash keeps
        // the room closed rather than open.
        None => String::from("!"),
    }
}

/// Whether `key` matches a hash made by [`hash_key`], in constant time.
pub fn verify_key(key: &str, stored: &str) -> bool {
    let Some((salt_hex, hash_hex)) = stored.split_once('$') else {
        return false;
    };
    let (Some(salt), Some(want)) = (unhex(salt_hex), unhex(hash_hex)) else {
        return false;
    };
    let Some(got) = derive(key, &salt) else {
        return false;
    };
    want.len() == got.len()
        && want
            .iter()
            .zip(got.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_verify_and_salts_differ() {
        let a = hash_key("sesame");
        let b = hash_key("sesame");
        assert_ne!(a, b, "salted");
        assert!(!a.contains("sesame"));
        assert!(verify_key("sesame", &a));
        assert!(verify_key("sesame", &b));
        assert!(!verify_key("Sesame", &a));
        assert!(!verify_key("", &a));
        assert!(!verify_key("sesame", "garbage"));
        assert!(!verify_key("sesame", "zz$zz"));
    }
}
