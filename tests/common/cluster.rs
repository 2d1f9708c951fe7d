//! Cluster-mode test helpers: nodes on one real `redis-server`
//! (tests/common/redis.rs), and the nickname dialogue every cluster test
//! starts with.

use std::net::SocketAddr;

use super::programs::{poll, require};
use super::redis::Redis;
use super::{start, Client, TestServer};

/// The lease the tests' nodes take: short, so that a dead node's
/// nicknames free up quickly.
pub const LEASE_SECS: u64 = 2;

/// Whether `test` can run (redis-server installed); says why not.
pub fn can_run(test: &str) -> bool {
    require(&format!("cluster::{test}"), &["redis-server"])
}

/// A node on `redis`, in this process.
pub fn node(redis: &Redis, id: &str) -> TestServer {
    node_on(&redis.url(), id, LEASE_SECS)
}

/// A node on the Redis at `url`, in this process, with a lease of
/// `lease_secs` renewed every second.
pub fn node_on(url: &str, id: &str, lease_secs: u64) -> TestServer {
    start(&format!(
        "[cluster]\nredis_url = \"{url}\"\nnode_id = \"{id}\"\n\
         lease_secs = {lease_secs}\nheartbeat_secs = 1\n\
         [limits]\nflood_burst = 100000\nflood_rate_per_sec = 100000.0"
    ))
}

/// `NICK nick` from a client with no nickname yet; the answer.
pub fn try_nick(c: &mut Client, nick: &str) -> String {
    c.send(&format!("NICK {nick}"));
    c.line()
}

/// Asks for `nick` on `addr` until a new client gets it (a release on
/// another node reaches Redis a moment after the QUIT); the client.
pub fn nick_once_free(addr: SocketAddr, nick: &str, what: &str) -> Client {
    let mut c = Client::connect(addr);
    let ok = format!("OK NICK {nick}");
    let last = std::cell::RefCell::new(String::new());
    poll(
        what,
        || {
            let answer = try_nick(&mut c, nick);
            let got = answer == ok;
            *last.borrow_mut() = answer;
            got.then_some(())
        },
        || format!("last answer: {}", last.borrow()),
    );
    c.name = nick.to_string();
    c
}

/// The answer to a `NICK` another connection holds.
pub fn in_use(nick: &str) -> String {
    format!("ERR NICK NICK_IN_USE {nick} is already taken")
}

/// A node run as a child process, so that a test can SIGKILL it.
pub struct ChildNode {
    /// The process (killed when dropped).
    pub process: super::Running,
    /// Its native listener.
    pub addr: SocketAddr,
    /// Its HTTP listener (the web page and its WebSocket).
    pub http: SocketAddr,
    _dir: tempfile::TempDir,
}

impl ChildNode {
    /// Starts node `id` of `redis` as a child process, on free ports.
    pub fn start(redis: &Redis, id: &str) -> ChildNode {
        let dir = tempfile::tempdir().expect("tempdir");
        let (url, lease) = (redis.url(), LEASE_SECS.to_string());
        let cmd = super::process::chatroom_command(
            dir.path(),
            &["--listen", "127.0.0.1:0"],
            &[
                ("CHATROOM_CLUSTER__REDIS_URL", url.as_str()),
                ("CHATROOM_CLUSTER__NODE_ID", id),
                ("CHATROOM_CLUSTER__LEASE_SECS", lease.as_str()),
                ("CHATROOM_CLUSTER__HEARTBEAT_SECS", "1"),
                // As `node`'s: tests send faster than a person.
                ("CHATROOM_LIMITS__FLOOD_BURST", "100000"),
                ("CHATROOM_LIMITS__FLOOD_RATE_PER_SEC", "100000"),
            ],
        );
        let (child, addr, log) = super::process::spawn_listening(cmd);
        let process = super::Running(child);
        let http = loop {
            let line = log
                .recv_timeout(super::process::PROCESS_TIMEOUT)
                .expect("an `HTTP listening on` line");
            if let Some((_, rest)) = line.split_once("HTTP listening on ") {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                break addr.parse().expect("the HTTP address");
            }
        };
        ChildNode {
            process,
            addr,
            http,
            _dir: dir,
        }
    }

    /// SIGKILL: nothing released, nothing said.
    pub fn kill(&mut self) {
        super::process::kill_if_running(&mut self.process.0);
    }
}

/// Waits until the room's member hash holds `members` (sorted, spaces
/// between): a JOIN reaches Redis a moment after its `OK JOIN`.
pub fn members_are(redis: &Redis, room: &str, members: &str) {
    let key = format!("chatroom:room:{room}:members");
    poll(
        "the room's members in Redis",
        || {
            let mut got: Vec<String> = redis
                .command(&["HKEYS", &key])
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            got.sort();
            (got.join(" ") == members).then_some(())
        },
        || redis.command(&["HKEYS", &key]),
    );
}

/// The next `n` lines, sorted: what a client gets in an order the test
/// does not decide (its own reply and the room's event).
pub fn sorted_lines(c: &mut Client, n: usize) -> Vec<String> {
    let mut lines: Vec<String> = (0..n).map(|_| c.line()).collect();
    lines.sort();
    lines
}
