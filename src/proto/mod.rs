//! Protocol front ends: each turns its wire format into core requests and
//! core events and outcomes into its wire format. Nothing outside a front
//! end formats a line.
//!
//! - [`native`]: the plain-text line protocol of `docs/PROTOCOL.md`.
//!
//! A new front end (IRC, say) adds a folder here with its own codec,
//! parser, renderer and session actor, and an [`Encoding`](crate::core::member::Encoding) of its own
//! that rooms render events with.

pub mod irc;
pub mod native;
