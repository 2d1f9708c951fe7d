//! chatroom: an actor-based chat server speaking a plain-text, IRC-like
//! line protocol (see `docs/PROTOCOL.md`).
//!
//! # The path of one message
//!
//! 1. [`server`] accepts a TCP connection and starts a
//!    [`Session`](actors::Session) actor for it, whose context drives the
//!    socket as a [`link::Link`]: a stream of [`codec::Frame`]s that also
//!    writes out whatever the connection's [`send_queue::SendQueue`] holds.
//! 2. [`codec`] cuts bytes into lines (and, after a `FILE` header, into raw
//!    body chunks), reporting over-long and non-UTF-8 lines as items.
//! 3. [`parser`] turns a line into a typed [`parser::Command`], or a
//!    [`protocol::ProtocolError`] carrying the wire error code. It is pure:
//!    no I/O, no actors.
//! 4. The session applies flood control and the NICK-first rule, then runs
//!    the command, asking a [`Room`](actors::Room) or the
//!    [`NickRegistry`](actors::NickRegistry) where needed.
//! 5. Answers and announcements are typed values, [`reply::Reply`] and
//!    [`reply::Event`], rendered to wire lines in [`reply`] only. A room
//!    renders a message once into its [`broadcast_log`] and gives each
//!    member's queue the span it occupies (extending the span queued last
//!    when the member is behind); each connection's writer hands whatever
//!    is queued to one vectored write, straight from the log.
//! 6. Where history is kept, the room hands the message to [`storage`]'s
//!    database thread, which stores it in the next group commit (a row per
//!    room) and sends `OK MSG` back through the relay task on the server's
//!    thread.
//!
//! [`actors`] describes the actors and their messages; [`config`] the
//! configuration keys; [`logging`] the log set-up; [`idle`] the one timer
//! wheel behind every connection's PING check (which is also the list of
//! sessions that shutdown goes through).
//!
//! # What a connection costs
//!
//! Idle connections are what a chat server has most of, so each is kept
//! small: one tokio task (the session's actor context, which also drives
//! the socket: no writer task, no split halves), no timer of its own, no
//! buffers while idle, weak or shared handles where others keep one, and
//! jemalloc as the binary's allocator. README "Performance" has the
//! figures.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod actors;
pub mod broadcast_log;
pub mod client;
pub mod codec;
pub mod config;
pub mod files;
pub mod flood;
pub mod help;
pub mod idle;
pub mod link;
pub mod logging;
pub mod names;
pub mod parser;
pub mod protocol;
pub mod reply;
pub mod room_key;
pub mod send_queue;
pub mod server;
pub mod storage;

/// The server's version, as shown in `HELLO` and `INFO`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
