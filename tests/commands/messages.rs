//! MSG, PRIVMSG, and HISTORY and FETCH without storage.

use super::*;

// ---------------------------------------------------------------------------
// MSG
// ---------------------------------------------------------------------------

#[test]
fn msg_to_a_room_reaches_the_other_members_only() {
    let server = server();
    let addr = server.addr();
    let (mut alice, mut bob, mut carol) = trio(addr, "#r");
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
