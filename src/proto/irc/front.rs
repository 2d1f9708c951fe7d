//! The IRC front end as the server runs it: what its sessions share (the
//! server's name, ISUPPORT, encodings), accepting a connection, the idle
//! checks, and telling every session the server is shutting down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tracing::info;

use super::command::MAX_TARGETS;
use super::render::{IrcEncodings, Numeric, Server, ServerLine};
use super::session::{Session, Shared, CHATHISTORY_MAX, KEYLEN, TOPICLEN};
use crate::core::names;
use crate::core::opers::banned_reason;
use crate::core::services::Services;
use crate::telemetry::Protocol;
use crate::transport::connections::{self, Carried, Connections};
use crate::transport::idle::IdleWheel;
use crate::transport::per_ip::IpRefusal;

/// How late an idle check may be.
const IDLE_TICK: Duration = Duration::from_millis(250);

/// The `005` tokens: what this server really does, under the
/// configuration in force (a reload may change the limits they show).
pub(super) fn isupport(core: &Services) -> Vec<String> {
    let config = core.config();
    let limits = &config.limits;
    let t = MAX_TARGETS;
    let mut tokens = vec![
        // How the core folds nicknames, as it names it (`core::names`).
        format!("CASEMAPPING={}", names::CASEMAPPING),
        format!("CHANLIMIT=#:{}", limits.max_rooms_per_user),
        // Type A: b; type B: k; type C: l; type D: i, n, s and t. Prefix
        // modes (o) are listed in PREFIX.
        "CHANMODES=b,k,l,inst".into(),
        format!("CHANNELLEN={}", limits.max_room_len + 1),
        "CHANTYPES=#".into(),
        format!("KEYLEN={KEYLEN}"),
        format!("MAXTARGETS={t}"),
        format!("NETWORK={}", config.irc.network),
        format!("NICKLEN={}", limits.max_nick_len),
        "PREFIX=(o)@".into(),
        format!("TARGMAX=PRIVMSG:{t},NOTICE:{t},JOIN:{t},KICK:{t},PART:,NAMES:,LIST:"),
        format!("TOPICLEN={TOPICLEN}"),
        "USERLEN=11".into(),
        "UTF8ONLY".into(),
        format!("UTF8MAPPING={}", names::UTF8MAPPING),
    ];
    if core.db.is_some() {
        // CHATHISTORY reads the store: advertised where history is kept.
        tokens.push(format!("CHATHISTORY={CHATHISTORY_MAX}"));
        tokens.push("MSGREFTYPES=timestamp,msgid".into());
        tokens.sort();
    }
    tokens
}

/// The IRC front end: its sessions' shared state (a handle: clones share it).
#[derive(Clone)]
pub struct IrcFrontEnd(Arc<Shared>);

impl IrcFrontEnd {
    /// The front end over `core`, counting sockets in `connections`.
    pub fn new(core: Arc<Services>, connections: Arc<Connections>) -> Self {
        let config = core.config();
        let server = Server {
            name: Arc::from(config.server.name.as_str()),
            network: Arc::from(config.irc.network.as_str()),
        };
        IrcFrontEnd(Arc::new(Shared {
            encodings: IrcEncodings::new(&server),
            server,
            core,
            connections,
            idle: IdleWheel::new(IDLE_TICK),
            created: SystemTime::now(),
        }))
    }

    /// Starts a session for a freshly accepted TCP connection, or tells
    /// the client the server is full and closes it.
    pub fn accept_tcp(&self, stream: TcpStream, peer: SocketAddr) {
        connections::no_delay(&stream, peer);
        self.accept(stream, peer);
    }

    /// Starts a session on any byte stream (plain TCP, TLS, ...), or tells
    /// the client the server is full and closes it.
    pub fn accept<S>(&self, stream: S, peer: SocketAddr)
    where
        S: AsyncRead + AsyncWrite + Carried + Unpin + 'static,
    {
        // The user name is not known before USER: masks naming one are
        // checked when registration ends.
        if let Some(ban) = self.0.core.bans.find(None, peer.ip()) {
            info!(%peer, mask = %ban.mask, "refused: server ban");
            let mut line = Numeric::YoureBannedCreep(ban.reason.clone())
                .to_line(&self.0.server, "*")
                .to_vec();
            let text = format!(
                "Closing Link: {} ({})",
                peer.ip(),
                banned_reason(&ban.reason)
            );
            line.extend_from_slice(&ServerLine::Error(text).to_line(&self.0.server, "*"));
            connections::refuse(stream, line);
            return;
        }
        if self.0.connections.open() >= self.0.core.config().limits.max_clients {
            info!(%peer, "refused: server full");
            let line = ServerLine::Error("Closing Link: (Server is full, try again later)".into())
                .to_line(&self.0.server, "*");
            connections::refuse(stream, line);
            return;
        }
        let guard = match self.0.connections.admit(
            peer,
            &self.0.core.config().limits,
            Protocol::Irc,
            S::TRANSPORT,
        ) {
            Ok(guard) => guard,
            Err(why) => {
                let text = match why {
                    IpRefusal::TooMany => "Closing Link: (Too many connections from your address)",
                    IpRefusal::TooFast => {
                        "Closing Link: (Connecting too fast from your address, try again in a moment)"
                    }
                };
                let line = ServerLine::Error(text.into()).to_line(&self.0.server, "*");
                connections::refuse(stream, line);
                return;
            }
        };
        Session::start(stream, peer, guard, Arc::clone(&self.0));
    }

    /// How often [`IrcFrontEnd::check_idle`] should run.
    pub fn idle_tick(&self) -> Duration {
        self.0.idle.tick()
    }

    /// Tells every session whose idle check is due.
    pub fn check_idle(&self) {
        self.0.idle.check_due(Instant::now());
    }

    /// Tells every session the server is shutting down.
    pub fn shut_down(&self) {
        self.0.idle.shut_down_all();
    }
}
