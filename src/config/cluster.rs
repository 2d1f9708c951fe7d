//! `[cluster]`: several server processes sharing one chat through Redis
//! (docs/CLUSTER.md). Empty `redis_url`, the default, is a standalone
//! server: no Redis code runs at all.

use serde::Deserialize;

use super::{Config, ConfigError};

/// `[cluster]`: the Redis the nodes share, and this node's lease on it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// `redis://host:port/db`; empty: standalone.
    pub redis_url: String,
    /// This node's name in Redis; empty: a random one, made at start and
    /// logged. Unique among the nodes of one Redis.
    pub node_id: String,
    /// Seconds this node's lease lasts unless renewed: a node that dies
    /// lets go of its nicknames within this time.
    pub lease_secs: u64,
    /// Seconds between renewals of the lease (below `lease_secs`).
    pub heartbeat_secs: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            redis_url: String::new(),
            node_id: String::new(),
            lease_secs: 10,
            heartbeat_secs: 3,
        }
    }
}

impl ClusterConfig {
    /// Whether this server is a node of a cluster.
    pub fn enabled(&self) -> bool {
        !self.redis_url.is_empty()
    }
}

fn invalid(key: &'static str, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        why: why.into(),
    }
}

impl Config {
    /// Checks the `[cluster]` keys.
    pub(super) fn validate_cluster(&self) -> Result<(), ConfigError> {
        let c = &self.cluster;
        if c.heartbeat_secs == 0 {
            return Err(invalid("cluster.heartbeat_secs", "must be at least 1"));
        }
        if c.lease_secs <= c.heartbeat_secs {
            return Err(invalid(
                "cluster.lease_secs",
                format!(
                    "{} must be more than cluster.heartbeat_secs ({})",
                    c.lease_secs, c.heartbeat_secs
                ),
            ));
        }
        // The id is part of Redis keys and of their values.
        if !c
            .node_id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
            || c.node_id.len() > 64
        {
            return Err(invalid(
                "cluster.node_id",
                "at most 64 characters among A-Z a-z 0-9 - _ .",
            ));
        }
        if c.enabled()
            && !(c.redis_url.starts_with("redis://") || c.redis_url.starts_with("unix://"))
        {
            return Err(invalid(
                "cluster.redis_url",
                "must be empty or start with redis:// (or unix://)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standalone_by_default_and_bad_values_named() {
        let config = Config::from_toml("").unwrap();
        assert!(!config.cluster.enabled());
        let on = Config::from_toml("[cluster]\nredis_url = \"redis://127.0.0.1:1/\"").unwrap();
        assert!(on.cluster.enabled());
        for (toml, key) in [
            ("[cluster]\nheartbeat_secs = 0", "cluster.heartbeat_secs"),
            ("[cluster]\nlease_secs = 3", "cluster.lease_secs"),
            ("[cluster]\nnode_id = \"a b\"", "cluster.node_id"),
            ("[cluster]\nredis_url = \"http://x\"", "cluster.redis_url"),
        ] {
            match Config::from_toml(toml) {
                Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key, "{toml}"),
                other => panic!("{toml}: {other:?}"),
            }
        }
    }
}
