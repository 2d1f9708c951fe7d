//! The real binary's IRC listener: set from the environment
//! (`CHATROOM_IRC__*`), logged as `IRC listening on <addr>`, told of the
//! shutdown with `ERROR`.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::irc::Irc;
use common::process::{chatroom_command, kill_if_running, spawn_listening, wait_bounded};
use common::READ_TIMEOUT;

#[test]
fn the_irc_listener_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = chatroom_command(
        dir.path(),
        &["--listen", "127.0.0.1:0"],
        &[
            ("CHATROOM_IRC__NETWORK", "EnvNet"),
            ("CHATROOM_IRC__MOTD", "from the env"),
        ],
    );
    let (mut child, _native, stderr) = spawn_listening(cmd);
    let deadline = Instant::now() + READ_TIMEOUT;
    let irc: SocketAddr = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = stderr
            .recv_timeout(left)
            .expect("an `IRC listening on` line");
        if let Some((_, rest)) = line.split_once("IRC listening on ") {
            break rest.trim().parse().expect("an address");
        }
    };
    assert_eq!(irc.ip().to_string(), "127.0.0.1");
    let mut c = Irc::connect(irc);
    c.name = "env".into();
    c.send("NICK env");
    c.send("USER env 0 * :Env");
    c.expect(":chatroom 001 env :Welcome to the EnvNet IRC Network env!~env@irc");
    let lines = c.until_numeric("376");
    assert!(lines.contains(&":chatroom 372 env :- from the env".to_string()));
    // SIGTERM: IRC clients are told, then the process exits 0.
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    c.expect("ERROR :Closing Link: irc (Server shutting down)");
    c.expect_closed();
    let status = wait_bounded(&mut child, Duration::from_millis(20));
    assert!(status.success(), "{status:?}");
    kill_if_running(&mut child);
}
