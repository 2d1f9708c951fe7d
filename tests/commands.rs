//! End-to-end tests of every command: a real server on 127.0.0.1:0 and
//! several raw TCP clients, asserting exact lines. No sleeps: reads are
//! bounded by the harness timeout, and `sync()` (a PING/PONG barrier)
//! proves that nothing else was sent to a client.
//!
//! Room and member limits and flood control are tested in `limits.rs`.

mod common;
use common::*;

use std::net::SocketAddr;
use std::sync::{Arc, Barrier};

/// Flood control out of the way, for tests that send many lines.
/// No flood control, and history off: this suite pins the behaviour of
/// rooms without storage (an emptied room vanishes, JOIN replays nothing);
/// tests/history.rs covers the same commands with history kept.
const NO_FLOOD: &str =
    "[limits]\nflood_burst = 10000\nflood_rate_per_sec = 10000\n[history]\nenabled = false";

/// The greeting, exactly.
const HELLO: &str = "HELLO chatroom 0.1.0 Welcome! Pick a nickname: NICK <name>";

/// A server without flood control or history.
fn server() -> TestServer {
    start(NO_FLOOD)
}

/// Asserts that the next line is `ERR <verb> <code> <human text>`: only the
/// text after the code may change, so the prefix is checked exactly.
fn expect_err(c: &mut Client, verb: &str, code: &str) {
    let line = c.line();
    let prefix = format!("ERR {verb} {code} ");
    assert!(
        line.starts_with(&prefix) && line.len() > prefix.len(),
        "[{}] wanted {prefix:?}..., got {line:?}",
        c.name
    );
}

/// Sends `line` and asserts the error it gets.
fn send_err(c: &mut Client, line: &str, verb: &str, code: &str) {
    c.send(line);
    expect_err(c, verb, code);
}

/// Connects and reads the greeting, naming the client for failure messages.
fn anon(addr: SocketAddr, label: &str) -> Client {
    let mut c = Client::connect(addr);
    c.name = label.to_string();
    c
}

/// Joins `room` with a client that is already registered and alone in
/// it (or the first), asserting the full reply.
fn join_alone(c: &mut Client, room: &str) {
    c.send(&format!("JOIN {room}"));
    let nick = c.name.clone();
    c.expect_lines(&[
        &format!("JOIN {room} {nick}"),
        &format!("NAMES {room} {nick}"),
        &format!("OK JOIN {room}"),
    ]);
}

/// `c` joins `room` where `others` already are (listed in NAMES order
/// together with `c`, in `names`); every other member sees the JOIN.
fn join_with(c: &mut Client, room: &str, names: &str, others: &mut [&mut Client]) {
    c.send(&format!("JOIN {room}"));
    let nick = c.name.clone();
    c.expect_lines(&[
        &format!("JOIN {room} {nick}"),
        &format!("NAMES {room} {names}"),
        &format!("OK JOIN {room}"),
    ]);
    for o in others.iter_mut() {
        o.expect(&format!("JOIN {room} {nick}"));
    }
}

/// Asserts an `RFC 3339` UTC time to the second: `2026-11-22T03:11:18Z`.
fn assert_rfc3339(t: &str) {
    let b = t.as_bytes();
    assert_eq!(b.len(), 20, "not RFC 3339 to the second: {t:?}");
    for (i, &c) in b.iter().enumerate() {
        let ok = match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        };
        assert!(ok, "not RFC 3339 to the second: {t:?}");
    }
}

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
    let mut alice = Client::join(addr, "alice", "#a");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#a", "alice bob", &mut [&mut alice]);
    join_alone(&mut alice, "#b");
    join_with(&mut bob, "#b", "alice bob", &mut [&mut alice]);
    let mut carol = Client::register(addr, "carol");
    join_with(
        &mut carol,
        "#b",
        "alice bob carol",
        &mut [&mut alice, &mut bob],
    );
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
    let mut alice = Client::join(addr, "alice", "#r");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#r", "alice bob", &mut [&mut alice]);
    let mut carol = Client::register(addr, "carol");
    join_with(
        &mut carol,
        "#r",
        "alice bob carol",
        &mut [&mut alice, &mut bob],
    );

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

// ---------------------------------------------------------------------------
// JOIN
// ---------------------------------------------------------------------------

#[test]
fn join_announces_and_lists_members() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    alice.send("JOIN #Lobby");
    alice.expect_lines(&["JOIN #Lobby alice", "NAMES #Lobby alice", "OK JOIN #Lobby"]);
    // The first spelling sticks, whatever later joiners write.
    let mut bob = Client::register(addr, "bob");
    bob.send("join lobby");
    bob.expect_lines(&[
        "JOIN #Lobby bob",
        "NAMES #Lobby alice bob",
        "OK JOIN #Lobby",
    ]);
    alice.expect("JOIN #Lobby bob");
    let mut carol = Client::register(addr, "carol");
    carol.send("JOIN #LOBBY");
    carol.expect_lines(&[
        "JOIN #Lobby carol",
        "NAMES #Lobby alice bob carol",
        "OK JOIN #Lobby",
    ]);
    alice.expect("JOIN #Lobby carol");
    bob.expect("JOIN #Lobby carol");
    // Outsiders hear nothing.
    let mut dave = Client::join(addr, "dave", "#other");
    dave.sync();
    alice.sync();
    bob.sync();
    carol.sync();
}

#[test]
fn names_are_sorted_case_insensitively() {
    let server = server();
    let addr = server.addr();
    let mut zed = Client::join(addr, "Zed", "#r");
    let mut amy = Client::register(addr, "amy");
    join_with(&mut amy, "#r", "amy Zed", &mut [&mut zed]);
    let mut bob = Client::register(addr, "Bob");
    join_with(&mut bob, "#r", "amy Bob Zed", &mut [&mut zed, &mut amy]);
    let mut carl = Client::register(addr, "carl");
    join_with(
        &mut carl,
        "#r",
        "amy Bob carl Zed",
        &mut [&mut zed, &mut amy, &mut bob],
    );
    carl.send("NAMES #r");
    carl.expect_lines(&["NAMES #r amy Bob carl Zed", "OK NAMES #r 4"]);
}

#[test]
fn join_with_key_makes_a_private_room() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    alice.send("JOIN #secret k3y");
    alice.expect_lines(&[
        "JOIN #secret alice",
        "NAMES #secret alice",
        "OK JOIN #secret",
    ]);
    let mut bob = Client::register(addr, "bob");
    send_err(&mut bob, "JOIN #secret", "JOIN", "BAD_KEY");
    send_err(&mut bob, "JOIN #secret wrong", "JOIN", "BAD_KEY");
    send_err(&mut bob, "JOIN secret K3Y", "JOIN", "BAD_KEY");
    alice.sync();
    bob.send("JOIN secret k3y");
    bob.expect_lines(&[
        "JOIN #secret bob",
        "NAMES #secret alice bob",
        "OK JOIN #secret",
    ]);
    alice.expect("JOIN #secret bob");
    // The refused joins left bob outside: now he is in, and can talk.
    bob.send("MSG #secret psst");
    bob.expect("OK MSG #secret");
    alice.expect("MSG #secret bob psst");
    bob.send("LIST");
    bob.expect_lines(&["ROOM #secret 2 yes", "OK LIST 1"]);
}

#[test]
fn key_given_to_public_room_is_ignored() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#pub");
    let mut bob = Client::register(addr, "bob");
    bob.send("JOIN #pub whatever");
    bob.expect_lines(&["JOIN #pub bob", "NAMES #pub alice bob", "OK JOIN #pub"]);
    alice.expect("JOIN #pub bob");
    // It did not make the room private.
    let mut carol = Client::register(addr, "carol");
    join_with(
        &mut carol,
        "#pub",
        "alice bob carol",
        &mut [&mut alice, &mut bob],
    );
    carol.send("LIST");
    carol.expect_lines(&["ROOM #pub 3 no", "OK LIST 1"]);
}

#[test]
fn rejoin_only_lists_names_and_makes_the_room_current() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#a");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#a", "alice bob", &mut [&mut alice]);
    join_alone(&mut alice, "#b");

    alice.send("JOIN a");
    alice.expect_lines(&["NAMES #a alice bob", "OK JOIN #a"]);
    bob.sync();
    alice.sync();
    // #a is current again.
    alice.send("MSG back here");
    alice.expect("OK MSG #a");
    bob.expect("MSG #a alice back here");
    // Re-join with a key of a public room: still only NAMES.
    bob.send("JOIN #A somekey");
    bob.expect_lines(&["NAMES #a alice bob", "OK JOIN #a"]);
    alice.sync();
    bob.send("NAMES #a");
    bob.expect_lines(&["NAMES #a alice bob", "OK NAMES #a 2"]);
}

#[test]
fn join_bad_room_and_syntax() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    let long = "a".repeat(33);
    for bad in [
        "#",
        "#bad!room",
        "#a#b",
        "#é",
        &long,
        &format!("#{long}"),
        "#a,b",
        "##a",
    ] {
        send_err(&mut alice, &format!("JOIN {bad}"), "JOIN", "BAD_ROOM");
    }
    send_err(&mut alice, "JOIN", "JOIN", "BAD_SYNTAX");
    send_err(&mut alice, "JOIN #a key extra", "JOIN", "BAD_SYNTAX");
    send_err(&mut alice, "JOIN    ", "JOIN", "BAD_SYNTAX");
    alice.send("LIST");
    alice.expect("OK LIST 0");
    // The longest valid name, every allowed character, and a bare number.
    let ok = "b".repeat(32);
    join_alone(&mut alice, &format!("#{ok}"));
    join_alone(&mut alice, "#Az09_-.");
    alice.send("JOIN 123");
    alice.expect_lines(&["JOIN #123 alice", "NAMES #123 alice", "OK JOIN #123"]);
    // Trailing spaces are fine.
    alice.send("JOIN #t   ");
    alice.expect_lines(&["JOIN #t alice", "NAMES #t alice", "OK JOIN #t"]);
}

// ---------------------------------------------------------------------------
// PART
// ---------------------------------------------------------------------------

#[test]
fn part_tells_the_others() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#r");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#r", "alice bob", &mut [&mut alice]);
    let mut carol = Client::register(addr, "carol");
    join_with(
        &mut carol,
        "#r",
        "alice bob carol",
        &mut [&mut alice, &mut bob],
    );
    let mut dave = Client::join(addr, "dave", "#other");

    bob.send("PART #r see you  later");
    bob.expect("OK PART #r");
    alice.expect("PART #r bob see you  later");
    carol.expect("PART #r bob see you  later");
    bob.sync();
    dave.sync();

    // No reason, and the room named without '#'.
    carol.send("part r");
    carol.expect("OK PART #r");
    alice.expect("PART #r carol");
    carol.sync();

    alice.send("NAMES #r");
    alice.expect_lines(&["NAMES #r alice", "OK NAMES #r 1"]);
    // bob no longer gets the room's messages.
    alice.send("MSG #r anyone?");
    alice.expect("OK MSG #r");
    bob.sync();
    carol.sync();
}

#[test]
fn part_errors() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#r");
    let mut bob = Client::register(addr, "bob");
    // A room that exists and one that does not.
    send_err(&mut bob, "PART #r", "PART", "NOT_IN_ROOM");
    send_err(&mut bob, "PART #nowhere", "PART", "NOT_IN_ROOM");
    send_err(&mut bob, "PART", "PART", "BAD_SYNTAX");
    send_err(&mut bob, "PART #bad!", "PART", "BAD_ROOM");
    alice.sync();
    // Parting twice.
    alice.send("PART #r");
    alice.expect("OK PART #r");
    send_err(&mut alice, "PART #r", "PART", "NOT_IN_ROOM");
}

#[test]
fn emptied_room_disappears_and_is_recreated_fresh() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    alice.send("JOIN #Tmp key");
    alice.expect_lines(&["JOIN #Tmp alice", "NAMES #Tmp alice", "OK JOIN #Tmp"]);
    alice.send("TOPIC #tmp old topic");
    alice.expect_lines(&["TOPIC #Tmp alice old topic", "OK TOPIC #Tmp old topic"]);
    join_alone(&mut alice, "#stay");
    alice.send("LIST");
    alice.expect_lines(&["ROOM #stay 1 no", "ROOM #Tmp 1 yes old topic", "OK LIST 2"]);

    alice.send("PART #tmp");
    alice.expect("OK PART #Tmp");
    let mut bob = Client::register(addr, "bob");
    send_err(&mut bob, "NAMES #tmp", "NAMES", "NO_SUCH_ROOM");
    send_err(&mut bob, "INFO #tmp", "INFO", "NO_SUCH_ROOM");
    send_err(&mut bob, "TOPIC #tmp", "TOPIC", "NO_SUCH_ROOM");
    bob.send("LIST");
    bob.expect_lines(&["ROOM #stay 1 no", "OK LIST 1"]);

    // A new room: bob's spelling, bob owns it, no key, no topic.
    bob.send("JOIN tmp");
    bob.expect_lines(&["JOIN #tmp bob", "NAMES #tmp bob", "OK JOIN #tmp"]);
    bob.send("INFO #TMP");
    let info = bob.read_until_prefix("OK INFO ");
    assert_eq!(info.len(), 7, "{info:?}");
    assert_eq!(info[0], "INFO #tmp members 1");
    assert_eq!(info[1], "INFO #tmp owner bob");
    assert_eq!(info[2], "INFO #tmp private no");
    assert_eq!(info[4], "INFO #tmp topic");
    assert_eq!(info[5], "INFO #tmp messages 0");
    assert_eq!(info[6], "OK INFO #tmp");
    bob.send("TOPIC #tmp");
    bob.expect("OK TOPIC #tmp");
    // alice, the old owner, is an ordinary member now.
    join_with(&mut alice, "#tmp", "alice bob", &mut [&mut bob]);
    send_err(&mut alice, "TOPIC #tmp mine", "TOPIC", "NOT_OWNER");
}

#[test]
fn room_emptied_by_quit_and_drop_disappears() {
    let server = server();
    let addr = server.addr();
    let mut obs = Client::register(addr, "obs");
    let mut alice = Client::join(addr, "alice", "#q");
    alice.send("QUIT");
    alice.expect("OK QUIT");
    alice.expect_closed();
    let mut bob = Client::join(addr, "bob", "#d");
    let mut bob_w = Client::register(addr, "bobw");
    join_with(&mut bob_w, "#d", "bob bobw", &mut [&mut bob]);
    drop(bob);
    bob_w.expect("QUIT bob connection closed");
    bob_w.send("PART #d");
    bob_w.expect("OK PART #d");
    send_err(&mut obs, "NAMES #q", "NAMES", "NO_SUCH_ROOM");
    send_err(&mut obs, "NAMES #d", "NAMES", "NO_SUCH_ROOM");
    obs.send("LIST");
    obs.expect("OK LIST 0");
}

// ---------------------------------------------------------------------------
// MSG
// ---------------------------------------------------------------------------

#[test]
fn msg_to_a_room_reaches_the_other_members_only() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#r");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#r", "alice bob", &mut [&mut alice]);
    let mut carol = Client::register(addr, "carol");
    join_with(
        &mut carol,
        "#r",
        "alice bob carol",
        &mut [&mut alice, &mut bob],
    );
    let mut dave = Client::join(addr, "dave", "#other");

    alice.send("MSG #r hello: world!  ünïcode ✓");
    alice.expect("OK MSG #r");
    bob.expect("MSG #r alice hello: world!  ünïcode ✓");
    carol.expect("MSG #r alice hello: world!  ünïcode ✓");
    alice.sync();
    dave.sync();

    // The room as spelled in MSG does not matter; the reply uses the room's spelling.
    bob.send("msg #R hi");
    bob.expect("OK MSG #r");
    alice.expect("MSG #r bob hi");
    carol.expect("MSG #r bob hi");
    bob.sync();
}

#[test]
fn msg_text_is_verbatim() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#r");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#r", "alice bob", &mut [&mut alice]);

    alice.send("MSG #r   x");
    alice.expect("OK MSG #r");
    bob.expect("MSG #r alice   x");
    alice.send("MSG #r trailing  ");
    alice.expect("OK MSG #r");
    bob.expect("MSG #r alice trailing  ");
    alice.send("MSG #r #not-a-room and\ttab");
    alice.expect("OK MSG #r");
    bob.expect("MSG #r alice #not-a-room and\ttab");
    // To the current room: the text starts after the one separating space.
    alice.send("MSG  two spaces");
    alice.expect("OK MSG #r");
    bob.expect("MSG #r alice  two spaces");
    // CR before LF is dropped.
    alice.send_bytes(b"MSG #r crlf\r\n");
    alice.expect("OK MSG #r");
    bob.expect("MSG #r alice crlf");
}

#[test]
fn msg_without_room_goes_to_the_current_room() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#a");
    let mut b = Client::register(addr, "b");
    join_with(&mut b, "#a", "alice b", &mut [&mut alice]);
    join_alone(&mut b, "#b");

    b.send("MSG to b");
    b.expect("OK MSG #b");
    alice.sync();
    // A first word without '#' is text: "123 hi" to the current room.
    b.send("JOIN #a");
    b.expect_lines(&["NAMES #a alice b", "OK JOIN #a"]);
    b.send("MSG 123 hi");
    b.expect("OK MSG #a");
    alice.expect("MSG #a b 123 hi");
    b.send("MSG a hi");
    b.expect("OK MSG #a");
    alice.expect("MSG #a b a hi");

    // After PART of the current room, the previous one is current again.
    join_alone(&mut b, "#c");
    b.send("MSG in c");
    b.expect("OK MSG #c");
    alice.sync();
    b.send("PART #c");
    b.expect("OK PART #c");
    b.send("MSG after part");
    b.expect("OK MSG #a");
    alice.expect("MSG #a b after part");
    b.send("PART #a");
    b.expect("OK PART #a");
    alice.expect("PART #a b");
    b.send("MSG now b");
    b.expect("OK MSG #b");
    alice.sync();
    b.send("PART #b");
    b.expect("OK PART #b");
    send_err(&mut b, "MSG nobody here", "MSG", "NOT_IN_ROOM");
}

#[test]
fn msg_errors() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#r");
    let mut bob = Client::register(addr, "bob");
    // In no room at all.
    send_err(&mut bob, "MSG hi", "MSG", "NOT_IN_ROOM");
    send_err(&mut bob, "MSG 123 hi", "MSG", "NOT_IN_ROOM");
    // A room that exists but bob is not in, and one that does not exist.
    send_err(&mut bob, "MSG #r hi", "MSG", "NOT_IN_ROOM");
    send_err(&mut bob, "MSG #nowhere hi", "MSG", "NOT_IN_ROOM");
    join_alone(&mut bob, "#mine");
    send_err(&mut bob, "MSG #r hi", "MSG", "NOT_IN_ROOM");
    // Empty text.
    send_err(&mut bob, "MSG", "MSG", "BAD_SYNTAX");
    send_err(&mut bob, "MSG ", "MSG", "BAD_SYNTAX");
    send_err(&mut bob, "MSG    ", "MSG", "BAD_SYNTAX");
    send_err(&mut bob, "MSG #mine", "MSG", "BAD_SYNTAX");
    send_err(&mut bob, "MSG #mine ", "MSG", "BAD_SYNTAX");
    send_err(&mut bob, "MSG #mine    ", "MSG", "BAD_SYNTAX");
    alice.sync();
    bob.sync();
}

// ---------------------------------------------------------------------------
// PRIVMSG
// ---------------------------------------------------------------------------

#[test]
fn privmsg_reaches_only_the_recipient() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#r");
    let mut bob = Client::register(addr, "Bob");
    join_with(&mut bob, "#r", "alice Bob", &mut [&mut alice]);
    let mut carol = Client::register(addr, "carol");
    join_with(
        &mut carol,
        "#r",
        "alice Bob carol",
        &mut [&mut alice, &mut bob],
    );

    alice.send("PRIVMSG bOB see you  at 6 ");
    alice.expect("OK PRIVMSG Bob");
    bob.expect("PRIVMSG alice see you  at 6 ");
    carol.sync();
    bob.sync();
    alice.sync();

    // No shared room needed.
    let mut dave = Client::register(addr, "dave");
    dave.send("privmsg carol #r is not a room here");
    dave.expect("OK PRIVMSG carol");
    carol.expect("PRIVMSG dave #r is not a room here");
    // To oneself.
    dave.send("PRIVMSG dave note to self");
    dave.expect("PRIVMSG dave note to self");
    dave.expect("OK PRIVMSG dave");
}

#[test]
fn privmsg_errors() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    send_err(&mut alice, "PRIVMSG nobody hi", "PRIVMSG", "NO_SUCH_NICK");
    send_err(&mut alice, "PRIVMSG 9bad hi", "PRIVMSG", "NO_SUCH_NICK");
    send_err(&mut alice, "PRIVMSG #room hi", "PRIVMSG", "NO_SUCH_NICK");
    send_err(&mut alice, "PRIVMSG", "PRIVMSG", "BAD_SYNTAX");
    send_err(&mut alice, "PRIVMSG alice", "PRIVMSG", "BAD_SYNTAX");
    send_err(&mut alice, "PRIVMSG alice    ", "PRIVMSG", "BAD_SYNTAX");
    // A user who left is no longer reachable.
    let mut bob = Client::register(addr, "bob");
    bob.send("QUIT");
    bob.expect("OK QUIT");
    bob.expect_closed();
    send_err(&mut alice, "PRIVMSG bob hi", "PRIVMSG", "NO_SUCH_NICK");
    alice.sync();
}

// ---------------------------------------------------------------------------
// NAMES, LIST, INFO
// ---------------------------------------------------------------------------

#[test]
fn names_for_members_and_outsiders() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#r");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#r", "alice bob", &mut [&mut alice]);
    alice.send("NAMES #r");
    alice.expect_lines(&["NAMES #r alice bob", "OK NAMES #r 2"]);
    let mut carol = Client::register(addr, "carol");
    carol.send("names R");
    carol.expect_lines(&["NAMES #r alice bob", "OK NAMES #r 2"]);
    // A private room's names are visible too.
    let mut dave = Client::register(addr, "dave");
    dave.send("JOIN #priv key");
    dave.read_until_prefix("OK JOIN");
    carol.send("NAMES #priv");
    carol.expect_lines(&["NAMES #priv dave", "OK NAMES #priv 1"]);
    alice.sync();
    bob.sync();
}

#[test]
fn names_errors() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#r");
    send_err(&mut alice, "NAMES #nowhere", "NAMES", "NO_SUCH_ROOM");
    send_err(&mut alice, "NAMES", "NAMES", "BAD_SYNTAX");
    send_err(&mut alice, "NAMES #r extra", "NAMES", "BAD_SYNTAX");
    send_err(&mut alice, "NAMES #bad!", "NAMES", "BAD_ROOM");
    alice.sync();
}

#[test]
fn list_rooms_sorted_with_topics() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    alice.send("LIST");
    alice.expect("OK LIST 0");
    join_alone(&mut alice, "#beta");
    join_alone(&mut alice, "#Alpha");
    let mut bob = Client::register(addr, "bob");
    bob.send("JOIN #gamma k");
    bob.expect_lines(&["JOIN #gamma bob", "NAMES #gamma bob", "OK JOIN #gamma"]);
    bob.send("TOPIC #gamma a  spaced topic");
    bob.expect_lines(&[
        "TOPIC #gamma bob a  spaced topic",
        "OK TOPIC #gamma a  spaced topic",
    ]);
    join_with(&mut bob, "#beta", "alice bob", &mut [&mut alice]);
    join_alone(&mut bob, "#ALPHA2");

    let mut carol = Client::register(addr, "carol");
    carol.send("list");
    carol.expect_lines(&[
        "ROOM #Alpha 1 no",
        "ROOM #ALPHA2 1 no",
        "ROOM #beta 2 no",
        "ROOM #gamma 1 yes a  spaced topic",
        "OK LIST 4",
    ]);
    send_err(&mut carol, "LIST x", "LIST", "BAD_SYNTAX");
    send_err(&mut carol, "LIST #beta", "LIST", "BAD_SYNTAX");
    carol.send("LIST   ");
    let lines = carol.read_until_prefix("OK LIST ");
    assert_eq!(lines.last().unwrap(), "OK LIST 4");
}

#[test]
fn server_info() {
    let server = server();
    let addr = server.addr();
    let _alice = Client::join(addr, "alice", "#r");
    let _bob = Client::join(addr, "bob", "#s");
    let mut anon = anon(addr, "anon");
    anon.send("INFO");
    let lines = anon.read_until_prefix("OK INFO");
    assert_eq!(lines.len(), 9, "{lines:?}");
    assert_eq!(lines[0], "INFO name chatroom");
    assert_eq!(lines[1], "INFO version 0.1.0");
    let uptime = lines[2]
        .strip_prefix("INFO uptime_secs ")
        .unwrap_or_else(|| panic!("{lines:?}"));
    let uptime: u64 = uptime.parse().expect("uptime is a number");
    assert!(uptime < 600, "{uptime}");
    assert_eq!(lines[3], "INFO users 2");
    assert_eq!(lines[4], "INFO rooms 2");
    assert_eq!(lines[5], "INFO connections 3");
    assert_eq!(lines[6], "INFO max_line_bytes 2048");
    assert_eq!(lines[7], "INFO max_file_bytes 33554432");
    assert_eq!(lines[8], "OK INFO");
    send_err(&mut anon, "INFO #r extra", "INFO", "BAD_SYNTAX");
}

#[test]
fn room_info() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#Room");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#Room", "alice bob", &mut [&mut alice]);
    alice.send("MSG one");
    alice.expect("OK MSG #Room");
    bob.expect("MSG #Room alice one");
    bob.send("MSG #room two");
    bob.expect("OK MSG #Room");
    alice.expect("MSG #Room bob two");

    // Asked by an outsider, before and after a NICK.
    let mut carol = anon(addr, "carol");
    carol.send("INFO room");
    let lines = carol.read_until_prefix("OK INFO");
    assert_eq!(lines.len(), 7, "{lines:?}");
    assert_eq!(lines[0], "INFO #Room members 2");
    assert_eq!(lines[1], "INFO #Room owner alice");
    assert_eq!(lines[2], "INFO #Room private no");
    let created = lines[3]
        .strip_prefix("INFO #Room created ")
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_rfc3339(created);
    assert_eq!(lines[4], "INFO #Room topic");
    assert_eq!(lines[5], "INFO #Room messages 2");
    assert_eq!(lines[6], "OK INFO #Room");

    alice.send("TOPIC #room all  about rooms");
    alice.expect_lines(&[
        "TOPIC #Room alice all  about rooms",
        "OK TOPIC #Room all  about rooms",
    ]);
    bob.expect("TOPIC #Room alice all  about rooms");
    carol.send("NICK carol");
    carol.expect("OK NICK carol");
    carol.send("INFO #ROOM");
    let lines = carol.read_until_prefix("OK INFO");
    assert_eq!(lines.len(), 7, "{lines:?}");
    assert_eq!(lines[3], format!("INFO #Room created {created}"));
    assert_eq!(lines[4], "INFO #Room topic all  about rooms");
    assert_eq!(lines[6], "OK INFO #Room");

    // A private room.
    let mut dave = Client::register(addr, "dave");
    dave.send("JOIN #p key");
    dave.read_until_prefix("OK JOIN");
    carol.send("INFO p");
    let lines = carol.read_until_prefix("OK INFO");
    assert_eq!(lines[0], "INFO #p members 1");
    assert_eq!(lines[1], "INFO #p owner dave");
    assert_eq!(lines[2], "INFO #p private yes");
    assert_eq!(lines[6], "OK INFO #p");

    send_err(&mut carol, "INFO #nowhere", "INFO", "NO_SUCH_ROOM");
    send_err(&mut carol, "INFO #bad!", "INFO", "BAD_ROOM");
    let mut eve = anon(addr, "eve");
    send_err(&mut eve, "INFO #nowhere", "INFO", "NO_SUCH_ROOM");
}

// ---------------------------------------------------------------------------
// TOPIC
// ---------------------------------------------------------------------------

#[test]
fn topic_read_and_set() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#r");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#r", "alice bob", &mut [&mut alice]);
    let mut carol = Client::join(addr, "carol", "#other");

    alice.send("TOPIC #r");
    alice.expect("OK TOPIC #r");
    carol.send("TOPIC r");
    carol.expect("OK TOPIC #r");

    alice.send("TOPIC r  Rust,  actors &  chat ");
    alice.expect("TOPIC #r alice  Rust,  actors &  chat ");
    alice.expect("OK TOPIC #r  Rust,  actors &  chat ");
    bob.expect("TOPIC #r alice  Rust,  actors &  chat ");
    carol.sync();
    bob.sync();

    // Members and outsiders read it.
    bob.send("TOPIC #r");
    bob.expect("OK TOPIC #r  Rust,  actors &  chat ");
    carol.send("TOPIC #R");
    carol.expect("OK TOPIC #r  Rust,  actors &  chat ");
    carol.send("LIST");
    carol.expect_lines(&[
        "ROOM #other 1 no",
        "ROOM #r 2 no  Rust,  actors &  chat ",
        "OK LIST 2",
    ]);

    // Changing it again.
    alice.send("TOPIC #r v2");
    alice.expect_lines(&["TOPIC #r alice v2", "OK TOPIC #r v2"]);
    bob.expect("TOPIC #r alice v2");
    carol.send("TOPIC #r");
    carol.expect("OK TOPIC #r v2");
}

#[test]
fn topic_errors() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#r");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#r", "alice bob", &mut [&mut alice]);
    let mut carol = Client::register(addr, "carol");

    send_err(&mut bob, "TOPIC #r mine now", "TOPIC", "NOT_OWNER");
    send_err(&mut carol, "TOPIC #r mine now", "TOPIC", "NOT_IN_ROOM");
    send_err(
        &mut carol,
        "TOPIC #nowhere mine now",
        "TOPIC",
        "NOT_IN_ROOM",
    );
    send_err(&mut carol, "TOPIC #nowhere", "TOPIC", "NO_SUCH_ROOM");
    send_err(&mut carol, "TOPIC", "TOPIC", "BAD_SYNTAX");
    send_err(&mut carol, "TOPIC #bad!", "TOPIC", "BAD_ROOM");
    // Nothing was set or announced.
    alice.sync();
    bob.send("TOPIC #r");
    bob.expect("OK TOPIC #r");
}

// ---------------------------------------------------------------------------
// KICK
// ---------------------------------------------------------------------------

#[test]
fn kick_removes_a_member() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#r");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#r", "alice bob", &mut [&mut alice]);
    let mut carol = Client::register(addr, "carol");
    join_with(
        &mut carol,
        "#r",
        "alice bob carol",
        &mut [&mut alice, &mut bob],
    );
    let mut dave = Client::join(addr, "dave", "#other");

    alice.send("KICK r BOB too  much spam");
    alice.expect("KICK #r bob alice too  much spam");
    alice.expect("OK KICK #r bob");
    bob.expect("KICK #r bob alice too  much spam");
    carol.expect("KICK #r bob alice too  much spam");
    dave.sync();
    bob.sync();
    carol.sync();

    // bob is out: cannot talk there, hears nothing from there.
    send_err(&mut bob, "MSG #r let me in", "MSG", "NOT_IN_ROOM");
    send_err(&mut bob, "MSG let me in", "MSG", "NOT_IN_ROOM");
    send_err(&mut bob, "PART #r", "PART", "NOT_IN_ROOM");
    send_err(&mut bob, "HISTORY #r", "HISTORY", "NOT_IN_ROOM");
    carol.send("MSG #r bye bob");
    carol.expect("OK MSG #r");
    alice.expect("MSG #r carol bye bob");
    bob.sync();
    alice.send("NAMES #r");
    alice.expect_lines(&["NAMES #r alice carol", "OK NAMES #r 2"]);

    // Without a reason.
    alice.send("KICK #r carol");
    alice.expect_lines(&["KICK #r carol alice", "OK KICK #r carol"]);
    carol.expect("KICK #r carol alice");
    carol.sync();

    // bob may come back (a public room).
    join_with(&mut bob, "#r", "alice bob", &mut [&mut alice]);
    bob.send("MSG back");
    bob.expect("OK MSG #r");
    alice.expect("MSG #r bob back");
}

#[test]
fn kick_errors() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#r");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#r", "alice bob", &mut [&mut alice]);
    let mut carol = Client::join(addr, "carol", "#other");

    send_err(&mut bob, "KICK #r alice", "KICK", "NOT_OWNER");
    send_err(&mut bob, "KICK #r bob", "KICK", "NOT_OWNER");
    send_err(&mut carol, "KICK #r bob", "KICK", "NOT_IN_ROOM");
    send_err(&mut carol, "KICK #nowhere bob", "KICK", "NOT_IN_ROOM");
    // Targets that are not in the room: unknown, online elsewhere, invalid.
    send_err(&mut alice, "KICK #r zed", "KICK", "NO_SUCH_NICK");
    send_err(&mut alice, "KICK #r carol", "KICK", "NO_SUCH_NICK");
    send_err(&mut alice, "KICK #r 9bad", "KICK", "NO_SUCH_NICK");
    send_err(&mut alice, "KICK #r", "KICK", "BAD_SYNTAX");
    send_err(&mut alice, "KICK", "KICK", "BAD_SYNTAX");
    send_err(&mut alice, "KICK #bad! bob", "KICK", "BAD_ROOM");
    // Nothing happened.
    alice.sync();
    bob.sync();
    carol.sync();
    alice.send("NAMES #r");
    alice.expect_lines(&["NAMES #r alice bob", "OK NAMES #r 2"]);
}

// ---------------------------------------------------------------------------
// HISTORY, FETCH
// ---------------------------------------------------------------------------

#[test]
fn history_without_storage() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#Hist");
    alice.send("MSG something");
    alice.expect("OK MSG #Hist");
    alice.send("HISTORY #hist");
    alice.expect("OK HISTORY #Hist 0");
    alice.send("history hist 5");
    alice.expect("OK HISTORY #Hist 0");
    alice.send("HISTORY #Hist 99999999999");
    alice.expect("OK HISTORY #Hist 0");
    let mut bob = Client::register(addr, "bob");
    send_err(&mut bob, "HISTORY #hist", "HISTORY", "NOT_IN_ROOM");
    send_err(&mut bob, "HISTORY #nowhere", "HISTORY", "NOT_IN_ROOM");
    send_err(&mut alice, "HISTORY", "HISTORY", "BAD_SYNTAX");
    send_err(&mut alice, "HISTORY #hist many", "HISTORY", "BAD_SYNTAX");
    send_err(&mut alice, "HISTORY #hist 5 6", "HISTORY", "BAD_SYNTAX");
    send_err(&mut alice, "HISTORY #bad!", "HISTORY", "BAD_ROOM");
    alice.sync();
}

#[test]
fn fetch_finds_no_file() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    send_err(&mut alice, "FETCH abc123", "FETCH", "NO_SUCH_FILE");
    send_err(
        &mut alice,
        "fetch ../../etc/passwd",
        "FETCH",
        "NO_SUCH_FILE",
    );
    send_err(&mut alice, "FETCH", "FETCH", "BAD_SYNTAX");
    send_err(&mut alice, "FETCH a b", "FETCH", "BAD_SYNTAX");
    alice.sync();
}

// ---------------------------------------------------------------------------
// PING, PONG, HELP
// ---------------------------------------------------------------------------

#[test]
fn ping_and_pong() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    alice.send("PING");
    alice.expect("PONG");
    alice.send("PING 12345");
    alice.expect("PONG 12345");
    alice.send("ping a token  with spaces");
    alice.expect("PONG a token  with spaces");
    alice.send("PONG");
    alice.send("PONG whatever");
    alice.send("pong 1 2 3");
    alice.sync();
}

#[test]
fn help_lists_every_command() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::register(addr, "alice");
    alice.send("HELP");
    let lines = alice.read_until_prefix("OK HELP");
    assert_eq!(lines.len(), 34, "{lines:#?}");
    assert_eq!(lines[33], "OK HELP");
    let verbs = [
        "NICK", "JOIN", "PART", "MSG", "PRIVMSG", "NAMES", "LIST", "INFO", "TOPIC", "KICK", "FILE",
        "FETCH", "LINK", "HISTORY", "PING", "PONG", "HELP", "QUIT", "REGISTER", "LOGIN", "LOGOUT",
        "PASSWD", "OP", "DEOP", "BAN", "UNBAN", "OWNER", "OPER", "KILL", "KLINE", "UNKLINE",
        "WALLOPS", "CLOSE",
    ];
    for l in &lines[..33] {
        assert!(l.starts_with("HELP "), "{l:?}");
    }
    for v in verbs {
        let prefix = format!("HELP {v} ");
        assert_eq!(
            lines.iter().filter(|l| l.starts_with(&prefix)).count(),
            1,
            "one line for {v}: {lines:#?}"
        );
    }
    alice.sync();

    alice.send("HELP join");
    let l = alice.line();
    assert!(l.starts_with("HELP JOIN "), "{l:?}");
    alice.expect("OK HELP");
    alice.send("help PrivMsg");
    let l = alice.line();
    assert!(l.starts_with("HELP PRIVMSG "), "{l:?}");
    alice.expect("OK HELP");

    send_err(&mut alice, "HELP nope", "HELP", "UNKNOWN_COMMAND");
    send_err(&mut alice, "HELP join extra", "HELP", "BAD_SYNTAX");
    alice.sync();
}

#[test]
fn help_and_syntax_errors_show_the_same_usage() {
    let server = server();
    let mut alice = Client::register(server.addr(), "alice");
    for (verb, malformed) in [
        ("HELP", "HELP join extra"),
        ("JOIN", "JOIN"),
        ("KICK", "KICK #r"),
        ("MSG", "MSG"),
    ] {
        alice.send(&format!("HELP {verb}"));
        let help = alice.line();
        alice.expect("OK HELP");
        let (synopsis, _) = help
            .strip_prefix("HELP ")
            .and_then(|l| l.split_once(" - "))
            .unwrap_or_else(|| panic!("HELP <synopsis> - <description>, got {help:?}"));
        alice.send(malformed);
        alice.expect(&format!("ERR {verb} BAD_SYNTAX usage: {synopsis}"));
    }
    // The wording HELP itself uses.
    alice.send("HELP help");
    assert_eq!(alice.line(), "HELP HELP [command] - this help");
    alice.expect("OK HELP");
    alice.sync();
}

// ---------------------------------------------------------------------------
// QUIT and dropped connections
// ---------------------------------------------------------------------------

#[test]
fn quit_is_announced_once_to_everyone_sharing_a_room() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#a");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#a", "alice bob", &mut [&mut alice]);
    join_alone(&mut alice, "#b");
    join_with(&mut bob, "#b", "alice bob", &mut [&mut alice]);
    let mut carol = Client::register(addr, "carol");
    join_with(
        &mut carol,
        "#b",
        "alice bob carol",
        &mut [&mut alice, &mut bob],
    );
    let mut dave = Client::join(addr, "dave", "#c");

    alice.send("QUIT gone  fishing");
    alice.expect("OK QUIT");
    alice.expect_closed();
    bob.expect("QUIT alice gone  fishing");
    carol.expect("QUIT alice gone  fishing");
    bob.sync();
    carol.sync();
    dave.sync();

    bob.send("NAMES #a");
    bob.expect_lines(&["NAMES #a bob", "OK NAMES #a 1"]);
    bob.send("NAMES #b");
    bob.expect_lines(&["NAMES #b bob carol", "OK NAMES #b 2"]);

    // Without a reason.
    bob.send("quit");
    bob.expect("OK QUIT");
    bob.expect_closed();
    carol.expect("QUIT bob");
    carol.sync();
}

#[test]
fn quit_with_pipelined_lines_after_it() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#r");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#r", "alice bob", &mut [&mut alice]);
    bob.send_bytes(b"MSG before\nQUIT bye\nMSG after\n");
    bob.expect_lines(&["OK MSG #r", "OK QUIT"]);
    bob.expect_closed();
    alice.expect("MSG #r bob before");
    alice.expect("QUIT bob bye");
    alice.sync();
}

#[test]
fn dropped_connection_is_a_quit() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#a");
    let mut bob = Client::register(addr, "bob");
    join_with(&mut bob, "#a", "alice bob", &mut [&mut alice]);
    join_alone(&mut alice, "#b");
    join_with(&mut bob, "#b", "alice bob", &mut [&mut alice]);
    let mut dave = Client::join(addr, "dave", "#c");

    drop(alice);
    bob.expect("QUIT alice connection closed");
    bob.sync();
    dave.sync();
    bob.send("NAMES #a");
    bob.expect_lines(&["NAMES #a bob", "OK NAMES #a 1"]);

    // An unnamed connection going away tells nobody anything.
    let ghost = anon(addr, "ghost");
    drop(ghost);
    bob.sync();
    dave.sync();
}

// ---------------------------------------------------------------------------
// Syntax and shape
// ---------------------------------------------------------------------------

#[test]
fn syntax_errors() {
    let server = server();
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#r");
    send_err(&mut alice, " ", "*", "BAD_SYNTAX");
    send_err(&mut alice, "     ", "*", "BAD_SYNTAX");
    // Empty lines are ignored.
    alice.send("");
    alice.send_bytes(b"\r\n");
    alice.sync();
    for (line, verb) in [
        ("NICK", "NICK"),
        ("NICK a b", "NICK"),
        ("JOIN", "JOIN"),
        ("JOIN #a key extra", "JOIN"),
        ("PART", "PART"),
        ("MSG", "MSG"),
        ("PRIVMSG alice", "PRIVMSG"),
        ("NAMES", "NAMES"),
        ("NAMES #r x", "NAMES"),
        ("LIST x", "LIST"),
        ("INFO #r x", "INFO"),
        ("TOPIC", "TOPIC"),
        ("KICK #r", "KICK"),
        ("HISTORY", "HISTORY"),
        ("FETCH", "FETCH"),
        ("HELP join extra", "HELP"),
        ("list x", "LIST"),
    ] {
        send_err(&mut alice, line, verb, "BAD_SYNTAX");
    }
    // Leading spaces before the verb are fine.
    alice.send("   LIST");
    alice.expect_lines(&["ROOM #r 1 no", "OK LIST 1"]);
    alice.sync();
}

#[test]
fn verbs_are_case_insensitive() {
    let server = server();
    let addr = server.addr();
    let mut alice = anon(addr, "alice");
    alice.send("nick alice");
    alice.expect("OK NICK alice");
    alice.send("jOiN r");
    alice.expect_lines(&["JOIN #r alice", "NAMES #r alice", "OK JOIN #r"]);
    let mut bob = Client::register(addr, "bob");
    bob.send("Join #r");
    bob.expect_lines(&["JOIN #r bob", "NAMES #r alice bob", "OK JOIN #r"]);
    alice.expect("JOIN #r bob");
    alice.send("Msg hi");
    alice.expect("OK MSG #r");
    bob.expect("MSG #r alice hi");
    alice.send("privMSG bob yo");
    alice.expect("OK PRIVMSG bob");
    bob.expect("PRIVMSG alice yo");
    alice.send("NaMeS r");
    alice.expect_lines(&["NAMES #r alice bob", "OK NAMES #r 2"]);
    alice.send("LiSt");
    alice.expect_lines(&["ROOM #r 2 no", "OK LIST 1"]);
    alice.send("Topic r t");
    alice.expect_lines(&["TOPIC #r alice t", "OK TOPIC #r t"]);
    bob.expect("TOPIC #r alice t");
    alice.send("history r");
    alice.expect("OK HISTORY #r 0");
    alice.send("kick r bob");
    alice.expect_lines(&["KICK #r bob alice", "OK KICK #r bob"]);
    bob.expect("KICK #r bob alice");
    alice.send("Part r");
    alice.expect("OK PART #r");
    alice.send("pInG x");
    alice.expect("PONG x");
    alice.send("Quit");
    alice.expect("OK QUIT");
    alice.expect_closed();
    bob.sync();
}

#[test]
fn replies_come_in_command_order_when_pipelined() {
    let server = server();
    let addr = server.addr();
    let mut bob = Client::join(addr, "bob", "#r");
    let mut alice = Client::register(addr, "alice");
    alice.send_bytes(
        b"JOIN #r\nMSG one\nNAMES #r\nPRIVMSG bob two\nNAMES #none\nTOPIC #r\nLIST\nINFO #r\n\
          HISTORY #r\nFETCH x\nPING p\nHELP quit\nNICK alicia\nPART #r\nMSG nowhere\n",
    );
    alice.expect_lines(&[
        "JOIN #r alice",
        "NAMES #r alice bob",
        "OK JOIN #r",
        "OK MSG #r",
        "NAMES #r alice bob",
        "OK NAMES #r 2",
        "OK PRIVMSG bob",
    ]);
    expect_err(&mut alice, "NAMES", "NO_SUCH_ROOM");
    alice.expect_lines(&["OK TOPIC #r", "ROOM #r 2 no", "OK LIST 1"]);
    let info = alice.read_until_prefix("OK INFO");
    assert_eq!(info.len(), 7, "{info:?}");
    assert_eq!(info[6], "OK INFO #r");
    alice.expect("OK HISTORY #r 0");
    expect_err(&mut alice, "FETCH", "NO_SUCH_FILE");
    alice.expect("PONG p");
    let l = alice.line();
    assert!(l.starts_with("HELP QUIT "), "{l:?}");
    alice.expect_lines(&[
        "OK HELP",
        "NICK alice alicia",
        "OK NICK alicia",
        "OK PART #r",
    ]);
    expect_err(&mut alice, "MSG", "NOT_IN_ROOM");
    alice.sync();

    bob.expect_lines(&[
        "JOIN #r alice",
        "MSG #r alice one",
        "PRIVMSG alice two",
        "NICK alice alicia",
        "PART #r alicia",
    ]);
    bob.sync();
}
