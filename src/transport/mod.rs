//! Moving bytes: a connection's socket ([`link`]), its bounded outgoing
//! queue ([`crate::transport::send_queue`]), the rooms' shared broadcast logs
//! ([`broadcast_log`]), the timer wheel of idle checks ([`idle`]), TLS
//! ([`tls`]): certificates, reloads and handshakes, and a WebSocket read
//! and written as a byte stream ([`websocket`]).
//! Nothing here knows a command.

pub mod broadcast_log;
pub mod connections;
pub mod idle;
pub mod link;
pub mod per_ip;
pub mod reader;
pub mod send_queue;
pub mod tls;
pub mod websocket;
