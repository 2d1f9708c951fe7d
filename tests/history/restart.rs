//! Rooms that outlive their members and what a graceful restart keeps.

use super::*;

// ---- 4: rooms outlive their members -----------------------------------------

#[test]
fn rooms_outlive_their_members() {
    let server = start(NO_FLOOD);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#Pub");
    alice.send("TOPIC #pub hello world");
    alice.expect_lines(&["TOPIC #Pub alice hello world", "OK TOPIC #Pub hello world"]);
    alice.send("MSG #pub one");
    alice.expect("OK MSG #Pub");
    alice.send("MSG #Pub   two  spaced");
    alice.expect("OK MSG #Pub");
    let mut bob = Peer::register(addr, "bob");
    let reply = bob.join_new("#pub", None, "#Pub");
    assert_eq!(texts(&reply.history), ["one", "  two  spaced"]);
    alice.expect("JOIN #Pub bob");

    // The private room: created with a key, one message, then left.
    alice.send("JOIN #Priv s3cret-Key");
    alice.read_until_prefix("OK JOIN #Priv");
    alice.send("MSG #priv for key holders");
    alice.expect("OK MSG #Priv");

    // Everyone leaves: by QUIT and by PART.
    bob.send("QUIT");
    bob.expect("OK QUIT");
    drop(bob);
    alice.expect("QUIT bob");
    alice.send("PART #Priv");
    alice.expect("OK PART #Priv");
    alice.send("PART #Pub bye");
    alice.expect("OK PART #Pub");

    // A room whose last member quits stays too.
    let mut dave = Peer::join(addr, "dave", "#Solo");
    dave.send("MSG #solo alone");
    dave.expect("OK MSG #Solo");
    dave.send("QUIT");
    dave.expect("OK QUIT");
    drop(dave);

    let mut carol = Peer::register(addr, "carol");
    // dave's QUIT reaches the room after his connection ends: poll LIST
    // (bounded) until the room is empty.
    let deadline = Instant::now() + POLL_LIMIT;
    let rooms = loop {
        let rooms = carol.list();
        if rooms.iter().any(|r| r == "ROOM #Solo 0 no") || Instant::now() > deadline {
            break rooms;
        }
        thread::sleep(POLL_EVERY);
    };
    assert_eq!(
        rooms,
        [
            "ROOM #Priv 0 yes",
            "ROOM #Pub 0 no hello world",
            "ROOM #Solo 0 no"
        ]
    );
    let reply = carol.join_new("#solo", None, "#Solo");
    assert_eq!(texts(&reply.history), ["alone"]);
    assert_eq!(
        info_value(&carol.room_info("#solo", "#Solo"), "owner"),
        "dave"
    );
    carol.send("TOPIC #solo not dave's");
    carol.expect_prefix("ERR TOPIC NOT_OWNER ");
    carol.send("NAMES #pub");
    carol.expect_lines(&["NAMES #Pub", "OK NAMES #Pub 0"]);
    carol.send("NAMES #PRIV");
    carol.expect_lines(&["NAMES #Priv", "OK NAMES #Priv 0"]);
    let info = carol.room_info("#pub", "#Pub");
    assert_eq!(info_value(&info, "members"), "0");
    assert_eq!(info_value(&info, "owner"), "alice");
    assert_eq!(info_value(&info, "private"), "no");
    assert_eq!(info_value(&info, "topic"), "hello world");
    assert_eq!(info_value(&info, "messages"), "2");
    let info = carol.room_info("priv", "#Priv");
    assert_eq!(info_value(&info, "owner"), "alice");
    assert_eq!(info_value(&info, "private"), "yes");
    assert_eq!(info_value(&info, "messages"), "1");
    carol.send("TOPIC #pub");
    carol.expect("OK TOPIC #Pub hello world");
    // Still no member.
    carol.send("HISTORY #pub");
    carol.expect_prefix("ERR HISTORY NOT_IN_ROOM ");
    carol.send("HISTORY #priv");
    carol.expect_prefix("ERR HISTORY NOT_IN_ROOM ");

    // The next joiner gets the history but not the ownership; a key given
    // for a public room is ignored and does not make it private.
    let reply = carol.join_new("#PUB", Some("ignored"), "#Pub");
    assert_eq!(reply.names, ["carol"]);
    assert_eq!(texts(&reply.history), ["one", "  two  spaced"]);
    carol.send("TOPIC #pub mine now?");
    carol.expect_prefix("ERR TOPIC NOT_OWNER ");
    let info = carol.room_info("#pub", "#Pub");
    assert_eq!(info_value(&info, "owner"), "alice");
    assert_eq!(info_value(&info, "private"), "no");
    assert_eq!(info_value(&info, "members"), "1");

    // The private room still needs its key; its history only with it.
    carol.send("JOIN #priv");
    carol.expect_prefix("ERR JOIN BAD_KEY ");
    carol.send("JOIN #priv wrong-key");
    carol.expect_prefix("ERR JOIN BAD_KEY ");
    carol.send("HISTORY #priv 10");
    carol.expect_prefix("ERR HISTORY NOT_IN_ROOM ");
    let reply = carol.join_new("#priv", Some("s3cret-Key"), "#Priv");
    assert_eq!(reply.names, ["carol"]);
    assert_eq!(texts(&reply.history), ["for key holders"]);
    assert_eq!(reply.history[0].from, "alice");
    carol.send("TOPIC #priv taken");
    carol.expect_prefix("ERR TOPIC NOT_OWNER ");

    // The owner comes back and still owns both.
    let reply = alice.join_new("#pub", None, "#Pub");
    assert_eq!(reply.names, ["alice", "carol"]);
    assert_eq!(texts(&reply.history), ["one", "  two  spaced"]);
    carol.expect("JOIN #Pub alice");
    alice.send("TOPIC #pub new topic");
    alice.expect_lines(&["TOPIC #Pub alice new topic", "OK TOPIC #Pub new topic"]);
    carol.expect("TOPIC #Pub alice new topic");
    alice.send("JOIN #priv");
    alice.expect_prefix("ERR JOIN BAD_KEY ");
    alice.join_new("#priv", Some("s3cret-Key"), "#Priv");
    carol.expect("JOIN #Priv alice");
    alice.send("TOPIC #priv owned");
    alice.expect_lines(&["TOPIC #Priv alice owned", "OK TOPIC #Priv owned"]);
    carol.expect("TOPIC #Priv alice owned");
    alice.sync();
    carol.sync();
}

// ---- 5: a graceful restart keeps everything -----------------------------------

#[test]
fn a_restart_keeps_rooms_history_owner_key_topic_and_files() {
    let cfg = config(NO_FLOOD);
    let server = start_config(cfg.clone(), None);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#Lobby");
    let mut bob = Peer::join(addr, "bob", "#lobby");
    alice.expect("JOIN #Lobby bob");
    alice.send("TOPIC #lobby kept topic");
    alice.expect_lines(&[
        "TOPIC #Lobby alice kept topic",
        "OK TOPIC #Lobby kept topic",
    ]);
    bob.expect("TOPIC #Lobby alice kept topic");
    say_pipelined(&mut alice, "#Lobby", 0..5);
    for i in 0..5 {
        bob.expect(&format!("MSG #Lobby alice {}", text(i)));
    }
    alice.send("JOIN #Vault vault-key-1");
    alice.read_until_prefix("OK JOIN #Vault");
    alice.send("MSG #vault in the vault");
    alice.expect("OK MSG #Vault");

    let room_data = content(1, 5000);
    let room_file = alice.upload("#lobby", "room.bin", &room_data);
    bob.expect_prefix(&format!("FILE #Lobby alice {room_file} 5000 "));
    let user_data = content(2, 3000);
    let user_file = alice.upload("bob", "for-bob.bin", &user_data);
    bob.expect_prefix(&format!("FILE bob alice {user_file} 3000 "));
    alice.sync();
    bob.sync();

    let data = server.shutdown();
    drop((alice, bob));
    let server = start_config(cfg, Some(data));
    let addr = server.addr();

    let mut carol = Peer::register(addr, "carol");
    assert_eq!(
        carol.list(),
        ["ROOM #Lobby 0 no kept topic", "ROOM #Vault 0 yes"]
    );
    let info = carol.room_info("#LOBBY", "#Lobby");
    assert_eq!(info_value(&info, "owner"), "alice");
    assert_eq!(info_value(&info, "private"), "no");
    assert_eq!(info_value(&info, "topic"), "kept topic");
    assert_eq!(info_value(&info, "messages"), "5");
    let info = carol.room_info("#vault", "#Vault");
    assert_eq!(info_value(&info, "owner"), "alice");
    assert_eq!(info_value(&info, "private"), "yes");
    assert_eq!(info_value(&info, "messages"), "1");

    // The key is still needed, and still works.
    carol.send("JOIN #vault");
    carol.expect_prefix("ERR JOIN BAD_KEY ");
    carol.send("JOIN #vault vault-key-2");
    carol.expect_prefix("ERR JOIN BAD_KEY ");
    let reply = carol.join_new("#VAULT", Some("vault-key-1"), "#Vault");
    assert_eq!(texts(&reply.history), ["in the vault"]);

    // History, in the room's first spelling; a room file to a member.
    let reply = carol.join_new("#lobby", None, "#Lobby");
    assert_eq!(reply.names, ["carol"]);
    assert_eq!(texts(&reply.history), expected(0..5));
    let (label, got) = carol.fetch(&room_file);
    assert_eq!(label, "room.bin");
    assert!(got == room_data, "room file content differs after restart");
    carol.expect_no_such_file(&user_file);

    // Numbering goes on after the stored messages.
    carol.send("MSG #lobby after restart");
    carol.expect("OK MSG #Lobby");
    let mut want = expected(0..5);
    want.push("after restart".into());
    assert_eq!(texts(&carol.history("#lobby", Some(50), "#Lobby")), want);
    assert_eq!(
        info_value(&carol.room_info("#lobby", "#Lobby"), "messages"),
        "6"
    );

    // The owner is still the owner; others are not.
    carol.send("TOPIC #lobby carol's now");
    carol.expect_prefix("ERR TOPIC NOT_OWNER ");
    let mut alice = Peer::register(addr, "alice");
    alice.join_new("#lobby", None, "#Lobby");
    carol.expect("JOIN #Lobby alice");
    alice.send("TOPIC #lobby still mine");
    alice.expect_lines(&[
        "TOPIC #Lobby alice still mine",
        "OK TOPIC #Lobby still mine",
    ]);
    carol.expect("TOPIC #Lobby alice still mine");

    // The user file, to whoever holds the recipient's nickname.
    let mut bob = Peer::register(addr, "bob");
    let (label, got) = bob.fetch(&user_file);
    assert_eq!(label, "for-bob.bin");
    assert!(got == user_data, "user file content differs after restart");
    // And to its sender.
    assert!(alice.fetch(&user_file).1 == user_data);

    // A topic set right before a shutdown is kept too.
    alice.send("TOPIC #lobby last words");
    alice.expect_lines(&[
        "TOPIC #Lobby alice last words",
        "OK TOPIC #Lobby last words",
    ]);
    carol.expect("TOPIC #Lobby alice last words");
    let data = server.shutdown();
    let server = start_config(config(NO_FLOOD), Some(data));
    let mut dave = Peer::register(server.addr(), "dave");
    let info = dave.room_info("#lobby", "#Lobby");
    assert_eq!(info_value(&info, "topic"), "last words");
    assert_eq!(info_value(&info, "messages"), "6");
}

#[test]
fn files_past_retention_are_gone_after_a_restart() {
    let cfg = config(&format!("{NO_FLOOD}[files]\nretention_secs = 1\n"));
    let server = start_config(cfg.clone(), None);
    let addr = server.addr();
    let mut alice = Peer::join(addr, "alice", "#r");
    let data = content(3, 2000);
    let id = alice.upload("#r", "short.bin", &data);
    let stored_at = Instant::now();
    assert!(alice.fetch(&id).1 == data);
    let data_dir = server.shutdown();
    drop(alice);
    // Let the retention run out while the server is down (there is
    // nothing to read while waiting for time to pass).
    let left = Duration::from_millis(1100).saturating_sub(stored_at.elapsed());
    thread::sleep(left);

    let server = start_config(cfg, Some(data_dir));
    let mut alice = Peer::register(server.addr(), "alice");
    alice.join_new("#r", None, "#r");
    alice.expect_no_such_file(&id);
    wait_until_empty(server.files_dir());
}
