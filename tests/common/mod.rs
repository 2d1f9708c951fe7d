//! Test harness: an in-process server on 127.0.0.1:0 and a line client
//! speaking raw TCP, with reads bounded by a timeout (never sleeps).
#![allow(dead_code)]

pub mod cluster;
pub mod front;
pub mod http;
pub mod irc;
pub mod netns;
pub mod peer;
pub mod process;
pub mod programs;
pub mod redis;
pub mod slow;
pub mod ws;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use chatroom::config::Config;
use chatroom::server::ServerHandle;

/// How long a read waits before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A server on its own thread, with its own temporary data directory
/// (`files/` for `files.dir`, `history.db` for `history.db`).
pub struct TestServer {
    handle: ServerHandle,
    data: tempfile::TempDir,
    files: std::path::PathBuf,
}

impl TestServer {
    /// Where the server listens; panics if its plain native listener was
    /// turned off.
    pub fn addr(&self) -> SocketAddr {
        self.handle.addr().expect("the plain native listener is on")
    }

    /// Where its native-over-TLS listener listens; panics if it is off.
    pub fn tls_addr(&self) -> SocketAddr {
        self.handle.tls_addr().expect("the TLS listener is on")
    }

    /// Where its IRC-over-TLS listener listens; panics if it is off.
    pub fn irc_tls_addr(&self) -> SocketAddr {
        self.handle
            .irc_tls_addr()
            .expect("the IRC TLS listener is on")
    }

    /// The server itself (its TLS certificate, for one).
    pub fn handle(&self) -> &ServerHandle {
        &self.handle
    }

    /// Its HTTPS listener (`http.tls_listen` must be on).
    pub fn https_addr(&self) -> SocketAddr {
        self.handle.https_addr().expect("the HTTPS listener is on")
    }

    /// Its `tls.dir`, where a self-signed certificate is generated.
    pub fn tls_dir(&self) -> std::path::PathBuf {
        self.data.path().join("tls")
    }

    /// Where its IRC listener listens (on 127.0.0.1, a free port); panics
    /// if IRC was turned off.
    pub fn irc_addr(&self) -> SocketAddr {
        self.handle.irc_addr().expect("the IRC listener is on")
    }

    /// Where its IRC listener listens, if it is on.
    pub fn irc_addr_if_on(&self) -> Option<SocketAddr> {
        self.handle.irc_addr()
    }

    /// Where its HTTP listener listens (on 127.0.0.1, a free port); panics
    /// if HTTP was turned off.
    pub fn http_addr(&self) -> SocketAddr {
        self.handle.http_addr().expect("the HTTP listener is on")
    }

    /// Its `files.dir`.
    pub fn files_dir(&self) -> &std::path::Path {
        &self.files
    }

    /// Its `history.db`.
    pub fn db_path(&self) -> std::path::PathBuf {
        self.data.path().join("history.db")
    }

    /// Shuts it down as SIGTERM would, and waits; returns the data
    /// directory so that a restarted server can reuse it.
    pub fn shutdown(self) -> tempfile::TempDir {
        self.handle.shutdown();
        self.data
    }
}

/// Starts a server on `config`, with a fresh data directory unless one is
/// given (to restart on the same data), logging nowhere. Its IRC, TLS and
/// HTTP listeners, unless turned off (`irc.listen = ""`, ...), are on
/// 127.0.0.1 and a free port.
pub fn start_config(mut config: Config, data: Option<tempfile::TempDir>) -> TestServer {
    for listen in [
        &mut config.irc.listen,
        &mut config.tls.listen,
        &mut config.irc.tls_listen,
        &mut config.http.listen,
        &mut config.http.tls_listen,
        &mut config.admin.listen,
    ] {
        if !listen.is_empty() {
            *listen = "127.0.0.1:0".into();
        }
    }
    let data = data.unwrap_or_else(|| tempfile::tempdir().expect("tempdir"));
    let files = data.path().join("files");
    config.files.dir = files.clone();
    config.history.db = data.path().join("history.db");
    config.tls.dir = data.path().join("tls");
    config.log.dir = "".into();
    let handle = ServerHandle::start(config).expect("server starts");
    TestServer {
        handle,
        data,
        files,
    }
}

/// Starts a server with `toml` layered on the defaults, on an ephemeral
/// port.
pub fn start(toml: &str) -> TestServer {
    let mut config = Config::from_toml(toml).expect("test config");
    config.server.listen = "127.0.0.1:0".into();
    start_config(config, None)
}

/// A server with the defaults.
pub fn start_default() -> TestServer {
    start("")
}

/// A raw line client.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    pub name: String,
}

impl Client {
    /// Connects without reading anything.
    pub fn connect_raw(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        let writer = stream.try_clone().unwrap();
        Client {
            reader: BufReader::new(stream),
            writer,
            name: String::from("?"),
        }
    }

    /// Connects and reads the HELLO line.
    pub fn connect(addr: SocketAddr) -> Client {
        let mut c = Client::connect_raw(addr);
        let hello = c.line();
        assert!(hello.starts_with("HELLO "), "greeting was {hello:?}");
        c
    }

    /// Connects and sets a nickname.
    pub fn register(addr: SocketAddr, nick: &str) -> Client {
        let mut c = Client::connect(addr);
        c.send(&format!("NICK {nick}"));
        c.expect(&format!("OK NICK {nick}"));
        c.name = nick.to_string();
        c
    }

    /// Connects, sets a nickname and joins `room`, reading the whole JOIN reply.
    pub fn join(addr: SocketAddr, nick: &str, room: &str) -> Client {
        let mut c = Client::register(addr, nick);
        c.send(&format!("JOIN {room}"));
        c.read_until_prefix("OK JOIN ");
        c
    }

    /// Sends one line (a LF is appended).
    pub fn send(&mut self, line: &str) {
        self.send_bytes(format!("{line}\n").as_bytes());
    }

    /// Sends raw bytes.
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    /// The next line, without its LF; panics on timeout or EOF.
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
            "[{}] partial line {buf:?}",
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

    /// A barrier: PING with a unique token, and assert that the PONG is
    /// the very next line (so nothing else was queued before it).
    pub fn sync(&mut self) {
        let token = format!("sync{}", rand_token());
        self.send(&format!("PING {token}"));
        self.expect(&format!("PONG {token}"));
    }

    /// Asserts the server closes the connection, after any lines listed.
    pub fn expect_closed(&mut self) {
        let deadline = Instant::now() + READ_TIMEOUT;
        let mut rest = Vec::new();
        loop {
            let mut buf = [0u8; 4096];
            match self.reader.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => rest.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
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

    /// The underlying stream, e.g. to shut down one direction.
    pub fn stream(&self) -> &TcpStream {
        &self.writer
    }
}

/// A number no other call in this process returns.
pub fn rand_token() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The path of example `name`: `cargo test` builds the examples next to
/// the test binaries' directory.
pub fn example(name: &str) -> std::path::PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join(name)
}

/// A child process killed when the test ends, pass or fail.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
