//! The TLS handshakes of a server's listeners: each accepted socket's
//! handshake runs in a task of its own, so a slow or silent client never
//! holds up the accept loop, and is bounded by the handshake timeout.
//!
//! A socket in its handshake counts against `limits.max_clients` like an
//! open connection: a flood of clients that never finish cannot hold more
//! sockets than that, and each holds its slot for at most the timeout. When
//! the server is full, a new TLS socket is closed at once, before any
//! handshake (it could not read the protocol's "server full" line anyway,
//! and a handshake is the expensive part of TLS). A socket whose handshake
//! fails is closed and logged at debug; nothing else remembers it. The
//! per-address limits (`limits.max_clients_per_ip`, the connection rate)
//! close a socket before its handshake too.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use super::TlsAcceptorHandle;
use crate::config::SharedConfig;
use crate::transport::connections::{self, Connections};
use crate::transport::per_ip::IpRules;

/// Runs the handshakes of a server's TLS listeners.
pub struct Handshakes {
    tls: TlsAcceptorHandle,
    connections: Arc<Connections>,
    /// `limits.max_clients`, read at each connection.
    config: SharedConfig,
    stop: CancellationToken,
}

impl Handshakes {
    /// Handshakes with `tls`'s certificate, their sockets counted in
    /// `connections` against `limits.max_clients` as `config` has it.
    pub fn new(
        tls: TlsAcceptorHandle,
        connections: Arc<Connections>,
        config: SharedConfig,
    ) -> Self {
        Handshakes {
            tls,
            connections,
            config,
            stop: CancellationToken::new(),
        }
    }

    /// Runs the handshake on a freshly accepted `stream` in a task of the
    /// current actix arbiter, then hands the TLS stream to `then` (a front
    /// end's `accept`). Returns at once.
    pub fn start<F>(&self, stream: TcpStream, peer: SocketAddr, then: F)
    where
        F: FnOnce(TlsStream<TcpStream>, SocketAddr) + 'static,
    {
        let config = self.config.load();
        if self.connections.open() >= config.limits.max_clients {
            info!(%peer, "refused before the TLS handshake: server full");
            return;
        }
        // Over its address's limits (`limits.max_clients_per_ip`, the
        // connection rate): closed before any handshake too. During its
        // handshake a socket holds a place among its address's
        // connections; its front end charges the rate.
        let rules = IpRules::of(&config.limits);
        let per_ip = &self.connections.per_ip;
        let now = Instant::now();
        let held = per_ip
            .check(peer.ip(), &rules, now)
            .and_then(|()| per_ip.hold(peer.ip(), &rules, now));
        let held = match held {
            Ok(held) => held,
            Err(why) => return connections::note_refusal(peer, why),
        };
        drop(config);
        connections::no_delay(&stream, peer);
        let slot = (self.connections.open_socket(), held);
        let tls = self.tls.clone();
        let stop = self.stop.clone();
        actix::spawn(async move {
            let done = tokio::select! {
                done = tls.accept(stream) => done,
                () = stop.cancelled() => return,
            };
            // Given back just before the front end counts the connection
            // again, with no await in between: no other accept can take
            // the slot meanwhile on this thread.
            drop(slot);
            match done {
                Ok(stream) => then(stream, peer),
                Err(e) => debug!(%peer, %e, "TLS handshake failed"),
            }
        });
    }

    /// Drops every socket still in its handshake (at shutdown).
    pub fn stop(&self) {
        self.stop.cancel();
    }
}
