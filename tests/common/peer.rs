//! A raw line client that can also read the raw bytes of `DATA` bodies.
//!
//! [`super::Client`] reads lines through a private `BufReader`, so it
//! cannot hand out the raw bytes of a `DATA` body that follow a line it has
//! buffered. [`Peer`] is the same kind of client with that ability, plus
//! `FILE` / `FETCH` helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::READ_TIMEOUT;

/// A raw line client that can also read `DATA` bodies.
///
/// The fields are public so that a test may split the two directions
/// between threads.
pub struct Peer {
    /// The read side, buffered: lines and bodies both go through it.
    pub reader: BufReader<TcpStream>,
    /// The write side.
    pub writer: TcpStream,
    /// The nickname, for failure messages.
    pub name: String,
}

impl Peer {
    /// Wraps a connected stream without reading anything.
    pub fn from_stream(stream: TcpStream) -> Peer {
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        let writer = stream.try_clone().unwrap();
        Peer {
            reader: BufReader::new(stream),
            writer,
            name: String::from("?"),
        }
    }

    /// Connects and reads the HELLO line.
    pub fn connect(addr: SocketAddr) -> Peer {
        let mut p = Peer::from_stream(TcpStream::connect(addr).expect("connect"));
        let hello = p.line();
        assert!(hello.starts_with("HELLO "), "greeting was {hello:?}");
        p
    }

    /// Connects and sets a nickname.
    pub fn register(addr: SocketAddr, nick: &str) -> Peer {
        let mut p = Peer::connect(addr);
        p.nick(nick);
        p
    }

    /// Sets a nickname on a fresh connection.
    pub fn nick(&mut self, nick: &str) {
        self.send(&format!("NICK {nick}"));
        self.expect(&format!("OK NICK {nick}"));
        self.name = nick.to_string();
    }

    /// Connects, sets a nickname and joins `room`, reading the whole JOIN
    /// reply.
    pub fn join(addr: SocketAddr, nick: &str, room: &str) -> Peer {
        let mut p = Peer::register(addr, nick);
        p.join_room(room);
        p
    }

    /// Joins `room`, reading the whole JOIN reply.
    pub fn join_room(&mut self, room: &str) {
        self.send(&format!("JOIN {room}"));
        self.read_until_prefix("OK JOIN ");
    }

    /// Sends one line (a LF is appended).
    pub fn send(&mut self, line: &str) {
        self.send_bytes(format!("{line}\n").as_bytes());
    }

    /// Sends raw bytes.
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    /// The next line, without its LF.
    pub fn line(&mut self) -> String {
        let mut buf = Vec::new();
        match self.reader.read_until(b'\n', &mut buf) {
            Ok(0) => panic!("[{}] connection closed while waiting for a line", self.name),
            Ok(_) => {}
            Err(e) => panic!("[{}] no line within {READ_TIMEOUT:?}: {e}", self.name),
        }
        assert_eq!(
            buf.pop(),
            Some(b'\n'),
            "[{}] partial line {:?}",
            self.name,
            String::from_utf8_lossy(&buf)
        );
        String::from_utf8(buf).expect("server lines are UTF-8")
    }

    /// Asserts the next line.
    #[track_caller]
    pub fn expect(&mut self, want: &str) {
        let got = self.line();
        assert_eq!(got, want, "[{}] unexpected line", self.name);
    }

    /// Asserts the next lines, in order.
    #[track_caller]
    pub fn expect_lines(&mut self, want: &[&str]) {
        for w in want {
            self.expect(w);
        }
    }

    /// Asserts the next line starts with `prefix`; returns it.
    #[track_caller]
    pub fn expect_prefix(&mut self, prefix: &str) -> String {
        let got = self.line();
        assert!(
            got.starts_with(prefix),
            "[{}] wanted a line starting with {prefix:?}, got {got:?}",
            self.name
        );
        got
    }

    /// Reads lines until one starts with `prefix`; returns them all.
    pub fn read_until_prefix(&mut self, prefix: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let l = self.line();
            let done = l.starts_with(prefix);
            lines.push(l);
            if done {
                return lines;
            }
        }
    }

    /// A barrier: the PONG must be the very next line.
    #[track_caller]
    pub fn sync(&mut self) {
        self.send("PING sync");
        self.expect("PONG sync");
    }

    /// Exactly `n` raw bytes, through the same buffer as the lines.
    pub fn read_body(&mut self, n: usize) -> Vec<u8> {
        let mut body = vec![0; n];
        if let Err(e) = self.reader.read_exact(&mut body) {
            panic!("[{}] body of {n} bytes not read: {e}", self.name);
        }
        body
    }

    /// Asserts nothing at all arrives for `wait` (the connection stays open).
    pub fn expect_quiet(&mut self, wait: Duration) {
        self.reader.get_ref().set_read_timeout(Some(wait)).unwrap();
        let got = self.reader.fill_buf().map(|b| b.to_vec());
        self.reader
            .get_ref()
            .set_read_timeout(Some(READ_TIMEOUT))
            .unwrap();
        match got {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Ok(b) if b.is_empty() => panic!("[{}] closed instead of waiting", self.name),
            Ok(b) => panic!(
                "[{}] expected silence, got {:?}",
                self.name,
                String::from_utf8_lossy(&b)
            ),
            Err(e) => panic!("[{}] read failed: {e}", self.name),
        }
    }

    /// Asserts the server closes the connection (nothing more to read).
    pub fn expect_closed(&mut self) {
        let deadline = Instant::now() + READ_TIMEOUT;
        let mut rest = Vec::new();
        loop {
            let mut buf = [0u8; 4096];
            match self.reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => rest.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
                Err(e) => panic!("[{}] not closed: {e}", self.name),
            }
            assert!(Instant::now() < deadline, "[{}] not closed", self.name);
        }
        assert!(
            rest.is_empty(),
            "[{}] unexpected bytes before the close: {:?}",
            self.name,
            String::from_utf8_lossy(&rest)
        );
    }

    /// Sends a FILE header and its body in one write.
    pub fn send_file(&mut self, target: &str, filename: &str, content: &[u8]) {
        let mut out = format!("FILE {target} {} {filename}\n", content.len()).into_bytes();
        out.extend_from_slice(content);
        self.send_bytes(&out);
    }

    /// Reads up to `OK FILE <id> <sha256>`, checks the digest against
    /// `want_sha`, returns the id and the lines skipped on the way (events
    /// from others).
    pub fn await_ok_file(&mut self, want_sha: &str) -> (String, Vec<String>) {
        let mut skipped = Vec::new();
        loop {
            let l = self.line();
            if let Some(rest) = l.strip_prefix("OK FILE ") {
                let (id, sha) = rest.split_once(' ').expect("OK FILE <id> <sha256>");
                assert_id(id);
                assert_eq!(sha, want_sha, "[{}] OK FILE digest", self.name);
                return (id.to_string(), skipped);
            }
            assert!(
                !l.starts_with("ERR "),
                "[{}] upload refused: {l}",
                self.name
            );
            skipped.push(l);
        }
    }

    /// Uploads and waits for `OK FILE`, with nothing else in between;
    /// returns the id.
    pub fn upload(&mut self, target: &str, filename: &str, content: &[u8]) -> String {
        self.send_file(target, filename, content);
        let (id, skipped) = self.await_ok_file(&sha256_hex(content));
        assert!(
            skipped.is_empty(),
            "[{}] lines before OK FILE: {skipped:?}",
            self.name
        );
        id
    }

    /// FETCH: `DATA <id> <size> <filename>`, the body, `OK FETCH <id>`.
    /// Returns the label and the content.
    pub fn fetch(&mut self, id: &str) -> (String, Vec<u8>) {
        self.send(&format!("FETCH {id}"));
        self.read_data(id)
    }

    /// Reads a whole DATA answer for `id`.
    pub fn read_data(&mut self, id: &str) -> (String, Vec<u8>) {
        let header = self.line();
        let rest = header
            .strip_prefix(&format!("DATA {id} "))
            .unwrap_or_else(|| panic!("[{}] wanted DATA {id}, got {header:?}", self.name));
        let (size, filename) = rest.split_once(' ').expect("DATA <id> <size> <filename>");
        let size: usize = size.parse().expect("DATA size");
        let body = self.read_body(size);
        self.expect(&format!("OK FETCH {id}"));
        (filename.to_string(), body)
    }

    /// Asserts FETCH of `id` is refused as an unknown file.
    #[track_caller]
    pub fn expect_no_such_file(&mut self, id: &str) {
        self.send(&format!("FETCH {id}"));
        self.expect_prefix("ERR FETCH NO_SUCH_FILE ");
    }

    /// Ends the upstream direction: the server sees EOF after what was
    /// written.
    pub fn close_write(&mut self) {
        self.writer.flush().unwrap();
        let _ = self.writer.shutdown(std::net::Shutdown::Write);
    }

    /// QUIT, its OK, and the close.
    pub fn quit(mut self) {
        self.send("QUIT");
        self.expect("OK QUIT");
        self.expect_closed();
    }
}

/// The lower-case hex sha256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Ids are 20 lower-case hex digits.
pub fn assert_id(id: &str) {
    assert!(
        id.len() == 20
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "bad file id {id:?}"
    );
}
