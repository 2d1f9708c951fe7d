//! A real `redis-server` for the cluster tests: on a free 127.0.0.1 port,
//! in a temporary directory, every write on disk before it answers
//! (`appendfsync always`), killed by its PID when dropped; and a bare RESP
//! client to look at what the nodes keep in it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::READ_TIMEOUT;

/// How long redis-server gets to answer PING after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` of the test's own.
pub struct Redis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Redis {
    /// Starts one on a free port.
    pub fn start() -> Redis {
        let mut dir = tempfile::tempdir().expect("tempdir");
        // The port is free when asked; another process taking it before
        // redis-server binds it fails the start, which is tried again.
        for _ in 0..5 {
            let port = free_port();
            let mut redis = Redis {
                child: None,
                port,
                dir,
            };
            if redis.spawn() {
                return redis;
            }
            dir = redis.take_dir();
        }
        panic!("redis-server did not start on a free port in 5 tries");
    }

    fn take_dir(mut self) -> tempfile::TempDir {
        self.stop();
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"))
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Its data directory (the append-only file).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills it (SIGKILL: what it wrote is on disk already) and reaps it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data; panics if it cannot.
    pub fn restart(&mut self) {
        self.stop();
        assert!(
            self.spawn(),
            "redis-server did not restart on port {}",
            self.port
        );
    }

    /// Starts redis-server and waits for its PONG: false if it exited.
    fn spawn(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_)) = child.try_wait() {
                    self.child = None;
                    return false;
                }
            }
            if self.try_command(&["PING"]).as_deref() == Some("PONG") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        false
    }

    /// Runs one command; its reply as text (`nil` for none, `ERR ...` for
    /// an error, an array's items joined by spaces).
    pub fn command(&self, args: &[&str]) -> String {
        self.try_command(args)
            .unwrap_or_else(|| panic!("redis {args:?}: no answer on port {}", self.port))
    }

    fn try_command(&self, args: &[&str]) -> Option<String> {
        command_at(SocketAddr::from(([127, 0, 0, 1], self.port)), args)
    }
}

/// Runs one command on the Redis at `addr`, as [`Redis::command`] does;
/// `None` if it cannot be reached or answers nothing readable.
pub fn command_at(addr: SocketAddr, args: &[&str]) -> Option<String> {
    let stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT).ok()?;
    stream.set_read_timeout(Some(READ_TIMEOUT)).ok()?;
    let mut out = format!("*{}\r\n", args.len());
    for a in args {
        out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    (&stream).write_all(out.as_bytes()).ok()?;
    read_reply(&mut BufReader::new(stream))
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One RESP2 reply, as text.
fn read_reply(r: &mut impl BufRead) -> Option<String> {
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let line = line.trim_end_matches("\r\n");
    let (kind, rest) = line.split_at(1.min(line.len()));
    match kind {
        "+" | ":" => Some(rest.to_string()),
        "-" => Some(format!("ERR {rest}")),
        "$" if rest == "-1" => Some("nil".into()),
        "$" => {
            let len: usize = rest.parse().ok()?;
            let mut buf = vec![0; len + 2];
            std::io::Read::read_exact(r, &mut buf).ok()?;
            buf.truncate(len);
            String::from_utf8(buf).ok()
        }
        "*" if rest == "-1" => Some("nil".into()),
        "*" => {
            let n: usize = rest.parse().ok()?;
            let items: Option<Vec<String>> = (0..n).map(|_| read_reply(r)).collect();
            Some(items?.join(" "))
        }
        _ => None,
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
