//! End-to-end tests of every command: a real server on 127.0.0.1:0 and
//! several raw TCP clients, asserting exact lines. No sleeps: reads are
//! bounded by the harness timeout, and `sync()` (a PING/PONG barrier)
//! proves that nothing else was sent to a client.
//!
//! Room and member limits and flood control are tested in `limits.rs`.

#[path = "../common/mod.rs"]
mod common;
use common::*;

use std::net::SocketAddr;
use std::sync::{Arc, Barrier};

/// No flood control, and history off: this suite pins the behaviour of
/// rooms without storage (an emptied room vanishes, JOIN replays nothing);
/// tests/history/ covers the same commands with history kept.
const NO_FLOOD: &str =
    "[limits]\nflood_burst = 10000\nflood_rate_per_sec = 10000\n[history]\nenabled = false";

/// The greeting, exactly.
const HELLO: &str = "HELLO chatroom 0.1.0 Welcome! Pick a nickname: NICK <name>";

/// A server without flood control or history.
fn server() -> TestServer {
    start(NO_FLOOD)
}

/// Asserts that the next line is `ERR <verb> <code> <human text>`: only the
/// text after the code may change, so the prefix is checked exactly.
fn expect_err(c: &mut Client, verb: &str, code: &str) {
    let line = c.line();
    let prefix = format!("ERR {verb} {code} ");
    assert!(
        line.starts_with(&prefix) && line.len() > prefix.len(),
        "[{}] wanted {prefix:?}..., got {line:?}",
        c.name
    );
}

/// Sends `line` and asserts the error it gets.
fn send_err(c: &mut Client, line: &str, verb: &str, code: &str) {
    c.send(line);
    expect_err(c, verb, code);
}

/// Connects and reads the greeting, naming the client for failure messages.
fn anon(addr: SocketAddr, label: &str) -> Client {
    let mut c = Client::connect(addr);
    c.name = label.to_string();
    c
}

/// Joins `room` with a client that is already registered and alone in
/// it (or the first), asserting the full reply.
fn join_alone(c: &mut Client, room: &str) {
    c.send(&format!("JOIN {room}"));
    let nick = c.name.clone();
    c.expect_lines(&[
        &format!("JOIN {room} {nick}"),
        &format!("NAMES {room} {nick}"),
        &format!("OK JOIN {room}"),
    ]);
}

/// `c` joins `room` where `others` already are (listed in NAMES order
/// together with `c`, in `names`); every other member sees the JOIN.
fn join_with(c: &mut Client, room: &str, names: &str, others: &mut [&mut Client]) {
    c.send(&format!("JOIN {room}"));
    let nick = c.name.clone();
    c.expect_lines(&[
        &format!("JOIN {room} {nick}"),
        &format!("NAMES {room} {names}"),
        &format!("OK JOIN {room}"),
    ]);
    for o in others.iter_mut() {
        o.expect(&format!("JOIN {room} {nick}"));
    }
}

/// alice (who made `room`), bob and carol, all three in `room`, each
/// having read the others' JOINs.
fn trio(addr: SocketAddr, room: &str) -> (Client, Client, Client) {
    let mut alice = Client::join(addr, "alice", room);
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, room, "alice bob", &mut [&mut alice]);
    let mut carol = Client::register(addr, "carol");
    join_with(
        &mut carol,
        room,
        "alice bob carol",
        &mut [&mut alice, &mut bob],
    );
    (alice, bob, carol)
}

/// alice and bob in both #a and #b, carol in #b only: whom an
/// announcement reaches once, however many rooms are shared.
fn sharing_two_rooms(addr: SocketAddr) -> (Client, Client, Client) {
    let mut alice = Client::join(addr, "alice", "#a");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#a", "alice bob", &mut [&mut alice]);
    join_alone(&mut alice, "#b");
    join_with(&mut bob, "#b", "alice bob", &mut [&mut alice]);
    let mut carol = Client::register(addr, "carol");
    join_with(
        &mut carol,
        "#b",
        "alice bob carol",
        &mut [&mut alice, &mut bob],
    );
    (alice, bob, carol)
}

/// Asserts an `RFC 3339` UTC time to the second: `2026-11-22T03:11:18Z`.
fn assert_rfc3339(t: &str) {
    let b = t.as_bytes();
    assert_eq!(b.len(), 20, "not RFC 3339 to the second: {t:?}");
    for (i, &c) in b.iter().enumerate() {
        let ok = match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        };
        assert!(ok, "not RFC 3339 to the second: {t:?}");
    }
}

mod messages;
mod queries;
mod registration;
mod rooms;
mod session;
