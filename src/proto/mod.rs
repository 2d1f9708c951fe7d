//! Protocol front ends: each turns its wire format into core requests and
//! core events and outcomes into its wire format. Nothing outside a front
//! end formats a line.
//!
//! - [`native`]: the plain-text line protocol of `docs/PROTOCOL.md`.
//! - [`irc`]: the IRC client protocol (`docs/IRC.md`).
//! - [`http`]: the web client, and a WebSocket carrying either of them.
//! - [`admin`]: the operator's listener: Prometheus metrics and health.
//!
//! Each has its own codec, parser, renderer and session actor, and
//! [`Encoding`](crate::core::member::Encoding)s of its own that rooms
//! render events with.

pub mod admin;
pub mod http;
pub mod irc;
pub mod native;
