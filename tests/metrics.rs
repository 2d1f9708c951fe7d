//! The admin listener: `/metrics` parses as Prometheus text (with a parser
//! crate, not by hand) and its counters and gauges move with traffic;
//! `/healthz` says the server is ready; `/metrics` on the clients' HTTP
//! listener only with `admin.token`.
//!
//! Every server of this process shares one metrics recorder (the
//! `metrics` facade has one per process), so each test compares a value
//! before and after its own traffic, and only the test that opens chat
//! connections reads the connection gauges. The tests that make traffic
//! take turns ([`SERIAL`]), so that one's messages are not another's.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::http;
use common::irc::Irc;
use common::ws::WsClient;
use common::{start, Client, TestServer, READ_TIMEOUT};
use prometheus_parse::{Scrape, Value};

/// Held by each test that makes chat traffic while it measures.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn admin(server: &TestServer) -> SocketAddr {
    server
        .handle()
        .admin_addr()
        .expect("the admin listener is on")
}

/// `GET /metrics`, parsed.
fn scrape(addr: SocketAddr) -> Scrape {
    let res = http::get(addr, "/metrics");
    assert_eq!(res.status, 200, "{:?}", String::from_utf8_lossy(&res.body));
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = String::from_utf8(res.body).expect("UTF-8");
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text")
}

/// The value of `name` with exactly `labels`; a histogram's is its count.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let sample = scrape.samples.iter().find(|s| {
        s.metric == name
            && s.labels.len() == labels.len()
            && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
    })?;
    Some(match &sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
        Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
        Value::Summary(_) => panic!("{name} is a summary"),
    })
}

/// `value`, which must be there.
fn get(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(scrape, name, labels).unwrap_or_else(|| panic!("no {name}{labels:?} in the scrape"))
}

/// Scrapes until `name{labels}` is `want` (a gauge that follows a
/// connection's end, which the server notices a moment later).
fn await_value(addr: SocketAddr, name: &str, labels: &[(&str, &str)], want: f64) {
    let deadline = Instant::now() + READ_TIMEOUT;
    loop {
        let got = value(&scrape(addr), name, labels);
        if got == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name}{labels:?} is {got:?}, not {want}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn conns(protocol: &'static str, transport: &'static str) -> [(&'static str, &'static str); 2] {
    [("protocol", protocol), ("transport", transport)]
}

#[test]
fn healthz_and_the_admin_routes() {
    let server = start("[history]\nenabled = false");
    let addr = admin(&server);
    let res = http::get(addr, "/healthz");
    assert_eq!((res.status, res.body.as_slice()), (200, &b"ok\n"[..]));
    assert_eq!(http::get(addr, "/nope").status, 404);
    assert_eq!(http::request(addr, "POST", "/metrics", &[]).status, 405);
    // Every metric is described, and the process's are sampled.
    let s = scrape(addr);
    for name in [
        "chatroom_connections",
        "chatroom_messages_total",
        "chatroom_deliveries_total",
        "chatroom_sendq_drops_total",
        "chatroom_flood_refusals_total",
        "chatroom_history_commit_seconds",
        "chatroom_uploads_in_flight",
        "chatroom_process_resident_memory_bytes",
        "chatroom_process_open_fds",
    ] {
        assert!(s.docs.contains_key(name), "no HELP for {name}");
    }
    assert!(get(&s, "chatroom_process_resident_memory_bytes", &[]) > 1e6);
    assert!(get(&s, "chatroom_process_open_fds", &[]) >= 3.0);
    // Not on the clients' listener without a token.
    assert_eq!(http::get(server.http_addr(), "/metrics").status, 404);
}

#[test]
fn the_http_listener_serves_metrics_to_the_bearer_of_the_token() {
    let token = "s3cret-token-of-32-characters-xx";
    let server = start(&format!(
        "[admin]\ntoken = \"{token}\"\n[history]\nenabled = false"
    ));
    let web = server.http_addr();
    let auth = format!("Authorization: Bearer {token}");
    let res = http::request(web, "GET", "/metrics", &[&auth]);
    assert_eq!(res.status, 200);
    let text = String::from_utf8(res.body).unwrap();
    let s = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    assert!(value(&s, "chatroom_process_open_fds", &[]).is_some());
    let wrong = http::request(web, "GET", "/metrics", &["Authorization: Bearer nope"]);
    assert_eq!(wrong.status, 404);
    assert_eq!(http::get(web, "/metrics").status, 404);
}

#[test]
fn counters_and_gauges_move_with_traffic() {
    let _turn = serial();
    let server = start("[limits]\nflood_burst = 1000\nflood_rate_per_sec = 1000");
    let addr = admin(&server);
    let before = scrape(addr);
    let messages = get(&before, "chatroom_messages_total", &[]);
    let deliveries = get(&before, "chatroom_deliveries_total", &[]);
    let commits = get(&before, "chatroom_history_commit_seconds", &[]);

    // Three members of #r over two protocols, and one more on a WebSocket.
    let mut alice = Client::join(server.addr(), "alice", "#r");
    let mut bob = Client::join(server.addr(), "bob", "#r");
    alice.expect("JOIN #r bob");
    let mut carol = Irc::join(server.irc_addr(), "carol", "#r");
    alice.expect("JOIN #r carol");
    bob.expect("JOIN #r carol");
    let dave = WsClient::register(server.http_addr(), "dave");
    // Other tests' clients may still be closing: the gauges converge.
    for (p, t, n) in [
        ("native", "tcp", 2.0),
        ("irc", "tcp", 1.0),
        ("native", "ws", 1.0),
    ] {
        await_value(addr, "chatroom_connections", &conns(p, t), n);
    }
    let s = scrape(addr);
    assert_eq!(get(&s, "chatroom_connections", &conns("irc", "ws")), 0.0);
    assert_eq!(get(&s, "chatroom_users", &[]), 4.0);
    assert_eq!(get(&s, "chatroom_rooms", &[]), 1.0);
    assert!(get(&s, "chatroom_database_bytes", &[]) > 0.0);

    // Four messages, each handed to the two other members.
    for n in 0..4 {
        alice.send(&format!("MSG #r hi {n}"));
        alice.expect("OK MSG #r");
        bob.expect(&format!("MSG #r alice hi {n}"));
        carol.expect(&format!(":alice!native@native PRIVMSG #r :hi {n}"));
    }
    let s = scrape(addr);
    assert_eq!(get(&s, "chatroom_messages_total", &[]) - messages, 4.0);
    assert_eq!(get(&s, "chatroom_deliveries_total", &[]) - deliveries, 8.0);
    // Each OK MSG came after its commit.
    assert!(get(&s, "chatroom_history_commit_seconds", &[]) - commits >= 1.0);

    // Gone: the gauges follow.
    drop((alice, bob, carol, dave));
    for (p, t) in [("native", "tcp"), ("irc", "tcp"), ("native", "ws")] {
        await_value(addr, "chatroom_connections", &conns(p, t), 0.0);
    }
    await_value(addr, "chatroom_users", &[], 0.0);
}

#[test]
fn flood_refusals_are_counted() {
    let _turn = serial();
    let server =
        start("[limits]\nflood_burst = 1\nflood_rate_per_sec = 0.001\n[history]\nenabled = false");
    let addr = admin(&server);
    let native = [("protocol", "native")];
    let before = get(&scrape(addr), "chatroom_flood_refusals_total", &native);
    let mut c = Client::connect(server.addr());
    c.send("NICK eve");
    c.expect("OK NICK eve");
    for _ in 0..3 {
        c.send("INFO");
        c.expect("ERR INFO RATE_LIMITED slow down: too many commands");
    }
    let after = get(&scrape(addr), "chatroom_flood_refusals_total", &native);
    assert_eq!(after - before, 3.0);
}

#[test]
fn a_connection_dropped_for_its_send_queue_is_counted() {
    let _turn = serial();
    let server = start(
        "[limits]\nsendq_bytes = 4096\nflood_burst = 1000000\nflood_rate_per_sec = 1000000\n\
         [history]\nenabled = false",
    );
    let addr = admin(&server);
    let before = get(&scrape(addr), "chatroom_sendq_drops_total", &[]);

    // A member that stops reading, with a small receive buffer.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&server.addr().into()).unwrap();
    let slow: TcpStream = socket.into();
    slow.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let mut slow_writer = slow.try_clone().unwrap();
    let mut slow = BufReader::new(slow);
    slow_writer.write_all(b"NICK slow\nJOIN #s\n").unwrap();
    let mut l = String::new();
    while !l.starts_with("OK JOIN ") {
        l.clear();
        slow.read_line(&mut l).unwrap();
        assert!(!l.is_empty(), "slow: closed while joining");
    }

    let mut fast = Client::join(server.addr(), "fast", "#s");
    let text = "x".repeat(1000);
    let batch: String = (0..50).map(|_| format!("MSG #s {text}\n")).collect();
    let mut sent = 0;
    'sending: while sent < 20_000 {
        fast.send_bytes(batch.as_bytes());
        let mut replies = 0;
        while replies < 50 {
            match fast.line().as_str() {
                "OK MSG #s" => replies += 1,
                "QUIT slow send queue exceeded" => break 'sending,
                other => panic!("[fast] unexpected line {other:?}"),
            }
        }
        sent += 50;
    }
    let after = get(&scrape(addr), "chatroom_sendq_drops_total", &[]);
    assert_eq!(after - before, 1.0, "after {sent} messages");
}

#[test]
fn the_binary_checks_its_own_health() {
    use common::process::{chatroom_command, spawn_listening};
    let dir = tempfile::tempdir().unwrap();
    let cmd = chatroom_command(
        dir.path(),
        &["--listen", "127.0.0.1:0"],
        &[("CHATROOM_HISTORY__ENABLED", "false")],
    );
    let (child, _, log) = spawn_listening(cmd);
    let _child = common::Running(child);
    let deadline = Instant::now() + READ_TIMEOUT;
    let admin = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = log
            .recv_timeout(left)
            .expect("an `admin listening on` line");
        if let Some((_, addr)) = line.split_once("admin listening on ") {
            break addr.trim().to_string();
        }
    };
    let check = |admin: &str| {
        chatroom_command(
            dir.path(),
            &["--check-health"],
            &[("CHATROOM_ADMIN__LISTEN", admin)],
        )
        .stderr(std::process::Stdio::null())
        .status()
        .expect("the binary runs")
    };
    assert!(check(&admin).success());
    // Nothing there: a failure.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = closed.local_addr().unwrap().to_string();
    drop(closed);
    assert!(!check(&nobody).success());
}

#[test]
fn an_upload_is_in_flight_until_its_body_ends() {
    let _turn = serial();
    let server = start("[limits]\nflood_burst = 1000\nflood_rate_per_sec = 1000");
    let addr = admin(&server);
    await_value(addr, "chatroom_uploads_in_flight", &[], 0.0);
    let mut alice = Client::join(server.addr(), "alice", "#r");
    alice.send_bytes(b"FILE #r 10 notes.txt\nhello");
    await_value(addr, "chatroom_uploads_in_flight", &[], 1.0);
    alice.send_bytes(b" you");
    alice.send_bytes(b"!");
    let ok = alice.line();
    assert!(ok.starts_with("OK FILE "), "{ok}");
    await_value(addr, "chatroom_uploads_in_flight", &[], 0.0);
}
