//! Moving bytes: a connection's socket ([`link`]), its bounded outgoing
//! queue ([`crate::transport::send_queue`]), the rooms' shared broadcast logs
//! ([`broadcast_log`]), the timer wheel of idle checks ([`idle`]), TLS
//! ([`tls`]): certificates, reloads and handshakes, a WebSocket read
//! and written as a byte stream ([`websocket`]), and the process's table
//! of descriptors, sized for every client at start ([`fd_table`]).
//! Nothing here knows a command.

pub mod broadcast_log;
pub mod connections;
pub mod fd_table;
pub mod idle;
pub mod link;
pub mod per_ip;
pub mod reader;
pub mod send_queue;
pub mod tls;
pub mod websocket;
