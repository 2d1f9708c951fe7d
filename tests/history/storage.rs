//! History off, keys stored only hashed, and command order behind a stored message.

use super::*;

// ---- 8: history off --------------------------------------------------------

#[test]
fn with_history_off_nothing_is_stored() {
    let server = start(&format!("{NO_FLOOD}[history]\nenabled = false\n"));
    let addr = server.addr();
    let db = server.db_path();
    let mut alice = Peer::join(addr, "alice", "#r");
    alice.send("TOPIC #r fleeting");
    alice.expect_lines(&["TOPIC #r alice fleeting", "OK TOPIC #r fleeting"]);
    say_pipelined(&mut alice, "#r", 0..5);
    alice.send("JOIN #p some-key");
    alice.read_until_prefix("OK JOIN #p");

    // JOIN replays nothing; HISTORY answers 0, with or without a count.
    let mut bob = Peer::register(addr, "bob");
    let reply = bob.join_new("#r", None, "#r");
    assert!(reply.history.is_empty(), "{:?}", reply.history);
    alice.expect("JOIN #r bob");
    alice.send("MSG #r now");
    alice.expect("OK MSG #r");
    bob.expect("MSG #r alice now");
    for cmd in ["HISTORY #r", "HISTORY #r 5", "HISTORY #R 0"] {
        bob.send(cmd);
        bob.expect("OK HISTORY #r 0");
    }
    bob.send("HISTORY #p");
    bob.expect_prefix("ERR HISTORY NOT_IN_ROOM ");

    // Empty rooms vanish.
    alice.send("PART #r");
    alice.expect("OK PART #r");
    bob.expect("PART #r alice");
    bob.send("PART #r");
    bob.expect("OK PART #r");
    alice.send("PART #p");
    alice.expect("OK PART #p");
    alice.send("NAMES #r");
    alice.expect_prefix("ERR NAMES NO_SUCH_ROOM ");
    alice.send("INFO #p");
    alice.expect_prefix("ERR INFO NO_SUCH_ROOM ");
    assert!(alice.list().is_empty());
    // A new room of that name: a new owner, no key, no topic.
    let reply = bob.join_new("#p", None, "#p");
    assert!(reply.history.is_empty());
    bob.send("TOPIC #p bob's");
    bob.expect_lines(&["TOPIC #p bob bob's", "OK TOPIC #p bob's"]);

    assert!(!db.exists(), "{db:?} was created with history off");
    let data = server.shutdown();
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    assert!(!db.exists(), "{db:?} was created with history off");
    assert!(!PathBuf::from(wal).exists());
    let left: Vec<_> = std::fs::read_dir(data.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "files")
        .collect();
    assert!(left.is_empty(), "written with history off: {left:?}");
}

// ---- 9: keys are never stored in clear ----------------------------------------

#[test]
fn room_keys_are_stored_only_as_salted_hashes() {
    const KEY: &str = "Zq7-clear-text-Key-4711";
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let db = server.db_path();
    let mut alice = Peer::register(addr, "alice");
    for room in ["#Vault", "#Other"] {
        alice.send(&format!("JOIN {room} {KEY}"));
        alice.read_until_prefix(&format!("OK JOIN {room}"));
    }
    // A stored message after the rooms: they are committed by now.
    alice.send("MSG #vault committed");
    alice.expect("OK MSG #Vault");
    let mut bob = Peer::register(addr, "bob");
    let reply = bob.join_new("#vault", Some(KEY), "#Vault");
    assert_eq!(texts(&reply.history), ["committed"]);
    alice.expect("JOIN #Vault bob");
    bob.send("MSG #vault stored after the key check");
    bob.expect("OK MSG #Vault");
    alice.expect("MSG #Vault bob stored after the key check");

    // Neither the database nor its WAL holds the key.
    let check = |when: &str| {
        let bytes = db_bytes(&db);
        assert!(!bytes.is_empty(), "{when}: no database at {db:?}");
        assert!(
            !contains(&bytes, KEY.as_bytes()),
            "{when}: the key is stored in clear"
        );
    };
    check("running");
    drop((alice, bob));
    let data = server.shutdown();
    check("after shutdown");
    assert!(contains(&db_bytes(&db), b"committed"), "history not stored");

    // Two rooms with the same key: two different hashes (salted).
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare("SELECT key_hash FROM rooms WHERE key_hash IS NOT NULL ORDER BY key")
        .unwrap();
    let hashes: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(hashes.len(), 2, "{hashes:?}");
    assert_ne!(hashes[0], hashes[1], "the same key hashed alike: no salt");
    for h in &hashes {
        assert!(!h.contains(KEY), "{h:?}");
    }
    drop(stmt);
    drop(conn);
    drop(data);
}

/// With history on (the default), `OK MSG` waits for the commit: a MSG
/// refused at once, and any later command, still answer after it. One
/// final reply per command, in command order, across rooms too.
#[test]
fn replies_keep_command_order_behind_a_stored_message() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#b");
    alice.join_room("#c");
    for _ in 0..20 {
        alice.send_bytes(b"MSG #b x\nMSG #a y\nMSG #c z\nMSG #b w\nPING t\n");
        alice.expect_lines(&[
            "OK MSG #b",
            "ERR MSG NOT_IN_ROOM you are not in #a",
            "OK MSG #c",
            "OK MSG #b",
            "PONG t",
        ]);
    }
}
