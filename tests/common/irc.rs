//! A raw IRC client: CRLF lines, reads bounded by the harness timeout.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use super::READ_TIMEOUT;

/// The server's name in tests (`server.name`'s default).
pub const SERVER: &str = "chatroom";

/// A raw IRC client.
pub struct Irc {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// The nickname, for failure messages.
    pub name: String,
}

impl Irc {
    /// Connects without sending anything.
    pub fn connect(addr: SocketAddr) -> Irc {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        let writer = stream.try_clone().unwrap();
        Irc {
            reader: BufReader::new(stream),
            writer,
            name: String::from("?"),
        }
    }

    /// Connects and registers as `nick` (user name `nick`, real name
    /// `Real <nick>`), reading the whole welcome up to the MOTD's end.
    pub fn register(addr: SocketAddr, nick: &str) -> Irc {
        let mut c = Irc::connect(addr);
        c.name = nick.to_string();
        c.send(&format!("NICK {nick}"));
        c.send(&format!("USER {nick} 0 * :Real {nick}"));
        c.expect(&format!(
            ":{SERVER} 001 {nick} :Welcome to the chatroom IRC Network {nick}!~{nick}@irc"
        ));
        c.until_numeric("422");
        c
    }

    /// Registers and joins `channel`, reading its whole welcome.
    pub fn join(addr: SocketAddr, nick: &str, channel: &str) -> Irc {
        let mut c = Irc::register(addr, nick);
        c.join_channel(channel);
        c
    }

    /// Joins `channel`, reading up to its `366`.
    pub fn join_channel(&mut self, channel: &str) -> Vec<String> {
        self.send(&format!("JOIN {channel}"));
        self.until_numeric("366")
    }

    /// Sends one line (CRLF appended).
    pub fn send(&mut self, line: &str) {
        self.send_bytes(format!("{line}\r\n").as_bytes());
    }

    /// Sends raw bytes.
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    /// The next line, without its CRLF; panics on timeout or EOF.
    pub fn line(&mut self) -> String {
        let mut buf = Vec::new();
        match self.reader.read_until(b'\n', &mut buf) {
            Ok(0) => panic!("[{}] connection closed while waiting for a line", self.name),
            Ok(_) => {}
            Err(e) => panic!("[{}] no line within {READ_TIMEOUT:?}: {e}", self.name),
        }
        assert!(
            buf.ends_with(b"\r\n"),
            "[{}] line without CRLF: {buf:?}",
            self.name
        );
        buf.truncate(buf.len() - 2);
        assert!(
            buf.len() <= 510 || buf.starts_with(b"@"),
            "[{}] line over 512 bytes",
            self.name
        );
        String::from_utf8(buf).expect("server lines are UTF-8")
    }

    /// Asserts the next line.
    pub fn expect(&mut self, want: &str) {
        let got = self.line();
        assert_eq!(got, want, "[{}] unexpected line", self.name);
    }

    /// Asserts the next lines, in order.
    pub fn expect_lines(&mut self, want: &[&str]) {
        for w in want {
            self.expect(w);
        }
    }

    /// Asserts that the next line is numeric `code` to this client,
    /// returning it.
    pub fn expect_numeric(&mut self, code: &str) -> String {
        let line = self.line();
        let prefix = format!(":{SERVER} {code} ");
        assert!(
            line.starts_with(&prefix),
            "[{}] wanted numeric {code}, got {line:?}",
            self.name
        );
        line
    }

    /// Reads lines until numeric `code`; returns them all.
    pub fn until_numeric(&mut self, code: &str) -> Vec<String> {
        let prefix = format!(":{SERVER} {code} ");
        let mut lines = Vec::new();
        loop {
            let l = self.line();
            let done = l.starts_with(&prefix);
            lines.push(l);
            if done {
                return lines;
            }
        }
    }

    /// A barrier: PING with a unique token, and assert that the PONG is the
    /// very next line (so nothing else was queued before it).
    pub fn sync(&mut self) {
        let token = format!("sync{}", super::rand_token());
        self.send(&format!("PING {token}"));
        self.expect(&format!(":{SERVER} PONG {SERVER} :{token}"));
    }

    /// Asserts the server closes the connection; returns what came first.
    pub fn expect_closed(&mut self) -> String {
        let deadline = Instant::now() + READ_TIMEOUT;
        let mut rest = Vec::new();
        loop {
            let mut buf = [0u8; 4096];
            match self.reader.read(&mut buf) {
                Ok(0) => return String::from_utf8_lossy(&rest).into_owned(),
                Ok(n) => rest.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return String::from_utf8_lossy(&rest).into_owned()
                }
                Err(e) => panic!(
                    "[{}] not closed: {e}; got {:?}",
                    self.name,
                    String::from_utf8_lossy(&rest)
                ),
            }
            assert!(
                Instant::now() < deadline,
                "[{}] not closed in time",
                self.name
            );
        }
    }
}
