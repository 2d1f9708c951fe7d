//! The open sockets of every listener, counted for `limits.max_clients`
//! and for the shutdown's wait.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::net::SocketAddr;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tracing::warn;

use super::per_ip::{IpKey, IpRefusal, IpRules, PerIp};
use crate::config::Limits;
use crate::refusals::{refused, Limit};

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

/// The open sockets, and by address. (The sessions themselves are listed
/// by each front end's idle wheel.)
#[derive(Default)]
pub struct Connections {
    open: AtomicUsize,
    all_closed: Notify,
    /// Connections and connection rate per client address.
    pub per_ip: Arc<PerIp>,
}

impl Connections {
    /// Sockets open now, including ones still flushing before close.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Counts one more open socket, until the guard is dropped.
    pub fn open_socket(self: &Arc<Self>) -> SocketGuard {
        self.open_counted(None)
    }

    /// Counts one more open socket, and its place among its address's
    /// connections, until the guard is dropped.
    fn open_counted(self: &Arc<Self>, ip: Option<IpKey>) -> SocketGuard {
        self.open.fetch_add(1, Ordering::AcqRel);
        SocketGuard {
            connections: Arc::clone(self),
            ip,
        }
    }

    /// Counts a new client connection from `peer`, under the per-address
    /// rules of `limits` (`limits.max_clients_per_ip`, ...), and by its
    /// protocol and transport in `chatroom_connections` (until the second
    /// guard is dropped: the session keeps it, the socket's writer the
    /// first); or logs (throttled) and counts its refusal.
    pub fn admit(
        self: &Arc<Self>,
        peer: SocketAddr,
        limits: &Limits,
        protocol: Protocol,
        transport: Transport,
    ) -> Result<(SocketGuard, ConnectionGuard), IpRefusal> {
        let rules = IpRules::of(limits);
        match self.per_ip.admit(peer.ip(), &rules, Instant::now()) {
            Ok(slot) => Ok((
                self.open_counted(slot.into_key()),
                telemetry::connection(protocol, transport),
            )),
            Err(why) => {
                note_refusal(peer, why);
                Err(why)
            }
        }
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

/// Logs (throttled) and counts a connection refused for its address.
pub fn note_refusal(peer: SocketAddr, why: IpRefusal) {
    match why {
        IpRefusal::TooMany => refused(
            Limit::ClientsPerIp,
            format_args!("{peer}: too many connections from this address"),
        ),
        IpRefusal::TooFast => refused(
            Limit::ConnectsPerIp,
            format_args!("{peer}: this address connects too fast"),
        ),
    }
}

/// Counts one open socket until dropped (by the connection's writer,
/// the last thing to finish with it), and its place among its address's
/// connections.
///
/// Two words: every connection's link holds one, and the link must stay
/// in jemalloc's 160-byte class (see the size test below).
pub struct SocketGuard {
    connections: Arc<Connections>,
    /// Its address's place, given back when the guard goes (none for an
    /// exempt address, or a socket that is no client's yet).
    ip: Option<IpKey>,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        if let Some(key) = self.ip {
            self.connections.per_ip.release(key);
        }
        if self.connections.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.connections.all_closed.notify_waiters();
        }
    }
}
