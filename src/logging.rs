//! Logging: tracing to stderr and to a daily-rolling file.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

use crate::config::LogConfig;

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// `log.level` (or `RUST_LOG`) is not a valid filter.
    #[error("configuration key `log.level`: {0}")]
    BadLevel(String),
    /// The log directory could not be created.
    #[error("configuration key `log.dir`: cannot create {dir}: {source}")]
    Dir {
        /// The directory.
        dir: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A global subscriber was already set.
    #[error("logging already initialised: {0}")]
    Init(String),
}

/// Starts logging; keep the guard alive until exit so the file is flushed.
pub fn init(config: &LogConfig) -> Result<Option<WorkerGuard>, LogError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(env) if !env.is_empty() => EnvFilter::try_new(env),
        _ => EnvFilter::try_new(&config.level),
    }
    .map_err(|e| LogError::BadLevel(e.to_string()))?;
    let stderr = fmt::layer().with_writer(std::io::stderr);
    if config.dir.as_os_str().is_empty() {
        tracing_subscriber::registry()
            .with(stderr.with_filter(filter))
            .try_init()
            .map_err(|e| LogError::Init(e.to_string()))?;
        return Ok(None);
    }
    std::fs::create_dir_all(&config.dir).map_err(|source| LogError::Dir {
        dir: config.dir.display().to_string(),
        source,
    })?;
    let appender = tracing_appender::rolling::daily(&config.dir, "chatroom.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let file = fmt::layer().with_ansi(false).with_writer(writer);
    tracing_subscriber::registry()
        .with(stderr.and_then(file).with_filter(filter))
        .try_init()
        .map_err(|e| LogError::Init(e.to_string()))?;
    Ok(Some(guard))
}
