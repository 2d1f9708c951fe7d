//! Limits and protection end to end: max clients, flood control, rooms
//! per user, members per room, slow readers, idle clients and shutdown,
//! against a real server on 127.0.0.1:0.

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// A server with `toml` on the defaults; history is off so that nothing
/// is stored or replayed between tests.
fn serve(toml: &str) -> TestServer {
    start(&format!("[history]\nenabled = false\n{toml}"))
}

/// Asserts that `line` starts with `prefix`.
#[track_caller]
fn assert_prefix(line: &str, prefix: &str) {
    assert!(
        line.starts_with(prefix),
        "expected {prefix:?}..., got {line:?}"
    );
}

/// The next line that is not a server `PING`, answering every `PING` met
/// on the way (so that the client itself never times out).
fn line_answering_pings(c: &mut Client) -> String {
    loop {
        let l = c.line();
        match l.strip_prefix("PING ") {
            Some(token) => c.send(&format!("PONG {token}")),
            None => return l,
        }
    }
}

/// A barrier like `sync`, for a client that may be sent a server `PING`
/// meanwhile (answered on the way); anything else is a failure.
fn sync_answering_pings(c: &mut Client) {
    c.send("PING barrier");
    loop {
        let l = c.line();
        if l == "PONG barrier" {
            return;
        }
        let token = l
            .strip_prefix("PING ")
            .unwrap_or_else(|| panic!("[{}] unexpected line {l:?}", c.name));
        c.send(&format!("PONG {token}"));
    }
}

/// Connects, retrying while the server still counts a closed connection
/// (a slot frees once its socket is fully closed), for at most ~2 s.
fn connect_when_a_slot_frees(addr: SocketAddr) -> Client {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut backoff = Duration::from_millis(5);
    loop {
        let mut c = Client::connect_raw(addr);
        let first = c.line();
        if first.starts_with("HELLO ") {
            return c;
        }
        assert_prefix(&first, "ERR * SERVER_FULL ");
        c.expect_closed();
        assert!(Instant::now() < deadline, "no slot freed within 2 s");
        thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_millis(100));
    }
}

#[test]
fn max_clients_refuses_the_connection_over_the_limit() {
    let server = serve("[limits]\nmax_clients = 2");
    let addr = server.addr();
    let mut a = Client::register(addr, "a");
    // Connections count before they register.
    let mut b = Client::connect(addr);

    let mut c = Client::connect_raw(addr);
    assert_prefix(&c.line(), "ERR * SERVER_FULL ");
    c.expect_closed();
    // Still full, and the two first are unharmed.
    let mut d = Client::connect_raw(addr);
    assert_prefix(&d.line(), "ERR * SERVER_FULL ");
    d.expect_closed();
    a.sync();
    b.sync();

    a.send("QUIT bye");
    a.expect("OK QUIT");
    a.expect_closed();
    let mut e = connect_when_a_slot_frees(addr);
    e.send("NICK e");
    e.expect("OK NICK e");
    e.sync();
    b.sync();
    // Full again.
    let mut f = Client::connect_raw(addr);
    assert_prefix(&f.line(), "ERR * SERVER_FULL ");
    f.expect_closed();
}

#[test]
fn flood_control_refuses_lines_over_the_bucket_but_never_pong_or_quit() {
    // NICK and JOIN take two of the five tokens, leaving three; the refill
    // is too slow to add one during the test.
    let server = serve("[limits]\nflood_burst = 5\nflood_rate_per_sec = 0.1");
    let addr = server.addr();
    let mut b = Client::join(addr, "b", "#r");
    let mut a = Client::join(addr, "a", "#r");
    b.expect("JOIN #r a");

    a.send_bytes(b"MSG #r m1\nMSG #r m2\nMSG #r m3\nMSG #r m4\nMSG #r m5\n");
    a.expect_lines(&["OK MSG #r", "OK MSG #r", "OK MSG #r"]);
    assert_prefix(&a.line(), "ERR MSG RATE_LIMITED ");
    assert_prefix(&a.line(), "ERR MSG RATE_LIMITED ");

    // Every kind of line is charged: unknown verbs, PING, bad lines.
    a.send("FLY away");
    assert_prefix(&a.line(), "ERR FLY RATE_LIMITED ");
    a.send("PING x");
    assert_prefix(&a.line(), "ERR PING RATE_LIMITED ");
    a.send_bytes(b"\xff\n");
    assert_prefix(&a.line(), "ERR * RATE_LIMITED ");

    // PONG is never refused and never answered; QUIT is never refused.
    for i in 0..30 {
        a.send(&format!("PONG t{i}"));
    }
    a.send("PONG");
    a.send("QUIT flooded");
    a.expect("OK QUIT");
    a.expect_closed();

    // The refused messages never reached the room.
    b.expect_lines(&[
        "MSG #r a m1",
        "MSG #r a m2",
        "MSG #r a m3",
        "QUIT a flooded",
    ]);
    b.sync();
}

#[test]
fn the_flood_bucket_refills() {
    let server = serve("[limits]\nflood_burst = 2\nflood_rate_per_sec = 4");
    let mut c = Client::connect(server.addr());
    c.send_bytes(b"PING 1\nPING 2\nPING 3\n");
    c.expect_lines(&["PONG 1", "PONG 2"]);
    assert_prefix(&c.line(), "ERR PING RATE_LIMITED ");
    // A token comes back every 250 ms: retry, bounded.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        c.send("PING again");
        let l = c.line();
        if l == "PONG again" {
            break;
        }
        assert_prefix(&l, "ERR PING RATE_LIMITED ");
        assert!(Instant::now() < deadline, "the bucket never refilled");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn max_rooms_per_user() {
    let server = serve("[limits]\nmax_rooms_per_user = 2");
    let mut a = Client::join(server.addr(), "a", "#one");
    a.send("JOIN #two");
    a.expect_lines(&["JOIN #two a", "NAMES #two a", "OK JOIN #two"]);
    a.send("JOIN #three");
    assert_prefix(&a.line(), "ERR JOIN TOO_MANY_ROOMS ");
    a.sync();
    // Joining a room one is already in is not a new room.
    a.send("JOIN #one");
    a.expect_lines(&["NAMES #one a", "OK JOIN #one"]);
    a.send("JOIN two");
    a.expect_lines(&["NAMES #two a", "OK JOIN #two"]);
    // The refused room was not created.
    a.send("NAMES #three");
    assert_prefix(&a.line(), "ERR NAMES NO_SUCH_ROOM ");
    // Leaving one frees a place.
    a.send("PART #one");
    a.expect("OK PART #one");
    a.send("JOIN #three");
    a.expect_lines(&["JOIN #three a", "NAMES #three a", "OK JOIN #three"]);
    a.sync();
}

#[test]
fn max_room_members() {
    let server = serve("[limits]\nmax_room_members = 2");
    let addr = server.addr();
    let mut a = Client::join(addr, "a", "#r");
    let mut b = Client::join(addr, "b", "#r");
    a.expect("JOIN #r b");
    let mut c = Client::register(addr, "c");
    c.send("JOIN #r");
    assert_prefix(&c.line(), "ERR JOIN ROOM_FULL ");
    c.sync();
    // No one saw c come in, and the room still has two.
    a.sync();
    b.sync();
    a.send("NAMES #r");
    let names = a.read_until_prefix("OK NAMES #r ");
    assert_eq!(names.last().unwrap(), "OK NAMES #r 2");
    // Other rooms are open to c; and a place freed in #r is taken.
    c.send("JOIN #s");
    c.expect_lines(&["JOIN #s c", "NAMES #s c", "OK JOIN #s"]);
    b.send("PART #r");
    b.expect("OK PART #r");
    a.expect("PART #r b");
    c.send("JOIN #r");
    c.read_until_prefix("OK JOIN #r");
    a.expect("JOIN #r c");
    a.sync();
}

#[test]
fn a_slow_reader_is_dropped_and_does_not_slow_others() {
    let server =
        serve("[limits]\nsendq_bytes = 65536\nflood_burst = 1000000\nflood_rate_per_sec = 1000000");
    let addr = server.addr();

    // The slow client has a small receive buffer and stops reading once in.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    let slow: TcpStream = socket.into();
    slow.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let mut slow_writer = slow.try_clone().unwrap();
    let mut slow = BufReader::new(slow);
    slow_writer.write_all(b"NICK slow\nJOIN #r\n").unwrap();
    let mut l = String::new();
    while !l.starts_with("OK JOIN ") {
        l.clear();
        slow.read_line(&mut l).unwrap();
        assert!(!l.is_empty(), "slow: closed while joining");
    }

    let mut fast = Client::join(addr, "fast", "#r");
    let mut watcher = Client::join(addr, "watcher", "#r");
    fast.expect("JOIN #r watcher");

    // The watcher reads everything, on its own thread, and says when the
    // slow client is gone.
    let (gone_tx, gone_rx) = mpsc::channel();
    let watching = thread::spawn(move || loop {
        let l = watcher.line();
        if l == "QUIT slow send queue exceeded" {
            gone_tx.send(()).unwrap();
            return watcher;
        }
        assert_prefix(&l, "MSG #r fast ");
    });

    let text = "x".repeat(1000);
    let batch: String = (0..50).map(|_| format!("MSG #r {text}\n")).collect();
    let mut sent = 0;
    let mut gone = false;
    let mut fast_saw_quit = false;
    while sent < 20_000 {
        let t0 = Instant::now();
        fast.send_bytes(batch.as_bytes());
        let mut replies = 0;
        while replies < 50 {
            // The sender is a member too: it sees the slow client leave.
            match fast.line().as_str() {
                "OK MSG #r" => replies += 1,
                "QUIT slow send queue exceeded" => fast_saw_quit = true,
                other => panic!("[fast] unexpected line {other:?}"),
            }
        }
        sent += 50;
        let took = t0.elapsed();
        assert!(
            took < Duration::from_secs(2),
            "50 replies took {took:?} after {sent} messages"
        );
        if gone_rx.try_recv().is_ok() {
            gone = true;
            break;
        }
    }
    if !gone {
        gone_rx
            .recv_timeout(READ_TIMEOUT)
            .unwrap_or_else(|_| panic!("the slow client was not dropped after {sent} messages"));
    }
    let mut watcher = watching.join().expect("the watcher saw only messages");

    // Messages sent after the drop still reach the watcher, then this one.
    fast.send("MSG #r end");
    if !fast_saw_quit {
        fast.expect("QUIT slow send queue exceeded");
    }
    fast.expect("OK MSG #r");
    loop {
        let l = watcher.line();
        if l == "MSG #r fast end" {
            break;
        }
        assert_prefix(&l, "MSG #r fast ");
    }
    watcher.sync();
    fast.sync();
    fast.send("NAMES #r");
    let names = fast.read_until_prefix("OK NAMES #r ");
    assert_eq!(names.last().unwrap(), "OK NAMES #r 2");
    let nicks: Vec<&str> = names[..names.len() - 1]
        .iter()
        .flat_map(|l| {
            l.strip_prefix("NAMES #r ")
                .expect("a NAMES line")
                .split(' ')
        })
        .collect();
    assert!(nicks.contains(&"fast") && nicks.contains(&"watcher") && !nicks.contains(&"slow"));

    // The slow socket holds what fitted in the buffers, then ends.
    let deadline = Instant::now() + READ_TIMEOUT;
    let mut drained = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match slow.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => drained.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("slow socket not closed after {} bytes: {e}", drained.len()),
        }
        assert!(Instant::now() < deadline, "slow socket not closed in time");
    }
    // Whatever arrived is whole lines (the last one may be cut off by the
    // drop): messages, JOINs from before, and maybe the notice, on a line
    // of its own.
    let message = format!("MSG #r fast {text}");
    let allowed = [
        "JOIN #r fast",
        "JOIN #r watcher",
        message.as_str(),
        "SERVER send queue exceeded",
    ];
    let mut lines: Vec<&[u8]> = drained.split(|&b| b == b'\n').collect();
    let cut_off = lines.pop().unwrap_or_default();
    let mut messages = 0;
    for (n, l) in lines.iter().enumerate() {
        let l = std::str::from_utf8(l).expect("UTF-8");
        assert!(
            allowed.contains(&l),
            "slow line #{n}: {:?}",
            &l[..l.len().min(120)]
        );
        messages += usize::from(l == message);
    }
    assert!(
        allowed.iter().any(|a| a.as_bytes().starts_with(cut_off)),
        "slow: a broken last line {:?}",
        String::from_utf8_lossy(&cut_off[cut_off.len().saturating_sub(120)..])
    );
    assert!(messages < sent, "slow got all {sent} messages");
}

#[test]
fn an_idle_client_that_answers_pings_stays() {
    let server = serve("[limits]\nping_interval_secs = 1\nping_timeout_secs = 1");
    let mut a = Client::register(server.addr(), "a");
    for _ in 0..2 {
        let ping = a.line();
        let token = ping
            .strip_prefix("PING ")
            .unwrap_or_else(|| panic!("got {ping:?}"));
        assert!(!token.is_empty() && !token.contains(' '), "token {token:?}");
        a.send(&format!("PONG {token}"));
    }
    a.sync();
}

#[test]
fn an_idle_client_that_does_not_answer_is_dropped() {
    let server = serve("[limits]\nping_interval_secs = 1\nping_timeout_secs = 1");
    let addr = server.addr();
    let mut a = Client::join(addr, "a", "#r");
    let mut b = Client::join(addr, "b", "#r");
    a.expect("JOIN #r b");
    // b answers its own PING meanwhile; a's lines wait in its socket.
    assert_eq!(line_answering_pings(&mut b), "QUIT a ping timeout");
    sync_answering_pings(&mut b);
    assert_prefix(&a.line(), "PING ");
    a.expect("SERVER ping timeout");
    a.expect_closed();
}

#[test]
fn an_unregistered_idle_client_is_dropped_too() {
    let server = serve("[limits]\nping_interval_secs = 1\nping_timeout_secs = 1");
    let mut a = Client::connect(server.addr());
    assert_prefix(&a.line(), "PING ");
    a.expect("SERVER ping timeout");
    a.expect_closed();
}

#[test]
fn any_line_counts_as_activity() {
    let server = serve("[limits]\nping_interval_secs = 1\nping_timeout_secs = 1");
    let mut a = Client::register(server.addr(), "a");
    // For 2.5 s, well past interval + timeout, a line every 250 ms: errors
    // and bad bytes count as much as commands, and no PING is ever needed.
    let until = Instant::now() + Duration::from_millis(2500);
    let mut i = 0;
    while Instant::now() < until {
        match i % 3 {
            0 => {
                a.send("FLY away");
                assert_prefix(&a.line(), "ERR FLY UNKNOWN_COMMAND ");
            }
            1 => {
                a.send_bytes(b"\xff\n");
                assert_prefix(&a.line(), "ERR * BAD_UTF8 ");
            }
            _ => a.sync(),
        }
        i += 1;
        thread::sleep(Duration::from_millis(250));
    }
    a.sync();
}

#[test]
fn shutdown_says_goodbye_to_every_client() {
    let server = serve("");
    let addr = server.addr();
    let mut alone = Client::join(addr, "alone", "#solo");
    let mut registered = Client::register(addr, "reg");
    let mut greeted = Client::connect(addr);
    // Never read anything, not even HELLO.
    let mut silent = Client::connect_raw(addr);
    let mut x = Client::join(addr, "x", "#pair");
    let mut y = Client::join(addr, "y", "#pair");
    x.expect("JOIN #pair y");
    for c in [&mut alone, &mut registered, &mut greeted, &mut x, &mut y] {
        c.sync();
    }

    server.shutdown();

    for c in [&mut alone, &mut registered, &mut greeted] {
        c.expect("SERVER shutting down");
        c.expect_closed();
    }
    assert_prefix(&silent.line(), "HELLO ");
    silent.expect("SERVER shutting down");
    silent.expect_closed();
    // Members of a shared room may see each other leave first.
    for c in [&mut x, &mut y] {
        let mut l = c.line();
        while l.starts_with("QUIT ") {
            l = c.line();
        }
        assert_eq!(l, "SERVER shutting down");
        c.expect_closed();
    }
}

/// More clients JOIN at once than the server works through together
/// (`JOINS_AT_ONCE`, 256; the others wait their turn): every JOIN is
/// answered, and every member hears of every other exactly once, in its
/// listing or as a JOIN event (none lost, none twice).
#[test]
fn a_join_storm_past_the_gate_lets_everyone_in_and_everyone_hears_of_everyone() {
    let server = start_default();
    let n = 600;
    let nicks: Vec<String> = (0..n).map(|i| format!("storm{i}")).collect();
    let mut clients: Vec<Client> = nicks
        .iter()
        .map(|nick| Client::register(server.addr(), nick))
        .collect();
    for c in &mut clients {
        c.send("JOIN #storm");
    }
    let mut heard: Vec<Vec<String>> = vec![Vec::new(); n];
    let mut note = |who: usize, line: &str| {
        if let Some(names) = line.strip_prefix("NAMES #storm ") {
            heard[who].extend(names.split(' ').map(String::from));
        } else if let Some(nick) = line.strip_prefix("JOIN #storm ") {
            heard[who].push(nick.to_string());
        }
    };
    for (who, c) in clients.iter_mut().enumerate() {
        for line in c.read_until_prefix("OK JOIN #storm") {
            note(who, &line);
        }
    }
    // Every JOIN is answered: every event is queued before these PONGs.
    for (who, c) in clients.iter_mut().enumerate() {
        c.send("PING storm");
        for line in c.read_until_prefix("PONG storm") {
            note(who, &line);
        }
    }
    for (who, mut names) in heard.into_iter().enumerate() {
        // Its own name comes twice: its own JOIN and its place in NAMES.
        let own = names.iter().filter(|x| **x == nicks[who]).count();
        assert_eq!(own, 2, "{} heard of itself {own} times", nicks[who]);
        names.retain(|x| *x != nicks[who]);
        names.sort();
        let mut others: Vec<String> = nicks
            .iter()
            .filter(|x| **x != nicks[who])
            .cloned()
            .collect();
        others.sort();
        assert_eq!(names, others, "what {} heard of the others", nicks[who]);
    }
    clients[0].send("INFO #storm");
    let info = clients[0].read_until_prefix("OK INFO #storm");
    assert!(
        info.contains(&format!("INFO #storm members {n}")),
        "{info:?}"
    );
}
