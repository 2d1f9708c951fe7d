//! The file examples (`file_drop`, `file_collector`), run as real processes
//! against an in-process server.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use sha2::{Digest, Sha256};

/// How long the collector may take to save what it was sent.
const SAVE_TIMEOUT: Duration = Duration::from_secs(30);

/// A file_collector process, with its stdout lines read on a thread.
struct Collector {
    _child: Running,
    lines: mpsc::Receiver<String>,
    dir: tempfile::TempDir,
}

impl Collector {
    /// Starts the collector on `room`, saving into a fresh directory.
    fn start(addr: std::net::SocketAddr, room: &str) -> Collector {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(example("file_collector"))
            .arg(addr.to_string())
            .arg(room)
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("file_collector runs");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Collector {
            _child: Running(child),
            lines,
            dir,
        }
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Waits for `n` `saved <path> <size> <sha256>` lines, in order.
    fn saved(&self, n: usize) -> Vec<Saved> {
        let deadline = Instant::now() + SAVE_TIMEOUT;
        let mut saved = Vec::new();
        while saved.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(e) => panic!(
                    "only {} of {n} files saved: {e}; got {saved:?}",
                    saved.len()
                ),
            };
            if let Some(rest) = line.strip_prefix("saved ") {
                // The path may hold spaces: size and digest are the last words.
                let mut words = rest.rsplitn(3, ' ');
                let sha256 = words.next().expect("sha256").to_string();
                let size = words.next().expect("size").parse().expect("size");
                let path = PathBuf::from(words.next().expect("path"));
                saved.push(Saved { path, size, sha256 });
            }
        }
        saved
    }
}

/// One `saved` line of the collector.
#[derive(Debug)]
struct Saved {
    path: PathBuf,
    size: u64,
    sha256: String,
}

/// What file_drop printed on success.
#[derive(Debug)]
struct Dropped {
    id: String,
    sha256: String,
}

fn file_drop(addr: std::net::SocketAddr, nick: &str, target: &str, path: &Path) -> Output {
    Command::new(example("file_drop"))
        .arg(addr.to_string())
        .arg(nick)
        .arg(target)
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("file_drop runs")
}

/// Runs file_drop, asserts it succeeded and returns its `id`/`sha256`.
fn drop_ok(addr: std::net::SocketAddr, nick: &str, target: &str, path: &Path) -> Dropped {
    let out = file_drop(addr, nick, target, path);
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 stdout");
    assert!(
        out.status.success(),
        "file_drop {target} {path:?} failed ({}): {}{stdout}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {key} line in {stdout:?}"))
            .to_string()
    };
    Dropped {
        id: field("id"),
        sha256: field("sha256"),
    }
}

/// Runs file_drop, asserts it failed and returns its stderr.
fn drop_fails(addr: std::net::SocketAddr, nick: &str, target: &str, path: &Path) -> String {
    let out = file_drop(addr, nick, target, path);
    assert!(!out.status.success(), "file_drop {path:?} succeeded");
    assert!(
        out.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).expect("UTF-8 stderr")
}

fn sha256_hex(bytes: &[u8]) -> String {
    chatroom::core::files::content::hex(&Sha256::digest(bytes))
}

/// Deterministic noise (xorshift), so that a failure can be replayed.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// The `FILE` event `client` gets next (other lines skipped), split into
/// target, from, id, size, sha256 and filename.
fn file_event(client: &mut Client) -> [String; 6] {
    let line = client.read_until_prefix("FILE ").pop().unwrap();
    let fields: Vec<String> = line.splitn(7, ' ').skip(1).map(String::from).collect();
    fields
        .try_into()
        .unwrap_or_else(|f| panic!("short FILE event {line:?}: {f:?}"))
}

#[test]
fn collector_saves_dropped_files_under_safe_unique_names() {
    let server = start("");
    let addr = server.addr();
    let mut watcher = Client::join(addr, "watcher", "#drop");
    let collector = Collector::start(addr, "#drop");
    watcher.expect("JOIN #drop collector");

    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir(src.path().join("sub")).unwrap();
    let random = noise(204_801, 0x9e37_79b9_7f4a_7c15);
    let random_path = src.path().join("random.bin");
    std::fs::write(&random_path, &random).unwrap();
    // Reached through "sub/..": only the final component is announced.
    let evil_path = src.path().join("sub").join("..").join("evil name.txt");
    let evil = b"first evil\n".to_vec();
    let evil2 = b"second evil, other content\n".to_vec();

    let mut dropped = Vec::new();
    let uploads = [
        ("drop1", &random_path, &random, "random.bin"),
        ("drop2", &evil_path, &evil, "evil name.txt"),
        ("drop3", &evil_path, &evil2, "evil name.txt"),
    ];
    for (nick, path, content, label) in uploads {
        std::fs::write(path, content).unwrap();
        let d = drop_ok(addr, nick, "#drop", path);
        assert_eq!(d.sha256, sha256_hex(content), "{label}");
        let [target, from, id, size, sha256, filename] = file_event(&mut watcher);
        assert_eq!(
            [target, from, id, size, sha256, filename],
            [
                "#drop".to_string(),
                nick.to_string(),
                d.id.clone(),
                content.len().to_string(),
                d.sha256.clone(),
                label.to_string()
            ]
        );
        dropped.push(d);
    }

    let saved = collector.saved(3);
    let want = [
        ("random.bin", &random),
        ("evil name.txt", &evil),
        ("evil name (1).txt", &evil2),
    ];
    for ((s, (name, content)), d) in saved.iter().zip(want).zip(&dropped) {
        assert_eq!(s.path, collector.dir().join(name));
        assert_eq!(s.size, content.len() as u64);
        assert_eq!(s.sha256, d.sha256);
        assert!(
            std::fs::read(&s.path).unwrap() == *content,
            "{name}: content differs"
        );
    }
    // Nothing else: no temporary files left, nothing outside the directory.
    let mut names: Vec<String> = std::fs::read_dir(collector.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["evil name (1).txt", "evil name.txt", "random.bin"]);
    drop(collector);
    server.shutdown();
}

#[test]
fn collector_sanitizes_hostile_labels() {
    let server = start("");
    let addr = server.addr();
    let mut mallory = Client::join(addr, "mallory", "#drop");
    let collector = Collector::start(addr, "#drop");
    mallory.expect("JOIN #drop collector");

    let long = format!("{}.txt", "x".repeat(150));
    let multibyte = format!("a{}", "é".repeat(80));
    let cases: [(&str, String); 9] = [
        ("../../etc/passwd", "passwd".into()),
        (r"..\..\boot.ini", "boot.ini".into()),
        (".hidden", "hidden".into()),
        ("...", "file".into()),
        ("tab\there\u{1b}.txt", "tabhere.txt".into()),
        (&long, format!("{}.txt", "x".repeat(96))),
        (&multibyte, format!("a{}", "é".repeat(49))),
        ("/abs/passwd", "passwd (1)".into()),
        ("sub/.hidden", "hidden (1)".into()),
    ];
    for (i, (label, _)) in cases.iter().enumerate() {
        let body = format!("content {i}\n");
        mallory.send(&format!("FILE #drop {} {label}", body.len()));
        mallory.send_bytes(body.as_bytes());
        let ok = mallory.read_until_prefix("OK FILE ").pop().unwrap();
        assert!(ok.ends_with(&sha256_hex(body.as_bytes())), "{ok}");
    }

    let saved = collector.saved(cases.len());
    for (i, (s, (label, name))) in saved.iter().zip(&cases).enumerate() {
        assert_eq!(s.path, collector.dir().join(name), "{label:?}");
        assert_eq!(
            std::fs::read_to_string(&s.path).unwrap(),
            format!("content {i}\n")
        );
    }
    assert_eq!(
        std::fs::read_dir(collector.dir()).unwrap().count(),
        cases.len()
    );
    server.shutdown();
}

#[test]
fn file_drop_to_a_user() {
    let server = start("");
    let addr = server.addr();
    let mut bob = Client::register(addr, "bob");
    let src = tempfile::tempdir().unwrap();
    let path = src.path().join("for bob.txt");
    // Lines, so that the raw body can be read with the line client.
    let content = "hello bob\nsecond line\n";
    std::fs::write(&path, content).unwrap();

    let d = drop_ok(addr, "alice", "bob", &path);
    assert_eq!(d.sha256, sha256_hex(content.as_bytes()));
    let [target, from, id, size, sha256, filename] = file_event(&mut bob);
    assert_eq!(
        [target, from, size, sha256, filename],
        ["bob", "alice", "22", &d.sha256, "for bob.txt"].map(String::from)
    );
    assert_eq!(id, d.id);

    bob.send(&format!("FETCH {id}"));
    bob.expect(&format!("DATA {id} 22 for bob.txt"));
    bob.expect_lines(&["hello bob", "second line", &format!("OK FETCH {id}")]);
    server.shutdown();
}

#[test]
fn file_drop_reports_refusals_and_fails() {
    let server = start("");
    let addr = server.addr();
    let src = tempfile::tempdir().unwrap();
    let path = src.path().join("x.txt");
    std::fs::write(&path, "x\n").unwrap();

    let missing = src.path().join("missing.txt");
    let err = drop_fails(addr, "alice", "#drop", &missing);
    assert!(
        err.contains("cannot open") && err.contains("missing.txt"),
        "{err}"
    );

    let _carol = Client::register(addr, "carol");
    let err = drop_fails(addr, "carol", "#drop", &path);
    assert!(err.contains("NICK_IN_USE"), "{err}");

    // Refused after the body was read: the stream stayed in sync.
    let err = drop_fails(addr, "alice", "nobody", &path);
    assert!(err.contains("FILE refused: NO_SUCH_NICK"), "{err}");
    server.shutdown();
}

#[test]
fn file_drop_reports_a_too_large_file() {
    let server = start("[files]\nmax_bytes = 10");
    let addr = server.addr();
    let src = tempfile::tempdir().unwrap();
    // Small enough to be sent whole before the refusal, and large enough
    // for the server to close while the body is still being written.
    for size in [11, 4 << 20] {
        let path = src.path().join(format!("{size}.bin"));
        std::fs::write(&path, noise(size, size as u64)).unwrap();
        let err = drop_fails(addr, "alice", "#drop", &path);
        assert!(
            err.contains("FILE refused: FILE_TOO_LARGE"),
            "{size}: {err}"
        );
    }
    server.shutdown();
}
