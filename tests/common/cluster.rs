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
