//! What a reload may change: every key but those read once at start-up
//! (listen addresses, where data lives, names baked into what clients
//! were told), which a reload reports and leaves as they were.

use super::Config;

/// Declares the keys read only at start-up, and [`keep_fixed`] over them.
macro_rules! fixed_keys {
    ($($key:literal => $($field:ident).+;)*) => {
        /// The keys a reload cannot change (they are read once, at
        /// start-up): a changed value is reported and ignored.
        pub const FIXED_KEYS: &[&str] = &[$($key),*];

        /// `new` with every key of [`FIXED_KEYS`] as in `old`, and the keys
        /// whose value `new` tried to change, in [`FIXED_KEYS`] order.
        pub fn keep_fixed(old: &Config, mut new: Config) -> (Config, Vec<&'static str>) {
            let mut changed = Vec::new();
            $(
                if new.$($field).+ != old.$($field).+ {
                    changed.push($key);
                    new.$($field).+ = old.$($field).+.clone();
                }
            )*
            (new, changed)
        }
    };
}

fixed_keys! {
    "server.listen" => server.listen;
    "server.name" => server.name;
    "irc.listen" => irc.listen;
    "irc.tls_listen" => irc.tls_listen;
    "irc.network" => irc.network;
    "tls.listen" => tls.listen;
    "tls.cert" => tls.cert;
    "tls.key" => tls.key;
    "tls.dir" => tls.dir;
    "tls.handshake_timeout_secs" => tls.handshake_timeout_secs;
    "http.listen" => http.listen;
    "http.tls_listen" => http.tls_listen;
    "admin.listen" => admin.listen;
    "history.enabled" => history.enabled;
    "history.db" => history.db;
    "files.dir" => files.dir;
    "files.retention_secs" => files.retention_secs;
    "log.dir" => log.dir;
    "limits.whowas_entries" => limits.whowas_entries;
    "cluster.redis_url" => cluster.redis_url;
    "cluster.node_id" => cluster.node_id;
    "cluster.lease_secs" => cluster.lease_secs;
    "cluster.heartbeat_secs" => cluster.heartbeat_secs;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_keys_are_kept_and_named_the_rest_changes() {
        let old = Config::from_toml("").unwrap();
        let new = Config::from_toml(
            "[server]\nlisten = \"127.0.0.1:1\"\n[history]\ndb = \"x.db\"\n\
             [limits]\nmax_clients = 3",
        )
        .unwrap();
        let (kept, changed) = keep_fixed(&old, new);
        assert_eq!(changed, ["server.listen", "history.db"]);
        assert_eq!(kept.server.listen, old.server.listen);
        assert_eq!(kept.history.db, old.history.db);
        assert_eq!(kept.limits.max_clients, 3);
        let (_, none) = keep_fixed(&old, old.clone());
        assert!(none.is_empty());
    }
}
