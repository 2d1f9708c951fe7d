//! The open sockets of every listener, counted for `limits.max_clients`
//! and for the shutdown's wait.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::net::SocketAddr;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tracing::warn;

use crate::telemetry::{self, ConnectionGuard, Protocol, Transport};

/// What carries a stream's bytes, for the `transport` label of
/// `chatroom_connections`.
pub trait Carried {
    /// The transport.
    const TRANSPORT: Transport;
}

impl Carried for TcpStream {
    const TRANSPORT: Transport = Transport::Tcp;
}

impl<S> Carried for tokio_rustls::server::TlsStream<S> {
    const TRANSPORT: Transport = Transport::Tls;
}

/// How long a refused connection is given to take its one line.
const REFUSAL_GRACE: Duration = Duration::from_secs(1);

/// Writes `line` (the protocol's "server full" answer) to a connection that
/// is not taken, then closes it, in the background and within a second: a
/// client that does not read costs no more than that.
pub fn refuse<S>(stream: S, line: impl AsRef<[u8]> + 'static)
where
    S: AsyncWrite + Unpin + 'static,
{
    actix::spawn(async move {
        let mut stream = stream;
        let _ = tokio::time::timeout(REFUSAL_GRACE, async {
            let _ = stream.write_all(line.as_ref()).await;
            let _ = stream.shutdown().await;
        })
        .await;
    });
}

/// Turns Nagle off: replies are small and latency matters more than
/// packet count.
pub fn no_delay(stream: &TcpStream, peer: SocketAddr) {
    if let Err(e) = stream.set_nodelay(true) {
        warn!(%e, %peer, "set_nodelay failed");
    }
}

/// The open sockets. (The sessions themselves are listed by each front
/// end's idle wheel.)
#[derive(Default)]
pub struct Connections {
    open: AtomicUsize,
    all_closed: Notify,
}

impl Connections {
    /// Sockets open now, including ones still flushing before close.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Counts one more open socket, until the guard is dropped.
    pub fn open_socket(self: &Arc<Self>) -> SocketGuard {
        self.open.fetch_add(1, Ordering::AcqRel);
        SocketGuard(Arc::clone(self), None)
    }

    /// Counts one more open client connection, by its protocol and
    /// transport in `chatroom_connections` too, until the guard is dropped.
    pub fn open_connection(
        self: &Arc<Self>,
        protocol: Protocol,
        transport: Transport,
    ) -> SocketGuard {
        let mut guard = self.open_socket();
        guard.1 = Some(telemetry::connection(protocol, transport));
        guard
    }

    /// Resolves once no socket is open.
    pub async fn all_closed(&self) {
        loop {
            let notified = self.all_closed.notified();
            if self.open() == 0 {
                break;
            }
            notified.await;
        }
    }
}

/// Counts one open socket until dropped (by the connection's writer,
/// the last thing to finish with it).
pub struct SocketGuard(Arc<Connections>, Option<ConnectionGuard>);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.all_closed.notify_waiters();
        }
    }
}
