//! What the core offers every front end: the configuration and the rules
//! drawn from it, the directory of nicknames and rooms, the file index and
//! the message store.

use std::sync::Arc;
use std::time::Instant;

use actix::{Addr, MailboxError};
use bytes::Bytes;

use super::directory::{Creator, Directory, OpenRoom};
use super::error::ErrorCode;
use super::files::link::LinkSigner;
use super::files::FileStore;
use super::flood::FloodRule;
use super::names::NameLimits;
use super::names::RoomName;
use super::opers::ServerBans;
use super::room::{self, RoomHandle};
use super::store::StoredMessage;
use crate::config::{Config, Motd, SharedConfig};
use crate::core::store::Database;
use crate::transport::send_queue::PacedBudget;

/// Shared by every session of every front end.
pub struct Services {
    /// The configuration in force, which a reload replaces: read it with
    /// [`Services::config`] where a setting applies.
    pub live: SharedConfig,
    /// Unique nicknames and the rooms by name.
    pub directory: Addr<Directory>,
    /// The index of shared files.
    pub files: Addr<FileStore>,
    /// The message store, where history is kept.
    pub db: Option<Database>,
    /// When the server started.
    pub started: Instant,
    /// Issues and checks the download tokens of file links.
    pub links: LinkSigner,
    /// The server bans (KLINE) in force.
    pub bans: ServerBans,
    /// What large replies waiting for their clients hold together
    /// (`limits.large_replies_bytes`).
    pub large_replies: Arc<PacedBudget>,
}

/// What joining a room found.
pub struct Entered {
    /// The room's name as first spelled.
    pub name: RoomName,
    /// The room.
    pub addr: RoomHandle,
    /// The messages to replay to the joiner, oldest first.
    pub history: Vec<StoredMessage>,
    /// The `JOIN` and listing the joiner is to send itself, when it asked
    /// for them ([`room::Join::hand_back`]).
    pub welcome: Option<Bytes>,
    /// The room holds the member's events until [`room::Replayed`].
    pub held: bool,
}

impl Services {
    /// The configuration in force now. Read a setting from it when the
    /// setting applies (`core.config().limits.max_clients`), and keep no
    /// copy in long-lived state, so that a reload (SIGHUP) reaches it.
    pub fn config(&self) -> Arc<Config> {
        self.live.get()
    }

    /// The message of the day in force now (empty for none).
    pub fn motd(&self) -> Arc<Motd> {
        self.live.motd()
    }

    /// Name bounds for parsers, as configured now.
    pub fn names(&self) -> NameLimits {
        NameLimits::from_config(&self.live.load().limits)
    }

    /// Every connection's flood limits, as configured now.
    pub fn flood(&self) -> FloodRule {
        let config = self.live.load();
        FloodRule::new(config.limits.flood_burst, config.limits.flood_rate_per_sec)
    }

    /// Opens the room `name` and joins it as `join` says, then reads the
    /// history a joiner is replayed: what every front end's JOIN does.
    pub async fn enter_room(
        self: Arc<Self>,
        name: RoomName,
        join: room::Join,
        creator: Creator,
    ) -> Result<Entered, ErrorCode> {
        // A room that emptied and stopped a moment ago is replaced by a
        // fresh one on the next try.
        for _ in 0..8 {
            let addr = self
                .directory
                .send(OpenRoom {
                    name: name.clone(),
                    creator,
                })
                .await
                .map_err(|_| ErrorCode::Internal)??;
            let attempt = room::Join {
                member: join.member.clone(),
                nick: join.nick.clone(),
                userhost: join.userhost.clone(),
                realname: Arc::clone(&join.realname),
                key: join.key.clone(),
                hand_back: join.hand_back,
            };
            let joined = match addr.send(attempt).await {
                Ok(res) => res?,
                Err(MailboxError::Closed) => continue,
                Err(MailboxError::Timeout) => return Err(ErrorCode::Internal),
            };
            let on_join = self.live.load().history.on_join;
            let history = match (&self.db, joined.replay_upto) {
                (Some(db), Some(upto)) if upto > 0 && on_join > 0 => {
                    db.history(&joined.name, upto, on_join).await
                }
                _ => Vec::new(),
            };
            return Ok(Entered {
                name: joined.name,
                addr,
                history,
                welcome: joined.welcome,
                held: joined.held,
            });
        }
        Err(ErrorCode::Internal)
    }
}
