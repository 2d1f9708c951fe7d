//! What the server logs about a connection stays bounded whatever the
//! client does.

mod common;

use std::time::{Duration, Instant};

use common::peer::Peer;
use common::process::{chatroom_command, kill_if_running, spawn_listening};

/// The server process, ended when dropped.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        kill_if_running(&mut self.0);
    }
}

/// A client that changes its nickname again and again does not make every
/// later log line of its connection longer: the span records the nick it
/// registered with, and each change is an event of its own.
#[test]
fn nick_changes_do_not_grow_the_connection_log_span() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = chatroom_command(
        dir.path(),
        &["--listen", "127.0.0.1:0"],
        &[
            ("CHATROOM_HISTORY__ENABLED", "false"),
            ("CHATROOM_FILES__DIR", "files"),
            ("CHATROOM_LIMITS__FLOOD_BURST", "100000"),
        ],
    );
    let (child, addr, stderr) = spawn_listening(cmd);
    // Ended even when an assertion fails: no server outlives the test.
    let _server = Running(child);
    let mut peer = Peer::register(addr, "n0");
    for i in 1..200 {
        peer.send(&format!("NICK n{i}"));
        peer.expect_lines(&[&format!("NICK n{} n{i}", i - 1), &format!("OK NICK n{i}")]);
    }
    peer.send("JOIN #r");
    peer.expect_prefix("JOIN #r");
    let deadline = Instant::now() + Duration::from_secs(10);
    let joined = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = stderr.recv_timeout(left).expect("a `joined` log line");
        if line.contains("joined") {
            break line;
        }
    };
    assert_eq!(joined.matches("nick=").count(), 1, "{joined}");
    assert!(joined.contains("nick=\"n0\""), "{joined}");
    assert!(joined.len() < 300, "{} bytes: {joined}", joined.len());
}
