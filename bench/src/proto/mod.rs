//! The wire protocols the bench speaks: chatroom's native line protocol
//! and the IRC client protocol, behind one [`Proto`] value that every
//! scenario carries.
//!
//! The scenarios only ask questions the two answer differently: how to
//! register, join and send, what a received line is ([`Kind`]), and how a
//! sender learns that the server has handled its messages (native: one
//! `OK MSG` each; IRC has no such reply, so a sender follows every few
//! messages with `PING :<count>` and the server's `PONG` settles them all).
//! Each question is one `match` on a two-valued `Copy` enum; the answers
//! live in [`native`] and [`irc`] and allocate nothing per line.

pub mod irc;
pub mod native;

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::net::Conn;
use crate::stamp::Stamp;

/// A wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// chatroom's native line protocol (docs/PROTOCOL.md).
    Native,
    /// The IRC client protocol (NICK/USER, JOIN, PRIVMSG).
    Irc,
}

/// What a server line is, as far as the benchmark cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A message to a room (native `MSG`, IRC `PRIVMSG`).
    Msg,
    /// One message of ours accepted (native `OK MSG`).
    Ack,
    /// Every message of ours up to the count in [`Proto::ack_token`]
    /// handled (IRC: the `PONG` to our `PING :<count>`).
    AckTo,
    /// A message of ours refused (native `ERR MSG`; IRC 401, 403, 404).
    Refused,
    /// Any other error (native `ERR`; IRC numerics 400 to 599).
    Err,
    /// The server's keep-alive `PING`: answer with [`Proto::pong_for`].
    Ping,
    /// The server ends the connection or reports trouble (native `SERVER`,
    /// IRC `ERROR`).
    Server,
    /// Someone left a room: `QUIT`, `PART` or `KICK`.
    Left,
    /// Anything else (joins, names, welcome lines, other replies).
    Other,
}

impl Proto {
    /// Classifies a server line.
    #[inline]
    pub fn classify(self, line: &[u8]) -> Kind {
        match self {
            Proto::Native => native::classify(line),
            Proto::Irc => irc::classify(line),
        }
    }

    /// The stamp of a received room message; `None` for one not sent by
    /// the bench.
    #[inline]
    pub fn parse_msg(self, line: &[u8]) -> Option<Stamp> {
        match self {
            Proto::Native => native::parse_msg(line),
            Proto::Irc => irc::parse_msg(line),
        }
    }

    /// Appends the line that sends a bench message of `size` bytes to `room`.
    #[inline]
    pub fn push_msg(self, out: &mut Vec<u8>, room: &str, stamp: Stamp, size: usize) {
        match self {
            Proto::Native => native::push_msg(out, room, stamp, size),
            Proto::Irc => irc::push_msg(out, room, stamp, size),
        }
    }

    /// The `PONG` answering a server's `PING` line.
    pub fn pong_for(self, ping: &[u8]) -> Vec<u8> {
        match self {
            Proto::Native => native::pong_for(ping),
            Proto::Irc => irc::pong_for(ping),
        }
    }

    /// How many messages a sender writes between requests for an
    /// acknowledgement, given its window; `None` when the server
    /// acknowledges every message by itself.
    ///
    /// A request every eighth of the window keeps the window flowing (a
    /// sender never waits for a whole window to come back) at the cost of
    /// one `PING` and one `PONG` per `window / 8` messages.
    pub fn ack_every(self, window: u64) -> Option<u64> {
        match self {
            Proto::Native => None,
            Proto::Irc => Some((window / 8).max(1)),
        }
    }

    /// Appends a request to acknowledge the first `count` messages sent
    /// (only for a protocol with [`Proto::ack_every`]).
    pub fn push_ack_request(self, out: &mut Vec<u8>, count: u64) {
        if self == Proto::Irc {
            irc::push_ping(out, count);
        }
    }

    /// For a [`Kind::AckTo`] line: how many messages it settles.
    #[inline]
    pub fn ack_token(self, line: &[u8]) -> Option<u64> {
        match self {
            Proto::Native => None,
            Proto::Irc => irc::pong_token(line),
        }
    }

    /// Connects and registers as `nick` (or, where the server says that
    /// nickname is taken, a variant of it).
    pub async fn connect_and_register(
        self,
        addr: SocketAddr,
        nick: &str,
        limit: Duration,
        capacity: usize,
    ) -> anyhow::Result<Conn> {
        match self {
            Proto::Native => native::connect_and_register(addr, nick, limit, capacity).await,
            Proto::Irc => irc::connect_and_register(addr, nick, limit, capacity).await,
        }
    }

    /// The line that joins `room`.
    pub fn join_line(self, room: &str) -> Vec<u8> {
        match self {
            Proto::Native => format!("JOIN {room}\n").into_bytes(),
            Proto::Irc => format!("JOIN {room}\r\n").into_bytes(),
        }
    }

    /// Whether `line` ends the answer to our own `JOIN` (native `OK JOIN`,
    /// IRC 366 end of names).
    #[inline]
    pub fn is_joined(self, line: &[u8]) -> bool {
        match self {
            Proto::Native => line.starts_with(b"OK JOIN"),
            Proto::Irc => irc::is_numeric(line, b"366"),
        }
    }

    /// Joins `room` and waits for the end of the answer.
    pub async fn join(self, conn: &mut Conn, room: &str, limit: Duration) -> anyhow::Result<()> {
        conn.send(&self.join_line(room), limit).await?;
        conn.wait_for("the end of the JOIN answer", limit, |l| self.is_joined(l))
            .await
    }

    /// Asks the server how many users it has and how many members `room`
    /// has (native `INFO`; IRC `LUSERS` and `LIST`).
    pub async fn server_counts(
        self,
        conn: &mut Conn,
        room: &str,
        limit: Duration,
    ) -> anyhow::Result<(u64, u64)> {
        match self {
            Proto::Native => native::server_counts(conn, room, limit).await,
            Proto::Irc => irc::server_counts(conn, room, limit).await,
        }
    }

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Native => "native",
            Proto::Irc => "irc",
        }
    }

    /// What registering is, for people.
    pub fn registration(self) -> &'static str {
        match self {
            Proto::Native => "connect+HELLO+NICK",
            Proto::Irc => "connect+NICK/USER+001",
        }
    }
}
