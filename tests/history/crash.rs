//! SIGKILL of the real binary, and databases that cannot be used.

use super::*;

// ---- 6: SIGKILL of the real binary ---------------------------------------------

/// How often a wait for the binary's exit polls.
const WAIT_EVERY: Duration = Duration::from_millis(10);

/// The binary on 127.0.0.1:0 with a clean environment, its data under
/// `dir`, logging to stderr only, flood control out of the way.
fn chatroom(dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = chatroom_command(dir, &["--listen", "127.0.0.1:0"], &[]);
    let db = dir.join("h.db");
    let files = dir.join("files");
    cmd.env("CHATROOM_HISTORY__DB", db)
        .env("CHATROOM_FILES__DIR", files)
        .env("CHATROOM_LIMITS__FLOOD_BURST", "100000")
        .env("CHATROOM_LIMITS__FLOOD_RATE_PER_SEC", "100000");
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd
}

/// A running server process.
struct Proc {
    child: Child,
    addr: SocketAddr,
}

impl Proc {
    /// Starts the binary on `dir`'s data and waits for `listening on`.
    fn start(dir: &Path, env: &[(&str, &str)]) -> Proc {
        // Once the listening line is found nobody reads its stderr: the
        // reader thread keeps draining it so the pipe never fills.
        let (child, addr, _stderr) = spawn_listening(chatroom(dir, env));
        Proc { child, addr }
    }

    /// SIGKILL, and reap.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        kill_if_running(&mut self.child);
    }
}

/// Runs the binary expecting it to refuse to start; its stderr.
#[track_caller]
fn refuses(dir: &Path, env: &[(&str, &str)]) -> String {
    let mut child = chatroom(dir, env).spawn().expect("spawn chatroom");
    let mut err = child.stderr.take().unwrap();
    let err = thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = wait_bounded(&mut child, WAIT_EVERY);
    let stderr = err.join().unwrap();
    assert!(
        !status.success(),
        "{env:?} exited with {status}; stderr {stderr}"
    );
    stderr
}

#[test]
fn acknowledged_messages_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let server = Proc::start(dir.path(), &[]);
    let mut alice = Peer::join(server.addr, "alice", "#Kill");
    alice.send("TOPIC #kill before the crash");
    alice.expect_lines(&[
        "TOPIC #Kill alice before the crash",
        "OK TOPIC #Kill before the crash",
    ]);
    alice.send("JOIN #Locked crash-key");
    alice.read_until_prefix("OK JOIN #Locked");
    alice.send("MSG #locked locked words");
    alice.expect("OK MSG #Locked");
    say_pipelined(&mut alice, "#Kill", 0..500);
    server.kill();
    drop(alice);

    let server = Proc::start(dir.path(), &[]);
    let mut bob = Peer::register(server.addr, "bob");
    let reply = bob.join_new("#kill", None, "#Kill");
    assert_eq!(texts(&reply.history), expected(480..500));
    let all = bob.history("#kill", Some(500), "#Kill");
    assert_eq!(texts(&all), expected(0..500));
    assert!(all.iter().all(|m| m.from == "alice"));
    let info = bob.room_info("#kill", "#Kill");
    assert_eq!(info_value(&info, "owner"), "alice");
    assert_eq!(info_value(&info, "topic"), "before the crash");
    assert_eq!(info_value(&info, "messages"), "500");
    bob.send("JOIN #locked");
    bob.expect_prefix("ERR JOIN BAD_KEY ");
    let reply = bob.join_new("#locked", Some("crash-key"), "#Locked");
    assert_eq!(texts(&reply.history), ["locked words"]);
    bob.send("TOPIC #kill not bob's");
    bob.expect_prefix("ERR TOPIC NOT_OWNER ");
    // New messages are numbered after the survivors.
    bob.send("MSG #kill after");
    bob.expect("OK MSG #Kill");
    let last = bob.history("#kill", Some(2), "#Kill");
    assert_eq!(texts(&last), [text(499), "after".to_string()]);
    server.kill();
}

/// Writers at once, so that commits are grouped and a kill can land in
/// the middle of a group; messages each sends.
const WRITERS: usize = 4;
const SENT: usize = 1500;

/// Starts the binary on `dir`, has [`WRITERS`] clients pipeline messages
/// into rooms of their own, and kills it with SIGKILL once `kill_after`
/// OK MSGs have arrived. Returns each room with the number of OK MSGs its
/// writer could read, up to the end of its stream: whatever the server
/// sent before it died was acknowledged.
fn kill_mid_stream(dir: &Path, round: usize, kill_after: usize) -> Vec<(String, usize)> {
    let server = Proc::start(dir, &[]);
    let (tx, rx) = mpsc::channel::<()>();
    let mut readers = Vec::new();
    for w in 0..WRITERS {
        let room = format!("#r{round}w{w}");
        let Peer {
            mut reader,
            mut writer,
            ..
        } = Peer::join(server.addr, &format!("writer{w}"), &room);
        // Writes in many chunks; the server may die under it.
        let sending_to = room.clone();
        let sender = thread::spawn(move || {
            for chunk in (0..SENT).collect::<Vec<_>>().chunks(50) {
                let mut out = String::new();
                for &i in chunk {
                    out.push_str(&format!("MSG {sending_to} {}\n", text(i)));
                }
                if writer.write_all(out.as_bytes()).is_err() {
                    break;
                }
            }
        });
        let tx = tx.clone();
        let ok = format!("OK MSG {room}\n");
        readers.push(thread::spawn(move || {
            let mut acked = 0;
            loop {
                let mut buf = Vec::new();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(_) if buf.ends_with(b"\n") => {
                        assert_eq!(buf, ok.as_bytes(), "{:?}", String::from_utf8_lossy(&buf));
                        acked += 1;
                        let _ = tx.send(());
                    }
                    // EOF, a partial line, or a reset: the server is gone.
                    _ => break,
                }
            }
            sender.join().expect("sender");
            (room, acked)
        }));
    }
    drop(tx);
    for n in 0..kill_after {
        rx.recv_timeout(READ_TIMEOUT)
            .unwrap_or_else(|e| panic!("only {n} OK MSG before the kill: {e}"));
    }
    server.kill();
    readers
        .into_iter()
        .map(|r| r.join().expect("reader"))
        .collect()
}

#[test]
fn a_kill_mid_stream_keeps_every_acknowledged_message() {
    // A few crashes in a row, at different points, on the same data.
    let dir = tempfile::tempdir().unwrap();
    let mut acked = Vec::new();
    for (round, kill_after) in [400, 800, 1200].into_iter().enumerate() {
        acked.extend(kill_mid_stream(dir.path(), round, kill_after));
    }

    let server = Proc::start(dir.path(), &[("CHATROOM_HISTORY__MAX_FETCH", "10000")]);
    let mut bob = Peer::register(server.addr, "bob");
    let mut kept = 0;
    for (room, acked) in &acked {
        bob.join_new(room, None, room);
        let got = texts(&bob.history(room, Some(10000), room));
        assert!(
            got.len() >= *acked,
            "{room}: {acked} acknowledged, only {} kept",
            got.len()
        );
        assert!(got.len() <= SENT);
        assert_eq!(got, expected(0..got.len()), "{room}: kept out of order");
        let info = bob.room_info(room, room);
        assert_eq!(info_value(&info, "messages"), got.len().to_string());
        kept += got.len();
    }
    // The kills came while messages were still being sent.
    assert!(
        kept < acked.len() * SENT,
        "every message was stored: no kill mid-stream"
    );
    server.kill();
}

// ---- 7: a database that cannot be used --------------------------------------

#[test]
fn a_corrupt_or_unreachable_database_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let garbage = vec![0x5au8; 16384];
    std::fs::write(&db, &garbage).unwrap();
    let stderr = refuses(dir.path(), &[]);
    let shown = db.display().to_string();
    assert!(
        stderr.contains("history.db") && stderr.contains(&shown),
        "stderr names neither the key nor {shown}: {stderr}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), garbage, "the file was altered");

    // Its directory cannot be created: a regular file is in the way.
    let plain = dir.path().join("plain");
    std::fs::write(&plain, b"not a directory").unwrap();
    let under = plain.join("sub").join("h.db");
    let under_shown = under.display().to_string();
    let stderr = refuses(dir.path(), &[("CHATROOM_HISTORY__DB", &under_shown)]);
    assert!(
        stderr.contains("history.db") && stderr.contains(&under_shown),
        "stderr names neither the key nor {under_shown}: {stderr}"
    );
    let under = plain.join("h.db");
    let under_shown = under.display().to_string();
    let stderr = refuses(dir.path(), &[("CHATROOM_HISTORY__DB", &under_shown)]);
    assert!(
        stderr.contains("history.db") && stderr.contains(&under_shown),
        "stderr names neither the key nor {under_shown}: {stderr}"
    );
}
