//! SIGHUP reloads the configuration file of the running binary: the next
//! client sees the new limits and MOTD while connections stay up and keep
//! chatting; a bad file is refused whole and the old configuration stays;
//! a key only a restart applies is named in the log and left as it was.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc::Receiver;
use std::time::Instant;

use common::irc::{Irc, SERVER};
use common::process::{chatroom_command, spawn_listening};
use common::{Client, Running, READ_TIMEOUT};

/// The binary on `config.toml` in `dir`, its log lines, and its native
/// listener.
struct Server {
    child: Running,
    addr: SocketAddr,
    irc: SocketAddr,
    admin: SocketAddr,
    log: Receiver<String>,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let mut cmd = chatroom_command(
            dir,
            &["--listen", "127.0.0.1:0", "--config", "config.toml"],
            &[("CHATROOM_HISTORY__ENABLED", "false")],
        );
        // The file's log.level, not the variable's, so that it can change.
        cmd.env_remove("CHATROOM_LOG__LEVEL");
        let (child, addr, log) = spawn_listening(cmd);
        let mut server = Server {
            child: Running(child),
            addr,
            irc: addr,
            admin: addr,
            log,
        };
        server.irc = server.listening("IRC listening on ");
        server.admin = server.listening("admin listening on ");
        server
    }

    /// The address of the log line `<what> <address>`.
    fn listening(&self, what: &str) -> SocketAddr {
        let (line, _) = self.log_line(what);
        line.rsplit(' ')
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{line:?}"))
    }

    /// The lines of `/metrics` that start with `name`.
    fn metric(&self, name: &str) -> Vec<String> {
        let res = common::http::get(self.admin, "/metrics");
        assert_eq!(res.status, 200);
        String::from_utf8(res.body)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with(name))
            .map(str::to_string)
            .collect()
    }

    /// Sends SIGHUP.
    fn hup(&self) {
        let pid = self.child.0.id().to_string();
        let hup = std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .expect("kill runs");
        assert!(hup.success());
    }

    /// The next log line that contains `what`, with the lines before it.
    fn log_line(&self, what: &str) -> (String, Vec<String>) {
        let deadline = Instant::now() + READ_TIMEOUT;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(what) => return (line, before),
                Ok(line) => before.push(line),
                Err(e) => panic!("no log line with {what:?} ({e}); saw {before:#?}"),
            }
        }
    }

    /// Sends SIGHUP and waits until the reload is done; returns its log.
    fn reload(&mut self) -> Vec<String> {
        self.hup();
        let (_, mut before) = self.log_line("reloading the configuration");
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .log
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("the reload did not end ({e}): {before:#?}"));
            let done = line.contains("configuration reloaded")
                || line.contains("configuration not reloaded");
            before.push(line);
            if done {
                return before;
            }
        }
    }

    fn still_running(&mut self) {
        assert_eq!(self.child.0.try_wait().unwrap(), None, "SIGHUP stopped it");
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// The one line of `log` with `what` in it.
fn one_with<'a>(log: &'a [String], what: &str) -> &'a str {
    let found: Vec<&String> = log.iter().filter(|l| l.contains(what)).collect();
    assert_eq!(found.len(), 1, "{what:?} in {log:#?}");
    found[0]
}

#[test]
fn a_reload_reaches_the_next_client_and_keeps_the_connections() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "motd.txt",
        "Welcome to the test server\n\nBe nice\n",
    );
    write(
        dir.path(),
        "config.toml",
        "[server]\nmotd_file = \"motd.txt\"\n[limits]\nmax_nick_len = 24\n[log]\nlevel = \"info\"\n",
    );
    let mut server = Server::start(dir.path());

    let mut alice = Client::connect(server.addr);
    alice.send("NICK alice");
    alice.expect_lines(&[
        "MOTD Welcome to the test server",
        "MOTD",
        "MOTD Be nice",
        "OK NICK alice",
    ]);
    alice.send("JOIN #r");
    alice.read_until_prefix("OK JOIN #r");

    write(dir.path(), "motd.txt", "Second edition\n");
    write(
        dir.path(),
        "config.toml",
        "[server]\nmotd_file = \"motd.txt\"\n[limits]\nmax_nick_len = 6\n[log]\nlevel = \"debug\"\n\
         [files]\nmax_bytes = 5\n",
    );
    let log = server.reload();
    one_with(&log, "configuration reloaded");
    one_with(&log, "log level changed");
    assert!(!log.iter().any(|l| l.contains("cannot change")), "{log:#?}");

    // The next client: the new bound, then the new MOTD.
    let mut bob = Client::connect(server.addr);
    bob.send("NICK robert_the_builder");
    bob.expect("ERR NICK BAD_NICK invalid nickname: name is longer than 6 characters");
    bob.send("NICK bob");
    bob.expect_lines(&["MOTD Second edition", "OK NICK bob"]);
    // A second NICK shows no MOTD.
    bob.send("NICK bobby");
    bob.expect_lines(&["NICK bob bobby", "OK NICK bobby"]);

    // IRC shows the same MOTD.
    let mut carol = Irc::connect(server.irc);
    carol.send("NICK carol");
    carol.send("USER carol 0 * :Carol");
    let welcome = carol.until_numeric("376");
    let motd: Vec<&str> = welcome
        .iter()
        .map(String::as_str)
        .skip_while(|l| !l.contains(" 375 "))
        .collect();
    assert_eq!(
        motd,
        [
            format!(":{SERVER} 375 carol :- {SERVER} Message of the day - "),
            format!(":{SERVER} 372 carol :- Second edition"),
            format!(":{SERVER} 376 carol :End of /MOTD command."),
        ]
    );

    // The connection from before is still up, and chats with the new one.
    bob.send("JOIN #r");
    bob.read_until_prefix("OK JOIN #r");
    alice.expect("JOIN #r bobby");
    alice.send("MSG #r still here");
    alice.expect("OK MSG #r");
    bob.expect("MSG #r alice still here");
    // A lowered file bound holds for the connection from before too: the
    // body is read and refused, and the connection stays.
    alice.send_bytes(b"FILE #r 10 notes.txt\n0123456789");
    alice.expect("ERR FILE FILE_TOO_LARGE files are limited to 5 bytes");
    alice.send("MSG #r and still here");
    alice.expect("OK MSG #r");
    bob.expect("MSG #r alice and still here");
    server.still_running();
}

#[test]
fn a_bad_file_is_refused_whole_and_fixed_keys_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "config.toml", "[limits]\nmax_nick_len = 24\n");
    let mut server = Server::start(dir.path());
    let mut alice = Client::register(server.addr, "alice");

    // Not TOML that fits: refused, naming the key; nothing changes.
    write(
        dir.path(),
        "config.toml",
        "[limits]\nmax_nick_len = 6\nmax_clients = \"many\"\n",
    );
    let log = server.reload();
    let refused = one_with(&log, "configuration not reloaded, the old one stays");
    assert!(refused.contains("max_clients"), "{refused}");
    // Out of range: refused, naming the key.
    write(dir.path(), "config.toml", "[limits]\nmax_nick_len = 0\n");
    let log = server.reload();
    let refused = one_with(&log, "configuration not reloaded, the old one stays");
    assert!(
        refused.contains("configuration key `limits.max_nick_len`: 0 is below the minimum of 1"),
        "{refused}"
    );
    let mut bob = Client::connect(server.addr);
    bob.send("NICK robert_the_builder");
    bob.expect("OK NICK robert_the_builder");

    // Keys only a restart applies (a name, where data lives, a listen
    // address): each named, left as it was; the rest of the file is in force.
    write(
        dir.path(),
        "config.toml",
        "[server]\nname = \"renamed\"\n[history]\ndb = \"elsewhere.db\"\n\
         [tls]\nlisten = \"127.0.0.1:0\"\n[limits]\nmax_nick_len = 6\n",
    );
    let log = server.reload();
    one_with(&log, "configuration reloaded");
    one_with(
        &log,
        "configuration key `server.name` cannot change while the server runs",
    );
    one_with(
        &log,
        "configuration key `history.db` cannot change while the server runs",
    );
    one_with(
        &log,
        "configuration key `tls.listen` cannot change while the server runs",
    );
    assert!(
        !log.iter().any(|l| l.contains("TLS listening on")),
        "{log:#?}"
    );
    let mut carol = Client::connect_raw(server.addr);
    let hello = carol.line();
    assert!(hello.starts_with("HELLO chatroom "), "{hello}");
    carol.send("NICK caroline_long");
    carol.expect("ERR NICK BAD_NICK invalid nickname: name is longer than 6 characters");

    let mut reloads = server.metric("chatroom_config_reloads_total");
    reloads.sort();
    assert_eq!(
        reloads,
        [
            "chatroom_config_reloads_total{result=\"ok\"} 1",
            "chatroom_config_reloads_total{result=\"refused\"} 2",
        ]
    );

    // Everyone from before is still connected.
    alice.send("PRIVMSG robert_the_builder hello");
    alice.expect("OK PRIVMSG robert_the_builder");
    bob.expect("PRIVMSG alice hello");
    server.still_running();
}

#[test]
fn a_reload_raising_max_clients_grows_the_descriptor_table_for_them() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "config.toml", "[limits]\nmax_clients = 100\n");
    let mut server = Server::start(dir.path());
    let mut alice = Client::register(server.addr, "alice");
    let pid = server.child.0.id();
    let before = common::process::fd_table_size(pid);
    let wanted = common::process::fd_table_wanted(3_000);
    assert!(before < wanted, "FDSize {before} for 100 clients");

    write(dir.path(), "config.toml", "[limits]\nmax_clients = 3000\n");
    let log = server.reload();
    one_with(&log, "configuration reloaded");
    let after = common::process::fd_table_size(pid);
    assert!(after >= wanted, "FDSize {after}, wanted {wanted}");
    // The connection from before is still served.
    alice.sync();
    server.still_running();
}
