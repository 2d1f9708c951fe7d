//! Passwords are kept as argon2id PHC strings (`$argon2id$v=19$m=...`),
//! never in clear. Hashing and verifying cost milliseconds by design, so
//! callers run them on the blocking pool, never on an actor thread.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// Memory per hash in KiB, and passes: the cost of a room key
/// ([`room_key`](crate::core::room_key)), so that one bound on concurrent
/// verifications covers both.
const M_COST_KIB: u32 = 8 * 1024;
const T_COST: u32 = 2;

fn argon2() -> Option<Argon2<'static>> {
    let params = Params::new(M_COST_KIB, T_COST, 1, None).ok()?;
    Some(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` with a fresh random salt, as a PHC string; `None`
/// only if the system's random source fails.
pub fn hash_password(password: &str) -> Option<String> {
    let hash = argon2()?.hash_password(password.as_bytes()).ok()?;
    Some(hash.to_string())
}

/// A hash of no account's password, with the same parameters: an unknown
/// account is verified against it, so that it costs what a wrong password
/// costs and the two cannot be told apart by time.
fn dummy() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no account has this password").unwrap_or_default())
}

/// Makes the dummy hash now (at start-up), so that the first unknown
/// account does not pay for making it.
pub fn warm_up() {
    dummy();
}

/// Whether `password` matches `stored` (a PHC string made by
/// [`hash_password`]); with no stored hash (no such account) it verifies
/// against a dummy and answers `false`, taking the same time.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    let Some(argon2) = argon2() else {
        return false;
    };
    let (hash, real) = match stored {
        Some(hash) => (hash, true),
        None => (dummy(), false),
    };
    // The parameters are read from the hash itself: a hash made with other
    // costs (an older server) still verifies.
    let ok = argon2.verify_password(password.as_bytes(), hash).is_ok();
    ok && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_phc_strings_that_verify() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$v=19$m=8192,t=2,p=1$"), "{a}");
        assert!(!a.contains("correct"));
        assert!(verify_password("correct horse", Some(&a)));
        assert!(verify_password("correct horse", Some(&b)));
        assert!(!verify_password("Correct horse", Some(&a)));
        assert!(!verify_password("", Some(&a)));
        assert!(!verify_password("correct horse", Some("garbage")));
        assert!(!verify_password("no account has this password", None));
        assert!(!verify_password("correct horse", None));
    }
}
