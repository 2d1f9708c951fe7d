//! The real `chatroom` binary: start-up log, signals, configuration from
//! the environment and from a file, bad configurations and `--help`.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::process::{chatroom_command, kill_if_running, spawn_listening, wait_bounded};
use common::*;

/// How often a wait for the binary's exit polls.
const WAIT_EVERY: Duration = Duration::from_millis(20);

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
        let (child, addr, rx) = spawn_listening(chatroom_command(dir.path(), &all, env));
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
        let status = wait_bounded(&mut self.child, WAIT_EVERY);
        let rest: Vec<String> = self.stderr.try_iter().collect();
        (status, rest.join("\n"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        kill_if_running(&mut self.child);
    }
}

/// Runs the binary to its end: status, stdout and stderr.
fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = chatroom_command(dir.path(), args, env);
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
    let status = wait_bounded(&mut child, WAIT_EVERY);
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

#[test]
fn the_descriptor_table_is_grown_for_max_clients_before_anyone_connects() {
    // Growing it while clients connect blocks the server at each doubling.
    let server = Server::start(&[], &[("CHATROOM_LIMITS__MAX_CLIENTS", "3000")]);
    let mut a = Client::register(server.addr, "a");
    a.sync();
    let size = common::process::fd_table_size(server.child.id());
    let wanted = common::process::fd_table_wanted(3_000);
    assert!(size >= wanted, "FDSize {size}, wanted {wanted}");
}

#[test]
fn an_open_files_limit_below_max_clients_is_warned_of_at_start() {
    let server = Server::start(&[], &[("CHATROOM_LIMITS__MAX_CLIENTS", "2000000000")]);
    let mut a = Client::register(server.addr, "a");
    a.sync();
    // After the `listening on` lines, before the first client is served.
    let mut seen = Vec::new();
    let warning = loop {
        let line = server
            .stderr
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("no warning ({e}); stderr after start: {seen:#?}"));
        if line.contains("open-files limit") {
            break line;
        }
        seen.push(line);
    };
    assert!(
        warning.contains("WARN")
            && warning.contains(
                "the open-files limit (ulimit -n) is below limits.max_clients + 64: \
                 clients past it will be refused by the system"
            )
            && warning.contains("max_clients=2000000000"),
        "got {warning:?}"
    );
    let limit = common::process::open_files_limit();
    assert!(common::process::fd_table_size(server.child.id()) >= limit);
}
