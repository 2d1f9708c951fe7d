//! JOIN, PART and KICK.

use super::*;

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
    let (mut alice, mut bob, mut carol) = trio(addr, "#r");
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
// KICK
// ---------------------------------------------------------------------------

#[test]
fn kick_removes_a_member() {
    let server = server();
    let addr = server.addr();
    let (mut alice, mut bob, mut carol) = trio(addr, "#r");
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
