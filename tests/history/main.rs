//! History and durability end to end: replay on JOIN, `HISTORY`, the order
//! of `OK MSG` among other replies, rooms that outlive their members, and
//! what survives a graceful restart, a SIGKILL of the real binary, a
//! corrupt database, and a server with history off.
//!
//! The client is `common::peer::Peer`, which can read raw `DATA` bodies.

#[path = "../common/mod.rs"]
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

mod crash;
mod replay;
mod restart;
mod storage;
