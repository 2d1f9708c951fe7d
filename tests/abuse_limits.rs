//! Abuse limits end to end, against a real server on 127.0.0.1:0:
//! connections per address and their rate (TCP, IRC and WebSocket), the
//! shared files' total and upload quotas, and the gate of key checks
//! (back-off of wrong guesses, bounded concurrency).
//!
//! Tests connect from 127.0.0.1, which `limits.exempt_ips` leaves alone
//! by default: where a per-address limit is tested the exempt list is
//! emptied, and a second loopback address (127.0.0.2) plays another host.

mod common;

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::irc::Irc;
use common::peer::Peer;
use common::ws::WsClient;
use common::*;

/// A server with `toml` on the defaults, history off.
fn serve(toml: &str) -> TestServer {
    start(&format!("[history]\nenabled = false\n{toml}"))
}

/// A TCP connection to `addr` from the local address `from`.
fn tcp_from(from: IpAddr, addr: SocketAddr) -> TcpStream {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::new(from, 0).into())
        .expect("bind a loopback source address");
    socket.connect(&addr.into()).expect("connect");
    socket.into()
}

const OTHER_HOST: [u8; 4] = [127, 0, 0, 2];

const TOO_MANY: &str = "ERR * TOO_MANY_CONNECTIONS too many connections from your address";
const TOO_FAST: &str =
    "ERR * TOO_MANY_CONNECTIONS connecting too fast from your address, try again in a moment";

/// Connects until the server greets (a slot given back is seen by the
/// server a moment after the client sees its socket close).
fn connect_once_free(addr: SocketAddr) -> Client {
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        let mut c = Client::connect_raw(addr);
        let first = c.line();
        if first.starts_with("HELLO ") {
            return c;
        }
        assert_eq!(first, TOO_MANY);
        assert!(Instant::now() < deadline, "the slot never came back");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn one_address_is_bounded_in_connections_and_another_is_not() {
    let s = serve("[limits]\nmax_clients_per_ip = 2\nexempt_ips = []");
    let mut a = Client::connect(s.addr());
    let _b = Client::connect(s.addr());
    let mut refused = Client::connect_raw(s.addr());
    refused.expect(TOO_MANY);
    refused.expect_closed();
    // Another host is not affected.
    let mut other = Peer::from_stream(tcp_from(OTHER_HOST.into(), s.addr()));
    assert!(other.line().starts_with("HELLO "));
    other.nick("other");
    // IRC counts against the same address.
    let mut irc = Irc::connect(s.irc_addr());
    irc.expect("ERROR :Closing Link: (Too many connections from your address)");
    irc.expect_closed();
    // A connection closed gives its place back.
    a.send("QUIT");
    a.expect_closed();
    let mut again = connect_once_free(s.addr());
    again.send("NICK again");
    again.expect("OK NICK again");
}

#[test]
fn one_address_is_bounded_in_connections_per_second() {
    let s = serve(
        "[limits]\nconnects_per_ip_per_sec = 0.001\nconnects_per_ip_burst = 3\nexempt_ips = []",
    );
    let held: Vec<Client> = (0..3).map(|_| Client::connect(s.addr())).collect();
    drop(held);
    // Closed or not, the burst is spent.
    let mut refused = Client::connect_raw(s.addr());
    refused.expect(TOO_FAST);
    refused.expect_closed();
    let mut irc = Irc::connect(s.irc_addr());
    irc.expect(
        "ERROR :Closing Link: (Connecting too fast from your address, try again in a moment)",
    );
    let mut other = Peer::from_stream(tcp_from(OTHER_HOST.into(), s.addr()));
    assert!(other.line().starts_with("HELLO "));
}

#[test]
fn a_websocket_counts_as_a_connection_of_its_address() {
    let s = serve("[limits]\nmax_clients_per_ip = 1\nexempt_ips = []");
    let mut ws = WsClient::register(s.http_addr(), "web");
    let mut refused = Client::connect_raw(s.addr());
    refused.expect(TOO_MANY);
    refused.expect_closed();
    ws.sync();
    drop(ws);
    let mut tcp = connect_once_free(s.addr());
    tcp.send("NICK tcp");
    tcp.expect("OK NICK tcp");
    // Now the WebSocket is the one over the limit.
    let mut ws = common::ws::try_connect(s.http_addr(), &Default::default()).expect("upgrade");
    ws.expect(TOO_MANY);
    ws.expect_closed();
}

#[test]
fn exempt_addresses_are_not_counted() {
    // Loopback is exempt by default.
    let s = serve("[limits]\nmax_clients_per_ip = 1\nconnects_per_ip_burst = 1");
    let mut clients: Vec<Client> = (0..5).map(|_| Client::connect(s.addr())).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.send(&format!("NICK n{i}"));
        c.expect(&format!("OK NICK n{i}"));
    }
}

const WRONG: &str = "ERR JOIN BAD_KEY #vault is private: wrong or missing key";
const LATER: &str =
    "ERR JOIN TRY_LATER #vault: too many wrong keys lately, or too busy: try again later";

/// `alice`, who made `#vault` private with the key `sesame`.
fn vault_owner(addr: SocketAddr) -> Client {
    let mut alice = Client::register(addr, "alice");
    alice.send("JOIN #vault sesame");
    alice.read_until_prefix("OK JOIN #vault");
    alice
}

#[test]
fn a_guessing_connection_backs_off_while_the_right_key_still_works_for_others() {
    let s = serve(
        "[limits]\nguess_failures_per_conn = 2\nguess_failures_per_ip = 100\n\
         guess_failures_per_target = 100\nguess_backoff_ms = 60000",
    );
    let _alice = vault_owner(s.addr());
    let mut mallory = Client::register(s.addr(), "mallory");
    for key in ["guess1", "guess2"] {
        mallory.send(&format!("JOIN #vault {key}"));
        mallory.expect(WRONG);
    }
    // Backed off: refused without checking, even the right key.
    for key in ["guess3", "sesame"] {
        mallory.send(&format!("JOIN #vault {key}"));
        mallory.expect(LATER);
    }
    let mut bob = Client::register(s.addr(), "bob");
    bob.send("JOIN #vault sesame");
    bob.read_until_prefix("OK JOIN #vault");
    // IRC: 263, the command to try again later.
    let mut eve = Irc::register(s.irc_addr(), "eve");
    for key in ["a", "b"] {
        eve.send(&format!("JOIN #vault {key}"));
        eve.expect(":chatroom 475 eve #vault :Cannot join channel (+k)");
    }
    eve.send("JOIN #vault c");
    eve.expect(":chatroom 263 eve JOIN :Please wait a while and try again.");
}

#[test]
fn a_guessed_room_backs_off_everyone_until_the_wait_is_over() {
    let s = serve(
        "[limits]\nguess_failures_per_conn = 100\nguess_failures_per_ip = 100\n\
         guess_failures_per_target = 2\nguess_backoff_ms = 300\nguess_backoff_max_secs = 1",
    );
    let _alice = vault_owner(s.addr());
    let mut mallory = Client::register(s.addr(), "mallory");
    for key in ["guess1", "guess2"] {
        mallory.send(&format!("JOIN #vault {key}"));
        mallory.expect(WRONG);
    }
    let mut bob = Client::register(s.addr(), "bob");
    bob.send("JOIN #vault sesame");
    bob.expect(LATER);
    // Once the wait (300 ms) is over, the right key works.
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        bob.send("JOIN #vault sesame");
        let line = bob.line();
        if line.starts_with("JOIN #vault bob") {
            bob.read_until_prefix("OK JOIN #vault");
            break;
        }
        assert_eq!(line, LATER);
        assert!(Instant::now() < deadline, "still backed off");
    }
}

#[test]
fn key_checks_beyond_the_concurrency_bound_and_its_queue_are_refused() {
    let s = serve(
        "[limits]\nmax_concurrent_hashes = 1\nmax_queued_hashes = 0\n\
         guess_failures_per_ip = 100\nguess_failures_per_target = 100",
    );
    let _alice = vault_owner(s.addr());
    let mut guessers: Vec<Client> = (0..4)
        .map(|i| Client::register(s.addr(), &format!("g{i}")))
        .collect();
    for g in &mut guessers {
        g.send("JOIN #vault wrong");
    }
    let answers: Vec<String> = guessers.iter_mut().map(Client::line).collect();
    let wrong = answers.iter().filter(|a| *a == WRONG).count();
    let later = answers.iter().filter(|a| *a == LATER).count();
    assert_eq!(wrong + later, 4, "{answers:?}");
    assert!(wrong >= 1 && later >= 1, "{answers:?}");
}
