//! What IRC clients may send that they should not: over-long lines, bytes
//! that are not UTF-8, garbage, too many parameters, empty lines; and the
//! limits: flood control (fakelag), max_clients shared with the native
//! listener. Nothing crashes or desyncs the connection.

mod common;
use common::irc::Irc;
use common::*;

use std::time::{Duration, Instant};

const NO_FLOOD: &str =
    "[limits]\nflood_burst = 10000\nflood_rate_per_sec = 10000\n[history]\nenabled = false";

#[test]
fn over_long_lines_are_refused_and_the_stream_goes_on() {
    let s = start(NO_FLOOD);
    let mut a = Irc::join(s.irc_addr(), "alice", "#r");
    let mut b = Irc::join(s.irc_addr(), "bob", "#r");
    a.expect(":bob!~bob@irc JOIN #r");
    // 510 bytes without the ending is the most a line may hold.
    let fits = format!("PRIVMSG #r :{}", "x".repeat(510 - 12));
    a.send(&fits);
    // Relayed with a longer source, it no longer fits one line: refused
    // whole (417), not split or cut; nobody sees it.
    a.expect(":chatroom 417 alice :Input line was too long");
    a.send("PRIVMSG #r :short");
    b.expect(":alice!~alice@irc PRIVMSG #r :short");
    let long = format!("PRIVMSG #r :{}", "y".repeat(600));
    a.send(&long);
    a.expect(":chatroom 417 alice :Input line was too long");
    // Very long: reported once, however much of it comes.
    let huge = format!("PRIVMSG #r :{}\r\n", "z".repeat(100_000));
    a.send_bytes(huge.as_bytes());
    a.expect(":chatroom 417 alice :Input line was too long");
    a.sync();
    // Tags have a budget of their own.
    a.send(&format!("@label={} PRIVMSG #r :tagged", "t".repeat(4000)));
    b.expect(":alice!~alice@irc PRIVMSG #r :tagged");
    a.send(&format!("@label={} PRIVMSG #r :tagged", "t".repeat(9000)));
    a.expect(":chatroom 417 alice :Input line was too long");
    a.sync();
    b.sync();
}

#[test]
fn bytes_that_are_not_utf8_are_dropped_with_fail() {
    let s = start(NO_FLOOD);
    let mut a = Irc::join(s.irc_addr(), "alice", "#r");
    let mut b = Irc::join(s.irc_addr(), "bob", "#r");
    a.expect(":bob!~bob@irc JOIN #r");
    a.send_bytes(b"PRIVMSG #r :caf\xe9\r\n");
    a.expect(":chatroom FAIL PRIVMSG INVALID_UTF8 :Message rejected, your IRC software MUST use UTF-8 encoding on this network");
    a.send_bytes(b"\xff\xfe\r\n");
    a.expect(":chatroom FAIL * INVALID_UTF8 :Message rejected, your IRC software MUST use UTF-8 encoding on this network");
    a.send("PRIVMSG #r :café");
    b.expect(":alice!~alice@irc PRIVMSG #r :café");
}

#[test]
fn garbage_empty_lines_and_many_parameters() {
    let s = start(NO_FLOOD);
    let mut a = Irc::register(s.irc_addr(), "alice");
    let mut b = Irc::register(s.irc_addr(), "bob");
    // Empty lines, lone CRs and LFs, spaces: nothing to answer.
    a.send_bytes(b"\r\n\n\r   \r\n");
    // Tags or a source and nothing else.
    a.send("@a=b");
    a.send(":alice!x@y");
    a.sync();
    // Garbage commands.
    a.send("\u{1}\u{2}");
    a.expect(":chatroom 421 alice \u{1}\u{2} :Unknown command");
    a.send(":src @weird ::");
    a.expect(":chatroom 421 alice @weird :Unknown command");
    // Twenty parameters: the fifteenth holds the rest; PRIVMSG's text is
    // its second.
    let words: Vec<String> = (1..=20).map(|i| format!("w{i}")).collect();
    a.send(&format!("PRIVMSG bob {}", words.join(" ")));
    b.expect(":alice!~alice@irc PRIVMSG bob :w1");
    a.send(&format!("FROB {}", words.join(" ")));
    a.expect(":chatroom 421 alice FROB :Unknown command");
    a.send(&format!("JOIN {}", words.join(" ")));
    a.expect(":chatroom 403 alice w1 :No such channel");
    // Unknown tags are ignored, client-only ones too.
    a.send("@+draft/react=x;label=1 PRIVMSG bob :tagged");
    b.expect(":alice!~alice@irc PRIVMSG bob :tagged");
    a.sync();
}

#[test]
fn flood_control_slows_a_client_down_without_refusing() {
    // 3 lines at once, then 4 a second.
    let s = start("[limits]\nflood_burst = 3\nflood_rate_per_sec = 4\n[history]\nenabled = false");
    let mut a = Irc::register(s.irc_addr(), "alice");
    let start = Instant::now();
    let burst: String = (0..9).map(|i| format!("PING :p{i}\r\n")).collect();
    a.send_bytes(burst.as_bytes());
    for i in 0..9 {
        a.expect(&format!(":chatroom PONG chatroom :p{i}"));
    }
    // Registration took two of the three tokens: at least six of these
    // lines wait a quarter of a second each.
    assert!(
        start.elapsed() >= Duration::from_millis(1400),
        "not slowed: {:?}",
        start.elapsed()
    );
}

#[test]
fn max_clients_is_shared_by_both_listeners() {
    let s = start("[limits]\nmax_clients = 2\n[history]\nenabled = false");
    let _native = Client::register(s.addr(), "nina");
    let _irc = Irc::register(s.irc_addr(), "ivan");
    let mut third = Irc::connect(s.irc_addr());
    third.expect("ERROR :Closing Link: (Server is full, try again later)");
    third.expect_closed();
    let mut fourth = Client::connect_raw(s.addr());
    let l = fourth.line();
    assert!(l.starts_with("ERR * SERVER_FULL "), "{l}");
}

#[test]
fn irc_off_means_no_listener() {
    let s = start("[irc]\nlisten = \"\"");
    assert!(s.irc_addr_if_on().is_none());
    let on = start("");
    assert!(on.irc_addr_if_on().is_some());
}

#[test]
fn an_irc_client_that_does_not_read_is_dropped() {
    use std::io::{BufRead, BufReader, Write};
    let s = start(
        "[limits]\nsendq_bytes = 65536\nflood_burst = 1000000\nflood_rate_per_sec = 1000000\n[history]\nenabled = false",
    );
    // A small receive buffer, and no reading once in.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&s.irc_addr().into()).unwrap();
    let slow: std::net::TcpStream = socket.into();
    slow.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let mut writer = slow.try_clone().unwrap();
    let mut slow = BufReader::new(slow);
    writer
        .write_all(b"NICK slow\r\nUSER slow 0 * :Slow\r\nJOIN #r\r\n")
        .unwrap();
    let mut l = String::new();
    while !l.starts_with(":chatroom 366 ") {
        l.clear();
        slow.read_line(&mut l).unwrap();
        assert!(!l.is_empty(), "slow: closed while joining");
    }
    let mut fast = Client::join(s.addr(), "fast", "#r");
    let text = "x".repeat(1000);
    let batch: String = (0..50).map(|_| format!("MSG #r {text}\n")).collect();
    let mut quit_seen = false;
    for _ in 0..400 {
        fast.send_bytes(batch.as_bytes());
        let mut replies = 0;
        while replies < 50 {
            match fast.line().as_str() {
                "OK MSG #r" => replies += 1,
                "QUIT slow send queue exceeded" => quit_seen = true,
                other => panic!("[fast] unexpected line {other:?}"),
            }
        }
        if quit_seen {
            break;
        }
    }
    assert!(quit_seen, "the slow IRC client was never dropped");
    // What it still gets, once it reads, ends with the close.
    let rest = {
        let mut all = Vec::new();
        let _ = std::io::Read::read_to_end(&mut slow, &mut all);
        String::from_utf8_lossy(&all).into_owned()
    };
    assert!(
        !rest.contains("SERVER "),
        "a native line reached an IRC client"
    );
}
