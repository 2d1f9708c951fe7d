//! The real `chatroom` binary as a child process: its command, its start-up
//! (`listening on <addr>`) and a bounded wait for its exit.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long the binary may take to start, or to exit once asked.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(10);

/// A command for the binary, run in `dir` (so that nothing it writes lands
/// in the repository), logging to stderr only, its IRC and HTTP listeners
/// on a free port, with a clean environment; `env` is set last.
pub fn chatroom_command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chatroom"));
    cmd.args(args).current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("CHATROOM_") {
            cmd.env_remove(key);
        }
    }
    cmd.env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("CHATROOM_LOG__DIR", "")
        .env("CHATROOM_LOG__LEVEL", "info")
        // Never the default 6667: tests run side by side.
        .env("CHATROOM_IRC__LISTEN", "127.0.0.1:0")
        .env("CHATROOM_HTTP__LISTEN", "127.0.0.1:0")
        .env("CHATROOM_ADMIN__LISTEN", "127.0.0.1:0");
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Spawns `cmd` (whose stderr is piped) and waits for its
/// `listening on <addr>` line. Returns the child, the address and the
/// stderr lines after that one, read on their own thread which keeps
/// draining the pipe (so that it never fills) even once the receiver is
/// gone.
pub fn spawn_listening(mut cmd: Command) -> (Child, SocketAddr, mpsc::Receiver<String>) {
    let mut child = cmd.spawn().expect("spawn chatroom");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + PROCESS_TIMEOUT;
    let mut seen = Vec::new();
    let addr = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match rx.recv_timeout(left) {
            Ok(line) => line,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no `listening on` line ({e}); stderr: {seen:#?}");
            }
        };
        if let Some((_, rest)) = line.split_once("listening on ") {
            let addr = rest.split_whitespace().next().unwrap_or_default();
            break addr
                .parse::<SocketAddr>()
                .unwrap_or_else(|e| panic!("{line:?}: {e}"));
        }
        seen.push(line);
    };
    (child, addr, rx)
}

/// Waits for `child` to exit, polling every `every`, killing it (and
/// failing) after [`PROCESS_TIMEOUT`].
pub fn wait_bounded(child: &mut Child, every: Duration) -> ExitStatus {
    let deadline = Instant::now() + PROCESS_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the process did not exit within {PROCESS_TIMEOUT:?}");
        }
        thread::sleep(every);
    }
}

/// Kills `child` if it still runs, and reaps it.
pub fn kill_if_running(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The size of `pid`'s descriptor table (`FDSize` in its status).
pub fn fd_table_size(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("FDSize:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("an FDSize line")
}

/// The soft open-files limit (`ulimit -n`) a spawned server inherits;
/// Linux always has one.
pub fn open_files_limit() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .expect("an open-files limit")
}

/// The descriptors a server asks for with `max_clients`: its clients'
/// and its own ([`chatroom::transport::fd_table::SPARE`]), within the
/// open-files limit.
pub fn fd_table_wanted(max_clients: u64) -> u64 {
    let wanted = max_clients + chatroom::transport::fd_table::SPARE as u64;
    wanted.min(open_files_limit())
}
