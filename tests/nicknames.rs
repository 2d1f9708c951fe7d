//! Nicknames beyond ASCII over the native protocol (docs/PROTOCOL.md,
//! "Names"): `Zoë` is a nickname others see in their lines; `ZOË` and
//! `Zoe` + U+0308 are the same nickname; `аlice` with a Cyrillic `а` looks
//! like `alice` and cannot be held beside it. Real server on 127.0.0.1:0,
//! several raw clients, exact lines.

mod common;
use common::*;

use std::net::SocketAddr;

/// No flood control and no history: exact lines without `HISTORY`.
const PLAIN: &str =
    "[limits]\nflood_burst = 10000\nflood_rate_per_sec = 10000\n[history]\nenabled = false";

/// Sends `line` and asserts `ERR <verb> <code> <text>`.
fn send_err(c: &mut Client, line: &str, verb: &str, code: &str) {
    c.send(line);
    let got = c.line();
    let prefix = format!("ERR {verb} {code} ");
    assert!(
        got.starts_with(&prefix) && got.len() > prefix.len(),
        "[{}] {line:?}: wanted {prefix:?}..., got {got:?}",
        c.name
    );
}

fn anon(addr: SocketAddr, label: &str) -> Client {
    let mut c = Client::connect(addr);
    c.name = label.to_string();
    c
}

#[test]
fn a_unicode_nickname_is_seen_in_others_lines_and_folds() {
    let server = start(PLAIN);
    let addr = server.addr();
    let mut bob = Client::join(addr, "bob", "#r");

    let mut zoe = anon(addr, "zoe");
    zoe.send("NICK Zoë");
    zoe.expect("OK NICK Zoë");
    zoe.send("JOIN #r");
    zoe.expect_lines(&["JOIN #r Zoë", "NAMES #r bob Zoë", "OK JOIN #r"]);
    bob.expect("JOIN #r Zoë");

    zoe.send("MSG #r grüß dich");
    zoe.expect("OK MSG #r");
    bob.expect("MSG #r Zoë grüß dich");

    // Named in any case or composition, the holder is found and named as
    // she spells it.
    for spelled in ["ZOË", "zoe\u{308}"] {
        bob.send(&format!("PRIVMSG {spelled} psst"));
        bob.expect("OK PRIVMSG Zoë");
        zoe.expect("PRIVMSG bob psst");
    }

    // The same nickname in another case, or decomposed, is in use.
    let mut other = anon(addr, "other");
    other.send("NICK ZOË");
    other.expect("ERR NICK NICK_IN_USE ZOË is already taken");
    for taken in ["NICK ZOË", "NICK zoë", "NICK Zoe\u{308}", "NICK ZOE\u{308}"] {
        send_err(&mut other, taken, "NICK", "NICK_IN_USE");
    }

    // Her own change of case is announced like any change.
    zoe.send("NICK ZOË");
    zoe.expect_lines(&["NICK Zoë ZOË", "OK NICK ZOË"]);
    bob.expect("NICK Zoë ZOË");
    bob.send("NAMES #r");
    bob.expect_lines(&["NAMES #r bob ZOË", "OK NAMES #r 2"]);

    zoe.sync();
    bob.sync();
    other.sync();
}

#[test]
fn a_look_alike_of_a_nickname_in_use_is_in_use() {
    let server = start(PLAIN);
    let addr = server.addr();
    let mut alice = Client::join(addr, "alice", "#r");
    let mut mallory = anon(addr, "mallory");
    for alike in [
        "NICK аlice",  // Cyrillic а
        "NICK aIice",  // capital I
        "NICK a|ice",  // a bar
        "NICK Ａlice", // fullwidth: the same folded key as alice
    ] {
        send_err(&mut mallory, alike, "NICK", "NICK_IN_USE");
    }
    // The example in docs/PROTOCOL.md (NICK), line for line.
    mallory.send("NICK аlice");
    mallory.expect("ERR NICK NICK_IN_USE аlice is already taken");
    mallory.send("NICK Zoë™");
    mallory.expect("ERR NICK BAD_NICK invalid nickname: character '™' is not allowed in a name");
    // Fullwidth letters are shown at their usual width.
    mallory.send("NICK Ｍallory");
    mallory.expect("OK NICK Mallory");
    mallory.name = "Mallory".into();
    send_err(&mut mallory, "NICK аlice", "NICK", "NICK_IN_USE");

    // Once alice is gone her look is free.
    alice.send("QUIT");
    alice.expect("OK QUIT");
    alice.expect_closed();
    mallory.send("NICK аlice");
    mallory.expect_lines(&["NICK Mallory аlice", "OK NICK аlice"]);
    // And now the Latin alice is the look-alike.
    let mut late = anon(addr, "late");
    send_err(&mut late, "NICK alice", "NICK", "NICK_IN_USE");
    late.send("NICK alicia");
    late.expect("OK NICK alicia");
    mallory.sync();
    late.sync();
}

#[test]
fn unicode_nicknames_that_are_refused() {
    let server = start(PLAIN);
    let addr = server.addr();
    let mut c = anon(addr, "c");
    for bad in [
        "Zoë\u{202e}", // a bidi control
        "Zo\u{200b}ë", // a zero-width space
        "Zoë\u{85}",   // a C1 control
        "ﬁnn",         // a compatibility ligature
        "Zoë™",        // a symbol
        "dolph🐬n",    // an emoji
        "Zoë＃",       // a fullwidth #
        "３Zoë",       // a fullwidth digit first
        "Zoëא",        // against the bidi rule
    ] {
        send_err(&mut c, &format!("NICK {bad}"), "NICK", "BAD_NICK");
    }
    // 25 characters (50 bytes) are too long; 24 are a nickname.
    send_err(
        &mut c,
        &format!("NICK {}", "é".repeat(25)),
        "NICK",
        "BAD_NICK",
    );
    let longest = "é".repeat(24);
    c.send(&format!("NICK {longest}"));
    c.expect(&format!("OK NICK {longest}"));
    // Where a command names a user, an invalid nickname is no such user.
    send_err(&mut c, "PRIVMSG Zoë™ hi", "PRIVMSG", "NO_SUCH_NICK");
    c.sync();
}

#[test]
fn a_unicode_owner_and_sender_survive_a_restart() {
    let config = "[limits]\nflood_burst = 10000\nflood_rate_per_sec = 10000";
    let server = start(config);
    let addr = server.addr();
    let mut zoe = Client::join(addr, "Zoë", "#z");
    zoe.send("MSG #z kept");
    zoe.expect("OK MSG #z");
    let data = server.shutdown();
    zoe.expect("SERVER shutting down");
    zoe.expect_closed();

    let mut toml = chatroom::config::Config::from_toml(config).unwrap();
    toml.server.listen = "127.0.0.1:0".into();
    let server = start_config(toml, Some(data));
    let addr = server.addr();
    let mut bob = Client::register(addr, "bob");
    bob.send("JOIN #z");
    let reply = bob.read_until_prefix("OK JOIN #z");
    assert_eq!(reply.len(), 4, "{reply:?}");
    assert_eq!(reply[..2], ["JOIN #z bob", "NAMES #z bob"]);
    assert!(
        reply[2].starts_with("HISTORY #z ") && reply[2].ends_with(" Zoë kept"),
        "{reply:?}"
    );
    bob.send("INFO #z");
    let info = bob.read_until_prefix("OK INFO #z");
    assert!(info.contains(&"INFO #z owner Zoë".to_string()), "{info:?}");

    // The stored owner is matched by its folded key: ZOË owns #z.
    let mut zoe = Client::join(addr, "ZOË", "#z");
    bob.expect("JOIN #z ZOË");
    zoe.send("KICK #z bob");
    zoe.expect_lines(&["KICK #z bob ZOË", "OK KICK #z bob"]);
    bob.expect("KICK #z bob ZOË");
    zoe.sync();
    bob.sync();
}
