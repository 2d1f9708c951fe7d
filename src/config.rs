//! Configuration: built-in defaults, then a TOML file, then environment
//! variables `CHATROOM_<SECTION>__<KEY>`, then command-line overrides.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod live;
mod motd;
mod operators;
mod reload;

pub use live::SharedConfig;
pub use motd::{Motd, MAX_MOTD_BYTES, MAX_MOTD_LINES, MAX_MOTD_LINE_BYTES};
pub use operators::{OperatorBlock, Operators};
pub use reload::{keep_fixed, FIXED_KEYS};
mod cluster;
pub mod ip_prefix;
mod limits;

pub use cluster::ClusterConfig;

use ip_prefix::IpPrefix;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or environment could not be read or has a bad key or type.
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    /// A value is out of its allowed range.
    #[error("configuration key `{key}`: {why}")]
    Invalid {
        /// The offending key, as `section.key`.
        key: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// An operator block is invalid (its key is only known at run time).
    #[error("configuration key `{key}`: {why}")]
    Operator {
        /// The offending key, as `operators.<name>.<field>`.
        key: String,
        /// What is wrong with it.
        why: String,
    },
}

/// The most `limits.max_nick_len` and `limits.max_room_len` may be: the
/// bound every name read back from storage or from a server line is
/// checked against.
pub const MAX_NAME_LEN: usize = 64;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[server]`
    pub server: ServerConfig,
    /// `[limits]`
    pub limits: Limits,
    /// `[files]`
    pub files: FilesConfig,
    /// `[history]`
    pub history: HistoryConfig,
    /// `[log]`
    pub log: LogConfig,
    /// `[irc]`
    pub irc: IrcConfig,
    /// `[tls]`
    pub tls: TlsConfig,
    /// `[http]`
    pub http: HttpConfig,
    /// `[operators.<name>]`: the server's operators.
    pub operators: Operators,
    /// `[admin]`
    pub admin: AdminConfig,
    /// `[accounts]`
    pub accounts: AccountsConfig,
    /// `[cluster]`
    pub cluster: ClusterConfig,
}

/// `[server]`: identity and address.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The name in `HELLO` and `INFO`.
    pub name: String,
    /// The address to listen on, `host:port`; empty turns the plain
    /// native listener off (if another listener is on).
    pub listen: String,
    /// A text file shown to every client once it has a nickname (IRC:
    /// 375/372/376); empty for none. Read at start and on each reload.
    pub motd_file: PathBuf,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            name: "chatroom".into(),
            listen: "0.0.0.0:5555".into(),
            motd_file: PathBuf::new(),
        }
    }
}

/// `[limits]`: every bound the server enforces.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Longest client line in bytes, terminator not counted.
    pub max_line_bytes: usize,
    /// Longest nickname.
    pub max_nick_len: usize,
    /// Longest room name, `#` not counted.
    pub max_room_len: usize,
    /// Most connections at once.
    pub max_clients: usize,
    /// Most rooms one client may be in.
    pub max_rooms_per_user: usize,
    /// Most members in one room.
    pub max_room_members: usize,
    /// Past nicknames kept for IRC's WHOWAS (the oldest is forgotten
    /// first; 0 keeps none).
    pub whowas_entries: usize,
    /// Flood control: lines allowed at once.
    pub flood_burst: u32,
    /// Flood control: lines per second refilled.
    pub flood_rate_per_sec: f64,
    /// Bytes a client's outgoing queue may hold before it is dropped.
    pub sendq_bytes: usize,
    /// Seconds of client silence before the server sends PING.
    pub ping_interval_secs: u64,
    /// Further seconds of silence before the client is dropped.
    pub ping_timeout_secs: u64,
    /// Most connections open at once from one address (an IPv6 /64).
    pub max_clients_per_ip: usize,
    /// New connections per second one address may open, refilled ...
    pub connects_per_ip_per_sec: f64,
    /// ... up to this many at once.
    pub connects_per_ip_burst: u32,
    /// Addresses and prefixes the per-address limits leave alone.
    pub exempt_ips: Vec<IpPrefix>,
    /// Password and key hashes computed at once (each takes a core).
    pub max_concurrent_hashes: usize,
    /// Hashes waiting for their turn; more are refused `TRY_LATER`.
    pub max_queued_hashes: usize,
    /// Wrong keys or passwords one connection may try before back-off.
    pub guess_failures_per_conn: u32,
    /// Wrong keys or passwords one address may try before back-off.
    pub guess_failures_per_ip: u32,
    /// Wrong keys or passwords for one room or account before back-off.
    pub guess_failures_per_target: u32,
    /// The first back-off, in milliseconds; it doubles with each failure.
    pub guess_backoff_ms: u64,
    /// The longest back-off, in seconds; failures this old are forgotten.
    pub guess_backoff_max_secs: u64,
    /// Most rooms on the server at once; a JOIN that would create one
    /// more is refused (`SERVER_ROOMS_FULL`).
    pub max_rooms: usize,
    /// Rooms one connection may create at once ...
    pub room_creates_burst: u32,
    /// ... and per minute after that (`RATE_LIMITED`).
    pub room_creates_per_min: f64,
    /// Rooms the connections of one IP address may create at once ...
    pub room_creates_per_ip_burst: u32,
    /// ... and per minute after that, all together (`RATE_LIMITED`).
    pub room_creates_per_ip_per_min: f64,
    /// Bytes that large replies waiting for their clients (LIST, HISTORY,
    /// WHO...) may hold together; past it a large reply is queued as any
    /// other, against the client's `sendq_bytes`.
    pub large_replies_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: 2048,
            max_nick_len: 24,
            max_room_len: 32,
            max_clients: 16_000,
            max_rooms_per_user: 32,
            max_room_members: 16_000,
            whowas_entries: 1000,
            flood_burst: 20,
            flood_rate_per_sec: 10.0,
            sendq_bytes: 256 * 1024,
            ping_interval_secs: 60,
            ping_timeout_secs: 30,
            max_clients_per_ip: 64,
            connects_per_ip_per_sec: 5.0,
            connects_per_ip_burst: 10,
            exempt_ips: limits::default_exempt(),
            max_concurrent_hashes: 1,
            max_queued_hashes: 16,
            guess_failures_per_conn: 3,
            guess_failures_per_ip: 10,
            guess_failures_per_target: 20,
            guess_backoff_ms: 1000,
            guess_backoff_max_secs: 300,
            max_rooms: 10_000,
            room_creates_burst: 32,
            room_creates_per_min: 10.0,
            room_creates_per_ip_burst: 64,
            room_creates_per_ip_per_min: 30.0,
            large_replies_bytes: 64 * 1024 * 1024,
        }
    }
}

/// `[files]`: shared files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    /// Where shared files are stored.
    pub dir: PathBuf,
    /// Largest file accepted, in bytes.
    pub max_bytes: u64,
    /// Seconds a file is kept.
    pub retention_secs: u64,
    /// Bytes all shared files may take together; the oldest go first.
    pub max_total_bytes: u64,
    /// Bytes one user, or one address, may upload per window.
    pub upload_quota_bytes: u64,
    /// The window of `upload_quota_bytes`, in seconds.
    pub upload_quota_window_secs: u64,
}

impl Default for FilesConfig {
    fn default() -> Self {
        FilesConfig {
            dir: PathBuf::from("data/files"),
            max_bytes: 32 * 1024 * 1024,
            retention_secs: 24 * 3600,
            max_total_bytes: 1024 * 1024 * 1024,
            upload_quota_bytes: 256 * 1024 * 1024,
            upload_quota_window_secs: 3600,
        }
    }
}

/// `[history]`: stored room messages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// Whether messages are stored.
    pub enabled: bool,
    /// The database file.
    pub db: PathBuf,
    /// Messages replayed to a joiner.
    pub on_join: u32,
    /// Most messages one HISTORY returns.
    pub max_fetch: u32,
    /// Seconds an empty room that never held a message, with no key and
    /// no topic, is kept before it is forgotten (memory and database);
    /// 0 keeps it forever.
    pub empty_room_secs: u64,
    /// Days a message is kept; 0 keeps messages forever.
    pub retention_days: u64,
    /// Messages kept per room, the oldest pruned first; 0 for no cap.
    pub max_messages_per_room: u64,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            enabled: true,
            db: PathBuf::from("data/history.db"),
            on_join: 20,
            max_fetch: 500,
            empty_room_secs: 3600,
            retention_days: 0,
            max_messages_per_room: 0,
        }
    }
}

/// `[log]`: logging.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug` or `trace` (or a tracing filter).
    pub level: String,
    /// Directory of the daily log files; empty for stderr only.
    pub dir: PathBuf,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            dir: PathBuf::from("logs"),
        }
    }
}

/// `[irc]`: the IRC listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IrcConfig {
    /// The address to listen on, `host:port`; empty turns IRC off.
    pub listen: String,
    /// The network's name (`NETWORK` in ISUPPORT, the welcome line).
    pub network: String,
    /// The message of the day, lines split on `\n`; empty for none.
    pub motd: String,
    /// The server password clients must give with PASS; empty for none.
    pub password: String,
    /// The address of the IRC-over-TLS listener, `host:port`; empty (the
    /// default) turns it off.
    pub tls_listen: String,
}

impl Default for IrcConfig {
    fn default() -> Self {
        IrcConfig {
            listen: "0.0.0.0:6667".into(),
            network: "chatroom".into(),
            motd: String::new(),
            password: String::new(),
            tls_listen: String::new(),
        }
    }
}

/// `[tls]`: the native protocol over TLS, and the certificate of every TLS
/// listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// The address of the native-over-TLS listener, `host:port`; empty
    /// (the default) turns it off.
    pub listen: String,
    /// The certificate chain, PEM, leaf first; empty (with `key` empty)
    /// for a self-signed certificate generated into `dir`.
    pub cert: PathBuf,
    /// The certificate's private key, PEM; set with `cert` or not at all.
    pub key: PathBuf,
    /// Where the self-signed certificate is generated and kept.
    pub dir: PathBuf,
    /// Seconds a client has to finish its TLS handshake.
    pub handshake_timeout_secs: u64,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            listen: String::new(),
            cert: PathBuf::new(),
            key: PathBuf::new(),
            dir: PathBuf::from("data/tls"),
            handshake_timeout_secs: 10,
        }
    }
}

/// `[http]`: the HTTP listener (the web client, its WebSocket, file links).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// The address to listen on, `host:port`; empty turns HTTP off.
    pub listen: String,
    /// The address to serve HTTPS on (the TLS certificate of `[tls]`);
    /// empty (the default) turns it off.
    pub tls_listen: String,
    /// Origins (`scheme://host[:port]`) whose pages may open the WebSocket,
    /// besides the server's own; `*` allows any.
    pub allowed_origins: Vec<String>,
    /// Largest request head (request line and headers), in bytes.
    pub max_header_bytes: usize,
    /// Seconds a client has to send a whole request head.
    pub header_timeout_secs: u64,
    /// Largest WebSocket message a client may send, in bytes.
    pub max_ws_message_bytes: usize,
    /// Most HTTP connections at once (WebSocket sessions count as clients).
    pub max_connections: usize,
}

/// The least `http.max_ws_message_bytes` may be: a FILE body chunk of a
/// browser (64 KiB).
pub const MIN_WS_MESSAGE_BYTES: usize = 64 * 1024;

/// The least `http.max_header_bytes` may be.
pub const MIN_HEADER_BYTES: usize = 1024;

/// The least read buffer the HTTP stack takes (however small the head
/// limit, which is checked on its own).
pub const MIN_HEADER_BUFFER: usize = 8192;

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "0.0.0.0:8080".into(),
            tls_listen: String::new(),
            allowed_origins: Vec::new(),
            max_header_bytes: 16 * 1024,
            header_timeout_secs: 10,
            max_ws_message_bytes: 1024 * 1024,
            max_connections: 1024,
        }
    }
}

/// `[admin]`: the operator's own listener (Prometheus metrics, health).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// The address serving `GET /metrics` and `GET /healthz`, `host:port`;
    /// empty turns it off. Keep it private: it is not authenticated.
    pub listen: String,
    /// A bearer token that also serves `GET /metrics` on the HTTP listener
    /// to `Authorization: Bearer <token>`; empty (the default) does not.
    pub token: String,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: "127.0.0.1:9555".into(),
            token: String::new(),
        }
    }
}

/// Whether anyone may `REGISTER` an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Anyone may.
    Open,
    /// Nobody may: accounts exist only if made while it was open.
    Closed,
}

/// `[accounts]`: user accounts (REGISTER, LOGIN), reserved nicknames,
/// rooms owned by accounts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsConfig {
    /// Whether accounts exist at all (they need `history.enabled`: they
    /// are stored in its database).
    pub enabled: bool,
    /// Every command but NICK, LOGIN, REGISTER, HELP, INFO, PING, PONG and
    /// QUIT needs a login (a private server).
    pub require_login: bool,
    /// Whether REGISTER is open.
    pub registration: Registration,
    /// Seconds a user may hold another account's nickname before being
    /// renamed (0: renamed at once).
    pub nick_grace_secs: u64,
    /// The shortest password REGISTER and PASSWD accept, in characters.
    pub min_password_len: usize,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            enabled: true,
            require_login: false,
            registration: Registration::Open,
            nick_grace_secs: 60,
            min_password_len: 8,
        }
    }
}

/// The shortest `admin.token` accepted.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

/// The longest password accepted, in bytes: argon2 hashes anything, but a
/// bound keeps a line of megabytes from being hashed.
pub const MAX_PASSWORD_BYTES: usize = 256;

impl Config {
    /// Loads defaults, then `file` (if any), then `CHATROOM_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(path) = file {
            builder = builder.add_source(
                config::File::from(path)
                    .format(config::FileFormat::Toml)
                    .required(true),
            );
        }
        builder = builder.add_source(
            config::Environment::with_prefix("CHATROOM")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true),
        );
        let config: Config = builder.build()?.try_deserialize()?;
        config.validate()?;
        Ok(config)
    }

    /// Parses a TOML text on top of the defaults (no environment).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()?
            .try_deserialize()?;
        config.validate()?;
        Ok(config)
    }

    /// The plain native listen address, parsed; `None` when it is off.
    pub fn listen_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        optional_addr("server.listen", &self.server.listen, "0.0.0.0:5555")
    }

    /// The IRC listen address, parsed; `None` when IRC is off.
    pub fn irc_listen_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        optional_addr("irc.listen", &self.irc.listen, "0.0.0.0:6667")
    }

    /// The native-over-TLS listen address, parsed; `None` when it is off.
    pub fn tls_listen_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        optional_addr("tls.listen", &self.tls.listen, "0.0.0.0:5556")
    }

    /// The IRC-over-TLS listen address, parsed; `None` when it is off.
    pub fn irc_tls_listen_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        optional_addr("irc.tls_listen", &self.irc.tls_listen, "0.0.0.0:6697")
    }

    /// Whether a TLS listener is on (`tls.listen`, `irc.tls_listen` or
    /// `http.tls_listen`).
    pub fn tls_listener_on(&self) -> bool {
        !self.tls.listen.is_empty()
            || !self.irc.tls_listen.is_empty()
            || !self.http.tls_listen.is_empty()
    }

    /// Whether a certificate is configured (`tls.cert` and `tls.key`).
    pub fn tls_cert_configured(&self) -> bool {
        !self.tls.cert.as_os_str().is_empty()
    }

    /// The HTTP listen address, parsed; `None` when HTTP is off.
    pub fn http_listen_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        optional_addr("http.listen", &self.http.listen, "0.0.0.0:8080")
    }

    /// The HTTPS listen address, parsed; `None` when it is off.
    pub fn https_listen_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        optional_addr("http.tls_listen", &self.http.tls_listen, "0.0.0.0:8443")
    }

    /// The admin listen address, parsed; `None` when it is off.
    pub fn admin_listen_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        optional_addr("admin.listen", &self.admin.listen, "127.0.0.1:9555")
    }

    /// Checks the `[admin]` keys.
    fn validate_admin(&self) -> Result<(), ConfigError> {
        self.admin_listen_addr()?;
        let token = &self.admin.token;
        if !token.is_empty()
            && (token.len() < MIN_ADMIN_TOKEN_LEN || !token.chars().all(|c| c.is_ascii_graphic()))
        {
            return Err(ConfigError::Invalid {
                key: "admin.token",
                why: format!(
                    "must be empty or at least {MIN_ADMIN_TOKEN_LEN} printable ASCII characters"
                ),
            });
        }
        Ok(())
    }

    /// Checks the `[http]` keys.
    fn validate_http(&self) -> Result<(), ConfigError> {
        let h = &self.http;
        self.http_listen_addr()?;
        self.https_listen_addr()?;
        if let Some(bad) = h
            .allowed_origins
            .iter()
            .find(|o| o.as_str() != "*" && !(o.starts_with("http://") || o.starts_with("https://")))
        {
            return Err(ConfigError::Invalid {
                key: "http.allowed_origins",
                why: format!("{bad:?} is not `*` nor an origin like https://chat.example.org"),
            });
        }
        let min = |key: &'static str, value: usize, min: usize| {
            if value < min {
                return Err(ConfigError::Invalid {
                    key,
                    why: format!("{value} is below the minimum of {min}"),
                });
            }
            Ok(())
        };
        min(
            "http.max_header_bytes",
            h.max_header_bytes,
            MIN_HEADER_BYTES,
        )?;
        // A text frame must hold a whole line, and a binary one a body chunk.
        min(
            "http.max_ws_message_bytes",
            h.max_ws_message_bytes,
            MIN_WS_MESSAGE_BYTES.max(self.limits.max_line_bytes + 1),
        )?;
        min("http.max_connections", h.max_connections, 1)?;
        if h.header_timeout_secs == 0 {
            return Err(ConfigError::Invalid {
                key: "http.header_timeout_secs",
                why: "must be at least 1".into(),
            });
        }
        Ok(())
    }

    /// Checks every range the server relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn at_least<T: PartialOrd + std::fmt::Display>(
            key: &'static str,
            value: T,
            min: T,
        ) -> Result<(), ConfigError> {
            if value < min {
                return Err(ConfigError::Invalid {
                    key,
                    why: format!("{value} is below the minimum of {min}"),
                });
            }
            Ok(())
        }
        fn at_most(key: &'static str, value: usize, max: usize) -> Result<(), ConfigError> {
            if value > max {
                return Err(ConfigError::Invalid {
                    key,
                    why: format!("{value} is above the maximum of {max}"),
                });
            }
            Ok(())
        }
        let l = &self.limits;
        self.validate_listeners()?;
        if !(1..=MAX_PASSWORD_BYTES).contains(&self.accounts.min_password_len) {
            return Err(ConfigError::Invalid {
                key: "accounts.min_password_len",
                why: format!("must be between 1 and {MAX_PASSWORD_BYTES}"),
            });
        }
        if self.accounts.require_login && !self.accounts.enabled {
            return Err(ConfigError::Invalid {
                key: "accounts.require_login",
                why: "needs accounts.enabled".into(),
            });
        }
        self.validate_http()?;
        operators::validate(&self.operators)?;
        self.validate_admin()?;
        if self.irc.network.is_empty() || self.irc.network.contains(char::is_whitespace) {
            return Err(ConfigError::Invalid {
                key: "irc.network",
                why: "must be one word".into(),
            });
        }
        if self.server.name.is_empty() || self.server.name.contains(char::is_whitespace) {
            return Err(ConfigError::Invalid {
                key: "server.name",
                why: "must be one word".into(),
            });
        }
        // A line must at least hold a command and a short argument.
        at_least("limits.max_line_bytes", l.max_line_bytes, 16)?;
        at_least("limits.max_nick_len", l.max_nick_len, 1)?;
        at_least("limits.max_room_len", l.max_room_len, 1)?;
        // Clients parse names from server lines with this bound.
        at_most("limits.max_nick_len", l.max_nick_len, MAX_NAME_LEN)?;
        at_most("limits.max_room_len", l.max_room_len, MAX_NAME_LEN)?;
        at_least("limits.max_clients", l.max_clients, 1)?;
        at_least("limits.max_rooms_per_user", l.max_rooms_per_user, 1)?;
        at_least("limits.max_room_members", l.max_room_members, 1)?;
        at_least("limits.flood_burst", l.flood_burst, 1)?;
        if !(l.flood_rate_per_sec > 0.0 && l.flood_rate_per_sec.is_finite()) {
            return Err(ConfigError::Invalid {
                key: "limits.flood_rate_per_sec",
                why: format!("{} must be a positive number", l.flood_rate_per_sec),
            });
        }
        // The queue must hold at least one maximal reply line.
        at_least("limits.sendq_bytes", l.sendq_bytes, 1024)?;
        at_least("limits.max_rooms", l.max_rooms, 1)?;
        at_least("limits.room_creates_burst", l.room_creates_burst, 1)?;
        at_least(
            "limits.room_creates_per_ip_burst",
            l.room_creates_per_ip_burst,
            1,
        )?;
        for (key, rate) in [
            ("limits.room_creates_per_min", l.room_creates_per_min),
            (
                "limits.room_creates_per_ip_per_min",
                l.room_creates_per_ip_per_min,
            ),
        ] {
            if !(rate > 0.0 && rate.is_finite()) {
                return Err(ConfigError::Invalid {
                    key,
                    why: format!("{rate} must be a positive number"),
                });
            }
        }
        at_least("limits.ping_interval_secs", l.ping_interval_secs, 1)?;
        at_least("limits.ping_timeout_secs", l.ping_timeout_secs, 1)?;
        self.validate_abuse_limits()?;
        self.validate_cluster()?;
        if self.files.dir.as_os_str().is_empty() {
            return Err(ConfigError::Invalid {
                key: "files.dir",
                why: "must not be empty".into(),
            });
        }
        if self.history.db.as_os_str().is_empty() {
            return Err(ConfigError::Invalid {
                key: "history.db",
                why: "must not be empty".into(),
            });
        }
        at_least("history.max_fetch", self.history.max_fetch, 1)?;
        // Past this, a day count overflows the clock's arithmetic.
        if self.history.retention_days > MAX_RETENTION_DAYS {
            return Err(ConfigError::Invalid {
                key: "history.retention_days",
                why: format!(
                    "{} is above the maximum of {MAX_RETENTION_DAYS} (0 keeps messages forever)",
                    self.history.retention_days
                ),
            });
        }
        if self.history.on_join > self.history.max_fetch {
            return Err(ConfigError::Invalid {
                key: "history.on_join",
                why: format!(
                    "{} is above history.max_fetch ({})",
                    self.history.on_join, self.history.max_fetch
                ),
            });
        }
        at_least(
            "tls.handshake_timeout_secs",
            self.tls.handshake_timeout_secs,
            1,
        )?;
        Ok(())
    }

    /// Every listen address parses, at least one listener is on, and
    /// `tls.cert` and `tls.key` come together.
    fn validate_listeners(&self) -> Result<(), ConfigError> {
        let on = [
            self.listen_addr()?,
            self.irc_listen_addr()?,
            self.tls_listen_addr()?,
            self.irc_tls_listen_addr()?,
            self.http_listen_addr()?,
            self.https_listen_addr()?,
        ];
        if on.iter().all(Option::is_none) {
            return Err(ConfigError::Invalid {
                key: "server.listen",
                why: "is empty, and so are irc.listen, tls.listen, irc.tls_listen, \
                      http.listen and http.tls_listen: at least one listener must be on"
                    .into(),
            });
        }
        let cert = !self.tls.cert.as_os_str().is_empty();
        let key = !self.tls.key.as_os_str().is_empty();
        if cert != key {
            let (key, other) = if cert {
                ("tls.key", "tls.cert")
            } else {
                ("tls.cert", "tls.key")
            };
            return Err(ConfigError::Invalid {
                key,
                why: format!(
                    "must be set with {other} (or both left empty, for a self-signed certificate)"
                ),
            });
        }
        if self.tls.dir.as_os_str().is_empty() {
            return Err(ConfigError::Invalid {
                key: "tls.dir",
                why: "must not be empty".into(),
            });
        }
        Ok(())
    }
}

/// The longest `history.retention_days` (about 27,000 years).
const MAX_RETENTION_DAYS: u64 = 10_000_000;

/// `value` parsed as the address of listener `key`, `None` if empty.
fn optional_addr(
    key: &'static str,
    value: &str,
    example: &str,
) -> Result<Option<SocketAddr>, ConfigError> {
    if value.is_empty() {
        return Ok(None);
    }
    value.parse().map(Some).map_err(|e| ConfigError::Invalid {
        key,
        why: format!("{value:?} is not an address like {example}, nor empty ({e})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(c.server.listen, "0.0.0.0:5555");
        assert_eq!(c.limits.max_line_bytes, 2048);
        assert_eq!(c.history.max_fetch, 500);
        assert_eq!(
            c.irc_listen_addr().unwrap(),
            Some(([0, 0, 0, 0], 6667).into())
        );
        let off = Config::from_toml("[irc]\nlisten = \"\"").unwrap();
        assert_eq!(off.irc_listen_addr().unwrap(), None);
        assert_eq!(
            c.http_listen_addr().unwrap(),
            Some(([0, 0, 0, 0], 8080).into())
        );
        let off = Config::from_toml("[http]\nlisten = \"\"").unwrap();
        assert_eq!(off.http_listen_addr().unwrap(), None);
        assert_eq!(c.tls_listen_addr().unwrap(), None);
        assert_eq!(c.irc_tls_listen_addr().unwrap(), None);
        assert!(!c.tls_listener_on());
    }

    #[test]
    fn tls_only_is_allowed() {
        let c = Config::from_toml(
            "[server]\nlisten = \"\"\n[irc]\nlisten = \"\"\ntls_listen = \"127.0.0.1:6697\"",
        )
        .unwrap();
        assert_eq!(c.listen_addr().unwrap(), None);
        assert_eq!(
            c.irc_tls_listen_addr().unwrap(),
            Some(([127, 0, 0, 1], 6697).into())
        );
        assert!(c.tls_listener_on());
        assert!(!c.tls_cert_configured());
    }

    #[test]
    fn shipped_default_toml_matches_built_in_defaults() {
        let shipped = Config::from_toml(include_str!("../config/default.toml")).unwrap();
        assert_eq!(
            format!("{shipped:?}"),
            format!("{:?}", Config::from_toml("").unwrap())
        );
    }

    #[test]
    fn file_values_override_defaults() {
        let c = Config::from_toml("[limits]\nmax_clients = 5\n[server]\nname = \"x\"").unwrap();
        assert_eq!(c.limits.max_clients, 5);
        assert_eq!(c.server.name, "x");
        assert_eq!(c.limits.max_nick_len, 24);
    }

    #[test]
    fn bad_configs_name_the_key() {
        let cases = [
            ("[limits]\nmax_line_bytes = 0", "limits.max_line_bytes"),
            ("[limits]\nmax_clients = \"many\"", "max_clients"),
            ("[limits]\nbogus = 1", "bogus"),
            ("[nope]\nx = 1", "nope"),
            ("[server]\nlisten = \"nowhere\"", "server.listen"),
            ("[irc]\nlisten = \"nowhere\"", "irc.listen"),
            ("[irc]\nnetwork = \"two words\"", "irc.network"),
            ("[http]\nlisten = \"nowhere\"", "http.listen"),
            (
                "[http]\nallowed_origins = [\"evil\"]",
                "http.allowed_origins",
            ),
            ("[http]\nmax_header_bytes = 100", "http.max_header_bytes"),
            (
                "[http]\nmax_ws_message_bytes = 1000",
                "http.max_ws_message_bytes",
            ),
            (
                "[http]\nheader_timeout_secs = 0",
                "http.header_timeout_secs",
            ),
            ("[tls]\nlisten = \"nowhere\"", "tls.listen"),
            ("[admin]\nlisten = \"9555\"", "admin.listen"),
            ("[admin]\ntoken = \"short\"", "admin.token"),
            ("[irc]\ntls_listen = \"6697\"", "irc.tls_listen"),
            ("[tls]\ncert = \"a.pem\"", "tls.key"),
            ("[tls]\nkey = \"a.pem\"", "tls.cert"),
            ("[tls]\ndir = \"\"", "tls.dir"),
            (
                "[accounts]\nmin_password_len = 0",
                "accounts.min_password_len",
            ),
            (
                "[accounts]\nenabled = false\nrequire_login = true",
                "accounts.require_login",
            ),
            ("[accounts]\nregistration = \"maybe\"", "registration"),
            (
                "[tls]\nhandshake_timeout_secs = 0",
                "tls.handshake_timeout_secs",
            ),
            (
                "[server]\nlisten = \"\"\n[irc]\nlisten = \"\"\n[http]\nlisten = \"\"",
                "at least one listener",
            ),
            (
                "[limits]\nflood_rate_per_sec = 0",
                "limits.flood_rate_per_sec",
            ),
            ("[limits]\nmax_rooms = 0", "limits.max_rooms"),
            (
                "[limits]\nroom_creates_burst = 0",
                "limits.room_creates_burst",
            ),
            (
                "[limits]\nroom_creates_per_min = -1",
                "limits.room_creates_per_min",
            ),
            (
                "[limits]\nroom_creates_per_ip_per_min = 0",
                "limits.room_creates_per_ip_per_min",
            ),
            (
                "[history]\nretention_days = 99999999",
                "history.retention_days",
            ),
        ];
        for (text, key) in cases {
            let err = Config::from_toml(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text:?} gave {err:?}");
        }
    }
}
