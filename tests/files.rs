//! File sharing end to end: `FILE` uploads and `FETCH` downloads against a
//! real server, with exact lines and byte-exact bodies.
//!
//! The client is `common::peer::Peer`, which can read raw `DATA` bodies.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::net::TcpStream;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use chatroom::config::Config;
use common::peer::{assert_id, sha256_hex, Peer};
use common::{start, start_config};

/// Flood control out of the way for tests that pipeline.
const NO_FLOOD: &str = "[limits]\nflood_burst = 100000\nflood_rate_per_sec = 100000\n";

/// sha256 of the empty input.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// How long a poll of the files directory (or of a FETCH) may take.
const POLL_LIMIT: Duration = Duration::from_secs(5);
/// The pause between two polls.
const POLL_EVERY: Duration = Duration::from_millis(50);
/// How long a refused upload's header must go unanswered while its body
/// is still to come.
const QUIET: Duration = Duration::from_millis(150);

// ---- content, digests, directories -------------------------------------

/// Deterministic pseudo-random bytes (xorshift64*), with line-like traps
/// sprinkled in: LF, CRLF, NUL and whole protocol lines.
fn content(seed: u64, len: usize) -> Vec<u8> {
    const TRAPS: &[&[u8]] = &[
        b"\n",
        b"\r\n",
        b"\0",
        b"PING trap\n",
        b"OK FETCH 0123456789abcdef0123\n",
        b"FILE #r 5 trap\r\n",
        b"\nQUIT\n",
        b"MSG #r hi\n\0\r",
    ];
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    let (mut at, mut k) = (0, 0);
    while at < len {
        let trap = TRAPS[k % TRAPS.len()];
        let n = trap.len().min(len - at);
        out[at..at + n].copy_from_slice(&trap[..n]);
        at += 601 + 37 * (k % 11);
        k += 1;
    }
    out
}

/// The names in `dir`.
fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.unwrap().file_name().into_string().expect("UTF-8 name"))
        .collect()
}

/// Waits (polling, bounded) until `dir` holds exactly `want`.
fn wait_for_names(dir: &Path, want: &[&str]) {
    let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
    let deadline = Instant::now() + POLL_LIMIT;
    loop {
        let got = names(dir);
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "files dir holds {got:?}, wanted {want:?}"
        );
        thread::sleep(POLL_EVERY);
    }
}

/// A server whose files dir is `<outer>/files…`, so that its parent can
/// be watched too. Returns the server and the outer directory.
fn start_nested(toml: &str) -> (common::TestServer, tempfile::TempDir) {
    let outer = tempfile::tempdir().unwrap();
    let files = tempfile::Builder::new()
        .prefix("files")
        .tempdir_in(outer.path())
        .unwrap();
    let mut config = Config::from_toml(toml).expect("test config");
    config.server.listen = "127.0.0.1:0".into();
    (start_config(config, Some(files)), outer)
}

// ---- 1, 2: round trips -------------------------------------------------

#[test]
fn room_round_trip_of_binary_content() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#Lobby");
    let mut bob = Peer::join(addr, "bob", "#lobby");
    let mut carol = Peer::join(addr, "carol", "#LOBBY");
    alice.expect("JOIN #Lobby bob");
    alice.expect("JOIN #Lobby carol");
    bob.expect("JOIN #Lobby carol");

    let mut ids = Vec::new();
    for (seed, len, name) in [
        (1, 1, "one.bin"),
        (2, 100_000, "hundred-k.bin"),
        (3, 3_000_000, "three-m.bin"),
    ] {
        let data = content(seed, len);
        assert!(len == 1 || data.windows(2).any(|w| w == b"\r\n"));
        let sha = sha256_hex(&data);
        // The target as the sender spells it; events use the room's spelling.
        let id = alice.upload("#lObBy", name, &data);
        let event = format!("FILE #Lobby alice {id} {len} {sha} {name}");
        bob.expect(&event);
        carol.expect(&event);
        for fetcher in [&mut bob, &mut carol] {
            let (label, got) = fetcher.fetch(&id);
            assert_eq!(label, name);
            assert_eq!(got.len(), len);
            assert!(got == data, "{name}: fetched bytes differ");
            assert_eq!(sha256_hex(&got), sha);
        }
        ids.push(id);
    }
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 3, "distinct ids");
    for p in [&mut alice, &mut bob, &mut carol] {
        p.sync();
    }
    // Only the id-named files remain: no temporary upload files.
    let stored: Vec<&str> = ids.iter().map(String::as_str).collect();
    wait_for_names(server.files_dir(), &stored);
}

#[test]
fn user_round_trip_sender_may_fetch_others_may_not() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut alice = Peer::register(addr, "alice");
    let mut bob = Peer::register(addr, "Bob");
    let mut carol = Peer::register(addr, "carol");

    for (seed, len) in [(11, 1), (12, 100_000), (13, 3_000_000)] {
        let data = content(seed, len);
        let sha = sha256_hex(&data);
        let name = format!("to-bob-{len}.bin");
        // Addressed case-insensitively; the event names the recipient as
        // it spells itself.
        let id = alice.upload("bob", &name, &data);
        bob.expect(&format!("FILE Bob alice {id} {len} {sha} {name}"));
        for fetcher in [&mut bob, &mut alice] {
            let (label, got) = fetcher.fetch(&id);
            assert_eq!(label, name);
            assert!(got == data, "{len} bytes: fetched content differs");
        }
        carol.expect_no_such_file(&id);
    }
    // carol was told nothing at all.
    carol.sync();
}

#[test]
fn user_upload_to_a_departed_recipient_leaves_nothing() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut alice = Peer::register(addr, "alice");
    let bob = Peer::register(addr, "bob");
    let data = content(21, 50_000);
    alice.send_bytes(format!("FILE bob {} gone.bin\n", data.len()).as_bytes());
    alice.send_bytes(&data[..20_000]);
    bob.quit();
    alice.send_bytes(&data[20_000..]);
    alice.send("PING after");
    alice.expect_prefix("ERR FILE NO_SUCH_NICK ");
    alice.expect("PONG after");
    wait_for_names(server.files_dir(), &[]);
}

// ---- 3: who may fetch --------------------------------------------------

#[test]
fn room_files_are_fetched_by_members_at_fetch_time() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    let mut bob = Peer::join(addr, "bob", "#r");
    let mut outsider = Peer::join(addr, "eve", "#other");
    alice.expect("JOIN #r bob");

    let data = content(31, 4096);
    let id = alice.upload("#r", "secret.bin", &data);
    bob.expect_prefix(&format!("FILE #r alice {id} 4096 "));

    // Not a member: as if the file did not exist.
    outsider.expect_no_such_file(&id);
    // Unknown ids, well-formed or not.
    outsider.expect_no_such_file("0123456789abcdef0123");
    bob.expect_no_such_file("0123456789abcdef0123");
    bob.expect_no_such_file("../../etc/passwd");

    // A member can; after PART the same client cannot.
    assert!(bob.fetch(&id).1 == data);
    bob.send("PART #r");
    bob.expect("OK PART #r");
    alice.expect("PART #r bob");
    bob.expect_no_such_file(&id);

    // Joining after the upload is enough.
    outsider.join_room("#r");
    alice.expect("JOIN #r eve");
    let (label, got) = outsider.fetch(&id);
    assert_eq!(label, "secret.bin");
    assert!(got == data);
    // And bob again, once back in.
    bob.join_room("#R");
    assert!(bob.fetch(&id).1 == data);
}

// ---- 4: empty files ----------------------------------------------------

#[test]
fn zero_byte_file() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    let mut bob = Peer::join(addr, "bob", "#r");
    alice.expect("JOIN #r bob");

    // No body at all: the next line is a command again.
    alice.send("FILE #r 0 empty\nPING next");
    let l = alice.expect_prefix("OK FILE ");
    let (id, sha) = l["OK FILE ".len()..].split_once(' ').unwrap();
    assert_id(id);
    assert_eq!(sha, EMPTY_SHA256);
    alice.expect("PONG next");
    bob.expect(&format!("FILE #r alice {id} 0 {EMPTY_SHA256} empty"));

    bob.send(&format!("FETCH {id}\nPING after"));
    bob.expect(&format!("DATA {id} 0 empty"));
    bob.expect(&format!("OK FETCH {id}"));
    bob.expect("PONG after");
    wait_for_names(server.files_dir(), &[id]);
}

// ---- 5: refused uploads keep the stream in sync ------------------------

/// Sends `header`, checks the server stays silent while the body is
/// missing, then sends the body and a PING: the answer is `err_prefix`
/// then the PONG.
fn refused(p: &mut Peer, header: &str, body: &[u8], err_prefix: &str) {
    p.send(header);
    p.expect_quiet(QUIET);
    p.send_bytes(body);
    p.send("PING x");
    p.expect_prefix(err_prefix);
    p.expect("PONG x");
}

#[test]
fn refused_uploads_consume_their_body() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    // The body is made of lines that would be obeyed if it leaked.
    let body: &[u8] = b"PING leak\nQUIT\n";
    let size = body.len();

    let mut anon = Peer::connect(addr);
    refused(
        &mut anon,
        &format!("FILE #r {size} early.txt"),
        body,
        "ERR FILE NO_NICK ",
    );

    let mut watcher = Peer::join(addr, "watcher", "#r");
    let mut alice = Peer::join(addr, "alice", "#mine");
    alice.send("JOIN #r");
    alice.read_until_prefix("OK JOIN ");
    alice.send("PART #r");
    alice.expect("OK PART #r");
    watcher.expect("JOIN #r alice");
    watcher.expect("PART #r alice");

    for (header, err) in [
        (format!("FILE #r {size} a.txt"), "ERR FILE NOT_IN_ROOM "),
        (
            format!("FILE #nowhere {size} a.txt"),
            "ERR FILE NOT_IN_ROOM ",
        ),
        (
            format!("FILE nobody {size} a.txt"),
            "ERR FILE NO_SUCH_NICK ",
        ),
        (format!("FILE 123 {size} a.txt"), "ERR FILE NO_SUCH_NICK "),
        (format!("FILE #bad!room {size} a.txt"), "ERR FILE BAD_ROOM "),
        (format!("FILE #mine {size}"), "ERR FILE BAD_SYNTAX "),
    ] {
        refused(&mut alice, &header, body, err);
    }
    // Still usable, and nothing was announced or stored.
    alice.sync();
    anon.sync();
    watcher.sync();
    assert!(names(server.files_dir()).is_empty());
    let id = alice.upload("#mine", "fine.txt", body);
    wait_for_names(server.files_dir(), &[&id]);
}

#[test]
fn nul_in_filename_is_refused_after_its_body() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut watcher = Peer::join(addr, "watcher", "#r");
    let mut alice = Peer::join(addr, "alice", "#r");
    watcher.expect("JOIN #r alice");
    // The size is valid, so the codec reads the body; the refusal comes
    // after it, like every other refusal of a FILE with a readable body.
    let body: &[u8] = b"PING leak\nQUIT\n";
    refused(
        &mut alice,
        &format!("FILE #r {} a\0b", body.len()),
        body,
        "ERR * BAD_SYNTAX ",
    );
    alice.sync();
    watcher.sync();
    assert!(names(server.files_dir()).is_empty());
}

#[test]
fn rate_limited_upload_consumes_its_body() {
    // NICK and JOIN take the whole burst; refill is negligible.
    let server = start("[limits]\nflood_burst = 2\nflood_rate_per_sec = 0.001");
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    let body: &[u8] = b"PING leak\n";
    alice.send(&format!("FILE #r {} limited.txt", body.len()));
    alice.expect_quiet(QUIET);
    alice.send_bytes(body);
    // QUIT is never refused, so it is the sync here.
    alice.send("QUIT");
    alice.expect_prefix("ERR FILE RATE_LIMITED ");
    alice.expect("OK QUIT");
    alice.expect_closed();
    assert!(names(server.files_dir()).is_empty());
}

#[test]
fn headers_refused_by_framing_consume_their_body_and_store_nothing() {
    let server = start(&format!("{NO_FLOOD}max_line_bytes = 64\n"));
    let addr = server.addr();
    let mut watcher = Peer::join(addr, "watcher", "#r");
    let mut alice = Peer::join(addr, "alice", "#r");
    watcher.expect("JOIN #r alice");
    // Traps included: a leaked QUIT would end the connection.
    let body = content(51, 3000);
    let size = body.len();
    let mut not_utf8 = format!("FILE #r {size} caf").into_bytes();
    not_utf8.extend_from_slice(b"\xe9.bin\n");
    let over_long = format!("FILE #r {size} {}.bin\n", "n".repeat(100)).into_bytes();
    for (header, err) in [
        (not_utf8, "ERR * BAD_UTF8 "),
        (over_long, "ERR * LINE_TOO_LONG "),
    ] {
        alice.send_bytes(&header);
        alice.expect_quiet(QUIET);
        alice.send_bytes(&body);
        alice.send("PING x");
        alice.expect_prefix(err);
        alice.expect("PONG x");
    }
    alice.sync();
    watcher.sync();
    assert!(names(server.files_dir()).is_empty());

    // In sync: a real upload right after goes through.
    let id = alice.upload("#r", "fine.bin", &body);
    let sha = sha256_hex(&body);
    watcher.expect(&format!("FILE #r alice {id} {size} {sha} fine.bin"));
    wait_for_names(server.files_dir(), &[&id]);
}

// ---- 6: too large -------------------------------------------------------

#[test]
fn too_large_upload_is_refused_and_closed() {
    let server = start(&format!("{NO_FLOOD}[files]\nmax_bytes = 1000\n"));
    let addr = server.addr();
    let mut watcher = Peer::join(addr, "watcher", "#r");
    let mut alice = Peer::join(addr, "alice", "#r");
    let mut bob = Peer::join(addr, "bob", "#r");
    watcher.expect("JOIN #r alice");
    watcher.expect("JOIN #r bob");
    alice.expect("JOIN #r bob");

    // Exactly the limit is fine.
    let data = content(61, 1000);
    let id = bob.upload("#r", "max.bin", &data);
    let sha = sha256_hex(&data);
    watcher.expect(&format!("FILE #r bob {id} 1000 {sha} max.bin"));
    alice.expect(&format!("FILE #r bob {id} 1000 {sha} max.bin"));

    // One more is not; the header alone decides.
    alice.send("FILE #r 1001 big");
    alice.expect_prefix("ERR FILE FILE_TOO_LARGE ");
    alice.expect_closed();
    watcher.expect("QUIT alice file too large");
    bob.expect("QUIT alice file too large");
    watcher.sync();
    wait_for_names(server.files_dir(), &[&id]);
}

// ---- 7: cut-off upload ---------------------------------------------------

#[test]
fn cut_off_upload_leaves_nothing() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut watcher = Peer::join(addr, "watcher", "#r");
    let mut alice = Peer::join(addr, "alice", "#r");
    watcher.expect("JOIN #r alice");

    let data = content(71, 5000);
    alice.send("FILE #r 100000 cut.bin");
    alice.send_bytes(&data);
    alice.close_write();
    drop(alice);

    watcher.expect("QUIT alice connection closed");
    watcher.sync();
    wait_for_names(server.files_dir(), &[]);
}

// ---- 8: the filename is a label ----------------------------------------

#[test]
fn filenames_are_labels_only() {
    let (server, outer) = start_nested(NO_FLOOD);
    let addr = server.addr();
    let files = server.files_dir().to_path_buf();
    let outer_before = names(outer.path());
    let escape = files.join("../../x");
    let escape_existed = escape.exists();

    let mut alice = Peer::join(addr, "alice", "#r");
    let mut bob = Peer::join(addr, "bob", "#r");
    alice.expect("JOIN #r bob");

    let long = "L".repeat(1500);
    let mut ids: Vec<String> = Vec::new();
    for (i, label) in [
        "../../x",
        "/etc/passwd",
        "my notes  v2 .txt",
        " leading and trailing ",
        "..",
        "C:\\Windows\\system.ini",
        long.as_str(),
    ]
    .into_iter()
    .enumerate()
    {
        let data = content(80 + i as u64, 777);
        let sha = sha256_hex(&data);
        let id = alice.upload("#r", label, &data);
        bob.expect(&format!("FILE #r alice {id} 777 {sha} {label}"));
        let (got_label, got) = bob.fetch(&id);
        assert_eq!(got_label, label);
        assert!(got == data, "{label:?}: content differs");
        ids.push(id);
        let want: Vec<&str> = ids.iter().map(String::as_str).collect();
        wait_for_names(&files, &want);
    }

    // A NUL in the label is refused, after its body.
    alice.send_bytes(b"FILE #r 3 a\0b\nabcPING x\n");
    alice.expect_prefix("ERR * BAD_SYNTAX ");
    alice.expect("PONG x");
    bob.sync();

    assert_eq!(
        names(outer.path()),
        outer_before,
        "the parent of files.dir changed"
    );
    assert_eq!(escape.exists(), escape_existed, "{escape:?} was written");
    let want: Vec<&str> = ids.iter().map(String::as_str).collect();
    wait_for_names(&files, &want);
}

// ---- 9: concurrent uploads ----------------------------------------------

#[test]
fn concurrent_uploads_to_one_room() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let nicks = ["up1", "up2", "up3", "up4"];
    let uploaders: Vec<Peer> = nicks.iter().map(|n| Peer::join(addr, n, "#r")).collect();
    let mut fetcher = Peer::join(addr, "fetcher", "#r");

    let start_line = Arc::new(Barrier::new(nicks.len()));
    let handles: Vec<_> = uploaders
        .into_iter()
        .enumerate()
        .map(|(i, mut p)| {
            let start_line = start_line.clone();
            thread::spawn(move || {
                let data = content(90 + i as u64, 1_000_000 + i * 4099);
                let label = format!("part{i}.bin");
                start_line.wait();
                p.send_file("#r", &label, &data);
                let (id, _events) = p.await_ok_file(&sha256_hex(&data));
                // The peer is handed back: a disconnect would add a QUIT.
                (p, (id, label, data))
            })
        })
        .collect();
    let mut peers = Vec::new();
    let mut uploaded: HashMap<String, (String, String, Vec<u8>)> = HashMap::new();
    for h in handles {
        let (p, up) = h.join().expect("uploader");
        uploaded.insert(p.name.clone(), up);
        peers.push(p);
    }

    let mut seen = BTreeSet::new();
    for _ in 0..nicks.len() {
        let l = fetcher.expect_prefix("FILE #r ");
        let parts: Vec<&str> = l.splitn(7, ' ').collect();
        let (from, id, size, sha, label) = (parts[2], parts[3], parts[4], parts[5], parts[6]);
        let (want_id, want_label, data) = &uploaded[from];
        assert_eq!(id, want_id);
        assert_eq!(size, data.len().to_string());
        assert_eq!(sha, sha256_hex(data));
        assert_eq!(label, want_label);
        seen.insert(from.to_string());
    }
    assert_eq!(seen.len(), nicks.len());
    fetcher.sync();
    for (id, label, data) in uploaded.values() {
        let (got_label, got) = fetcher.fetch(id);
        assert_eq!(&got_label, label);
        assert!(got == *data, "{id}: content differs");
    }
    let want: Vec<&str> = uploaded.values().map(|(id, ..)| id.as_str()).collect();
    wait_for_names(server.files_dir(), &want);
}

// ---- 10: retention --------------------------------------------------------

#[test]
fn retention_expires_and_deletes_files() {
    let server = start(&format!("{NO_FLOOD}[files]\nretention_secs = 1\n"));
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    let mut bob = Peer::join(addr, "bob", "#r");
    alice.expect("JOIN #r bob");

    let data = content(101, 2048);
    let id = alice.upload("#r", "short-lived.bin", &data);
    let stored_at = Instant::now();
    bob.expect_prefix(&format!("FILE #r alice {id} 2048 "));
    assert!(bob.fetch(&id).1 == data, "fetch right after the upload");

    // Fetchable until the retention is over, then never again.
    let gone_at = loop {
        bob.send(&format!("FETCH {id}"));
        let l = bob.line();
        if l.starts_with("ERR FETCH NO_SUCH_FILE ") {
            break stored_at.elapsed();
        }
        assert!(l.starts_with(&format!("DATA {id} 2048 ")), "got {l:?}");
        assert!(bob.read_body(2048) == data);
        bob.expect(&format!("OK FETCH {id}"));
        assert!(stored_at.elapsed() < POLL_LIMIT, "still fetchable");
        thread::sleep(POLL_EVERY);
    };
    assert!(
        gone_at >= Duration::from_millis(800),
        "expired after only {gone_at:?}"
    );
    alice.expect_no_such_file(&id);

    // Deleted by the sweep (every 500 ms here) soon after.
    wait_for_names(server.files_dir(), &[]);
    let deleted_at = stored_at.elapsed();
    assert!(
        deleted_at <= Duration::from_millis(2500),
        "deleted only after {deleted_at:?}"
    );
}

// ---- 11: chat flows during large transfers --------------------------------

/// 50 MSG round trips between two members of one room.
fn chatter(a: &mut Peer, b: &mut Peer, room: &str, round: &str) {
    for i in 0..50 {
        a.send(&format!("MSG {room} {round} ping {i}"));
        a.expect(&format!("OK MSG {room}"));
        b.expect(&format!("MSG {room} {} {round} ping {i}", a.name));
        b.send(&format!("MSG {room} {round} pong {i}"));
        b.expect(&format!("OK MSG {room}"));
        a.expect(&format!("MSG {room} {} {round} pong {i}", b.name));
    }
}

#[test]
fn chat_flows_during_large_transfers() {
    const SIZE: usize = 32 * 1024 * 1024;
    let server = start(&format!("{NO_FLOOD}[files]\nmax_bytes = 67108864\n"));
    let addr = server.addr();
    let mut bob = Peer::join(addr, "bob", "#chat");
    let mut carol = Peer::join(addr, "carol", "#chat");
    bob.expect("JOIN #chat carol");
    let mut dave = Peer::join(addr, "dave", "#files");
    let mut alice = Peer::join(addr, "alice", "#files");
    dave.expect("JOIN #files alice");

    let data = Arc::new(content(111, SIZE));
    let sha = sha256_hex(&data);
    let upload = {
        let (data, sha) = (data.clone(), sha.clone());
        thread::spawn(move || {
            alice.send_bytes(format!("FILE #files {SIZE} big.bin\n").as_bytes());
            for chunk in data.chunks(64 * 1024) {
                alice.send_bytes(chunk);
            }
            let (id, skipped) = alice.await_ok_file(&sha);
            assert!(skipped.is_empty(), "{skipped:?}");
            (alice, id)
        })
    };
    chatter(&mut bob, &mut carol, "#chat", "during-upload");
    let (_alice, id) = upload.join().expect("uploader");
    dave.expect(&format!("FILE #files alice {id} {SIZE} {sha} big.bin"));

    let download = {
        let id = id.clone();
        thread::spawn(move || {
            let (label, got) = dave.fetch(&id);
            (label, got)
        })
    };
    chatter(&mut carol, &mut bob, "#chat", "during-download");
    let (label, got) = download.join().expect("downloader");
    assert_eq!(label, "big.bin");
    assert_eq!(got.len(), SIZE);
    assert!(got == *data, "downloaded content differs");
}

// ---- 12: events wait for a DATA body ---------------------------------------

#[test]
fn events_wait_until_a_data_body_is_sent() {
    const SIZE: usize = 3_000_000;
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    // A small receive buffer, so the body cannot sit in the kernel at once
    // and the server is still streaming it when alice speaks.
    let stream = TcpStream::connect(addr).unwrap();
    socket2::SockRef::from(&stream)
        .set_recv_buffer_size(16 * 1024)
        .unwrap();
    let mut bob = Peer::from_stream(stream);
    bob.expect_prefix("HELLO ");
    bob.nick("bob");
    bob.join_room("#r");
    alice.expect("JOIN #r bob");

    let data = content(121, SIZE);
    let id = alice.upload("#r", "three-m.bin", &data);
    bob.expect_prefix(&format!("FILE #r alice {id} {SIZE} "));

    // Once bob has the DATA header, the body and OK FETCH are queued; the
    // MSG is queued while bob has read almost none of the body.
    bob.send(&format!("FETCH {id}"));
    bob.expect(&format!("DATA {id} {SIZE} three-m.bin"));
    alice.send("MSG #r while you download");
    alice.expect("OK MSG #r");
    let body = bob.read_body(SIZE);
    assert!(body == data, "the body was interrupted or altered");
    bob.expect(&format!("OK FETCH {id}"));
    bob.expect("MSG #r alice while you download");
    bob.sync();
}
