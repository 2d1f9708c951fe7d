//! What SIGHUP does: reads the configuration file again and puts what may
//! change while the server runs in force (limits, MOTD, log level, ...),
//! without touching a connection; then reloads the TLS certificate.
//!
//! The new file is checked whole before anything changes: a parse or
//! validation error refuses it, with the reason in the log, and the old
//! configuration stays. Keys read only at start-up
//! ([`FIXED_KEYS`](crate::config::FIXED_KEYS): listen addresses, where
//! data lives, ...) keep their old value, and each one the file changed is
//! named in a warning.

use std::path::PathBuf;

use tracing::{error, info, warn};

use crate::config::{keep_fixed, Config, ConfigError, Motd, SharedConfig};
use crate::logging::{LevelHandle, LogError};
use crate::telemetry;
use crate::transport::tls::TlsAcceptorHandle;

/// Why a reload was refused (the old configuration stays).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file cannot be read, parsed or validated.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `log.level` is not a filter.
    #[error(transparent)]
    Log(#[from] LogError),
}

/// What a reload did.
#[derive(Debug, Default)]
pub struct Reloaded {
    /// The keys the file changed that only a restart applies.
    pub ignored: Vec<&'static str>,
}

/// Reloads a running server's configuration from where it was loaded.
pub struct Reloader {
    live: SharedConfig,
    file: Option<PathBuf>,
    listen: Option<String>,
    tls: Option<TlsAcceptorHandle>,
    level: Option<LevelHandle>,
}

impl Reloader {
    /// Reloads into `live` from `file` (defaults and `CHATROOM_*`
    /// variables on top, as at start-up).
    pub fn new(live: SharedConfig, file: Option<PathBuf>) -> Self {
        Reloader {
            live,
            file,
            listen: None,
            tls: None,
            level: None,
        }
    }

    /// `--listen`, which overrides `server.listen` on every load.
    pub fn with_listen(mut self, listen: Option<String>) -> Self {
        self.listen = listen;
        self
    }

    /// The certificate each reload reads again.
    pub fn with_tls(mut self, tls: Option<TlsAcceptorHandle>) -> Self {
        self.tls = tls;
        self
    }

    /// What applies a changed `log.level`.
    pub fn with_log_level(mut self, level: LevelHandle) -> Self {
        self.level = Some(level);
        self
    }

    /// Reloads (reads files: call it off the actors' thread), logging how
    /// it went; the TLS certificate is read again even when the file is
    /// refused (a renewed certificate is not configuration).
    pub fn reload(&self) -> Result<Reloaded, ReloadError> {
        let file = self
            .file
            .as_ref()
            .map_or_else(|| "(no file)".to_string(), |f| f.display().to_string());
        info!(%file, "reloading the configuration");
        let result = self.apply();
        match &result {
            Ok(done) => {
                telemetry::reloaded(true);
                info!(
                    %file,
                    ignored = done.ignored.len(),
                    "configuration reloaded"
                );
            }
            Err(e) => {
                telemetry::reloaded(false);
                error!(%file, "configuration not reloaded, the old one stays: {e}");
            }
        }
        if let Some(tls) = &self.tls {
            // It logs how it went, and keeps the old certificate on error.
            let _ = tls.reload();
        }
        result
    }

    fn apply(&self) -> Result<Reloaded, ReloadError> {
        let mut new = Config::load(self.file.as_deref())?;
        if let Some(listen) = &self.listen {
            new.server.listen = listen.clone();
        }
        let old = self.live.get();
        let (new, ignored) = keep_fixed(&old, new);
        new.validate()?;
        crate::logging::parse_level(&new.log.level)?;
        for key in &ignored {
            warn!(
                key,
                "configuration key `{key}` cannot change while the server runs: \
                 restart to apply it; keeping the old value"
            );
        }
        if new.log.level != old.log.level {
            if let Some(level) = &self.level {
                match level.set(&new.log.level)? {
                    true => info!(level = %new.log.level, "log level changed"),
                    false => warn!("log.level changed, but RUST_LOG set the level: kept"),
                }
            }
        }
        let motd = Motd::of(&new);
        self.live.replace(new, motd);
        Ok(Reloaded { ignored })
    }
}
