//! TLS end to end: the native and IRC protocols over TLS listeners, with a
//! real rustls client trusting the server's certificate (read from its
//! data directory or its configured file), beside plain TCP clients;
//! failed handshakes, the handshake timeout, bad certificates at start-up,
//! reloads (in process and by SIGHUP to the binary), and `openssl
//! s_client` driven by scripts/tls_check.sh.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use chatroom::config::Config;
use chatroom::server::{ServerError, ServerHandle};
use chatroom::transport::tls::self_signed::{self, CERT_FILE, KEY_FILE};
use chatroom::transport::tls::{Fingerprint, TlsError};
use common::irc::SERVER;
use common::{programs, Client, READ_TIMEOUT};

/// The native TLS listener on, flood control out of the way.
const NATIVE_TLS: &str = "[tls]\nlisten = \"127.0.0.1:0\"\n\
    [limits]\nflood_burst = 10000\nflood_rate_per_sec = 10000";

/// A client's trust in one certificate (the server's self-signed one, or a
/// configured one).
fn trusting(cert_pem_file: &Path) -> Arc<ClientConfig> {
    let pem = std::fs::read(cert_pem_file).expect("the certificate file");
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        roots
            .add(cert.expect("PEM"))
            .expect("a usable trust anchor");
    }
    #[allow(deprecated)] // ring, as the server: see transport::tls::provider
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn fingerprint_of_file(cert_pem_file: &Path) -> Fingerprint {
    let pem = std::fs::read(cert_pem_file).unwrap();
    Fingerprint::of(&CertificateDer::from_pem_slice(&pem).unwrap())
}

/// A line client over TLS (rustls, blocking), reads bounded by the
/// harness's timeout.
struct Tls {
    stream: BufReader<StreamOwned<ClientConnection, TcpStream>>,
    /// IRC's lines end in CRLF, native ones in LF only.
    crlf: bool,
    name: String,
}

impl Tls {
    /// Connects to `addr` as `localhost` and completes the handshake.
    fn try_connect(addr: SocketAddr, trust: &Arc<ClientConfig>) -> std::io::Result<Tls> {
        let tcp = TcpStream::connect(addr)?;
        Tls::try_over(tcp, trust)
    }

    /// Completes a handshake over `tcp`.
    fn try_over(tcp: TcpStream, trust: &Arc<ClientConfig>) -> std::io::Result<Tls> {
        tcp.set_read_timeout(Some(READ_TIMEOUT))?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from("localhost").unwrap();
        let conn = ClientConnection::new(Arc::clone(trust), name).map_err(std::io::Error::other)?;
        let mut stream = StreamOwned::new(conn, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(Tls {
            stream: BufReader::new(stream),
            crlf: false,
            name: "?".into(),
        })
    }

    /// Connects and reads the native HELLO.
    fn connect(addr: SocketAddr, trust: &Arc<ClientConfig>) -> Tls {
        let mut c = Tls::try_connect(addr, trust).expect("TLS handshake");
        let hello = c.line();
        assert!(hello.starts_with("HELLO "), "greeting was {hello:?}");
        c
    }

    /// Connects and takes nickname `nick` (native).
    fn register(addr: SocketAddr, trust: &Arc<ClientConfig>, nick: &str) -> Tls {
        let mut c = Tls::connect(addr, trust);
        c.name = nick.into();
        c.send(&format!("NICK {nick}"));
        c.expect(&format!("OK NICK {nick}"));
        c
    }

    /// Connects and registers as `nick` over IRC, up to the end of the
    /// welcome (no MOTD: 422).
    fn irc_register(addr: SocketAddr, trust: &Arc<ClientConfig>, nick: &str) -> Tls {
        let mut c = Tls::try_connect(addr, trust).expect("TLS handshake");
        c.crlf = true;
        c.name = nick.into();
        c.send(&format!("NICK {nick}"));
        c.send(&format!("USER {nick} 0 * :Real {nick}"));
        c.expect(&format!(
            ":{SERVER} 001 {nick} :Welcome to the chatroom IRC Network {nick}!~{nick}@irc"
        ));
        c.read_until(&format!(":{SERVER} 422 "));
        c
    }

    /// The SHA-256 fingerprint of the certificate the server presented.
    fn peer_fingerprint(&self) -> Fingerprint {
        let certs = self
            .stream
            .get_ref()
            .conn
            .peer_certificates()
            .expect("a certificate");
        Fingerprint::of(&certs[0])
    }

    fn send(&mut self, line: &str) {
        let end = if self.crlf { "\r\n" } else { "\n" };
        self.send_bytes(format!("{line}{end}").as_bytes());
    }

    fn send_bytes(&mut self, bytes: &[u8]) {
        let s = self.stream.get_mut();
        s.write_all(bytes).expect("write");
        s.flush().expect("flush");
    }

    /// The next line, without its terminator; panics on timeout or EOF.
    fn line(&mut self) -> String {
        let mut buf = Vec::new();
        match self.stream.read_until(b'\n', &mut buf) {
            Ok(0) => panic!("[{}] connection closed while waiting for a line", self.name),
            Ok(_) => {}
            Err(e) => panic!("[{}] no line within {READ_TIMEOUT:?}: {e}", self.name),
        }
        let end: &[u8] = if self.crlf { b"\r\n" } else { b"\n" };
        assert!(buf.ends_with(end), "[{}] bad line end {buf:?}", self.name);
        buf.truncate(buf.len() - end.len());
        String::from_utf8(buf).expect("server lines are UTF-8")
    }

    fn expect(&mut self, want: &str) {
        let got = self.line();
        assert_eq!(got, want, "[{}] unexpected line", self.name);
    }

    fn expect_prefix(&mut self, prefix: &str) -> String {
        let got = self.line();
        assert!(got.starts_with(prefix), "[{}] got {got:?}", self.name);
        got
    }

    /// Reads lines until one starts with `prefix`; returns them all.
    fn read_until(&mut self, prefix: &str) -> Vec<String> {
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

    /// PING/PONG barrier (native): nothing else was queued before it.
    fn sync(&mut self) {
        let token = format!("tls{}", common::rand_token());
        self.send(&format!("PING {token}"));
        self.expect(&format!("PONG {token}"));
    }

    fn read_body(&mut self, n: usize) -> Vec<u8> {
        let mut body = vec![0; n];
        if let Err(e) = self.stream.read_exact(&mut body) {
            panic!("[{}] body of {n} bytes not read: {e}", self.name);
        }
        body
    }
}

/// Reads from `stream` until the server closes it (EOF or reset), within
/// the harness timeout; returns what came before.
fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let deadline = Instant::now() + READ_TIMEOUT;
    let mut got = Vec::new();
    loop {
        let mut buf = [0u8; 4096];
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("not closed: {e}; got {got:?}"),
        }
        assert!(Instant::now() < deadline, "not closed in time");
    }
}

/// A certificate and key for `localhost`, new each call, written as
/// `cert.pem` and `key.pem` into `dir` (over what was there).
fn write_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = self_signed::generate(&["localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    (cert_path, key_path)
}

#[test]
fn native_over_tls_talks_with_a_plain_tcp_client() {
    let s = common::start(NATIVE_TLS);
    let cert = s.tls_dir().join(CERT_FILE);
    let tls = s.handle().tls().expect("TLS is on");
    assert_eq!(tls.fingerprint(), fingerprint_of_file(&cert));
    let trust = trusting(&cert);

    let mut alice = Tls::register(s.tls_addr(), &trust, "alice");
    assert_eq!(alice.peer_fingerprint(), tls.fingerprint());
    alice.send("JOIN #123");
    for want in ["JOIN #123 alice", "NAMES #123 alice", "OK JOIN #123"] {
        alice.expect(want);
    }
    let mut bob = Client::register(s.addr(), "bob");
    bob.send("JOIN #123");
    bob.expect_lines(&["JOIN #123 bob", "NAMES #123 alice bob", "OK JOIN #123"]);
    alice.expect("JOIN #123 bob");

    alice.send("MSG #123 hello over TLS");
    alice.expect("OK MSG #123");
    bob.expect("MSG #123 alice hello over TLS");
    bob.send("MSG #123 hello in the clear");
    bob.expect("OK MSG #123");
    alice.expect("MSG #123 bob hello in the clear");
    bob.send("PRIVMSG alice psst");
    bob.expect("OK PRIVMSG alice");
    alice.expect("PRIVMSG bob psst");

    alice.send("QUIT bye");
    alice.expect("OK QUIT");
    bob.expect("QUIT alice bye");
}

#[test]
fn irc_over_tls_registers_and_hears_a_native_user() {
    let s = common::start("[irc]\ntls_listen = \"127.0.0.1:0\"");
    assert_eq!(s.handle().tls_addr(), None);
    let trust = trusting(&s.tls_dir().join(CERT_FILE));
    let mut ivan = Tls::irc_register(s.irc_tls_addr(), &trust, "ivan");
    ivan.send("JOIN #123");
    for want in [
        ":ivan!~ivan@irc JOIN #123",
        ":chatroom 353 ivan = #123 :@ivan",
        ":chatroom 366 ivan #123 :End of /NAMES list",
    ] {
        ivan.expect(want);
    }
    let mut nina = Client::register(s.addr(), "nina");
    nina.send("JOIN #123");
    nina.read_until_prefix("OK JOIN ");
    ivan.expect(":nina!native@native JOIN #123");

    nina.send("MSG #123 hello from nc");
    nina.expect("OK MSG #123");
    ivan.expect(":nina!native@native PRIVMSG #123 :hello from nc");
    ivan.send("PRIVMSG #123 :hello from irc over TLS");
    nina.expect("MSG #123 ivan hello from irc over TLS");
}

#[test]
fn bad_input_over_tls_gets_the_protocols_errors() {
    let s = common::start(
        "[tls]\nlisten = \"127.0.0.1:0\"\n[irc]\ntls_listen = \"127.0.0.1:0\"\n\
         [limits]\nmax_line_bytes = 64",
    );
    let trust = trusting(&s.tls_dir().join(CERT_FILE));

    let mut alice = Tls::connect(s.tls_addr(), &trust);
    alice.send("MSG #r before a nickname");
    alice.expect("ERR MSG NO_NICK set a nickname first: NICK <name>");
    alice.send("FLY away");
    alice.expect("ERR FLY UNKNOWN_COMMAND try HELP");
    alice.send(&format!("MSG #r {}", "x".repeat(100)));
    alice.expect("ERR * LINE_TOO_LONG lines are limited to 64 bytes");
    alice.send_bytes(b"NICK al\xffce\n");
    alice.expect("ERR * BAD_UTF8 lines must be UTF-8");
    alice.send("NICK alice");
    alice.expect("OK NICK alice");
    alice.sync();

    let mut ivan = Tls::irc_register(s.irc_tls_addr(), &trust, "ivan");
    ivan.send("FLY away");
    ivan.expect(":chatroom 421 ivan FLY :Unknown command");
    ivan.send("JOIN");
    ivan.expect(":chatroom 461 ivan JOIN :Not enough parameters");
}

#[test]
fn garbage_instead_of_a_client_hello_is_dropped_and_costs_nothing_else() {
    // Two slots: alice's, and one the garbage takes while it is read.
    let s = common::start(&format!("{NATIVE_TLS}\nmax_clients = 2"));
    let trust = trusting(&s.tls_dir().join(CERT_FILE));
    let mut alice = Tls::register(s.tls_addr(), &trust, "alice");

    let mut plain = TcpStream::connect(s.tls_addr()).unwrap();
    plain.write_all(b"NICK mallory\r\n").unwrap();
    let got = read_to_close(&mut plain);
    assert!(
        !String::from_utf8_lossy(&got).contains("HELLO"),
        "a plain client got a greeting: {got:?}"
    );

    alice.sync();
    // The slot is free again: a second TLS client fits.
    let mut bob = Tls::register(s.tls_addr(), &trust, "bob");
    bob.send("PRIVMSG alice still here");
    bob.expect("OK PRIVMSG alice");
    alice.expect("PRIVMSG bob still here");
}

#[test]
fn a_client_stuck_in_its_handshake_holds_a_slot_only_until_the_timeout() {
    let s = common::start(
        "[tls]\nlisten = \"127.0.0.1:0\"\nhandshake_timeout_secs = 3\n\
         [limits]\nmax_clients = 2",
    );
    let trust = trusting(&s.tls_dir().join(CERT_FILE));
    let mut alice = Tls::register(s.tls_addr(), &trust, "alice");

    // Accepted before bob (one listener, in order), it takes the last slot
    // and says nothing.
    let mut silent = TcpStream::connect(s.tls_addr()).unwrap();
    let refused = Tls::try_connect(s.tls_addr(), &trust);
    assert!(
        refused.is_err(),
        "a handshake past max_clients went through"
    );
    // Meanwhile the accept loop and everyone else carry on.
    alice.sync();

    let started = Instant::now();
    assert!(read_to_close(&mut silent).is_empty());
    assert!(started.elapsed() < READ_TIMEOUT);
    let mut bob = Tls::register(s.tls_addr(), &trust, "bob");
    bob.sync();
}

#[test]
fn a_bad_certificate_or_key_stops_start_up_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = write_pair(dir.path());
    let other = tempfile::tempdir().unwrap();
    let (_, other_key) = write_pair(other.path());
    let missing = dir.path().join("no-such-cert.pem");
    for (cert, key, named) in [
        (&missing, &key, &missing),
        (&cert, &other_key, &other_key),
        (&key, &key, &key),
    ] {
        let mut config = Config::from_toml(NATIVE_TLS).unwrap();
        config.server.listen = "127.0.0.1:0".into();
        config.irc.listen = String::new();
        config.tls.listen = "127.0.0.1:0".into();
        config.tls.cert = cert.clone();
        config.tls.key = key.clone();
        config.files.dir = dir.path().join("files");
        config.history.db = dir.path().join("history.db");
        config.log.dir = "".into();
        let err = match ServerHandle::start(config) {
            Ok(_) => panic!("started with {cert:?} and {key:?}"),
            Err(e) => e,
        };
        assert!(matches!(err, ServerError::Tls(_)), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&named.display().to_string()), "{msg}");
    }
    // The same error on a listener-less certificate: it is checked too.
    let mut config = Config::from_toml("").unwrap();
    config.server.listen = "127.0.0.1:0".into();
    config.irc.listen = String::new();
    config.tls.cert = missing.clone();
    config.tls.key = key.clone();
    config.history.enabled = false;
    config.files.dir = dir.path().join("files");
    assert!(matches!(
        ServerHandle::start(config),
        Err(ServerError::Tls(TlsError::Read { path, .. })) if path == missing
    ));
}

#[test]
fn the_binary_exits_naming_a_missing_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let mut cmd = common::process::chatroom_command(
        dir.path(),
        &["--listen", "127.0.0.1:0"],
        &[
            ("CHATROOM_TLS__LISTEN", "127.0.0.1:0"),
            ("CHATROOM_TLS__CERT", missing),
            ("CHATROOM_TLS__KEY", missing),
        ],
    );
    let mut child = cmd.spawn().expect("spawn chatroom");
    let status = common::process::wait_bounded(&mut child, Duration::from_millis(20));
    assert!(!status.success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.contains(&format!(
            "chatroom: TLS certificate {missing}: cannot read it"
        )),
        "{stderr}"
    );
}

#[test]
fn the_self_signed_certificate_is_kept_across_restarts() {
    let s = common::start(NATIVE_TLS);
    let first = s.handle().tls().unwrap().fingerprint();
    let data = s.shutdown();
    let mut config = Config::from_toml(NATIVE_TLS).unwrap();
    config.server.listen = "127.0.0.1:0".into();
    let s = common::start_config(config, Some(data));
    assert_eq!(s.handle().tls().unwrap().fingerprint(), first);
    let trust = trusting(&s.tls_dir().join(CERT_FILE));
    let alice = Tls::register(s.tls_addr(), &trust, "alice");
    assert_eq!(alice.peer_fingerprint(), first);
    assert!(s.tls_dir().join(KEY_FILE).is_file());
}

#[test]
fn tls_only_serves_without_plain_listeners() {
    let mut config = Config::from_toml(
        "[server]\nlisten = \"\"\n[irc]\nlisten = \"\"\ntls_listen = \"127.0.0.1:0\"\n\
         [tls]\nlisten = \"127.0.0.1:0\"",
    )
    .unwrap();
    config.history.enabled = false;
    let s = common::start_config(config, None);
    assert_eq!(s.handle().addr(), None);
    assert_eq!(s.handle().irc_addr(), None);
    let trust = trusting(&s.tls_dir().join(CERT_FILE));
    let mut alice = Tls::register(s.tls_addr(), &trust, "alice");
    let mut ivan = Tls::irc_register(s.irc_tls_addr(), &trust, "ivan");
    ivan.send("PRIVMSG alice :hi");
    alice.expect("PRIVMSG ivan hi");
}

#[test]
fn a_reload_serves_a_new_certificate_without_dropping_anyone() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = write_pair(certs.path());
    let old = fingerprint_of_file(&cert);
    let old_trust = trusting(&cert);
    let mut config = Config::from_toml(NATIVE_TLS).unwrap();
    config.server.listen = "127.0.0.1:0".into();
    config.tls.cert = cert.clone();
    config.tls.key = key.clone();
    let s = common::start_config(config, None);
    let tls = s.handle().tls().unwrap();
    assert_eq!(tls.fingerprint(), old);
    assert!(!s.tls_dir().exists(), "no self-signed certificate is made");

    let mut alice = Tls::register(s.tls_addr(), &old_trust, "alice");
    let mut bob = Client::register(s.addr(), "bob");

    // New files in place, then the reload SIGHUP would do.
    let kept = tempfile::tempdir().unwrap();
    std::fs::copy(&cert, kept.path().join("old.pem")).unwrap();
    write_pair(certs.path());
    let new = fingerprint_of_file(&cert);
    assert_ne!(new, old);
    assert_eq!(tls.reload().unwrap(), new);
    assert_eq!(tls.fingerprint(), new);

    // Alice's connection goes on, both ways.
    alice.send("PRIVMSG bob after the reload");
    alice.expect("OK PRIVMSG bob");
    bob.expect("PRIVMSG alice after the reload");
    bob.send("PRIVMSG alice got it");
    bob.expect("OK PRIVMSG alice");
    alice.expect("PRIVMSG bob got it");

    // A new client sees the new certificate; one trusting only the old
    // one no longer gets in. (A fresh client config: alice's could resume
    // her session, which skips the certificate.)
    let carol = Tls::register(s.tls_addr(), &trusting(&cert), "carol");
    assert_eq!(carol.peer_fingerprint(), new);
    let err = Tls::try_connect(s.tls_addr(), &trusting(&kept.path().join("old.pem")))
        .err()
        .expect("the old certificate is not served");
    assert!(err.to_string().contains("certificate"), "{err}");

    // A broken key: the reload fails naming it, the new certificate stays.
    std::fs::write(&key, "not a key").unwrap();
    let err = tls.reload().unwrap_err().to_string();
    assert!(err.contains(&key.display().to_string()), "{err}");
    let dave = Tls::register(s.tls_addr(), &trusting(&cert), "dave");
    assert_eq!(dave.peer_fingerprint(), new);
    alice.sync();
}

#[test]
fn sighup_reloads_the_binarys_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = common::process::chatroom_command(
        dir.path(),
        &["--listen", "127.0.0.1:0"],
        &[
            ("CHATROOM_TLS__LISTEN", "127.0.0.1:0"),
            ("CHATROOM_HISTORY__ENABLED", "false"),
        ],
    );
    let (child, _, lines) = common::process::spawn_listening(cmd);
    let mut child = common::Running(child);
    let next_line = |what: &str| -> String {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line.contains(what) => return line,
                Ok(_) => {}
                Err(e) => panic!("no log line with {what:?}: {e}"),
            }
        }
    };
    let line = next_line("TLS listening on ");
    let addr: SocketAddr = line
        .rsplit(' ')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{line:?}"));
    let tls_dir = dir.path().join("data/tls");
    let cert = tls_dir.join(CERT_FILE);
    let old = fingerprint_of_file(&cert);
    let mut alice = Tls::register(addr, &trusting(&cert), "alice");
    assert_eq!(alice.peer_fingerprint(), old);

    let (new_cert, new_key) = write_pair(dir.path());
    std::fs::rename(new_key, tls_dir.join(KEY_FILE)).unwrap();
    std::fs::rename(new_cert, &cert).unwrap();
    let new = fingerprint_of_file(&cert);
    let pid = child.0.id().to_string();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill runs");
    assert!(hup.success());
    let line = next_line("TLS certificate reloaded");
    assert!(line.contains(&new.to_string()), "{line}");

    alice.sync();
    let bob = Tls::register(addr, &trusting(&cert), "bob");
    assert_eq!(bob.peer_fingerprint(), new);
    assert_eq!(child.0.try_wait().unwrap(), None, "SIGHUP did not stop it");
}

#[test]
fn a_large_download_over_tls_arrives_whole() {
    // A body is written through TLS records while the socket keeps
    // blocking; its last records must go out even when nothing is queued
    // after them (the writer flushes the stream when its queue is empty:
    // see send_queue::writer's unit test, which shows it deterministically).
    const SIZE: usize = 2_000_000;
    let s = common::start(&format!("{NATIVE_TLS}\n[history]\nenabled = false"));
    let trust = trusting(&s.tls_dir().join(CERT_FILE));
    let mut alice = common::peer::Peer::join(s.addr(), "alice", "#r");
    let tcp = TcpStream::connect(s.tls_addr()).unwrap();
    // A small receive buffer: the server blocks on the socket many times.
    socket2::SockRef::from(&tcp)
        .set_recv_buffer_size(16 * 1024)
        .unwrap();
    let mut bob = Tls::try_over(tcp, &trust).unwrap();
    bob.name = "bob".into();
    bob.expect_prefix("HELLO ");
    bob.send("NICK bob");
    bob.expect("OK NICK bob");
    bob.send("JOIN #r");
    bob.read_until("OK JOIN ");
    alice.expect("JOIN #r bob");

    let data: Vec<u8> = (0..SIZE).map(|i| (i * 31 % 251) as u8).collect();
    let id = alice.upload("#r", "big.bin", &data);
    bob.expect_prefix(&format!("FILE #r alice {id} {SIZE} "));
    bob.send(&format!("FETCH {id}"));
    bob.expect(&format!("DATA {id} {SIZE} big.bin"));
    let body = bob.read_body(SIZE);
    assert!(body == data, "the body was altered");
    bob.expect(&format!("OK FETCH {id}"));
}

#[test]
fn openssl_s_client_works_like_nc() {
    if !programs::require("tls::openssl_s_client_works_like_nc", &["openssl", "bash"]) {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/tls_check.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_chatroom"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "scripts/tls_check.sh failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn https_serves_the_page_and_a_native_session_over_wss() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let server = common::start("[http]\ntls_listen = \"127.0.0.1:0\"");
    let trust = trusting(&server.tls_dir().join(CERT_FILE));

    // The page, over HTTPS, byte for byte what the binary embeds.
    let mut page = Tls::try_connect(server.https_addr(), &trust).expect("TLS handshake");
    page.send_bytes(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let mut response = Vec::new();
    let _ = page.stream.read_to_end(&mut response);
    let response = String::from_utf8(response).expect("the page is UTF-8");
    let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/html; charset=utf-8"),
        "{head}"
    );
    assert_eq!(body, include_str!("../web/index.html"));

    // A native session over wss://, beside a plain TCP user.
    let mut bob = Client::join(server.addr(), "bob", "#tls");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(server.https_addr())
            .await
            .unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(&trust))
            .connect(name, tcp)
            .await
            .expect("TLS handshake");
        let url = format!("wss://localhost:{}/ws", server.https_addr().port());
        let (mut ws, _) = tokio_tungstenite::client_async(url, tls)
            .await
            .expect("WebSocket over TLS");
        for line in ["NICK alice", "JOIN #tls", "MSG #tls hello over wss"] {
            ws.send(Message::text(line)).await.unwrap();
        }
        let mut got = Vec::new();
        while got.last().is_none_or(|l: &String| l != "OK MSG #tls") {
            let m = tokio::time::timeout(READ_TIMEOUT, ws.next())
                .await
                .expect("a message in time")
                .expect("open")
                .expect("a message");
            if let Message::Text(t) = m {
                got.push(t.to_string());
            }
        }
        let hello = got.remove(0);
        assert!(hello.starts_with("HELLO "), "{hello}");
        assert_eq!(
            got,
            [
                "OK NICK alice",
                "JOIN #tls alice",
                "NAMES #tls alice bob",
                "OK JOIN #tls",
                "OK MSG #tls"
            ]
        );
    });
    bob.expect("JOIN #tls alice");
    bob.expect("MSG #tls alice hello over wss");
}
