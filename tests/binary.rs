//! The real `chatroom` binary: start-up log, signals, configuration from
//! the environment and from a file, bad configurations and `--help`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// How long the binary may take to start, or to exit once asked.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(10);

/// A command for the binary, run in `dir` (so that nothing it writes lands
/// in the repository), logging to stderr only, with a clean environment.
fn chatroom(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
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
        .env("CHATROOM_LOG__LEVEL", "info");
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// A running server process.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// stderr lines, read on their own thread so the pipe never fills.
    stderr: mpsc::Receiver<String>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts the binary on 127.0.0.1:0 and waits for its
    /// `listening on <addr>` line.
    fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut all = vec!["--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let mut child = chatroom(dir.path(), &all, env)
            .spawn()
            .expect("spawn chatroom");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
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
        assert_eq!(addr.ip().to_string(), "127.0.0.1");
        assert_ne!(addr.port(), 0);
        Server {
            child,
            addr,
            stderr: rx,
            _dir: dir,
        }
    }

    /// Sends a signal with `kill`.
    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit; its stderr after start-up.
    fn wait(mut self) -> (ExitStatus, String) {
        let status = wait_bounded(&mut self.child);
        let rest: Vec<String> = self.stderr.try_iter().collect();
        (status, rest.join("\n"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits for `child` to exit, killing it (and failing) after the timeout.
fn wait_bounded(child: &mut Child) -> ExitStatus {
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
        thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the binary to its end: status, stdout and stderr.
fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = chatroom(dir.path(), args, env);
    cmd.stdout(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn chatroom");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = wait_bounded(&mut child);
    (status, out.join().unwrap(), err.join().unwrap())
}

/// A TOML file holding `text`.
fn toml_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f.flush().unwrap();
    f
}

/// Runs the binary expecting it to refuse to start; its stderr.
#[track_caller]
fn refuses(args: &[&str], env: &[(&str, &str)]) -> String {
    let (status, _, stderr) = run_to_exit(args, env);
    assert!(
        !status.success(),
        "{args:?} {env:?} exited with {status}; stderr {stderr}"
    );
    stderr
}

/// The HELLO line of a fresh connection.
fn hello(addr: SocketAddr) -> String {
    let mut c = Client::connect_raw(addr);
    c.line()
}

#[test]
fn sigterm_says_goodbye_and_exits_zero() {
    let server = Server::start(&[], &[]);
    let mut a = Client::join(server.addr, "a", "#r");
    let mut b = Client::connect(server.addr);
    a.sync();
    b.sync();
    server.signal("TERM");
    a.expect("SERVER shutting down");
    a.expect_closed();
    b.expect("SERVER shutting down");
    b.expect_closed();
    let (status, stderr) = server.wait();
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
}

#[test]
fn sigint_says_goodbye_and_exits_zero() {
    let server = Server::start(&[], &[]);
    let mut a = Client::register(server.addr, "a");
    a.sync();
    server.signal("INT");
    a.expect("SERVER shutting down");
    a.expect_closed();
    let (status, stderr) = server.wait();
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
}

#[test]
fn the_environment_sets_limits_and_name() {
    let server = Server::start(&[], &[("CHATROOM_LIMITS__MAX_CLIENTS", "1")]);
    let mut a = Client::connect(server.addr);
    let mut b = Client::connect_raw(server.addr);
    let refused = b.line();
    assert!(refused.starts_with("ERR * SERVER_FULL "), "got {refused:?}");
    b.expect_closed();
    a.sync();
    server.signal("TERM");
    a.expect("SERVER shutting down");
    a.expect_closed();
    assert_eq!(server.wait().0.code(), Some(0));

    let server = Server::start(&[], &[("CHATROOM_SERVER__NAME", "envname")]);
    let greeting = hello(server.addr);
    assert!(greeting.starts_with("HELLO envname "), "got {greeting:?}");
}

#[test]
fn a_config_file_is_read_and_the_environment_overrides_it() {
    let file = toml_file("[server]\nname = \"filename\"\n[limits]\nmax_clients = 1\n");
    let path = file.path().to_str().unwrap();

    let server = Server::start(&["--config", path], &[]);
    let mut a = Client::connect_raw(server.addr);
    let greeting = a.line();
    assert!(greeting.starts_with("HELLO filename "), "got {greeting:?}");
    let mut b = Client::connect_raw(server.addr);
    let refused = b.line();
    assert!(refused.starts_with("ERR * SERVER_FULL "), "got {refused:?}");
    drop(server);

    let server = Server::start(&["--config", path], &[("CHATROOM_SERVER__NAME", "envwins")]);
    let greeting = hello(server.addr);
    assert!(greeting.starts_with("HELLO envwins "), "got {greeting:?}");
}

#[test]
fn bad_configurations_are_refused_naming_the_key() {
    // With an ephemeral --listen, so that a configuration wrongly accepted
    // cannot take the default port.
    let listen = ["--listen", "127.0.0.1:0"];
    let cases = [
        ("[limits]\nmax_line_bytes = 0\n", "max_line_bytes"),
        ("[limits]\nbogus = 1\n", "bogus"),
        ("[limits]\nmax_clients = \"x\"\n", "max_clients"),
        ("[nosection]\nx = 1\n", "nosection"),
    ];
    for (text, key) in cases {
        let file = toml_file(text);
        let path = file.path().to_str().unwrap();
        let stderr = refuses(&[&listen[..], &["--config", path]].concat(), &[]);
        assert!(
            stderr.contains(key),
            "{text:?}: stderr does not name {key}: {stderr}"
        );
    }
    let file = toml_file("[server]\nlisten = \"nowhere\"\n");
    let stderr = refuses(&["--config", file.path().to_str().unwrap()], &[]);
    assert!(
        stderr.contains("listen"),
        "stderr does not name listen: {stderr}"
    );

    let stderr = refuses(&listen, &[("CHATROOM_LIMITS__MAX_LINE_BYTES", "0")]);
    assert!(stderr.contains("max_line_bytes"), "stderr: {stderr}");
    let stderr = refuses(&listen, &[("CHATROOM_LIMITS__MAX_CLIENTS", "many")]);
    assert!(stderr.contains("max_clients"), "stderr: {stderr}");

    let stderr = refuses(&["--listen", "nowhere"], &[]);
    assert!(stderr.contains("listen"), "stderr: {stderr}");

    let missing = "/nonexistent/chatroom.toml";
    let stderr = refuses(&[&listen[..], &["--config", missing]].concat(), &[]);
    assert!(
        stderr.contains(missing),
        "stderr does not name {missing}: {stderr}"
    );
}

#[test]
fn a_port_in_use_is_refused_naming_the_address() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let stderr = refuses(&["--listen", &addr], &[]);
    assert!(
        stderr.contains(&addr),
        "stderr does not name {addr}: {stderr}"
    );
}

#[test]
fn help_names_the_options_and_the_environment() {
    let (status, stdout, stderr) = run_to_exit(&["--help"], &[]);
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    for word in ["--config", "--listen", "CHATROOM_"] {
        assert!(
            stdout.contains(word),
            "--help does not mention {word}: {stdout}"
        );
    }
}
