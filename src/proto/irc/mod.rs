//! The IRC client protocol (RFC 1459/2812 as modern.ircdocs.horse has it,
//! with the IRCv3 parts listed in `docs/IRC.md`), speaking to the same
//! core as the native protocol: one [`session`] per connection, its
//! [`codec`] (bytes to lines), [`message`] (a line taken apart),
//! [`command`] (a message made a typed command), and [`render`] (numerics,
//! server lines and core events to wire lines).

pub mod codec;
pub mod command;
pub mod front;
pub mod message;
pub mod render;
pub mod session;
