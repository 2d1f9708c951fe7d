//! Logging: tracing to stderr and to a daily-rolling file, its level
//! changeable while the server runs (a reload of `log.level`).

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, reload, EnvFilter, Layer, Registry};

use crate::config::LogConfig;

/// Why logging could not start, or its level not change.
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

/// `level` as a filter, or why it is not one.
pub fn parse_level(level: &str) -> Result<EnvFilter, LogError> {
    EnvFilter::try_new(level).map_err(|e| LogError::BadLevel(e.to_string()))
}

/// Logging as started: keep it alive until exit so the file is flushed.
pub struct Logging {
    _guard: Option<WorkerGuard>,
    level: LevelHandle,
}

impl Logging {
    /// What changes the level while the server runs.
    pub fn level(&self) -> LevelHandle {
        self.level.clone()
    }
}

/// Changes the level of every log output (clones share it).
#[derive(Clone)]
pub struct LevelHandle {
    filter: reload::Handle<EnvFilter, Registry>,
    /// `RUST_LOG` was set at start-up: it wins over `log.level`.
    pinned: bool,
}

impl LevelHandle {
    /// Filters logs by `level` from now on; `Ok(false)` when `RUST_LOG`
    /// set the level at start-up, which a reload leaves as it is.
    pub fn set(&self, level: &str) -> Result<bool, LogError> {
        let filter = parse_level(level)?;
        if self.pinned {
            return Ok(false);
        }
        self.filter
            .reload(filter)
            .map_err(|e| LogError::Init(e.to_string()))?;
        Ok(true)
    }
}

/// Starts logging.
pub fn init(config: &LogConfig) -> Result<Logging, LogError> {
    let (filter, pinned) = match std::env::var("RUST_LOG") {
        Ok(env) if !env.is_empty() => (parse_level(&env)?, true),
        _ => (parse_level(&config.level)?, false),
    };
    let (filter, handle) = reload::Layer::new(filter);
    let level = LevelHandle {
        filter: handle,
        pinned,
    };
    let stderr = fmt::layer().with_writer(std::io::stderr);
    if config.dir.as_os_str().is_empty() {
        tracing_subscriber::registry()
            .with(stderr.with_filter(filter))
            .try_init()
            .map_err(|e| LogError::Init(e.to_string()))?;
        return Ok(Logging {
            _guard: None,
            level,
        });
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
    Ok(Logging {
        _guard: Some(guard),
        level,
    })
}
