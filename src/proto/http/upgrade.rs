//! The WebSocket handshake at `/ws` (RFC 6455 §4.2): checks the request,
//! the page's origin, picks the protocol from `Sec-WebSocket-Protocol`,
//! answers 101, and once hyper hands over the connection starts the
//! session on it.
//!
//! No subprotocol, or `chatroom`, is the native protocol; `text.ircv3.net`
//! and `binary.ircv3.net` (the IRCv3 WebSocket spec) are IRC, lines as
//! text or binary messages, offered while the IRC front end is on.

use std::net::SocketAddr;

use hyper::body::Incoming;
use hyper::header::{
    HeaderMap, HeaderValue, CONNECTION, ORIGIN, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use tracing::{debug, info};

use super::routes::{empty, host, plain, Body};
use super::{origin, HttpFrontEnd};
use crate::proto::irc::codec::IrcFraming;
use crate::proto::native::framing::NativeFraming;
use crate::transport::websocket::{Lines, WebSocketLink};

/// Bytes the WebSocket reads from the socket at once (allocated per
/// connection for its whole life: small, as most are idle).
const READ_BUFFER: usize = 8 * 1024;

/// Who a WebSocket is handed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// The native line protocol (no subprotocol asked, or `chatroom`).
    Native(Option<&'static str>),
    /// IRC, lines in text messages (`text.ircv3.net`).
    IrcText,
    /// IRC, lines in binary messages (`binary.ircv3.net`).
    IrcBinary,
}

impl Protocol {
    /// The `Sec-WebSocket-Protocol` answered.
    fn name(self) -> Option<&'static str> {
        match self {
            Protocol::Native(name) => name,
            Protocol::IrcText => Some("text.ircv3.net"),
            Protocol::IrcBinary => Some("binary.ircv3.net"),
        }
    }
}

/// The first protocol the client offers that is served here; the native
/// one when it offers none of them.
fn choose(headers: &HeaderMap, irc: bool) -> Protocol {
    let offered = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim);
    for name in offered {
        match name {
            "chatroom" => return Protocol::Native(Some("chatroom")),
            "text.ircv3.net" if irc => return Protocol::IrcText,
            "binary.ircv3.net" if irc => return Protocol::IrcBinary,
            _ => {}
        }
    }
    Protocol::Native(None)
}

/// Whether header `name` lists `token` (comma-separated, any case).
fn has_token(headers: &HeaderMap, name: hyper::header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Answers a `GET /ws`: 101 and the session, or why not.
pub(super) fn upgrade(
    front: &HttpFrontEnd,
    mut req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let headers = req.headers();
    if !has_token(headers, UPGRADE, "websocket") || !has_token(headers, CONNECTION, "upgrade") {
        let mut res = plain(StatusCode::UPGRADE_REQUIRED);
        res.headers_mut()
            .insert(UPGRADE, HeaderValue::from_static("websocket"));
        return res;
    }
    if headers
        .get(SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut res = plain(StatusCode::UPGRADE_REQUIRED);
        res.headers_mut()
            .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return res;
    }
    let Some(key) = headers.get(SEC_WEBSOCKET_KEY) else {
        return plain(StatusCode::BAD_REQUEST);
    };
    let accept = derive_accept_key(key.as_bytes());
    let origin_header = headers.get(ORIGIN).map(|o| o.to_str().unwrap_or("null"));
    let shared = &front.0;
    if !origin::allowed(
        origin_header,
        host(&req),
        &shared.core.config().http.allowed_origins,
    ) {
        info!(%peer, origin = origin_header.unwrap_or(""), "WebSocket refused: origin");
        return plain(StatusCode::FORBIDDEN);
    }
    let protocol = choose(headers, shared.irc.is_some());
    let on_upgrade = hyper::upgrade::on(&mut req);
    let front = front.clone();
    actix::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => return debug!(%peer, %e, "WebSocket upgrade failed"),
        };
        let limit = front.0.core.config().http.max_ws_message_bytes;
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            // Every message is written at once: the session's queue is
            // the buffer, and it is bounded.
            .write_buffer_size(0)
            .max_message_size(Some(limit))
            .max_frame_size(Some(limit));
        let ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        debug!(%peer, ?protocol, "WebSocket open");
        let shared = &front.0;
        match (protocol, &shared.irc) {
            (Protocol::IrcText, Some(irc)) => {
                irc.accept(WebSocketLink::new(ws, Lines::Text, IrcFraming), peer)
            }
            (Protocol::IrcBinary, Some(irc)) => {
                irc.accept(WebSocketLink::new(ws, Lines::Binary, IrcFraming), peer)
            }
            _ => shared
                .native
                .accept(WebSocketLink::new(ws, Lines::Text, NativeFraming), peer),
        }
    });
    let mut res = Response::new(empty());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        h.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    if let Some(name) = protocol.name() {
        h.insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(name));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_first_protocol_served_here_is_chosen() {
        let cases: [(&[&str], bool, Protocol); 7] = [
            (&[], true, Protocol::Native(None)),
            (&["chatroom"], true, Protocol::Native(Some("chatroom"))),
            (&["foo, text.ircv3.net"], true, Protocol::IrcText),
            (
                &["foo", "binary.ircv3.net, text.ircv3.net"],
                true,
                Protocol::IrcBinary,
            ),
            (&["binary.ircv3.net", "chatroom"], true, Protocol::IrcBinary),
            // IRC off: its protocols are not offered.
            (
                &["text.ircv3.net", "chatroom"],
                false,
                Protocol::Native(Some("chatroom")),
            ),
            (&["text.ircv3.net"], false, Protocol::Native(None)),
        ];
        for (values, irc, want) in cases {
            assert_eq!(choose(&offered(values), irc), want, "{values:?} irc={irc}");
        }
    }
}
