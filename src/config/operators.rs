//! `[operators.<name>]`: the server's operators, as IRC daemons' oper
//! blocks: a name, an argon2id password hash (PHC string, from
//! `chatroom hash-password`), and optionally the addresses `OPER` is
//! accepted from.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;

use super::ConfigError;

/// One operator block.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorBlock {
    /// The argon2id hash of the password, as a PHC string
    /// (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).
    pub password: String,
    /// Addresses (`127.0.0.1`) or CIDR prefixes (`10.0.0.0/8`) OPER is
    /// accepted from; empty: any.
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// The operator blocks by name.
pub type Operators = BTreeMap<String, OperatorBlock>;

/// Why a block is refused; the caller names the key.
fn check_block(block: &OperatorBlock) -> Result<(), (&'static str, String)> {
    let hash = argon2::PasswordHash::new(&block.password).map_err(|e| {
        (
            "password",
            format!("not a PHC hash string ({e}); make one with `chatroom hash-password`"),
        )
    })?;
    if hash.algorithm.as_str() != "argon2id" {
        return Err((
            "password",
            format!("{} hash, not argon2id", hash.algorithm.as_str()),
        ));
    }
    for host in &block.hosts {
        if !is_net(host) {
            return Err((
                "hosts",
                format!("{host:?} is not an IP address or a CIDR prefix like 10.0.0.0/8"),
            ));
        }
    }
    Ok(())
}

/// `addr` or `addr/len`, with `len` within the address's bits.
fn is_net(s: &str) -> bool {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    len.is_none_or(|l| l.parse::<u8>().is_ok_and(|l| l <= max))
}

/// Checks every block: a bad one stops start-up, naming its key.
pub(super) fn validate(operators: &Operators) -> Result<(), ConfigError> {
    let mut seen = std::collections::HashSet::new();
    for (name, block) in operators {
        // OPER finds a block ignoring case: two that differ only by it
        // would be one.
        if !seen.insert(name.to_ascii_lowercase()) {
            return Err(ConfigError::Operator {
                key: format!("operators.{name}"),
                why: "another operator has this name in another case".into(),
            });
        }
        let bad_name =
            name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_graphic());
        if bad_name {
            return Err(ConfigError::Operator {
                key: format!("operators.{name}"),
                why: "an operator's name is one word of printable ASCII, at most 64 bytes".into(),
            });
        }
        check_block(block).map_err(|(field, why)| ConfigError::Operator {
            key: format!("operators.{name}.{field}"),
            why,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Yq8fLMG3k4GkQJ1q6nO9C0h1qQhI9l0K6tW2vYbqH3Q";

    #[test]
    fn operator_blocks_are_read_and_checked() {
        let c = Config::from_toml(&format!(
            "[operators.alice]\npassword = \"{HASH}\"\nhosts = [\"127.0.0.1\", \"10.0.0.0/8\"]"
        ))
        .unwrap();
        assert_eq!(c.operators["alice"].hosts.len(), 2);
        let cases = [
            (
                "[operators.bob]\npassword = \"hunter2\"".to_string(),
                "operators.bob.password",
            ),
            (
                "[operators.bob]\npassword = \"$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2g\""
                    .to_string(),
                "operators.bob.password",
            ),
            (
                format!("[operators.bob]\npassword = \"{HASH}\"\nhosts = [\"home\"]"),
                "operators.bob.hosts",
            ),
            (
                format!("[operators.bob]\npassword = \"{HASH}\"\nhosts = [\"1.2.3.4/40\"]"),
                "operators.bob.hosts",
            ),
            ("[operators.bob]\nhosts = []".to_string(), "password"),
        ];
        for (text, key) in cases {
            let err = Config::from_toml(&text).unwrap_err().to_string();
            assert!(err.contains(key), "{text:?} gave {err:?}");
        }
    }
}
