//! Framing end to end: line terminators, over-long lines, bad bytes,
//! empty lines, pipelining, a last line without LF, FILE bodies and a
//! garbage stream, against a real server on 127.0.0.1:0.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;

use common::peer::Peer;
use common::*;

/// The greeting a fresh connection gets.
fn hello() -> String {
    format!(
        "HELLO chatroom {} Welcome! Pick a nickname: NICK <name>",
        env!("CARGO_PKG_VERSION")
    )
}

/// A server with `toml` on the defaults; history is off so that nothing
/// is stored or replayed between tests.
fn serve(toml: &str) -> TestServer {
    start(&format!("[history]\nenabled = false\n{toml}"))
}

/// Flood limits high enough never to matter.
const NO_FLOOD: &str = "[limits]\nflood_burst = 100000\nflood_rate_per_sec = 100000\n";

/// Asserts that `line` starts with `prefix`.
#[track_caller]
fn assert_prefix(line: &str, prefix: &str) {
    assert!(
        line.starts_with(prefix),
        "expected {prefix:?}..., got {line:?}"
    );
}

/// Reads raw bytes from `stream` until they end with `end`.
fn read_raw_until(stream: &mut TcpStream, end: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(end) {
        match stream.read(&mut buf) {
            Ok(0) => panic!("closed; got {:?}", String::from_utf8_lossy(&got)),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("read failed: {e}; got {:?}", String::from_utf8_lossy(&got)),
        }
    }
    got
}

#[test]
fn crlf_and_lf_both_work_and_server_lines_end_in_a_single_lf() {
    let server = serve("");
    let mut raw = TcpStream::connect(server.addr()).unwrap();
    raw.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let greeting = read_raw_until(&mut raw, b"\n");
    assert_eq!(greeting, format!("{}\n", hello()).into_bytes());

    raw.write_all(b"NICK crlf\r\nJOIN #r\nPING a\r\nping b\nNAMES #r\r\nPING end\n")
        .unwrap();
    let got = read_raw_until(&mut raw, b"PONG end\n");
    assert!(
        !got.contains(&b'\r'),
        "a CR in {:?}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(
        String::from_utf8(got).unwrap(),
        "OK NICK crlf\n\
         JOIN #r crlf\n\
         NAMES #r crlf\n\
         OK JOIN #r\n\
         PONG a\n\
         PONG b\n\
         NAMES #r crlf\n\
         OK NAMES #r 1\n\
         PONG end\n"
    );

    // The other member sees text sent with CRLF without its CR.
    let mut other = Client::join(server.addr(), "lf", "#r");
    raw.write_all(b"MSG #r hello there\r\n").unwrap();
    let got = read_raw_until(&mut raw, b"OK MSG #r\n");
    assert_eq!(got, b"JOIN #r lf\nOK MSG #r\n");
    other.expect("MSG #r crlf hello there");
    other.sync();
}

#[test]
fn a_line_of_exactly_max_line_bytes_is_fine_one_more_is_too_long() {
    let server = serve("[limits]\nmax_line_bytes = 64");
    let mut c = Client::register(server.addr(), "a");

    // 64 bytes, with LF and with CRLF (the terminator is not counted).
    let token = "t".repeat(64 - "PING ".len());
    let exact = format!("PING {token}");
    assert_eq!(exact.len(), 64);
    c.send(&exact);
    c.expect(&format!("PONG {token}"));
    c.send_bytes(format!("{exact}\r\n").as_bytes());
    c.expect(&format!("PONG {token}"));

    // 65 bytes, with LF and with CRLF.
    let long = format!("{exact}x");
    c.send(&long);
    assert_prefix(&c.line(), "ERR * LINE_TOO_LONG ");
    c.send_bytes(format!("{long}\r\n").as_bytes());
    assert_prefix(&c.line(), "ERR * LINE_TOO_LONG ");
    c.sync();

    // The connection is still fine: a real command works.
    c.send("JOIN #r");
    c.expect_lines(&["JOIN #r a", "NAMES #r a", "OK JOIN #r"]);
    c.sync();
}

#[test]
fn an_over_long_line_in_several_writes_is_reported_once_and_discarded_to_its_end() {
    let server = serve("[limits]\nmax_line_bytes = 64");
    let mut a = Client::join(server.addr(), "a", "#r");
    let mut b = Client::join(server.addr(), "b", "#r");
    a.expect("JOIN #r b");

    // The error comes as soon as the line is known to be too long, before
    // its end has arrived.
    a.send_bytes(format!("MSG #r {}", "x".repeat(100)).as_bytes());
    assert_prefix(&a.line(), "ERR * LINE_TOO_LONG ");
    // The rest of that line, in pieces, looking like commands: all ignored.
    a.send_bytes("y".repeat(300).as_bytes());
    a.send_bytes(b" PING smuggled MSG #r smuggled");
    a.send_bytes(b" QUIT\n");
    a.sync();
    a.send("MSG #r after");
    a.expect("OK MSG #r");
    b.expect("MSG #r a after");
    b.sync();
}

#[test]
fn a_huge_line_is_discarded_and_the_next_command_works() {
    let server = serve("");
    let mut c = Client::register(server.addr(), "a");
    let mut bytes = vec![b'x'; 1024 * 1024];
    bytes.extend_from_slice(b"\nPING after\n");
    c.send_bytes(&bytes);
    assert_prefix(&c.line(), "ERR * LINE_TOO_LONG ");
    c.expect("PONG after");
    c.sync();

    // The same with a valid-looking start and CRLF.
    let mut bytes = b"MSG #r ".to_vec();
    bytes.extend(std::iter::repeat_n(b'z', 1024 * 1024));
    bytes.extend_from_slice(b"\r\nPING again\r\n");
    c.send_bytes(&bytes);
    assert_prefix(&c.line(), "ERR * LINE_TOO_LONG ");
    c.expect("PONG again");
    c.sync();
}

#[test]
fn invalid_utf8_is_refused_and_the_connection_stays_open() {
    let server = serve("");
    let mut a = Client::join(server.addr(), "a", "#r");
    let mut b = Client::join(server.addr(), "b", "#r");
    a.expect("JOIN #r b");

    a.send_bytes(b"MSG #r caf\xe9\n");
    assert_prefix(&a.line(), "ERR * BAD_UTF8 ");
    a.send_bytes(b"\xff\xfe\xfd\r\n");
    assert_prefix(&a.line(), "ERR * BAD_UTF8 ");
    // A truncated multi-byte sequence at the end of the line.
    a.send_bytes(b"PING \xe2\x82\n");
    assert_prefix(&a.line(), "ERR * BAD_UTF8 ");
    a.sync();

    // Valid multi-byte UTF-8 passes through untouched.
    a.send("MSG #r café ✓");
    a.expect("OK MSG #r");
    b.expect("MSG #r a café ✓");
    b.sync();
}

#[test]
fn nul_anywhere_is_bad_syntax() {
    let server = serve("");
    let mut a = Client::join(server.addr(), "a", "#r");
    let mut b = Client::join(server.addr(), "b", "#r");
    a.expect("JOIN #r b");

    for line in [
        &b"\0PING x\n"[..],
        b"PING a\0b\n",
        b"PING x\0\n",
        b"MSG #r hi\0there\n",
        b"\0\n",
    ] {
        a.send_bytes(line);
        assert_prefix(&a.line(), "ERR * BAD_SYNTAX ");
    }
    a.sync();
    // Nothing reached the other member: the next thing it sees is this.
    a.send("MSG #r clean");
    a.expect("OK MSG #r");
    b.expect("MSG #r a clean");
    b.sync();
}

#[test]
fn a_cr_not_right_before_the_lf_is_bad_syntax_and_not_delivered() {
    let server = serve("");
    let mut a = Client::join(server.addr(), "a", "#r");
    let mut b = Client::join(server.addr(), "b", "#r");
    a.expect("JOIN #r b");

    for line in [
        &b"MSG #r a\rb\n"[..],
        b"MSG #r a\rJOIN #evil\r\n",
        b"MSG #r two\r\r\n",
        b"\rPING x\n",
        b"PRIVMSG b hi\rthere\n",
    ] {
        a.send_bytes(line);
        assert_prefix(&a.line(), "ERR * BAD_SYNTAX ");
    }
    a.sync();
    a.send("MSG #r clean");
    a.expect("OK MSG #r");
    b.expect("MSG #r a clean");
    b.sync();
}

#[test]
fn empty_lines_are_ignored_silently() {
    // A bucket of one line: if empty lines were charged, the barrier's
    // PING would be refused.
    let server = serve("[limits]\nflood_burst = 1\nflood_rate_per_sec = 0.001");
    let mut c = Client::connect(server.addr());
    c.send_bytes(b"\n\r\n\n\r\n");
    for _ in 0..50 {
        c.send_bytes(b"\r\n\n");
    }
    c.sync();

    let server = serve("");
    let mut c = Client::register(server.addr(), "a");
    c.send_bytes(b"\n\nPING 1\r\n\r\n\nPING 2\n\r\n");
    c.expect_lines(&["PONG 1", "PONG 2"]);
    c.sync();
}

/// One expected reply of the pipelining test.
enum Want {
    /// Exactly this line.
    Line(String),
    /// One line starting with this.
    Prefix(String),
    /// Lines starting with `item`, then exactly `end`.
    Block { item: String, end: String },
}

fn line(s: impl Into<String>) -> Want {
    Want::Line(s.into())
}

fn prefix(s: impl Into<String>) -> Want {
    Want::Prefix(s.into())
}

fn block(item: &str, end: &str) -> Want {
    Want::Block {
        item: item.into(),
        end: end.into(),
    }
}

#[test]
fn pipelined_commands_are_answered_in_command_order() {
    let server = serve(NO_FLOOD);
    let mut a = Client::join(server.addr(), "a", "#r");
    let mut b = Client::join(server.addr(), "b", "#r");
    a.expect("JOIN #r b");

    let mut input: Vec<u8> = Vec::new();
    let mut want: Vec<Want> = Vec::new();
    let mut delivered: Vec<String> = Vec::new();
    let mut joined_x = false;
    for i in 0..200 {
        match i % 14 {
            0 => {
                input.extend(format!("PING p{i}\n").bytes());
                want.push(line(format!("PONG p{i}")));
            }
            1 => {
                input.extend(b"NAMES #r\n");
                want.push(block("NAMES #r ", "OK NAMES #r 2"));
            }
            2 => {
                input.extend(format!("MSG #r m{i}\n").bytes());
                want.push(line("OK MSG #r"));
                delivered.push(format!("MSG #r a m{i}"));
            }
            3 => {
                input.extend(b"JOIN #x\r\n");
                if !joined_x {
                    want.push(line("JOIN #x a"));
                    joined_x = true;
                }
                want.push(block("NAMES #x ", "OK JOIN #x"));
            }
            4 => {
                input.extend(b"INFO #r\n");
                want.push(block("INFO #r ", "OK INFO #r"));
            }
            5 => {
                input.extend(format!("bogus{i} x y\n").bytes());
                want.push(prefix(format!("ERR BOGUS{i} UNKNOWN_COMMAND ")));
            }
            6 => {
                // To the current room, #x since the first JOIN #x.
                input.extend(format!("msg hi{i}\n").bytes());
                want.push(line("OK MSG #x"));
            }
            7 => {
                input.extend(b"TOPIC #r\n");
                want.push(line("OK TOPIC #r"));
            }
            8 => {
                input.extend(b"PART #nowhere\n");
                want.push(prefix("ERR PART NOT_IN_ROOM "));
                // Empty lines get nothing, even in the middle of a batch.
                input.extend(b"\r\n\n");
            }
            9 => {
                input.extend(b"HELP PING\n");
                want.push(block("HELP ", "OK HELP"));
            }
            10 => {
                input.extend(b"NICK a\n");
                want.push(line("OK NICK a"));
            }
            11 => {
                input.extend(b"LIST\n");
                want.push(block("ROOM ", "OK LIST 2"));
            }
            12 => {
                input.extend(b"JOIN #a key extra\n");
                want.push(prefix("ERR JOIN BAD_SYNTAX "));
            }
            _ => {
                input.extend(b"PING \xff\n");
                want.push(prefix("ERR * BAD_UTF8 "));
                input.extend("x".repeat(3000).bytes());
                input.push(b'\n');
                want.push(prefix("ERR * LINE_TOO_LONG "));
            }
        }
    }
    a.send_bytes(&input);
    for (n, w) in want.iter().enumerate() {
        match w {
            Want::Line(l) => {
                let got = a.line();
                assert_eq!(&got, l, "reply #{n}");
            }
            Want::Prefix(p) => {
                let got = a.line();
                assert!(
                    got.starts_with(p.as_str()),
                    "reply #{n}: want {p:?}..., got {got:?}"
                );
            }
            Want::Block { item, end } => {
                let mut items = 0;
                loop {
                    let got = a.line();
                    if &got == end {
                        break;
                    }
                    assert!(
                        got.starts_with(item.as_str()),
                        "reply #{n}: want {item:?}... or {end:?}, got {got:?}"
                    );
                    items += 1;
                }
                assert!(items > 0, "reply #{n}: no {item:?} lines before {end:?}");
            }
        }
    }
    a.sync();
    for d in &delivered {
        b.expect(d);
    }
    b.sync();
}

#[test]
fn a_last_line_without_lf_before_half_close_is_executed() {
    let server = serve("");
    let mut a = Client::join(server.addr(), "a", "#r");
    let mut b = Client::join(server.addr(), "b", "#r");
    a.expect("JOIN #r b");
    a.send_bytes(b"QUIT bye");
    a.stream().shutdown(Shutdown::Write).unwrap();
    a.expect("OK QUIT");
    a.expect_closed();
    b.expect("QUIT a bye");
    b.sync();

    // Any command, with a CR before the end of the stream too.
    let mut c = Client::register(server.addr(), "c");
    c.send_bytes(b"PING last\r");
    c.stream().shutdown(Shutdown::Write).unwrap();
    c.expect("PONG last");
    c.expect_closed();

    // A client that half-closes without QUIT leaves with "connection closed".
    let mut d = Client::join(server.addr(), "d", "#r");
    b.expect("JOIN #r d");
    d.send_bytes(b"MSG #r bye all");
    d.stream().shutdown(Shutdown::Write).unwrap();
    d.expect("OK MSG #r");
    d.expect_closed();
    b.expect("MSG #r d bye all");
    b.expect("QUIT d connection closed");
    b.sync();
}

#[test]
fn a_refused_file_body_is_consumed_so_the_stream_stays_in_sync() {
    let server = serve("");
    let mut a = Client::join(server.addr(), "a", "#r");
    let mut b = Client::join(server.addr(), "b", "#r");
    a.expect("JOIN #r b");

    // The body holds a LF and text that looks like a command.
    a.send_bytes(b"FILE nosuchuser 5 a.txt\n\nPINGPING x\n");
    assert_prefix(&a.line(), "ERR FILE ");
    a.expect("PONG x");
    a.sync();

    // The same with header and body in pieces, and a CRLF header.
    a.send_bytes(b"FILE nosuchuser 12 b.txt\r\n");
    a.send_bytes(b"MSG #r ");
    a.send_bytes(b"boo\r\n");
    a.send_bytes(b"PING y\nPING z\n");
    assert_prefix(&a.line(), "ERR FILE ");
    a.expect_lines(&["PONG y", "PONG z"]);
    a.sync();

    // An empty body.
    a.send_bytes(b"FILE nosuchuser 0 empty\nPING e\n");
    assert_prefix(&a.line(), "ERR FILE ");
    a.expect("PONG e");
    a.sync();

    // Before NICK too: the body is read, then the error.
    let mut c = Client::connect(server.addr());
    c.send_bytes(b"FILE #r 6 c.txt\nQUIT\r\nPING c\n");
    assert_prefix(&c.line(), "ERR FILE NO_NICK ");
    c.expect("PONG c");
    c.sync();

    // Nothing in any body reached the room.
    b.sync();
    a.send("MSG #r done");
    a.expect("OK MSG #r");
    b.expect("MSG #r a done");
    b.sync();
}

#[test]
fn a_file_over_max_bytes_is_refused_and_the_connection_closes() {
    let server = serve("[files]\nmax_bytes = 1000");
    let mut a = Client::join(server.addr(), "a", "#room");
    let mut b = Client::join(server.addr(), "b", "#room");
    a.expect("JOIN #room b");
    a.send("FILE #room 999999999999 big");
    assert_prefix(&a.line(), "ERR FILE FILE_TOO_LARGE ");
    a.expect_closed();
    b.expect("QUIT a file too large");
    b.sync();

    // One byte over the limit is too large as well; exactly the limit is not.
    let mut c = Client::join(server.addr(), "c", "#room");
    b.expect("JOIN #room c");
    c.send_bytes(b"FILE nosuchuser 1000 ok.bin\n");
    c.send_bytes(&[b'\n'; 1000]);
    c.send("PING fits");
    let reply = c.line();
    assert_prefix(&reply, "ERR FILE ");
    assert!(!reply.contains("FILE_TOO_LARGE"), "{reply:?}");
    c.expect("PONG fits");
    c.send("FILE #room 1001 toobig.bin");
    assert_prefix(&c.line(), "ERR FILE FILE_TOO_LARGE ");
    c.expect_closed();
    b.expect("QUIT c file too large");
    b.sync();
}

/// 64-byte lines, so that a FILE header with a long file name is over-long.
const SHORT_LINES: &str = "[limits]\nmax_line_bytes = 64\n";

#[test]
fn a_file_header_refused_by_framing_still_has_its_body_read_then_answered() {
    let server = serve(SHORT_LINES);
    let mut a = Client::join(server.addr(), "a", "#r");
    let mut b = Client::join(server.addr(), "b", "#r");
    a.expect("JOIN #r b");
    // A body that looks like commands: none of it may run.
    let body = b"MSG #r leaked\nPING inside\n";

    // Not UTF-8: the body is read and dropped, then the error.
    let mut input = format!("FILE #r {} caf", body.len()).into_bytes();
    input.extend_from_slice(b"\xe9.txt\n");
    input.extend_from_slice(body);
    input.extend_from_slice(b"PING after\n");
    a.send_bytes(&input);
    assert_prefix(&a.line(), "ERR * BAD_UTF8 ");
    a.expect("PONG after");

    // Too long: the same, whether the header arrives whole or its end
    // comes after its start is known to be too long.
    let long = "x".repeat(100);
    let mut input = format!("FILE #r {} {long}\n", body.len()).into_bytes();
    input.extend_from_slice(body);
    input.extend_from_slice(b"PING after\n");
    a.send_bytes(&input);
    assert_prefix(&a.line(), "ERR * LINE_TOO_LONG ");
    a.expect("PONG after");
    a.send_bytes(format!("FILE #r {} {long}", body.len()).as_bytes());
    let mut input = format!("{long}\r\n").into_bytes();
    input.extend_from_slice(body);
    input.extend_from_slice(b"PING pieces\n");
    a.send_bytes(&input);
    assert_prefix(&a.line(), "ERR * LINE_TOO_LONG ");
    a.expect("PONG pieces");
    a.sync();

    // A size field that does not end within the first max_line_bytes bytes
    // cannot be read: no body, what follows is lines.
    a.send_bytes(format!("FILE #{long} 5 x\nPING next\n").as_bytes());
    assert_prefix(&a.line(), "ERR * LINE_TOO_LONG ");
    a.expect("PONG next");
    // Nor does a size that is not a number, whatever the bytes around it.
    a.send_bytes(b"FILE #r 5k caf\xe9\nPING next\n");
    assert_prefix(&a.line(), "ERR * BAD_UTF8 ");
    a.expect("PONG next");
    a.sync();
    b.sync();

    // The answer waits for the body: one cut off by the end of the stream
    // gets none.
    let headers = [
        b"FILE #r 10 \xff\n".to_vec(),
        format!("FILE #r 10 {long}\n").into_bytes(),
    ];
    for (n, header) in headers.iter().enumerate() {
        let mut c = Peer::register(server.addr(), &format!("c{n}"));
        c.send_bytes(header);
        c.send_bytes(b"abc");
        c.close_write();
        c.expect_closed();
    }
}

#[test]
fn a_too_large_file_header_refused_by_framing_closes_the_connection() {
    let server = serve(&format!("{SHORT_LINES}[files]\nmax_bytes = 1000\n"));
    let mut watcher = Client::join(server.addr(), "w", "#r");

    // Not UTF-8.
    let mut a = Peer::join(server.addr(), "a", "#r");
    watcher.expect("JOIN #r a");
    a.send_bytes(b"FILE #r 1001 caf\xe9\nPING x\n");
    a.expect_prefix("ERR FILE FILE_TOO_LARGE ");
    a.expect_closed();
    watcher.expect("QUIT a file too large");

    // Too long, whole or in pieces.
    let long = "x".repeat(100);
    for pieces in [false, true] {
        let nick = format!("c{}", u8::from(pieces));
        let mut c = Peer::join(server.addr(), &nick, "#r");
        watcher.expect(&format!("JOIN #r {nick}"));
        if pieces {
            c.send_bytes(format!("FILE #r 1001 {long}").as_bytes());
            c.send_bytes(b"\nPING x\n");
        } else {
            c.send_bytes(format!("FILE #r 1001 {long}\nPING x\n").as_bytes());
        }
        c.expect_prefix("ERR FILE FILE_TOO_LARGE ");
        c.expect_closed();
        watcher.expect(&format!("QUIT {nick} file too large"));
    }
    watcher.sync();
}

/// A deterministic xorshift64* generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// One random line, without its LF (and never holding one).
fn garbage_line(rng: &mut Rng) -> Vec<u8> {
    const VERBS: &[&str] = &[
        "NICK", "JOIN", "PART", "MSG", "PRIVMSG", "NAMES", "LIST", "INFO", "TOPIC", "KICK",
        "FETCH", "HISTORY", "PING", "PONG", "HELP", "nick", "msg", "jOiN", "", "*", "OK", "ERR",
        "HELLO",
    ];
    const ARGS: &[&str] = &[
        "#f",
        "f",
        "#",
        "##",
        "fz",
        "fuzzer",
        "0",
        "-1",
        "18446744073709551616",
        "*",
        "#f key",
        "#a.b-c_d",
        "[x]",
        "`^{|}",
        "é",
        "#ü",
        "  ",
        "\t",
        "\r",
        "\0",
    ];
    let mut line = match rng.below(10) {
        // Random bytes of every value.
        0..=3 => (0..rng.below(200)).map(|_| rng.next() as u8).collect(),
        // Verbs with odd arguments.
        4..=7 => {
            let mut s = String::new();
            s.push_str(&" ".repeat(rng.below(3)));
            s.push_str(rng.pick(VERBS));
            for _ in 0..rng.below(5) {
                s.push_str(&" ".repeat(1 + rng.below(2)));
                if rng.below(4) == 0 {
                    let n = rng.below(40);
                    s.extend((0..n).map(|_| char::from(32 + rng.below(95) as u8)));
                } else {
                    s.push_str(rng.pick(ARGS));
                }
            }
            s.into_bytes()
        }
        // Printable noise.
        8 => (0..rng.below(300))
            .map(|_| 32 + rng.below(95) as u8)
            .collect(),
        // Over-long lines.
        _ => (0..2049 + rng.below(3000))
            .map(|_| rng.next() as u8)
            .collect(),
    };
    for b in &mut line {
        if *b == b'\n' {
            *b = b' ';
        }
    }
    // QUIT would end the connection and FILE would swallow the lines after
    // it as a body: neither belongs in this stream.
    let words = line.strip_suffix(b"\r").unwrap_or(&line);
    let first = words
        .split(|&b| b == b' ')
        .find(|w| !w.is_empty())
        .unwrap_or(b"");
    if first.eq_ignore_ascii_case(b"quit") || first.eq_ignore_ascii_case(b"file") {
        line.clear();
    }
    line
}

#[test]
fn garbage_never_breaks_the_server() {
    let server = serve(NO_FLOOD);
    let addr = server.addr();
    let mut bystander = Client::join(addr, "bystander_zz", "#calm");

    let mut fuzzer = Client::register(addr, "fuzzer");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut input = Vec::new();
    for _ in 0..2000 {
        input.extend(garbage_line(&mut rng));
        input.push(b'\n');
    }
    input.extend_from_slice(b"PING fuzz-done\n");

    // Read everything the fuzzer is sent while it writes, so that its send
    // queue never fills up.
    let mut reader = fuzzer.stream().try_clone().unwrap();
    let collect = thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        while !got.ends_with(b"\nPONG fuzz-done\n") {
            match reader.read(&mut buf) {
                Ok(0) => panic!("fuzzer disconnected; tail {:?}", tail(&got)),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => panic!("fuzzer read: {e}; tail {:?}", tail(&got)),
            }
        }
        got
    });
    fuzzer.send_bytes(&input);
    let output = collect.join().expect("the fuzzer is answered to the end");

    let text = String::from_utf8(output).expect("server lines are UTF-8");
    assert!(!text.contains('\r'), "a CR in the output");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.iter().all(|l| !l.starts_with("SERVER ")),
        "the fuzzer was dropped"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("ERR ")),
        "no error at all?"
    );

    // Everyone is still served, old clients and new.
    bystander.sync();
    let mut late = Client::join(addr, "latecomer_zz", "#calm");
    bystander.expect("JOIN #calm latecomer_zz");
    late.send("MSG #calm still here");
    late.expect("OK MSG #calm");
    bystander.expect("MSG #calm latecomer_zz still here");
    bystander.sync();
    late.sync();
}

fn tail(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(300)..]).into_owned()
}
