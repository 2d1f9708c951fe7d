//! NAMES, LIST, INFO, TOPIC, PING, PONG and HELP.

use super::*;

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
