//! The native front end as the server runs it: what its sessions share,
//! accepting a connection, the idle checks, and telling every session the
//! server is shutting down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::WeakAddr;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracing::{info, warn};

use super::render::Reply;
use super::session::{IdleCheck, RepliesByRoom, Session, Shared, Shutdown};
use super::verb::{ProtocolError, VerbTag};
use crate::core::services::Services;
use crate::core::ErrorCode;
use crate::transport::connections::Connections;
use crate::transport::idle::IdleWheel;

/// How late an idle check may be.
const IDLE_TICK: Duration = Duration::from_millis(250);

/// The native front end: its sessions' shared state.
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

    /// Starts a session for a freshly accepted connection, or tells the
    /// client the server is full and closes it.
    pub fn accept(&self, stream: TcpStream, peer: SocketAddr) {
        // Replies are small and latency matters more than packet count.
        if let Err(e) = stream.set_nodelay(true) {
            warn!(%e, %peer, "set_nodelay failed");
        }
        if self.0.connections.open() >= self.0.core.config.limits.max_clients {
            info!(%peer, "refused: server full");
            let line = Reply::Err(ProtocolError::new(
                VerbTag::Star,
                ErrorCode::ServerFull,
                "the server is full, try again later",
            ))
            .to_line();
            actix::spawn(async move {
                let mut stream = stream;
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    let _ = stream.write_all(&line).await;
                    let _ = stream.shutdown().await;
                })
                .await;
            });
            return;
        }
        let guard = self.0.connections.open_socket();
        Session::start(stream, peer, guard, Arc::clone(&self.0));
    }

    /// How often [`NativeFrontEnd::check_idle`] should run.
    pub fn idle_tick(&self) -> Duration {
        self.0.idle.tick()
    }

    /// Tells every session whose idle check is due.
    pub fn check_idle(&self) {
        for session in self.0.idle.take_due(Instant::now()) {
            if let Some(session) = session.upgrade() {
                session.do_send(IdleCheck);
            }
        }
    }

    /// Tells every session the server is shutting down.
    pub fn shut_down(&self) {
        // Every session is on the idle wheel (or is handling its check, and
        // will find the wheel closed when it schedules the next one).
        let sessions = self.0.idle.close();
        for session in sessions.iter().filter_map(WeakAddr::upgrade) {
            session.do_send(Shutdown);
        }
    }
}
