//! The native line protocol (`docs/PROTOCOL.md`): one connection's
//! [`session`], its [`codec`] (bytes to frames), [`parser`] (a line to a
//! typed command), [`render`] (typed values to wire lines), where its
//! output holds raw bytes ([`framing`], for WebSockets), and the bot-side
//! [`client`] parser of server lines.

pub mod client;
pub mod codec;
pub mod framing;
pub mod front;
pub mod help;
pub mod parser;
pub mod render;
pub mod session;
pub mod verb;
