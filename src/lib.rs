//! chatroom: an actor-based chat server speaking a plain-text, IRC-like
//! line protocol (see `docs/PROTOCOL.md`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod core;
pub mod logging;
pub mod proto;
pub mod server;
pub mod transport;

pub use proto::native::client;

/// The server's version, as shown in `HELLO` and `INFO`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
