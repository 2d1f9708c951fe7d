//! chatroom: an actor-based chat server speaking a plain-text, IRC-like
//! line protocol (see `docs/PROTOCOL.md`).
//!
//! # Layers, one direction
//!
//! ```text
//! transport         proto (one folder per front end)      core
//! ---------         --------------------------------      ----
//! TCP socket ─┐
//! TLS stream ─┼───► native: codec, parser, session ─────► rooms, directory,
//! WebSocket ──┘     irc:    codec, parser, session  ◄──── store, files
//!   link, queue,    each with its renderer (Encoding) typed events, outcomes
//!   broadcast logs  http:   the page, /ws → a native or IRC session, /files
//! ```
//!
//! - [`transport`] moves bytes and knows no command: a connection's
//!   [`Link`](transport::link::Link) (frames in, queued output out), its
//!   bounded [`SendQueue`](transport::send_queue::SendQueue), the rooms'
//!   shared [`BroadcastLog`](transport::broadcast_log::BroadcastLog)s.
//! - [`proto`] holds the front ends. Each turns its wire format into core
//!   requests and core events and outcomes into its wire format; nothing
//!   outside a front end formats a line: [`proto::native`] and
//!   [`proto::irc`].
//! - [`core`] decides what the chat means: who is in which room, who owns
//!   it, what is allowed, what is stored. It deals in typed values
//!   ([`core::Event`], [`core::ErrorCode`], [`core::outcome::Said`]) and
//!   never sees a byte of a protocol.
//! - [`refusals`]: what every abuse limit does when it refuses (one
//!   counter, `chatroom_limit_refusals_total{limit}`, and a log line an
//!   attacker cannot turn into a flood). The limits themselves live where
//!   they apply: per address in [`transport::per_ip`], key and password
//!   hashing behind [`core::gate`], disk in [`core::files::quota`].
//! - [`config`] is the configuration, and [`SharedConfig`](config::SharedConfig)
//!   the one in force, which SIGHUP replaces ([`server::Reloader`]): every
//!   layer reads a setting where it applies, through
//!   [`Services::config`](core::services::Services::config).
//! - [`telemetry`] keeps the metrics (the `metrics` facade, cached handles,
//!   a Prometheus recorder); [`proto::admin`] serves them, and a health
//!   check, on the operator's own listener.
//! - [`server`] puts them together: opens the store, starts the core's
//!   actors, loads the TLS certificate, binds the listeners (native and
//!   IRC, each in plain TCP and over TLS, and HTTP and HTTPS) and hands each
//!   connection to its front end; a TLS connection after its handshake
//!   ([`transport::tls`]), as a [`TlsStream`](tokio_rustls::server::TlsStream)
//!   that the front end drives like a TCP stream. [`proto::http`] serves
//!   the web client and turns a WebSocket into a byte stream for a native
//!   or IRC session ([`transport::websocket`]).
//!
//! # The path of one message
//!
//! `MSG #room hi` from a native client, to every member of `#room` (over a
//! WebSocket, the same path, with a
//! [`WebSocketLink`](transport::websocket::WebSocketLink) as the socket):
//!
//! 1. socket → transport: [`server`] accepts the TCP connection and gives
//!    it to [`NativeFrontEnd::accept`](proto::native::front::NativeFrontEnd::accept),
//!    which starts a [`Session`](proto::native::session::Session) actor.
//!    Its context drives the socket as a [`Link`](transport::link::Link),
//!    which reads with the native codec and writes what the connection's
//!    queue holds.
//! 2. native codec/parser: [`codec`](proto::native::codec) cuts bytes into
//!    a line; [`parser`](proto::native::parser) (pure, nom) makes it a
//!    [`Command::Msg`](proto::native::parser::Command::Msg).
//! 3. session → core: the session checks flood control and its own rooms,
//!    takes a [`Ticket`](transport::send_queue::Ticket) for the final reply
//!    where the message will be stored, and sends
//!    [`room::Say`](core::room::Say) to the [`Room`](core::room::Room).
//! 4. room → per-encoding render: the room builds a typed
//!    [`Event::Msg`](core::Event::Msg) and renders it once per
//!    [`Encoding`](core::member::Encoding) among its members (native:
//!    [`NATIVE`](proto::native::render::NATIVE)) into that encoding's log.
//! 5. → queues: each member's [`SendQueue`](transport::send_queue::SendQueue)
//!    gets the span the line occupies in its encoding's log (one item however
//!    many lines a slow member owes).
//! 6. → writers: each connection's writer hands everything queued to one
//!    vectored write, straight from the log, woken once at the end of the
//!    turn with every writer the thread's rooms gave something to (a
//!    session's own replies wait for that batch too while the thread fans
//!    out: [`Writer::defer`](transport::send_queue::Writer::defer)).
//! 7. The store ([`core::store`]) commits the message with the rest of its
//!    2 ms group commit and answers [`Said::Stored`](core::outcome::Said);
//!    the room's native [`SpellSaid`](core::outcome::SpellSaid) spells it `OK MSG
//!    #room` into the ticket's place, so replies keep command order.
//!
//! # Where another front end plugs in
//!
//! [`proto::irc`] is the second front end, a folder beside `proto/native/`:
//! a decoder for [`Link`](transport::link::Link), a parser, a session actor
//! that talks to the same [`Directory`](core::directory::Directory) and
//! rooms through [`core::services::Services`], and a
//! [`MemberHandle`](core::member::MemberHandle) with its own
//! [`Encoding`](core::member::Encoding)s. Rooms render each event once per
//! encoding present: an IRC user and an `nc` user share `#room`, and the
//! same message reaches one as `PRIVMSG #room :hi` and the other as
//! `MSG #room alice hi`. (IRC answers nothing to a channel message, so it
//! needs no [`SpellSaid`](core::outcome::SpellSaid): its messages carry no
//! [`Ack`](core::outcome::Ack).) A WebSocket is no front end of its own:
//! [`proto::http`] hands it, as a byte stream, to either.
//!
//! # What a connection costs
//!
//! Idle connections are what a chat server has most of, so each is kept
//! small: one tokio task (the session's actor context, which also drives
//! the socket: no writer task, no split halves), no timer of its own (one
//! [`IdleWheel`](transport::idle::IdleWheel) per front end), no buffers
//! while idle, weak or shared handles where others keep one, and jemalloc
//! as the binary's allocator. README "Performance" has the figures.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod core;
pub mod logging;
pub mod proto;
pub mod refusals;
pub mod server;
pub mod telemetry;
pub mod transport;

pub use proto::native::client;

/// The server's version, as shown in `HELLO` and `INFO`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
