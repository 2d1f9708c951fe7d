//! The WebSocket at `/ws` end to end, with tokio-tungstenite as the
//! client: a WebSocket user is a session like any other (the same lines,
//! errors, limits and timeouts as over TCP), files go up and down as
//! binary messages, the IRCv3 subprotocols reach the IRC front end, and
//! the page's origin is checked.

mod common;

use common::ws::{try_connect, Handshake, WsClient};
use common::{start, Client};
use tokio_tungstenite::tungstenite::{Error, Message};

#[test]
fn a_websocket_user_and_a_tcp_user_talk_in_one_room() {
    let s = start("[history]\nenabled = false");
    let mut ws = WsClient::join(s.http_addr(), "webby", "#lobby");
    let mut nc = Client::join(s.addr(), "netcat", "#lobby");
    ws.expect("JOIN #lobby netcat");
    nc.send("MSG #lobby hi from nc");
    nc.expect("OK MSG #lobby");
    ws.expect("MSG #lobby netcat hi from nc");
    ws.send("MSG #lobby hi from the browser");
    ws.expect("OK MSG #lobby");
    nc.expect("MSG #lobby webby hi from the browser");
    // Several lines in one text message are several lines.
    ws.send("PRIVMSG netcat one\nPRIVMSG netcat two");
    ws.expect("OK PRIVMSG netcat");
    ws.expect("OK PRIVMSG netcat");
    nc.expect("PRIVMSG webby one");
    nc.expect("PRIVMSG webby two");
    ws.send("QUIT bye");
    ws.expect("OK QUIT");
    nc.expect("QUIT webby bye");
    assert!(ws.expect_closed().is_empty());
}

/// Bytes that are no text: every value, LFs included.
fn binary_data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_file_goes_up_in_binary_chunks_and_comes_down_as_binary() {
    let s = start("[history]\nenabled = false");
    let mut ws = WsClient::join(s.http_addr(), "webby", "#r");
    let mut nc = Client::join(s.addr(), "netcat", "#r");
    ws.expect("JOIN #r netcat");
    let data = binary_data(150_000);
    let sha = sha256_hex(&data);
    ws.send(&format!("FILE #r {} pic.png", data.len()));
    for chunk in data.chunks(64 * 1024) {
        ws.send_binary(chunk);
    }
    let ok = ws.line();
    let id = ok
        .strip_prefix("OK FILE ")
        .and_then(|rest| rest.strip_suffix(&format!(" {sha}")))
        .unwrap_or_else(|| panic!("got {ok:?}"))
        .to_owned();
    nc.expect(&format!("FILE #r webby {id} {} {sha} pic.png", data.len()));

    // Down again, over the WebSocket: DATA, the bytes, OK FETCH.
    ws.send(&format!("FETCH {id}"));
    ws.expect(&format!("DATA {id} {} pic.png", data.len()));
    let mut got = Vec::new();
    while got.len() < data.len() {
        got.extend_from_slice(&ws.binary());
    }
    assert!(got == data, "the body differs");
    ws.expect(&format!("OK FETCH {id}"));
    // Lines go on as text after the body.
    ws.sync();
    // An empty file: DATA and OK, no binary message.
    ws.send("FILE #r 0 empty.txt");
    let ok = ws.line();
    let id = ok["OK FILE ".len()..].split(' ').next().unwrap().to_owned();
    nc.expect(&format!(
        "FILE #r webby {id} 0 {} empty.txt",
        sha256_hex(b"")
    ));
    ws.send(&format!("FETCH {id}"));
    ws.expect(&format!("DATA {id} 0 empty.txt"));
    ws.expect(&format!("OK FETCH {id}"));
}

/// Sends each input over TCP and over a WebSocket, and asserts the answers
/// are the same lines.
fn same_answers(s: &common::TestServer, inputs: &[&str], answers: usize) {
    let mut nc = Client::register(s.addr(), "tcpuser");
    let mut ws = WsClient::register(s.http_addr(), "wsuser");
    for input in inputs {
        nc.send(input);
        ws.send(input);
    }
    for _ in 0..answers {
        let over_tcp = nc.line();
        let over_ws = ws.line();
        assert_eq!(over_ws, over_tcp.replace("tcpuser", "wsuser"));
    }
}

#[test]
fn bad_input_gets_the_same_errors_as_over_tcp() {
    let s = start("[history]\nenabled = false\n[limits]\nmax_line_bytes = 64");
    let long = format!("MSG #r {}", "x".repeat(100));
    same_answers(
        &s,
        &[
            "FLY away",
            "JOIN",
            "NICK",
            "JOIN #bad!room",
            &long,
            "MSG #r hi",
            "FETCH ../etc",
        ],
        7,
    );
    let mut ws = WsClient::register(s.http_addr(), "w");
    ws.send("FLY away");
    ws.expect("ERR FLY UNKNOWN_COMMAND try HELP");
    ws.send(&long);
    ws.expect("ERR * LINE_TOO_LONG lines are limited to 64 bytes");
    // Binary bytes outside a FILE body are read as lines too.
    ws.send_binary(b"PING bin\n");
    ws.expect("PONG bin");
    ws.sync();
}

#[test]
fn flood_control_applies_as_over_tcp() {
    let s =
        start("[history]\nenabled = false\n[limits]\nflood_burst = 5\nflood_rate_per_sec = 0.1");
    // NICK takes one token of five: four lines pass, the fifth and sixth not.
    same_answers(
        &s,
        &["PING 1", "PING 2", "PING 3\nPING 4", "PING 5", "FLY"],
        6,
    );
    // QUIT is never refused.
    let mut ws = WsClient::register(s.http_addr(), "flooder");
    for i in 0..6 {
        ws.send(&format!("PING {i}"));
    }
    let answers: Vec<String> = (0..6).map(|_| ws.line()).collect();
    assert_eq!(answers[..4], ["PONG 0", "PONG 1", "PONG 2", "PONG 3"]);
    assert!(
        answers[4].starts_with("ERR PING RATE_LIMITED "),
        "{answers:?}"
    );
    ws.send("QUIT");
    ws.expect("OK QUIT");
    ws.expect_closed();
}

#[test]
fn a_message_over_the_limit_closes_that_websocket_only() {
    let s = start("[history]\nenabled = false\n[http]\nmax_ws_message_bytes = 65536");
    let mut other = WsClient::register(s.http_addr(), "other");
    let mut ws = WsClient::register(s.http_addr(), "big");
    ws.send(&"x".repeat(70_000));
    ws.expect_closed();
    other.sync();
    let mut nc = Client::register(s.addr(), "nc");
    nc.sync();
}

#[test]
fn a_websocket_counts_as_a_client() {
    let s = start("[history]\nenabled = false\n[limits]\nmax_clients = 1");
    let mut nc = Client::register(s.addr(), "first");
    let mut ws = try_connect(s.http_addr(), &Handshake::default()).expect("WebSocket opens");
    let refusal = ws.line();
    assert!(refusal.starts_with("ERR * SERVER_FULL "), "{refusal:?}");
    assert!(ws.expect_closed().is_empty());
    nc.sync();
}

#[test]
fn the_ping_timeout_applies() {
    let s = start(
        "[history]\nenabled = false\n[limits]\nping_interval_secs = 1\nping_timeout_secs = 1",
    );
    let mut ws = WsClient::register(s.http_addr(), "sleepy");
    let ping = ws.line();
    assert!(ping.starts_with("PING "), "got {ping:?}");
    // A WebSocket-level pong is no answer: the protocol's PONG is.
    ws.send_message(Message::Pong(Default::default()));
    ws.expect("SERVER ping timeout");
    assert!(ws.expect_closed().is_empty());
}

#[test]
fn a_websocket_user_that_answers_pings_stays() {
    let s = start(
        "[history]\nenabled = false\n[limits]\nping_interval_secs = 1\nping_timeout_secs = 1",
    );
    let mut ws = WsClient::register(s.http_addr(), "awake");
    for _ in 0..2 {
        let ping = ws.line();
        let token = ping
            .strip_prefix("PING ")
            .unwrap_or_else(|| panic!("got {ping:?}"));
        ws.send(&format!("PONG {token}"));
    }
    ws.sync();
}

#[test]
fn irc_over_a_websocket_with_the_text_subprotocol() {
    let s = start("[history]\nenabled = false");
    let mut nc = Client::join(s.addr(), "nina", "#123");
    let how = Handshake {
        protocols: &["text.ircv3.net"],
        origin: None,
    };
    let mut irc = try_connect(s.http_addr(), &how).expect("WebSocket opens");
    assert_eq!(
        irc.response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.to_str().unwrap()),
        Some("text.ircv3.net")
    );
    irc.name = "ivan".into();
    irc.send("NICK ivan");
    irc.send("USER ivan 0 * :Real ivan");
    irc.expect(":chatroom 001 ivan :Welcome to the chatroom IRC Network ivan!~ivan@irc");
    while !irc.line().starts_with(":chatroom 422 ") {}
    irc.send("JOIN #123");
    irc.expect(":ivan!~ivan@irc JOIN #123");
    irc.expect(":chatroom 353 ivan = #123 :ivan @nina");
    irc.expect(":chatroom 366 ivan #123 :End of /NAMES list");
    nc.expect("JOIN #123 ivan");
    nc.send("MSG #123 hello from nc");
    nc.expect("OK MSG #123");
    irc.expect(":nina!native@native PRIVMSG #123 :hello from nc");
    irc.send("PRIVMSG #123 :hello from the web");
    nc.expect("MSG #123 ivan hello from the web");
}

#[test]
fn irc_over_a_websocket_with_the_binary_subprotocol() {
    let s = start("[history]\nenabled = false");
    let how = Handshake {
        protocols: &["binary.ircv3.net"],
        origin: None,
    };
    let mut irc = try_connect(s.http_addr(), &how).expect("WebSocket opens");
    irc.send_binary(b"NICK bina");
    irc.send_binary(b"USER bina 0 * :Real bina");
    let welcome = irc.binary();
    assert_eq!(
        &welcome[..],
        b":chatroom 001 bina :Welcome to the chatroom IRC Network bina!~bina@irc"
    );
}

#[test]
fn without_irc_its_subprotocols_are_not_chosen() {
    let s = start("[history]\nenabled = false\n[irc]\nlisten = \"\"");
    let how = Handshake {
        protocols: &["text.ircv3.net", "chatroom"],
        origin: None,
    };
    let mut ws = try_connect(s.http_addr(), &how).expect("WebSocket opens");
    assert_eq!(
        ws.response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.to_str().unwrap()),
        Some("chatroom")
    );
    assert!(ws.line().starts_with("HELLO "));
}

fn status_of(refused: Error) -> u16 {
    match refused {
        Error::Http(res) => res.status().as_u16(),
        other => panic!("not an HTTP refusal: {other}"),
    }
}

#[test]
fn a_page_from_elsewhere_is_refused_and_the_servers_own_allowed() {
    let s = start("[history]\nenabled = false");
    let addr = s.http_addr();
    let evil = Handshake {
        protocols: &[],
        origin: Some("http://evil.example"),
    };
    let refused = try_connect(addr, &evil).err().expect("refused");
    assert_eq!(status_of(refused), 403);
    let own = format!("http://{addr}");
    let same = Handshake {
        protocols: &[],
        origin: Some(&own),
    };
    let mut ws = try_connect(addr, &same).expect("the server's own page");
    assert!(ws.line().starts_with("HELLO "));
}

#[test]
fn listed_origins_are_allowed() {
    let s =
        start("[history]\nenabled = false\n[http]\nallowed_origins = [\"https://app.example\"]");
    let addr = s.http_addr();
    let listed = Handshake {
        protocols: &[],
        origin: Some("https://app.example"),
    };
    let mut ws = try_connect(addr, &listed).expect("a listed origin");
    assert!(ws.line().starts_with("HELLO "));
    let other = Handshake {
        protocols: &[],
        origin: Some("https://other.example"),
    };
    assert_eq!(
        status_of(try_connect(addr, &other).err().expect("refused")),
        403
    );
}
