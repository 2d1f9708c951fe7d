//! QUIT, dropped connections, and syntax errors of every shape.

use super::*;

// ---------------------------------------------------------------------------
// QUIT and dropped connections
// ---------------------------------------------------------------------------

#[test]
fn quit_is_announced_once_to_everyone_sharing_a_room() {
    let server = server();
    let addr = server.addr();
    let (mut alice, mut bob, mut carol) = sharing_two_rooms(addr);
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
