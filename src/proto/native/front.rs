//! The native front end as the server runs it: what its sessions share,
//! accepting a connection, the idle checks, and telling every session the
//! server is shutting down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tracing::info;

use super::render::Reply;
use super::session::{RepliesByRoom, Session, Shared};
use super::verb::{ProtocolError, VerbTag};
use crate::core::services::Services;
use crate::core::{ErrorCode, UserHost};
use crate::telemetry::Protocol;
use crate::transport::connections::{self, Carried, Connections};
use crate::transport::idle::IdleWheel;
use crate::transport::per_ip::IpRefusal;

/// How late an idle check may be.
const IDLE_TICK: Duration = Duration::from_millis(250);

/// The native front end: its sessions' shared state (a handle: clones share it).
#[derive(Clone)]
pub struct NativeFrontEnd(Arc<Shared>);

impl NativeFrontEnd {
    /// The front end over `core`, counting sockets in `connections`.
    pub fn new(core: Arc<Services>, connections: Arc<Connections>) -> Self {
        NativeFrontEnd(Arc::new(Shared {
            core,
            connections,
            idle: IdleWheel::new(IDLE_TICK),
            replies: RepliesByRoom::default(),
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
        let native = UserHost::native();
        if let Some(ban) = self.0.core.bans.find(Some(native.user()), peer.ip()) {
            info!(%peer, mask = %ban.mask, "refused: server ban");
            let line = Reply::Err(ProtocolError::new(
                VerbTag::Star,
                ErrorCode::ServerBanned,
                ban.reason,
            ))
            .to_line();
            connections::refuse(stream, line);
            return;
        }
        if self.0.connections.open() >= self.0.core.config().limits.max_clients {
            info!(%peer, "refused: server full");
            let line = Reply::Err(ProtocolError::new(
                VerbTag::Star,
                ErrorCode::ServerFull,
                "the server is full, try again later",
            ))
            .to_line();
            connections::refuse(stream, line);
            return;
        }
        let guard = match self.0.connections.admit(
            peer,
            &self.0.core.config().limits,
            Protocol::Native,
            S::TRANSPORT,
        ) {
            Ok(guard) => guard,
            Err(why) => {
                let text = match why {
                    IpRefusal::TooMany => "too many connections from your address",
                    IpRefusal::TooFast => {
                        "connecting too fast from your address, try again in a moment"
                    }
                };
                let line = Reply::Err(ProtocolError::new(
                    VerbTag::Star,
                    ErrorCode::TooManyConnections,
                    text,
                ))
                .to_line();
                connections::refuse(stream, line);
                return;
            }
        };
        Session::start(stream, peer, guard, Arc::clone(&self.0));
    }

    /// How often [`NativeFrontEnd::check_idle`] should run.
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
