//! The HTTP front end: the web client's page and assets at `/`, the
//! WebSocket at `/ws` that carries a native or IRC session, and shared
//! files at `/files/<id>?token=…` for whoever holds a `LINK` token.
//!
//! Built on hyper's HTTP/1 server and tokio-tungstenite, both driven as
//! plain futures: each connection is a task spawned with `actix::spawn`
//! on the server's one actix thread, where the sessions and rooms live.
//! A WebSocket is handed, as a byte stream
//! ([`WebSocketLink`](crate::transport::websocket::WebSocketLink)), to the
//! same front end as a TCP connection, so it is the same session: same
//! limits, flood control, send queue and ping timeout.
//!
//! - `routes`: which route answers a request, and the error answers.
//! - `assets`: the embedded files of `web/` and the page's policy.
//! - `upgrade` and `origin`: the WebSocket handshake and who may make it.
//! - `files`, `media` and `range`: downloads.
//!
//! Only fixed routes exist (nothing maps a path to the file system), the
//! request head is bounded in size and in time (`http.max_header_bytes`,
//! `http.header_timeout_secs`), no request body is ever read, and at most
//! `http.max_connections` connections are served at once.

mod assets;
mod files;
mod media;
mod origin;
mod range;
mod routes;
mod upgrade;

use std::cell::Cell;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tracing::{debug, info};

use crate::config::MIN_HEADER_BUFFER;
use crate::core::services::Services;
use crate::proto::irc::front::IrcFrontEnd;
use crate::proto::native::front::NativeFrontEnd;
use crate::transport::connections;

/// What a connection refused for lack of room is told.
const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// What every HTTP connection shares.
struct Shared {
    core: Arc<Services>,
    native: NativeFrontEnd,
    /// `None` when IRC is off: the IRC subprotocols are not offered.
    irc: Option<IrcFrontEnd>,
    /// HTTP connections open now.
    open: Cell<usize>,
}

/// The HTTP front end.
#[derive(Clone)]
pub struct HttpFrontEnd(Rc<Shared>);

/// Counts one open HTTP connection until dropped.
struct Open(Rc<Shared>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.set(self.0.open.get() - 1);
    }
}

impl HttpFrontEnd {
    /// The front end over `core`, handing WebSockets to `native` or, for
    /// the IRCv3 subprotocols, to `irc` (unless IRC is off).
    pub fn new(core: Arc<Services>, native: NativeFrontEnd, irc: Option<IrcFrontEnd>) -> Self {
        HttpFrontEnd(Rc::new(Shared {
            core,
            native,
            irc,
            open: Cell::new(0),
        }))
    }

    /// Serves a freshly accepted TCP connection.
    pub fn accept_tcp(&self, stream: TcpStream, peer: SocketAddr) {
        connections::no_delay(&stream, peer);
        self.serve(stream, peer);
    }

    /// Serves HTTP on any byte stream (plain TCP, TLS, ...) in a task of
    /// its own on this thread, until the client closes, a request head
    /// times out, or the connection becomes a WebSocket.
    pub fn serve<S>(&self, io: S, peer: SocketAddr)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let http = &self.0.core.config().http;
        if self.0.open.get() >= http.max_connections {
            info!(%peer, "HTTP refused: too many connections");
            connections::refuse(io, BUSY);
            return;
        }
        self.0.open.set(self.0.open.get() + 1);
        let open = Open(Rc::clone(&self.0));
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(http.header_timeout_secs))
            .max_header_size(http.max_header_bytes)
            .max_buf_size(http.max_header_bytes.max(MIN_HEADER_BUFFER));
        let front = self.clone();
        let service = service_fn(move |req| {
            let front = front.clone();
            async move { Ok::<_, Infallible>(routes::answer(&front, req, peer).await) }
        });
        actix::spawn(async move {
            let served = builder
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades()
                .await;
            if let Err(e) = served {
                debug!(%peer, %e, "HTTP connection ended");
            }
            drop(open);
        });
    }
}
