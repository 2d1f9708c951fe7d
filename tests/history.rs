//! History and durability end to end: replay on JOIN, `HISTORY`, the order
//! of `OK MSG` among other replies, rooms that outlive their members, and
//! what survives a graceful restart, a SIGKILL of the real binary, a
//! corrupt database, and a server with history off.
//!
//! The client is `common::peer::Peer`, which can read raw `DATA` bodies.

mod common;

use std::io::{BufRead, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use chatroom::config::Config;
use common::peer::Peer;
use common::process::{chatroom_command, kill_if_running, spawn_listening, wait_bounded};
use common::{start, start_config, READ_TIMEOUT};

/// Flood control out of the way for tests that pipeline.
const NO_FLOOD: &str = "[limits]\nflood_burst = 100000\nflood_rate_per_sec = 100000\n";

/// How long a poll of the files directory may take, and its pause.
const POLL_LIMIT: Duration = Duration::from_secs(5);
const POLL_EVERY: Duration = Duration::from_millis(20);

// ---- the client's history requests -------------------------------------

/// One replayed message: `HISTORY <room> <time> <from> <text>`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hist {
    time: String,
    from: String,
    text: String,
}

/// What a JOIN of a room not joined yet answered.
#[derive(Debug)]
struct JoinReply {
    /// The nicknames of the NAMES lines, in order.
    names: Vec<String>,
    /// The HISTORY lines.
    history: Vec<Hist>,
}

/// History's own requests, on the shared client.
trait HistoryPeer {
    fn join_new(&mut self, spelled: &str, key: Option<&str>, room: &str) -> JoinReply;
    fn history(&mut self, spelled: &str, count: Option<u32>, room: &str) -> Vec<Hist>;
    fn room_info(&mut self, spelled: &str, room: &str) -> Vec<(String, String)>;
    fn list(&mut self) -> Vec<String>;
}

impl HistoryPeer for Peer {
    /// Sends `JOIN <spelled> [key]` for a room the client is not in, and
    /// checks the whole reply's shape: `JOIN <room> <nick>`, NAMES lines,
    /// HISTORY lines (times in RFC 3339), `OK JOIN <room>`, where `room`
    /// is the room's reported name.
    #[track_caller]
    fn join_new(&mut self, spelled: &str, key: Option<&str>, room: &str) -> JoinReply {
        match key {
            Some(k) => self.send(&format!("JOIN {spelled} {k}")),
            None => self.send(&format!("JOIN {spelled}")),
        }
        let nick = self.name.clone();
        self.expect(&format!("JOIN {room} {nick}"));
        let mut names = Vec::new();
        let mut history = Vec::new();
        let names_prefix = format!("NAMES {room}");
        let ok = format!("OK JOIN {room}");
        loop {
            let l = self.line();
            if l == ok {
                break;
            }
            if let Some(rest) = l.strip_prefix(&names_prefix) {
                assert!(
                    history.is_empty(),
                    "[{nick}] NAMES after HISTORY lines: {l:?}"
                );
                assert!(rest.is_empty() || rest.starts_with(' '), "{l:?}");
                names.extend(rest.split_whitespace().map(str::to_string));
            } else {
                history.push(parse_history(&l, room));
            }
        }
        assert!(
            names.contains(&nick),
            "[{nick}] not in its own NAMES {names:?}"
        );
        JoinReply { names, history }
    }

    /// Sends `HISTORY <spelled> [count]` and reads the HISTORY lines and
    /// `OK HISTORY <room> <n>`, checking that n is the number of lines.
    #[track_caller]
    fn history(&mut self, spelled: &str, count: Option<u32>, room: &str) -> Vec<Hist> {
        match count {
            Some(n) => self.send(&format!("HISTORY {spelled} {n}")),
            None => self.send(&format!("HISTORY {spelled}")),
        }
        let ok = format!("OK HISTORY {room} ");
        let mut lines = Vec::new();
        loop {
            let l = self.line();
            if let Some(n) = l.strip_prefix(&ok) {
                assert_eq!(n, lines.len().to_string(), "[{}] {l:?}", self.name);
                return lines;
            }
            lines.push(parse_history(&l, room));
        }
    }

    /// `INFO <room>`: the key/value lines, up to `OK INFO <room>`.
    fn room_info(&mut self, spelled: &str, room: &str) -> Vec<(String, String)> {
        self.send(&format!("INFO {spelled}"));
        let ok = format!("OK INFO {room}");
        let prefix = format!("INFO {room} ");
        let mut out = Vec::new();
        loop {
            let l = self.line();
            if l == ok {
                return out;
            }
            let rest = l
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("[{}] unexpected INFO line {l:?}", self.name));
            let (k, v) = rest.split_once(' ').unwrap_or((rest, ""));
            out.push((k.to_string(), v.to_string()));
        }
    }

    /// `LIST`: the ROOM lines, checking the count of `OK LIST`.
    fn list(&mut self) -> Vec<String> {
        self.send("LIST");
        let mut rooms = Vec::new();
        loop {
            let l = self.line();
            if let Some(n) = l.strip_prefix("OK LIST ") {
                assert_eq!(n, rooms.len().to_string(), "[{}] {l:?}", self.name);
                return rooms;
            }
            assert!(l.starts_with("ROOM "), "[{}] {l:?}", self.name);
            rooms.push(l);
        }
    }
}

/// The value of `key` in INFO lines.
#[track_caller]
fn info_value<'a>(info: &'a [(String, String)], key: &str) -> &'a str {
    info.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no INFO {key} in {info:?}"))
}

/// Parses `HISTORY <room> <time> <from> <text>`, checking the time.
#[track_caller]
fn parse_history(line: &str, room: &str) -> Hist {
    let rest = line
        .strip_prefix(&format!("HISTORY {room} "))
        .unwrap_or_else(|| panic!("wanted a HISTORY {room} line, got {line:?}"));
    let (time, rest) = rest.split_once(' ').expect("HISTORY time");
    let (from, text) = rest.split_once(' ').expect("HISTORY from and text");
    assert!(
        is_rfc3339_seconds(time),
        "not RFC 3339: {time:?} in {line:?}"
    );
    let when = humantime::parse_rfc3339(time).expect("RFC 3339 time");
    let now = SystemTime::now();
    let skew = Duration::from_secs(300);
    assert!(
        when <= now + skew && now.duration_since(when).unwrap_or_default() <= skew,
        "implausible time {time:?}"
    );
    Hist {
        time: time.to_string(),
        from: from.to_string(),
        text: text.to_string(),
    }
}

/// Whether `s` is exactly `YYYY-MM-DDTHH:MM:SSZ` with fields in range.
fn is_rfc3339_seconds(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 20 {
        return false;
    }
    let digits = |from: usize, to: usize| -> Option<u32> {
        let part = &s[from..to];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let seps = b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    let (Some(_year), Some(month), Some(day), Some(hour), Some(min), Some(sec)) = (
        digits(0, 4),
        digits(5, 7),
        digits(8, 10),
        digits(11, 13),
        digits(14, 16),
        digits(17, 19),
    ) else {
        return false;
    };
    seps && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && min < 60
        && sec <= 60
}

#[test]
fn the_time_checker_itself() {
    assert!(is_rfc3339_seconds("2026-11-22T03:30:45Z"));
    for bad in [
        "2026-11-22T03:30:45",
        "2026-11-22 03:30:45Z",
        "2026-13-22T03:30:45Z",
        "2026-11-22T03:30:45.123Z",
        "2026-11-22T03:30:45+00:00",
        "20261122T033045Z",
        "2026-1a-22T03:30:45Z",
    ] {
        assert!(!is_rfc3339_seconds(bad), "{bad:?}");
    }
}

/// The text of the i-th test message: some with leading or inner runs of
/// spaces, kept verbatim.
fn text(i: usize) -> String {
    match i % 4 {
        0 => format!("  leading {i}"),
        1 => format!("inner   spaces {i}  here"),
        2 => format!("m{i}"),
        _ => format!(" {i} x  y"),
    }
}

/// Sends `MSG <room> text(i)` for `range` in one write, then reads an
/// `OK MSG <room>` for each.
fn say_pipelined(p: &mut Peer, room: &str, range: std::ops::Range<usize>) {
    let mut out = String::new();
    for i in range.clone() {
        out.push_str(&format!("MSG {room} {}\n", text(i)));
    }
    p.send_bytes(out.as_bytes());
    let ok = format!("OK MSG {room}");
    for _ in range {
        p.expect(&ok);
    }
}

fn texts(h: &[Hist]) -> Vec<String> {
    h.iter().map(|m| m.text.clone()).collect()
}

fn expected(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(text).collect()
}

/// A config from `toml` on the defaults, on an ephemeral port.
fn config(toml: &str) -> Config {
    let mut c = Config::from_toml(toml).expect("test config");
    c.server.listen = "127.0.0.1:0".into();
    c
}

/// The bytes of the database and of its WAL (empty where absent).
fn db_bytes(db: &Path) -> Vec<u8> {
    let mut all = std::fs::read(db).unwrap_or_default();
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    all.extend(std::fs::read(PathBuf::from(wal)).unwrap_or_default());
    all
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Deterministic bytes with line-like traps in them.
fn content(seed: u8, len: usize) -> Vec<u8> {
    let mut out: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    for (at, trap) in [(0, &b"PING trap\n"[..]), (len / 2, b"\r\nQUIT\n\0")] {
        let n = trap.len().min(len.saturating_sub(at));
        out[at..at + n].copy_from_slice(&trap[..n]);
    }
    out
}

/// Waits (polling, bounded) until `dir` holds no entry.
fn wait_until_empty(dir: &Path) {
    let deadline = Instant::now() + POLL_LIMIT;
    loop {
        let left: Vec<_> = std::fs::read_dir(dir)
            .expect("read files dir")
            .map(|e| e.unwrap().file_name())
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "{dir:?} still holds {left:?}");
        thread::sleep(POLL_EVERY);
    }
}

// ---- 1: replay on JOIN ---------------------------------------------------

#[test]
fn a_joiner_is_replayed_the_last_messages() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    say_pipelined(&mut alice, "#r", 0..25);

    let mut bob = Peer::register(addr, "bob");
    let reply = bob.join_new("#R", None, "#r");
    assert_eq!(reply.names, ["alice", "bob"]);
    assert_eq!(texts(&reply.history), expected(5..25));
    assert!(reply.history.iter().all(|m| m.from == "alice"));
    let times: Vec<&str> = reply.history.iter().map(|m| m.time.as_str()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "times {times:?}");
    alice.expect("JOIN #r bob");

    // Said after the JOIN: an event, never a replay.
    alice.send("MSG #r after the join");
    alice.expect("OK MSG #r");
    bob.expect("MSG #r alice after the join");
    // JOIN of a room already joined: NAMES and OK only.
    bob.send("JOIN #r");
    bob.expect_lines(&["NAMES #r alice bob", "OK JOIN #r"]);
    bob.sync();
    alice.sync();

    // A later joiner sees the newest message last.
    let mut carol = Peer::register(addr, "carol");
    let reply = carol.join_new("#r", None, "#r");
    let mut want = expected(6..25);
    want.push("after the join".into());
    assert_eq!(texts(&reply.history), want);

    // A room with no messages replays nothing.
    let mut dave = Peer::register(addr, "dave");
    assert!(dave.join_new("#quiet", None, "#quiet").history.is_empty());
}

#[test]
fn on_join_sets_how_many_are_replayed() {
    let server = start(&format!("{NO_FLOOD}[history]\non_join = 3\n"));
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    say_pipelined(&mut alice, "#r", 0..25);
    let mut bob = Peer::register(addr, "bob");
    let reply = bob.join_new("#r", None, "#r");
    assert_eq!(texts(&reply.history), expected(22..25));
    // HISTORY without a count gives on_join messages too.
    assert_eq!(texts(&bob.history("#r", None, "#r")), expected(22..25));
}

#[test]
fn on_join_zero_replays_nothing() {
    let server = start(&format!("{NO_FLOOD}[history]\non_join = 0\n"));
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    say_pipelined(&mut alice, "#r", 0..5);
    let mut bob = Peer::register(addr, "bob");
    assert!(bob.join_new("#r", None, "#r").history.is_empty());
    assert_eq!(texts(&bob.history("#r", Some(5), "#r")), expected(0..5));
}

#[test]
fn a_join_during_a_stream_of_messages_misses_none_and_repeats_none() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    let mut bob = Peer::register(addr, "bob");
    // alice says 100 messages, then goes on in pipelined chunks until a
    // few chunks after she has seen bob join; returns how many she said.
    let (started, go) = mpsc::channel();
    let talker = thread::spawn(move || {
        say_pipelined(&mut alice, "#r", 0..100);
        started.send(()).unwrap();
        let (mut said, mut after_join) = (100, None);
        while after_join.is_none_or(|n| n < 5) {
            let mut out = String::new();
            for i in said..said + 20 {
                out.push_str(&format!("MSG #r {}\n", text(i)));
            }
            alice.send_bytes(out.as_bytes());
            said += 20;
            let mut oks = 0;
            while oks < 20 {
                match alice.line().as_str() {
                    "OK MSG #r" => oks += 1,
                    "JOIN #r bob" => after_join = Some(0),
                    other => panic!("[alice] unexpected {other:?}"),
                }
            }
            after_join = after_join.map(|n| n + 1);
            assert!(said < 100_000, "bob's JOIN never came");
        }
        alice.sync();
        // alice stays connected: her QUIT must not race bob's sync.
        (said, alice)
    });
    go.recv_timeout(READ_TIMEOUT)
        .expect("alice's first messages");
    bob.send("JOIN #r");
    bob.expect("JOIN #r bob");
    // The JOIN reply, whole: NAMES, the replay, OK JOIN. Alice's messages
    // said meanwhile are held by the room and follow it as events.
    let names = bob.line();
    assert!(names.starts_with("NAMES #r "), "unexpected {names:?}");
    let mut history = Vec::new();
    let mut events = Vec::new();
    loop {
        let l = bob.line();
        if l == "OK JOIN #r" {
            break;
        }
        assert!(
            l.starts_with("HISTORY "),
            "[bob] {l:?} inside the JOIN reply"
        );
        history.push(parse_history(&l, "#r").text);
    }
    let (said, _alice) = talker.join().expect("talker");
    while events.last() != Some(&text(said - 1)) {
        let l = bob.line();
        let t = l
            .strip_prefix("MSG #r alice ")
            .unwrap_or_else(|| panic!("[bob] unexpected {l:?}"));
        events.push(t.to_string());
    }
    bob.sync();
    assert_eq!(history.len(), 20, "a full replay: {history:?}");
    // Four whole chunks at least came after bob's JOIN.
    assert!(events.len() >= 80, "only {} events", events.len());
    let all: Vec<String> = history.into_iter().chain(events).collect();
    let first = said - all.len();
    assert_eq!(all, expected(first..said), "a gap or a repeat at the JOIN");
}

// ---- 2: HISTORY ------------------------------------------------------------

#[test]
fn history_counts_defaults_clamps_and_membership() {
    // on_join may not exceed max_fetch.
    let server = start(&format!(
        "{NO_FLOOD}[history]\non_join = 5\nmax_fetch = 10\n"
    ));
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#Hist");
    say_pipelined(&mut alice, "#Hist", 0..15);

    assert_eq!(
        texts(&alice.history("#hist", Some(3), "#Hist")),
        expected(12..15)
    );
    assert_eq!(
        texts(&alice.history("#Hist", None, "#Hist")),
        expected(10..15)
    );
    assert_eq!(
        texts(&alice.history("HIST", Some(10), "#Hist")),
        expected(5..15)
    );
    // Above max_fetch: clamped.
    assert_eq!(
        texts(&alice.history("#Hist", Some(11), "#Hist")),
        expected(5..15)
    );
    assert_eq!(
        texts(&alice.history("#Hist", Some(4_000_000), "#Hist")),
        expected(5..15)
    );
    alice.send("HISTORY #hist 0");
    alice.expect("OK HISTORY #Hist 0");
    // Each line names the sender.
    let h = alice.history("#Hist", Some(2), "#Hist");
    assert!(h.iter().all(|m| m.from == "alice"), "{h:?}");

    // Fewer messages than asked for.
    let mut bob = Peer::register(addr, "bob");
    assert!(bob.join_new("#few", None, "#few").history.is_empty());
    bob.send("HISTORY #few 5");
    bob.expect("OK HISTORY #few 0");
    bob.send("MSG #few only one");
    bob.expect("OK MSG #few");
    let h = bob.history("#few", Some(5), "#few");
    assert_eq!(texts(&h), ["only one"]);
    assert_eq!(h[0].from, "bob");

    // Members only, whether or not the room exists.
    bob.send("HISTORY #Hist");
    bob.expect_prefix("ERR HISTORY NOT_IN_ROOM ");
    bob.send("HISTORY #hist 3");
    bob.expect_prefix("ERR HISTORY NOT_IN_ROOM ");
    bob.send("HISTORY #nosuchroom");
    bob.expect_prefix("ERR HISTORY NOT_IN_ROOM ");
    bob.send("HISTORY #nosuchroom 0");
    bob.expect_prefix("ERR HISTORY NOT_IN_ROOM ");
    // After a PART, no longer a member.
    alice.send("PART #Hist");
    alice.expect("OK PART #Hist");
    alice.send("HISTORY #Hist 1");
    alice.expect_prefix("ERR HISTORY NOT_IN_ROOM ");
    bob.sync();
}

// ---- 3: OK MSG keeps its place among the replies -----------------------------

#[test]
fn replies_stay_in_command_order_around_stored_messages() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    let mut bob = Peer::join(addr, "bob", "#r");
    alice.expect("JOIN #r bob");

    for round in 0..20 {
        alice.send_bytes(
            format!("MSG #r a{round}\nMSG #r b{round}\nNAMES #r\nMSG #r c{round}\nPING x{round}\n")
                .as_bytes(),
        );
        alice.expect_lines(&[
            "OK MSG #r",
            "OK MSG #r",
            "NAMES #r alice bob",
            "OK NAMES #r 2",
            "OK MSG #r",
            &format!("PONG x{round}"),
        ]);
        for t in ["a", "b", "c"] {
            bob.expect(&format!("MSG #r alice {t}{round}"));
        }
    }

    // A HISTORY right after a MSG sees it (read your writes); a JOIN, a
    // MSG to the new room and a PART keep their order too.
    alice.send_bytes(
        b"MSG #r d\nHISTORY #r 1\nMSG #r e\nJOIN #s\nMSG #s f\nHISTORY #s 5\nPART #s\nMSG #r g\nPING end\n",
    );
    alice.expect("OK MSG #r");
    let l = alice.line();
    assert_eq!(parse_history(&l, "#r").text, "d");
    alice.expect_lines(&[
        "OK HISTORY #r 1",
        "OK MSG #r",
        "JOIN #s alice",
        "NAMES #s alice",
        "OK JOIN #s",
        "OK MSG #s",
    ]);
    let l = alice.line();
    assert_eq!(parse_history(&l, "#s").text, "f");
    alice.expect_lines(&["OK HISTORY #s 1", "OK PART #s", "OK MSG #r", "PONG end"]);
    bob.expect_lines(&["MSG #r alice d", "MSG #r alice e", "MSG #r alice g"]);
    bob.sync();
    alice.sync();
}

// ---- 4: rooms outlive their members -----------------------------------------

#[test]
fn rooms_outlive_their_members() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#Pub");
    alice.send("TOPIC #pub hello world");
    alice.expect_lines(&["TOPIC #Pub alice hello world", "OK TOPIC #Pub hello world"]);
    alice.send("MSG #pub one");
    alice.expect("OK MSG #Pub");
    alice.send("MSG #Pub   two  spaced");
    alice.expect("OK MSG #Pub");
    let mut bob = Peer::register(addr, "bob");
    let reply = bob.join_new("#pub", None, "#Pub");
    assert_eq!(texts(&reply.history), ["one", "  two  spaced"]);
    alice.expect("JOIN #Pub bob");

    // The private room: created with a key, one message, then left.
    alice.send("JOIN #Priv s3cret-Key");
    alice.read_until_prefix("OK JOIN #Priv");
    alice.send("MSG #priv for key holders");
    alice.expect("OK MSG #Priv");

    // Everyone leaves: by QUIT and by PART.
    bob.send("QUIT");
    bob.expect("OK QUIT");
    drop(bob);
    alice.expect("QUIT bob");
    alice.send("PART #Priv");
    alice.expect("OK PART #Priv");
    alice.send("PART #Pub bye");
    alice.expect("OK PART #Pub");

    // A room whose last member quits stays too.
    let mut dave = Peer::join(addr, "dave", "#Solo");
    dave.send("MSG #solo alone");
    dave.expect("OK MSG #Solo");
    dave.send("QUIT");
    dave.expect("OK QUIT");
    drop(dave);

    let mut carol = Peer::register(addr, "carol");
    // dave's QUIT reaches the room after his connection ends: poll LIST
    // (bounded) until the room is empty.
    let deadline = Instant::now() + POLL_LIMIT;
    let rooms = loop {
        let rooms = carol.list();
        if rooms.iter().any(|r| r == "ROOM #Solo 0 no") || Instant::now() > deadline {
            break rooms;
        }
        thread::sleep(POLL_EVERY);
    };
    assert_eq!(
        rooms,
        [
            "ROOM #Priv 0 yes",
            "ROOM #Pub 0 no hello world",
            "ROOM #Solo 0 no"
        ]
    );
    let reply = carol.join_new("#solo", None, "#Solo");
    assert_eq!(texts(&reply.history), ["alone"]);
    assert_eq!(
        info_value(&carol.room_info("#solo", "#Solo"), "owner"),
        "dave"
    );
    carol.send("TOPIC #solo not dave's");
    carol.expect_prefix("ERR TOPIC NOT_OWNER ");
    carol.send("NAMES #pub");
    carol.expect_lines(&["NAMES #Pub", "OK NAMES #Pub 0"]);
    carol.send("NAMES #PRIV");
    carol.expect_lines(&["NAMES #Priv", "OK NAMES #Priv 0"]);
    let info = carol.room_info("#pub", "#Pub");
    assert_eq!(info_value(&info, "members"), "0");
    assert_eq!(info_value(&info, "owner"), "alice");
    assert_eq!(info_value(&info, "private"), "no");
    assert_eq!(info_value(&info, "topic"), "hello world");
    assert_eq!(info_value(&info, "messages"), "2");
    let info = carol.room_info("priv", "#Priv");
    assert_eq!(info_value(&info, "owner"), "alice");
    assert_eq!(info_value(&info, "private"), "yes");
    assert_eq!(info_value(&info, "messages"), "1");
    carol.send("TOPIC #pub");
    carol.expect("OK TOPIC #Pub hello world");
    // Still no member.
    carol.send("HISTORY #pub");
    carol.expect_prefix("ERR HISTORY NOT_IN_ROOM ");
    carol.send("HISTORY #priv");
    carol.expect_prefix("ERR HISTORY NOT_IN_ROOM ");

    // The next joiner gets the history but not the ownership; a key given
    // for a public room is ignored and does not make it private.
    let reply = carol.join_new("#PUB", Some("ignored"), "#Pub");
    assert_eq!(reply.names, ["carol"]);
    assert_eq!(texts(&reply.history), ["one", "  two  spaced"]);
    carol.send("TOPIC #pub mine now?");
    carol.expect_prefix("ERR TOPIC NOT_OWNER ");
    let info = carol.room_info("#pub", "#Pub");
    assert_eq!(info_value(&info, "owner"), "alice");
    assert_eq!(info_value(&info, "private"), "no");
    assert_eq!(info_value(&info, "members"), "1");

    // The private room still needs its key; its history only with it.
    carol.send("JOIN #priv");
    carol.expect_prefix("ERR JOIN BAD_KEY ");
    carol.send("JOIN #priv wrong-key");
    carol.expect_prefix("ERR JOIN BAD_KEY ");
    carol.send("HISTORY #priv 10");
    carol.expect_prefix("ERR HISTORY NOT_IN_ROOM ");
    let reply = carol.join_new("#priv", Some("s3cret-Key"), "#Priv");
    assert_eq!(reply.names, ["carol"]);
    assert_eq!(texts(&reply.history), ["for key holders"]);
    assert_eq!(reply.history[0].from, "alice");
    carol.send("TOPIC #priv taken");
    carol.expect_prefix("ERR TOPIC NOT_OWNER ");

    // The owner comes back and still owns both.
    let reply = alice.join_new("#pub", None, "#Pub");
    assert_eq!(reply.names, ["alice", "carol"]);
    assert_eq!(texts(&reply.history), ["one", "  two  spaced"]);
    carol.expect("JOIN #Pub alice");
    alice.send("TOPIC #pub new topic");
    alice.expect_lines(&["TOPIC #Pub alice new topic", "OK TOPIC #Pub new topic"]);
    carol.expect("TOPIC #Pub alice new topic");
    alice.send("JOIN #priv");
    alice.expect_prefix("ERR JOIN BAD_KEY ");
    alice.join_new("#priv", Some("s3cret-Key"), "#Priv");
    carol.expect("JOIN #Priv alice");
    alice.send("TOPIC #priv owned");
    alice.expect_lines(&["TOPIC #Priv alice owned", "OK TOPIC #Priv owned"]);
    carol.expect("TOPIC #Priv alice owned");
    alice.sync();
    carol.sync();
}

// ---- 5: a graceful restart keeps everything -----------------------------------

#[test]
fn a_restart_keeps_rooms_history_owner_key_topic_and_files() {
    let cfg = config(NO_FLOOD);
    let server = start_config(cfg.clone(), None);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#Lobby");
    let mut bob = Peer::join(addr, "bob", "#lobby");
    alice.expect("JOIN #Lobby bob");
    alice.send("TOPIC #lobby kept topic");
    alice.expect_lines(&[
        "TOPIC #Lobby alice kept topic",
        "OK TOPIC #Lobby kept topic",
    ]);
    bob.expect("TOPIC #Lobby alice kept topic");
    say_pipelined(&mut alice, "#Lobby", 0..5);
    for i in 0..5 {
        bob.expect(&format!("MSG #Lobby alice {}", text(i)));
    }
    alice.send("JOIN #Vault vault-key-1");
    alice.read_until_prefix("OK JOIN #Vault");
    alice.send("MSG #vault in the vault");
    alice.expect("OK MSG #Vault");

    let room_data = content(1, 5000);
    let room_file = alice.upload("#lobby", "room.bin", &room_data);
    bob.expect_prefix(&format!("FILE #Lobby alice {room_file} 5000 "));
    let user_data = content(2, 3000);
    let user_file = alice.upload("bob", "for-bob.bin", &user_data);
    bob.expect_prefix(&format!("FILE bob alice {user_file} 3000 "));
    alice.sync();
    bob.sync();

    let data = server.shutdown();
    drop((alice, bob));
    let server = start_config(cfg, Some(data));
    let addr = server.addr();

    let mut carol = Peer::register(addr, "carol");
    assert_eq!(
        carol.list(),
        ["ROOM #Lobby 0 no kept topic", "ROOM #Vault 0 yes"]
    );
    let info = carol.room_info("#LOBBY", "#Lobby");
    assert_eq!(info_value(&info, "owner"), "alice");
    assert_eq!(info_value(&info, "private"), "no");
    assert_eq!(info_value(&info, "topic"), "kept topic");
    assert_eq!(info_value(&info, "messages"), "5");
    let info = carol.room_info("#vault", "#Vault");
    assert_eq!(info_value(&info, "owner"), "alice");
    assert_eq!(info_value(&info, "private"), "yes");
    assert_eq!(info_value(&info, "messages"), "1");

    // The key is still needed, and still works.
    carol.send("JOIN #vault");
    carol.expect_prefix("ERR JOIN BAD_KEY ");
    carol.send("JOIN #vault vault-key-2");
    carol.expect_prefix("ERR JOIN BAD_KEY ");
    let reply = carol.join_new("#VAULT", Some("vault-key-1"), "#Vault");
    assert_eq!(texts(&reply.history), ["in the vault"]);

    // History, in the room's first spelling; a room file to a member.
    let reply = carol.join_new("#lobby", None, "#Lobby");
    assert_eq!(reply.names, ["carol"]);
    assert_eq!(texts(&reply.history), expected(0..5));
    let (label, got) = carol.fetch(&room_file);
    assert_eq!(label, "room.bin");
    assert!(got == room_data, "room file content differs after restart");
    carol.expect_no_such_file(&user_file);

    // Numbering goes on after the stored messages.
    carol.send("MSG #lobby after restart");
    carol.expect("OK MSG #Lobby");
    let mut want = expected(0..5);
    want.push("after restart".into());
    assert_eq!(texts(&carol.history("#lobby", Some(50), "#Lobby")), want);
    assert_eq!(
        info_value(&carol.room_info("#lobby", "#Lobby"), "messages"),
        "6"
    );

    // The owner is still the owner; others are not.
    carol.send("TOPIC #lobby carol's now");
    carol.expect_prefix("ERR TOPIC NOT_OWNER ");
    let mut alice = Peer::register(addr, "alice");
    alice.join_new("#lobby", None, "#Lobby");
    carol.expect("JOIN #Lobby alice");
    alice.send("TOPIC #lobby still mine");
    alice.expect_lines(&[
        "TOPIC #Lobby alice still mine",
        "OK TOPIC #Lobby still mine",
    ]);
    carol.expect("TOPIC #Lobby alice still mine");

    // The user file, to whoever holds the recipient's nickname.
    let mut bob = Peer::register(addr, "bob");
    let (label, got) = bob.fetch(&user_file);
    assert_eq!(label, "for-bob.bin");
    assert!(got == user_data, "user file content differs after restart");
    // And to its sender.
    assert!(alice.fetch(&user_file).1 == user_data);

    // A topic set right before a shutdown is kept too.
    alice.send("TOPIC #lobby last words");
    alice.expect_lines(&[
        "TOPIC #Lobby alice last words",
        "OK TOPIC #Lobby last words",
    ]);
    carol.expect("TOPIC #Lobby alice last words");
    let data = server.shutdown();
    let server = start_config(config(NO_FLOOD), Some(data));
    let mut dave = Peer::register(server.addr(), "dave");
    let info = dave.room_info("#lobby", "#Lobby");
    assert_eq!(info_value(&info, "topic"), "last words");
    assert_eq!(info_value(&info, "messages"), "6");
}

#[test]
fn files_past_retention_are_gone_after_a_restart() {
    let cfg = config(&format!("{NO_FLOOD}[files]\nretention_secs = 1\n"));
    let server = start_config(cfg.clone(), None);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    let data = content(3, 2000);
    let id = alice.upload("#r", "short.bin", &data);
    let stored_at = Instant::now();
    assert!(alice.fetch(&id).1 == data);
    let data_dir = server.shutdown();
    drop(alice);
    // Let the retention run out while the server is down (there is
    // nothing to read while waiting for time to pass).
    let left = Duration::from_millis(1100).saturating_sub(stored_at.elapsed());
    thread::sleep(left);

    let server = start_config(cfg, Some(data_dir));
    let mut alice = Peer::register(server.addr(), "alice");
    alice.join_new("#r", None, "#r");
    alice.expect_no_such_file(&id);
    wait_until_empty(server.files_dir());
}

// ---- 6: SIGKILL of the real binary ---------------------------------------------

/// How often a wait for the binary's exit polls.
const WAIT_EVERY: Duration = Duration::from_millis(10);

/// The binary on 127.0.0.1:0 with a clean environment, its data under
/// `dir`, logging to stderr only, flood control out of the way.
fn chatroom(dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = chatroom_command(dir, &["--listen", "127.0.0.1:0"], &[]);
    let db = dir.join("h.db");
    let files = dir.join("files");
    cmd.env("CHATROOM_HISTORY__DB", db)
        .env("CHATROOM_FILES__DIR", files)
        .env("CHATROOM_LIMITS__FLOOD_BURST", "100000")
        .env("CHATROOM_LIMITS__FLOOD_RATE_PER_SEC", "100000");
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd
}

/// A running server process.
struct Proc {
    child: Child,
    addr: SocketAddr,
}

impl Proc {
    /// Starts the binary on `dir`'s data and waits for `listening on`.
    fn start(dir: &Path, env: &[(&str, &str)]) -> Proc {
        // Once the listening line is found nobody reads its stderr: the
        // reader thread keeps draining it so the pipe never fills.
        let (child, addr, _stderr) = spawn_listening(chatroom(dir, env));
        Proc { child, addr }
    }

    /// SIGKILL, and reap.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        kill_if_running(&mut self.child);
    }
}

/// Runs the binary expecting it to refuse to start; its stderr.
#[track_caller]
fn refuses(dir: &Path, env: &[(&str, &str)]) -> String {
    let mut child = chatroom(dir, env).spawn().expect("spawn chatroom");
    let mut err = child.stderr.take().unwrap();
    let err = thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = wait_bounded(&mut child, WAIT_EVERY);
    let stderr = err.join().unwrap();
    assert!(
        !status.success(),
        "{env:?} exited with {status}; stderr {stderr}"
    );
    stderr
}

#[test]
fn acknowledged_messages_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let server = Proc::start(dir.path(), &[]);
    let mut alice = Peer::join(server.addr, "alice", "#Kill");
    alice.send("TOPIC #kill before the crash");
    alice.expect_lines(&[
        "TOPIC #Kill alice before the crash",
        "OK TOPIC #Kill before the crash",
    ]);
    alice.send("JOIN #Locked crash-key");
    alice.read_until_prefix("OK JOIN #Locked");
    alice.send("MSG #locked locked words");
    alice.expect("OK MSG #Locked");
    say_pipelined(&mut alice, "#Kill", 0..500);
    server.kill();
    drop(alice);

    let server = Proc::start(dir.path(), &[]);
    let mut bob = Peer::register(server.addr, "bob");
    let reply = bob.join_new("#kill", None, "#Kill");
    assert_eq!(texts(&reply.history), expected(480..500));
    let all = bob.history("#kill", Some(500), "#Kill");
    assert_eq!(texts(&all), expected(0..500));
    assert!(all.iter().all(|m| m.from == "alice"));
    let info = bob.room_info("#kill", "#Kill");
    assert_eq!(info_value(&info, "owner"), "alice");
    assert_eq!(info_value(&info, "topic"), "before the crash");
    assert_eq!(info_value(&info, "messages"), "500");
    bob.send("JOIN #locked");
    bob.expect_prefix("ERR JOIN BAD_KEY ");
    let reply = bob.join_new("#locked", Some("crash-key"), "#Locked");
    assert_eq!(texts(&reply.history), ["locked words"]);
    bob.send("TOPIC #kill not bob's");
    bob.expect_prefix("ERR TOPIC NOT_OWNER ");
    // New messages are numbered after the survivors.
    bob.send("MSG #kill after");
    bob.expect("OK MSG #Kill");
    let last = bob.history("#kill", Some(2), "#Kill");
    assert_eq!(texts(&last), [text(499), "after".to_string()]);
    server.kill();
}

/// Writers at once, so that commits are grouped and a kill can land in
/// the middle of a group; messages each sends.
const WRITERS: usize = 4;
const SENT: usize = 1500;

/// Starts the binary on `dir`, has [`WRITERS`] clients pipeline messages
/// into rooms of their own, and kills it with SIGKILL once `kill_after`
/// OK MSGs have arrived. Returns each room with the number of OK MSGs its
/// writer could read, up to the end of its stream: whatever the server
/// sent before it died was acknowledged.
fn kill_mid_stream(dir: &Path, round: usize, kill_after: usize) -> Vec<(String, usize)> {
    let server = Proc::start(dir, &[]);
    let (tx, rx) = mpsc::channel::<()>();
    let mut readers = Vec::new();
    for w in 0..WRITERS {
        let room = format!("#r{round}w{w}");
        let Peer {
            mut reader,
            mut writer,
            ..
        } = Peer::join(server.addr, &format!("writer{w}"), &room);
        // Writes in many chunks; the server may die under it.
        let sending_to = room.clone();
        let sender = thread::spawn(move || {
            for chunk in (0..SENT).collect::<Vec<_>>().chunks(50) {
                let mut out = String::new();
                for &i in chunk {
                    out.push_str(&format!("MSG {sending_to} {}\n", text(i)));
                }
                if writer.write_all(out.as_bytes()).is_err() {
                    break;
                }
            }
        });
        let tx = tx.clone();
        let ok = format!("OK MSG {room}\n");
        readers.push(thread::spawn(move || {
            let mut acked = 0;
            loop {
                let mut buf = Vec::new();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(_) if buf.ends_with(b"\n") => {
                        assert_eq!(buf, ok.as_bytes(), "{:?}", String::from_utf8_lossy(&buf));
                        acked += 1;
                        let _ = tx.send(());
                    }
                    // EOF, a partial line, or a reset: the server is gone.
                    _ => break,
                }
            }
            sender.join().expect("sender");
            (room, acked)
        }));
    }
    drop(tx);
    for n in 0..kill_after {
        rx.recv_timeout(READ_TIMEOUT)
            .unwrap_or_else(|e| panic!("only {n} OK MSG before the kill: {e}"));
    }
    server.kill();
    readers
        .into_iter()
        .map(|r| r.join().expect("reader"))
        .collect()
}

#[test]
fn a_kill_mid_stream_keeps_every_acknowledged_message() {
    // A few crashes in a row, at different points, on the same data.
    let dir = tempfile::tempdir().unwrap();
    let mut acked = Vec::new();
    for (round, kill_after) in [400, 800, 1200].into_iter().enumerate() {
        acked.extend(kill_mid_stream(dir.path(), round, kill_after));
    }

    let server = Proc::start(dir.path(), &[("CHATROOM_HISTORY__MAX_FETCH", "10000")]);
    let mut bob = Peer::register(server.addr, "bob");
    let mut kept = 0;
    for (room, acked) in &acked {
        bob.join_new(room, None, room);
        let got = texts(&bob.history(room, Some(10000), room));
        assert!(
            got.len() >= *acked,
            "{room}: {acked} acknowledged, only {} kept",
            got.len()
        );
        assert!(got.len() <= SENT);
        assert_eq!(got, expected(0..got.len()), "{room}: kept out of order");
        let info = bob.room_info(room, room);
        assert_eq!(info_value(&info, "messages"), got.len().to_string());
        kept += got.len();
    }
    // The kills came while messages were still being sent.
    assert!(
        kept < acked.len() * SENT,
        "every message was stored: no kill mid-stream"
    );
    server.kill();
}

// ---- 7: a database that cannot be used --------------------------------------

#[test]
fn a_corrupt_or_unreachable_database_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let garbage = vec![0x5au8; 16384];
    std::fs::write(&db, &garbage).unwrap();
    let stderr = refuses(dir.path(), &[]);
    let shown = db.display().to_string();
    assert!(
        stderr.contains("history.db") && stderr.contains(&shown),
        "stderr names neither the key nor {shown}: {stderr}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), garbage, "the file was altered");

    // Its directory cannot be created: a regular file is in the way.
    let plain = dir.path().join("plain");
    std::fs::write(&plain, b"not a directory").unwrap();
    let under = plain.join("sub").join("h.db");
    let under_shown = under.display().to_string();
    let stderr = refuses(dir.path(), &[("CHATROOM_HISTORY__DB", &under_shown)]);
    assert!(
        stderr.contains("history.db") && stderr.contains(&under_shown),
        "stderr names neither the key nor {under_shown}: {stderr}"
    );
    let under = plain.join("h.db");
    let under_shown = under.display().to_string();
    let stderr = refuses(dir.path(), &[("CHATROOM_HISTORY__DB", &under_shown)]);
    assert!(
        stderr.contains("history.db") && stderr.contains(&under_shown),
        "stderr names neither the key nor {under_shown}: {stderr}"
    );
}

// ---- 8: history off --------------------------------------------------------

#[test]
fn with_history_off_nothing_is_stored() {
    let server = start(&format!("{NO_FLOOD}[history]\nenabled = false\n"));
    let addr = server.addr();
    let db = server.db_path();
    let mut alice = Peer::join(addr, "alice", "#r");
    alice.send("TOPIC #r fleeting");
    alice.expect_lines(&["TOPIC #r alice fleeting", "OK TOPIC #r fleeting"]);
    say_pipelined(&mut alice, "#r", 0..5);
    alice.send("JOIN #p some-key");
    alice.read_until_prefix("OK JOIN #p");

    // JOIN replays nothing; HISTORY answers 0, with or without a count.
    let mut bob = Peer::register(addr, "bob");
    let reply = bob.join_new("#r", None, "#r");
    assert!(reply.history.is_empty(), "{:?}", reply.history);
    alice.expect("JOIN #r bob");
    alice.send("MSG #r now");
    alice.expect("OK MSG #r");
    bob.expect("MSG #r alice now");
    for cmd in ["HISTORY #r", "HISTORY #r 5", "HISTORY #R 0"] {
        bob.send(cmd);
        bob.expect("OK HISTORY #r 0");
    }
    bob.send("HISTORY #p");
    bob.expect_prefix("ERR HISTORY NOT_IN_ROOM ");

    // Empty rooms vanish.
    alice.send("PART #r");
    alice.expect("OK PART #r");
    bob.expect("PART #r alice");
    bob.send("PART #r");
    bob.expect("OK PART #r");
    alice.send("PART #p");
    alice.expect("OK PART #p");
    alice.send("NAMES #r");
    alice.expect_prefix("ERR NAMES NO_SUCH_ROOM ");
    alice.send("INFO #p");
    alice.expect_prefix("ERR INFO NO_SUCH_ROOM ");
    assert!(alice.list().is_empty());
    // A new room of that name: a new owner, no key, no topic.
    let reply = bob.join_new("#p", None, "#p");
    assert!(reply.history.is_empty());
    bob.send("TOPIC #p bob's");
    bob.expect_lines(&["TOPIC #p bob bob's", "OK TOPIC #p bob's"]);

    assert!(!db.exists(), "{db:?} was created with history off");
    let data = server.shutdown();
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    assert!(!db.exists(), "{db:?} was created with history off");
    assert!(!PathBuf::from(wal).exists());
    let left: Vec<_> = std::fs::read_dir(data.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "files")
        .collect();
    assert!(left.is_empty(), "written with history off: {left:?}");
}

// ---- 9: keys are never stored in clear ----------------------------------------

#[test]
fn room_keys_are_stored_only_as_salted_hashes() {
    const KEY: &str = "Zq7-clear-text-Key-4711";
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let db = server.db_path();
    let mut alice = Peer::register(addr, "alice");
    for room in ["#Vault", "#Other"] {
        alice.send(&format!("JOIN {room} {KEY}"));
        alice.read_until_prefix(&format!("OK JOIN {room}"));
    }
    // A stored message after the rooms: they are committed by now.
    alice.send("MSG #vault committed");
    alice.expect("OK MSG #Vault");
    let mut bob = Peer::register(addr, "bob");
    let reply = bob.join_new("#vault", Some(KEY), "#Vault");
    assert_eq!(texts(&reply.history), ["committed"]);
    alice.expect("JOIN #Vault bob");
    bob.send("MSG #vault stored after the key check");
    bob.expect("OK MSG #Vault");
    alice.expect("MSG #Vault bob stored after the key check");

    // Neither the database nor its WAL holds the key.
    let check = |when: &str| {
        let bytes = db_bytes(&db);
        assert!(!bytes.is_empty(), "{when}: no database at {db:?}");
        assert!(
            !contains(&bytes, KEY.as_bytes()),
            "{when}: the key is stored in clear"
        );
    };
    check("running");
    drop((alice, bob));
    let data = server.shutdown();
    check("after shutdown");
    assert!(contains(&db_bytes(&db), b"committed"), "history not stored");

    // Two rooms with the same key: two different hashes (salted).
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare("SELECT key_hash FROM rooms WHERE key_hash IS NOT NULL ORDER BY key")
        .unwrap();
    let hashes: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(hashes.len(), 2, "{hashes:?}");
    assert_ne!(hashes[0], hashes[1], "the same key hashed alike: no salt");
    for h in &hashes {
        assert!(!h.contains(KEY), "{h:?}");
    }
    drop(stmt);
    drop(conn);
    drop(data);
}

/// With history on (the default), `OK MSG` waits for the commit: a MSG
/// refused at once, and any later command, still answer after it. One
/// final reply per command, in command order, across rooms too.
#[test]
fn replies_keep_command_order_behind_a_stored_message() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#b");
    alice.join_room("#c");
    for _ in 0..20 {
        alice.send_bytes(b"MSG #b x\nMSG #a y\nMSG #c z\nMSG #b w\nPING t\n");
        alice.expect_lines(&[
            "OK MSG #b",
            "ERR MSG NOT_IN_ROOM you are not in #a",
            "OK MSG #c",
            "OK MSG #b",
            "PONG t",
        ]);
    }
}
