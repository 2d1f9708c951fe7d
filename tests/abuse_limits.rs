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
         guess_failures_per_target = 2\nguess_backoff_ms = 1000\nguess_backoff_max_secs = 2",
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
    // Once the wait (a second) is over, the right key works.
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

const NO_ROOM: &str = "ERR FILE QUOTA_EXCEEDED no room for the file: the server keeps at most files.max_total_bytes of files";

/// The names in `files.dir` that hold content (not uploads in progress).
fn stored_files(s: &TestServer) -> usize {
    std::fs::read_dir(s.files_dir())
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
        .unwrap_or(0)
}

/// How many uploads are in progress (their temporary files).
fn uploads_in_progress(s: &TestServer) -> usize {
    std::fs::read_dir(s.files_dir()).map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".upload"))
            .count()
    })
}

#[test]
fn the_total_of_files_expires_the_oldest_then_refuses() {
    let s = serve("[files]\nmax_bytes = 100\nmax_total_bytes = 250");
    let mut alice = Peer::join(s.addr(), "alice", "#f");
    let a = alice.upload("#f", "a", &[b'a'; 100]);
    let b = alice.upload("#f", "b", &[b'b'; 100]);
    // 300 bytes would pass 250: the oldest file goes.
    let c = alice.upload("#f", "c", &[b'c'; 100]);
    alice.expect_no_such_file(&a);
    assert_eq!(alice.fetch(&b).1, vec![b'b'; 100]);
    assert_eq!(alice.fetch(&c).1, vec![b'c'; 100]);
    // Two slow uploads take their room as they start: the older files go.
    let mut slow = Vec::new();
    for (n, nick) in ["bob", "dave"].into_iter().enumerate() {
        let mut p = Peer::join(s.addr(), nick, "#f");
        let mut first_half = format!("FILE #f 100 {nick}\n").into_bytes();
        first_half.extend_from_slice(&[b's'; 50]);
        p.send_bytes(&first_half);
        // Its temporary file appears once its room is reserved.
        let deadline = Instant::now() + READ_TIMEOUT;
        while uploads_in_progress(&s) <= n {
            assert!(Instant::now() < deadline, "the upload never started");
            std::thread::sleep(Duration::from_millis(10));
        }
        slow.push(p);
    }
    alice.expect_lines(&["JOIN #f bob", "JOIN #f dave"]);
    alice.expect_no_such_file(&b);
    alice.expect_no_such_file(&c);
    // 200 bytes held by uploads: a third cannot fit, even with every file
    // deleted, and is refused after its body, stored nowhere.
    let mut carol = Peer::join(s.addr(), "carol", "#f");
    carol.send_file("#f", "refused", &[b'r'; 100]);
    carol.expect(NO_ROOM);
    assert_eq!(uploads_in_progress(&s), 2);
    alice.expect("JOIN #f carol");
    for (p, nick) in slow.iter_mut().zip(["bob", "dave"]) {
        p.send_bytes(&[b's'; 50]);
        let (id, _) = p.await_ok_file(&common::peer::sha256_hex(&[b's'; 100]));
        alice.read_until_prefix(&format!("FILE #f {nick} {id} 100 "));
        assert_eq!(alice.fetch(&id).1.len(), 100);
    }
    let deadline = Instant::now() + READ_TIMEOUT;
    while stored_files(&s) > 2 {
        assert!(Instant::now() < deadline, "expired files stay on disk");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn each_user_and_address_has_an_upload_quota_per_window() {
    let s = serve(
        "[files]\nmax_bytes = 100\nupload_quota_bytes = 150\nupload_quota_window_secs = 3600\n\
         [limits]\nexempt_ips = []",
    );
    let quota = "ERR FILE QUOTA_EXCEEDED upload quota: at most 150 bytes every 3600 seconds";
    let mut alice = Peer::join(s.addr(), "alice", "#f");
    alice.upload("#f", "one", &[1; 100]);
    alice.send_file("#f", "two", &[2; 60]);
    alice.expect(quota);
    alice.upload("#f", "small", &[3; 50]);
    // Bob, from the same address, has what the address has left: none.
    let mut bob = Peer::join(s.addr(), "bob", "#f");
    bob.send_file("#f", "bob's", &[4; 10]);
    bob.expect(quota);
    // From another host, bob uploads.
    let mut far = Peer::from_stream(tcp_from(OTHER_HOST.into(), s.addr()));
    assert!(far.line().starts_with("HELLO "));
    far.nick("faraway");
    far.join_room("#f");
    far.upload("#f", "far", &[5; 100]);
    // Nothing of the refused files was stored: three files.
    assert_eq!(stored_files(&s), 3);
}

#[test]
fn a_tls_socket_over_its_addresss_limit_is_closed_before_its_handshake() {
    // A socket let in would wait a minute for its handshake, past the read
    // timeout below.
    let s = serve(
        "[tls]\nlisten = \"127.0.0.1:0\"\nhandshake_timeout_secs = 60\n\
         [limits]\nmax_clients_per_ip = 1\nexempt_ips = []",
    );
    let _held = Client::connect(s.addr());
    let mut tls = TcpStream::connect(s.tls_addr()).expect("connect");
    tls.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    // Closed at once, nothing sent (not even a TLS alert: no handshake).
    let mut buf = [0u8; 16];
    match std::io::Read::read(&mut tls, &mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the socket closed, got {other:?}"),
    }
}
