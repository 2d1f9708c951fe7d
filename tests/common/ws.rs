//! A WebSocket client (tokio-tungstenite) with the blocking, time-bounded
//! reads of the line [`Client`](super::Client): each call runs on the
//! client's own current-thread runtime, so tests stay plain `#[test]`s
//! that mix WebSocket and TCP users.
#![allow(dead_code)]

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Bytes, Error, Message};
use tokio_tungstenite::WebSocketStream;

use super::READ_TIMEOUT;

/// One WebSocket connection to `/ws`.
pub struct WsClient {
    rt: tokio::runtime::Runtime,
    ws: WebSocketStream<TcpStream>,
    /// The handshake's answer.
    pub response: Response,
    pub name: String,
}

/// How a handshake is made: subprotocols offered, `Origin` sent.
#[derive(Default, Clone)]
pub struct Handshake<'a> {
    pub protocols: &'a [&'a str],
    pub origin: Option<&'a str>,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Opens `ws://addr/ws` as `how` says: the client, or the handshake's error
/// (a refusal is `Error::Http` with the response).
pub fn try_connect(addr: SocketAddr, how: &Handshake<'_>) -> Result<WsClient, Error> {
    let rt = runtime();
    let mut request = format!("ws://{addr}/ws").into_client_request()?;
    let h = request.headers_mut();
    if !how.protocols.is_empty() {
        h.insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(&how.protocols.join(", ")).expect("header"),
        );
    }
    if let Some(origin) = how.origin {
        h.insert("origin", HeaderValue::from_str(origin).expect("header"));
    }
    let (ws, response) = rt.block_on(async {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        tokio::time::timeout(READ_TIMEOUT, tokio_tungstenite::client_async(request, tcp))
            .await
            .expect("handshake in time")
    })?;
    Ok(WsClient {
        rt,
        ws,
        response,
        name: "ws".into(),
    })
}

impl WsClient {
    /// Opens a native WebSocket and reads the HELLO.
    pub fn connect(addr: SocketAddr) -> WsClient {
        let mut c = try_connect(addr, &Handshake::default()).expect("WebSocket opens");
        let hello = c.line();
        assert!(hello.starts_with("HELLO "), "greeting was {hello:?}");
        c
    }

    /// Connects and sets a nickname.
    pub fn register(addr: SocketAddr, nick: &str) -> WsClient {
        let mut c = WsClient::connect(addr);
        c.name = nick.into();
        c.send(&format!("NICK {nick}"));
        c.expect(&format!("OK NICK {nick}"));
        c
    }

    /// Connects, sets a nickname and joins `room`, reading the whole reply.
    pub fn join(addr: SocketAddr, nick: &str, room: &str) -> WsClient {
        let mut c = WsClient::register(addr, nick);
        c.send(&format!("JOIN {room}"));
        c.read_until_prefix("OK JOIN ");
        c
    }

    /// Sends `msg`.
    pub fn send_message(&mut self, msg: Message) {
        let ws = &mut self.ws;
        self.rt.block_on(ws.send(msg)).expect("send");
    }

    /// Sends a text message.
    pub fn send(&mut self, text: &str) {
        self.send_message(Message::text(text));
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, bytes: &[u8]) {
        self.send_message(Message::binary(Bytes::copy_from_slice(bytes)));
    }

    /// The next message other than a ping or pong; `None` once closed.
    pub fn next(&mut self) -> Option<Message> {
        let (ws, name) = (&mut self.ws, &self.name);
        self.rt.block_on(async {
            loop {
                let next = tokio::time::timeout(READ_TIMEOUT, ws.next())
                    .await
                    .unwrap_or_else(|_| panic!("[{name}] nothing within {READ_TIMEOUT:?}"));
                match next {
                    None => return None,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) => return None,
                    Some(Ok(m)) => return Some(m),
                    Some(Err(Error::ConnectionClosed | Error::AlreadyClosed)) => return None,
                    Some(Err(Error::Io(e))) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                        return None
                    }
                    Some(Err(e)) => panic!("[{name}] {e}"),
                }
            }
        })
    }

    /// The next text message.
    pub fn line(&mut self) -> String {
        match self.next() {
            Some(Message::Text(t)) => t.as_str().to_owned(),
            other => panic!("[{}] wanted a text message, got {other:?}", self.name),
        }
    }

    /// The next binary message.
    pub fn binary(&mut self) -> Bytes {
        match self.next() {
            Some(Message::Binary(b)) => b,
            other => panic!("[{}] wanted a binary message, got {other:?}", self.name),
        }
    }

    /// Asserts the next text message.
    pub fn expect(&mut self, want: &str) {
        let got = self.line();
        assert_eq!(got, want, "[{}] unexpected line", self.name);
    }

    /// Reads text messages until one starts with `prefix`; returns them all.
    pub fn read_until_prefix(&mut self, prefix: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let l = self.line();
            let done = l.starts_with(prefix);
            lines.push(l);
            if done {
                return lines;
            }
        }
    }

    /// A barrier: PING with a unique token, and the PONG next.
    pub fn sync(&mut self) {
        let token = format!("sync{}", super::rand_token());
        self.send(&format!("PING {token}"));
        self.expect(&format!("PONG {token}"));
    }

    /// Asserts the server closes the WebSocket, after any lines listed
    /// (returned).
    pub fn expect_closed(&mut self) -> Vec<Message> {
        let mut rest = Vec::new();
        while let Some(m) = self.next() {
            rest.push(m);
            assert!(rest.len() < 10_000, "[{}] not closed", self.name);
        }
        rest
    }
}
