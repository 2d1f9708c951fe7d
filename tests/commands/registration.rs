//! The greeting, the time before NICK, and NICK.

use super::*;

// ---------------------------------------------------------------------------
// Greeting and the time before NICK
// ---------------------------------------------------------------------------

#[test]
fn greeting_is_exact() {
    let server = server();
    let mut c = Client::connect_raw(server.addr());
    c.expect(HELLO);
    c.sync();
}

#[test]
fn before_nick_other_commands_get_no_nick() {
    let server = server();
    let addr = server.addr();
    // A room exists, so "no nickname" is the only reason to refuse.
    let mut alice = Client::join(addr, "alice", "#r");
    let mut c = anon(addr, "anon");
    for line in [
        "JOIN #r",
        "join #r",
        "PART #r",
        "MSG #r hi",
        "MSG hi",
        "PRIVMSG alice hi",
        "NAMES #r",
        "LIST",
        "TOPIC #r",
        "TOPIC #r new topic",
        "KICK #r alice",
        "HISTORY #r",
        "FETCH abc",
        // Not in the contract's list either: answering a PING comes after NICK.
        "PONG abc",
    ] {
        let verb = line.split(' ').next().unwrap().to_ascii_uppercase();
        c.send(line);
        c.expect(&format!(
            "ERR {verb} NO_NICK set a nickname first: NICK <name>"
        ));
    }
    // Malformed arguments are still NO_NICK before a nickname.
    for line in [
        "JOIN",
        "JOIN #a key extra",
        "JOIN #bad!room",
        "MSG",
        "PART",
        "KICK #r",
        "NAMES",
        "LIST extra",
        "HISTORY #r notanumber",
        "PRIVMSG 9bad hi",
    ] {
        let verb = line.split(' ').next().unwrap().to_ascii_uppercase();
        c.send(line);
        c.expect(&format!(
            "ERR {verb} NO_NICK set a nickname first: NICK <name>"
        ));
    }
    // A FILE header is refused after its body is read, so the stream stays in sync.
    c.send_bytes(b"FILE alice 5 notes.txt\nhello");
    c.expect("ERR FILE NO_NICK set a nickname first: NICK <name>");
    c.sync();
    // None of that reached the room.
    alice.sync();
    c.send("NAMES #r");
    c.expect("ERR NAMES NO_NICK set a nickname first: NICK <name>");
    // Once named, the same commands work.
    c.send("NICK bob");
    c.expect("OK NICK bob");
    c.send("NAMES #r");
    c.expect_lines(&["NAMES #r alice", "OK NAMES #r 1"]);
}

#[test]
fn before_nick_allowed_commands_work() {
    let server = server();
    let addr = server.addr();
    let mut c = anon(addr, "anon");
    c.send("PING abc");
    c.expect("PONG abc");
    c.send("HELP join");
    let l = c.line();
    assert!(l.starts_with("HELP JOIN"), "{l:?}");
    c.expect("OK HELP");
    c.send("INFO");
    let lines = c.read_until_prefix("OK INFO");
    assert_eq!(lines.len(), 9, "{lines:?}");
    assert_eq!(lines[0], "INFO name chatroom");
    c.send("FLY away");
    c.expect("ERR FLY UNKNOWN_COMMAND try HELP");
    c.send("fly");
    c.expect("ERR FLY UNKNOWN_COMMAND try HELP");
    c.sync();
    c.send("QUIT");
    c.expect("OK QUIT");
    c.expect_closed();
}

#[test]
fn unknown_commands_after_nick() {
    let server = server();
    let mut alice = Client::register(server.addr(), "alice");
    alice.send("FLY away");
    alice.expect("ERR FLY UNKNOWN_COMMAND try HELP");
    alice.send("Teleport #r now");
    expect_err(&mut alice, "TELEPORT", "UNKNOWN_COMMAND");
    alice.sync();
}

// ---------------------------------------------------------------------------
// NICK
// ---------------------------------------------------------------------------

#[test]
fn nick_set_and_invalid_nicks() {
    let server = server();
    let addr = server.addr();
    let mut c = anon(addr, "anon");
    send_err(&mut c, "NICK", "NICK", "BAD_SYNTAX");
    send_err(&mut c, "NICK a b", "NICK", "BAD_SYNTAX");
    for bad in [
        "1abc",
        "-abc",
        "a.b",
        "a#b",
        "ﬁnn",                       // a compatibility ligature (PRECIS IdentifierClass)
        "dolph🐬n",                  // a symbol
        "abcdefghijklmnopqrstuvwxy", // 25 characters
        "#alice",
        "a/b",
    ] {
        send_err(&mut c, &format!("NICK {bad}"), "NICK", "BAD_NICK");
    }
    // Still without a nickname.
    send_err(&mut c, "LIST", "LIST", "NO_NICK");
    // 24 characters, and every allowed special character.
    c.send("NICK abcdefghijklmnopqrstuvwx");
    c.expect("OK NICK abcdefghijklmnopqrstuvwx");
    c.send("NICK a_-[]{}|^`9");
    c.expect("NICK abcdefghijklmnopqrstuvwx a_-[]{}|^`9");
    c.expect("OK NICK a_-[]{}|^`9");
    c.send("NICK _x");
    c.expect("NICK a_-[]{}|^`9 _x");
    c.expect("OK NICK _x");
    // An invalid change keeps the old nickname.
    send_err(&mut c, "NICK 9lives", "NICK", "BAD_NICK");
    let mut other = Client::register(addr, "other");
    other.send("PRIVMSG _x hi");
    other.expect("OK PRIVMSG _x");
    c.expect("PRIVMSG other hi");
    c.sync();
}

#[test]
fn nick_in_use_is_case_insensitive() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    let mut c = anon(addr, "anon");
    send_err(&mut c, "NICK alice", "NICK", "NICK_IN_USE");
    send_err(&mut c, "NICK ALICE", "NICK", "NICK_IN_USE");
    send_err(&mut c, "NICK aLiCe", "NICK", "NICK_IN_USE");
    c.send("NICK bob");
    c.expect("OK NICK bob");
    c.name = "bob".into();
    // A change to a taken nickname is refused too, and nothing is announced.
    send_err(&mut c, "NICK Alice", "NICK", "NICK_IN_USE");
    alice.send("NICK BOB");
    expect_err(&mut alice, "NICK", "NICK_IN_USE");
    alice.sync();
    c.sync();
}

#[test]
fn nick_change_is_announced_once_to_everyone_sharing_a_room() {
    let server = server();
    let addr = server.addr();
    let (mut alice, mut bob, mut carol) = sharing_two_rooms(addr);
    let mut dave = Client::join(addr, "dave", "#elsewhere");

    alice.send("NICK zoe");
    alice.expect_lines(&["NICK alice zoe", "OK NICK zoe"]);
    alice.name = "zoe".into();
    bob.expect("NICK alice zoe");
    carol.expect("NICK alice zoe");
    bob.sync();
    carol.sync();
    dave.sync();
    alice.sync();

    // Rooms know the new name (and keep the case-insensitive order).
    dave.send("NAMES #b");
    dave.expect_lines(&["NAMES #b bob carol zoe", "OK NAMES #b 3"]);
    bob.send("MSG #a hi");
    bob.expect("OK MSG #a");
    alice.expect("MSG #a bob hi");
    alice.send("MSG #b hello");
    alice.expect("OK MSG #b");
    bob.expect("MSG #b zoe hello");
    carol.expect("MSG #b zoe hello");
}

#[test]
fn nick_change_without_rooms_tells_only_the_client() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    let mut bob = Client::join(addr, "bob", "#r");
    alice.send("NICK alicia");
    alice.expect_lines(&["NICK alice alicia", "OK NICK alicia"]);
    alice.sync();
    bob.sync();
}

#[test]
fn nick_to_same_nick_is_silent_and_case_change_is_announced() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#r");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#r", "alice bob", &mut [&mut alice]);

    alice.send("NICK alice");
    alice.expect("OK NICK alice");
    alice.sync();
    bob.sync();

    alice.send("NICK Alice");
    alice.expect_lines(&["NICK alice Alice", "OK NICK Alice"]);
    bob.expect("NICK alice Alice");
    bob.sync();
    alice.sync();

    bob.send("NAMES #r");
    bob.expect_lines(&["NAMES #r Alice bob", "OK NAMES #r 2"]);
    bob.send("PRIVMSG alice hi");
    bob.expect("OK PRIVMSG Alice");
    alice.expect("PRIVMSG bob hi");
}

#[test]
fn freed_nicks_can_be_taken() {
    let server = server();
    let addr = server.addr();
    let mut watcher = Client::join(addr, "watcher", "#r");

    // Freed by a change.
    let mut alice = Client::register(addr, "alice");
    alice.send("NICK alicia");
    alice.expect_lines(&["NICK alice alicia", "OK NICK alicia"]);
    let mut other = anon(addr, "other");
    other.send("NICK alice");
    other.expect("OK NICK alice");
    // The old owner of the name cannot take it back now.
    send_err(&mut alice, "NICK alice", "NICK", "NICK_IN_USE");

    // Freed by QUIT.
    let mut carol = Client::register(addr, "carol");
    join_with(&mut carol, "#r", "carol watcher", &mut [&mut watcher]);
    carol.send("QUIT");
    carol.expect("OK QUIT");
    carol.expect_closed();
    watcher.expect("QUIT carol");
    let mut carol2 = anon(addr, "carol2");
    carol2.send("NICK Carol");
    carol2.expect("OK NICK Carol");

    // Freed by a dropped connection.
    let mut dave = Client::register(addr, "dave");
    join_with(&mut dave, "#r", "dave watcher", &mut [&mut watcher]);
    drop(dave);
    watcher.expect("QUIT dave connection closed");
    let mut dave2 = anon(addr, "dave2");
    dave2.send("NICK dave");
    dave2.expect("OK NICK dave");
    watcher.sync();
}

#[test]
fn ownership_follows_nick_changes() {
    let server = server();
    let addr = server.addr();
    let (mut alice, mut bob, mut carol) = trio(addr, "#r");

    alice.send("NICK queen");
    alice.expect_lines(&["NICK alice queen", "OK NICK queen"]);
    bob.expect("NICK alice queen");
    carol.expect("NICK alice queen");

    // Someone else taking the old nickname gets no ownership.
    bob.send("NICK alice");
    bob.expect_lines(&["NICK bob alice", "OK NICK alice"]);
    alice.expect("NICK bob alice");
    carol.expect("NICK bob alice");
    send_err(&mut bob, "TOPIC #r mine", "TOPIC", "NOT_OWNER");
    send_err(&mut bob, "KICK #r carol", "KICK", "NOT_OWNER");

    let mut dave = Client::register(addr, "dave");
    dave.send("INFO #r");
    let info = dave.read_until_prefix("OK INFO #r");
    assert_eq!(info[1], "INFO #r owner queen", "{info:?}");

    alice.send("TOPIC #r long live the queen");
    alice.expect("TOPIC #r queen long live the queen");
    alice.expect("OK TOPIC #r long live the queen");
    bob.expect("TOPIC #r queen long live the queen");
    carol.expect("TOPIC #r queen long live the queen");

    alice.send("KICK #r carol");
    alice.expect_lines(&["KICK #r carol queen", "OK KICK #r carol"]);
    bob.expect("KICK #r carol queen");
    carol.expect("KICK #r carol queen");
    bob.sync();
    carol.sync();
}

#[test]
fn nick_race_has_exactly_one_winner() {
    let server = server();
    let addr = server.addr();
    let n = 20;
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut c = anon(addr, &format!("racer{i}"));
                barrier.wait();
                c.send("NICK same");
                let line = c.line();
                c.sync();
                // Kept open until every racer has its answer: a winner that
                // left early would free the nickname for a slower racer.
                (line, c)
            })
        })
        .collect();
    let (lines, _clients): (Vec<String>, Vec<Client>) =
        threads.into_iter().map(|t| t.join().unwrap()).unzip();
    let winners = lines.iter().filter(|l| *l == "OK NICK same").count();
    assert_eq!(winners, 1, "{lines:#?}");
    for l in lines.iter().filter(|l| *l != "OK NICK same") {
        assert!(l.starts_with("ERR NICK NICK_IN_USE "), "{l:?}");
    }
}

#[test]
fn nick_race_pipelined_from_one_thread() {
    let server = server();
    let addr = server.addr();
    let mut clients: Vec<Client> = (0..20).map(|i| anon(addr, &format!("c{i}"))).collect();
    for c in &mut clients {
        c.send("NICK Same");
    }
    let mut winners = 0;
    for c in &mut clients {
        let l = c.line();
        if l == "OK NICK Same" {
            winners += 1;
        } else {
            assert!(l.starts_with("ERR NICK NICK_IN_USE "), "{l:?}");
        }
        c.sync();
    }
    assert_eq!(winners, 1);
}
