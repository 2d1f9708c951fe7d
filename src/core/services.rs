//! What the core offers every front end: the configuration and the rules
//! drawn from it, the directory of nicknames and rooms, the file index and
//! the message store.

use std::sync::Arc;
use std::time::Instant;

use actix::Addr;

use super::directory::Directory;
use super::files::FileStore;
use super::flood::FloodRule;
use super::names::NameLimits;
use crate::config::Config;
use crate::core::store::Database;

/// Shared by every session of every front end.
pub struct Services {
    /// The configuration.
    pub config: Arc<Config>,
    /// Name bounds for parsers.
    pub names: NameLimits,
    /// Every connection's flood limits.
    pub flood: FloodRule,
    /// Unique nicknames and the rooms by name.
    pub directory: Addr<Directory>,
    /// The index of shared files.
    pub files: Addr<FileStore>,
    /// The message store, where history is kept.
    pub db: Option<Database>,
    /// When the server started.
    pub started: Instant,
}
