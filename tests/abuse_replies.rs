//! Large replies and room limits end to end: replies far larger than a
//! connection's send queue (HISTORY, LIST, NAMES, WHO, CHATHISTORY) reach
//! the client whole, with their final reply, and the connection lives;
//! rooms are bounded in number and in creation rate, and empty rooms
//! expire. Against a real server on 127.0.0.1:0.

mod common;

use common::*;

/// Flood control lifted: the tests send thousands of lines at once.
const NO_FLOOD: &str = "[limits]\nflood_burst = 1000000\nflood_rate_per_sec = 1000000\n";

/// A message text of `len` bytes, numbered so that lines can be told apart.
fn text_of(n: usize, len: usize) -> String {
    let head = format!("m{n:04} ");
    format!("{head}{}", "x".repeat(len - head.len()))
}

/// Says `count` messages of `len` bytes in `room`, all pipelined, and
/// reads their `OK MSG`s.
fn fill_room(c: &mut Client, room: &str, count: usize, len: usize) {
    let mut all = String::new();
    for n in 0..count {
        all.push_str(&format!("MSG {room} {}\n", text_of(n, len)));
    }
    c.send_bytes(all.as_bytes());
    for _ in 0..count {
        c.expect(&format!("OK MSG {room}"));
    }
}

#[test]
fn history_far_larger_than_the_send_queue_arrives_whole() {
    // 500 messages of 1,900 bytes: about 1 MB, four times the default
    // send queue (262144 bytes).
    let server = start(NO_FLOOD);
    let mut alice = Client::join(server.addr(), "alice", "#big");
    fill_room(&mut alice, "#big", 500, 1900);
    let mut bob = Client::join(server.addr(), "bob", "#big");
    alice.expect("JOIN #big bob");
    // A command sent behind it is answered after it, in order.
    bob.send("HISTORY #big 500\nPING after");
    for n in 0..500 {
        let line = bob.line();
        let want_end = format!(" alice {}", text_of(n, 1900));
        assert!(
            line.starts_with("HISTORY #big ") && line.ends_with(&want_end),
            "line {n}: {:?}",
            &line[..line.len().min(80)]
        );
    }
    bob.expect("OK HISTORY #big 500");
    bob.expect("PONG after");
    bob.sync();
    // The other members are not held up meanwhile.
    alice.sync();
}

#[test]
fn list_of_twenty_thousand_rooms_arrives_whole() {
    let server = start(NO_FLOOD);
    let mut maker = Client::register(server.addr(), "maker");
    // Each room is made by JOIN and left by PART (its maker owns it, so it
    // is listed while it lasts).
    let mut all = String::new();
    for n in 0..20_000 {
        all.push_str(&format!("JOIN #r{n:05}\nPART #r{n:05}\n"));
    }
    maker.send_bytes(all.as_bytes());
    for n in 0..20_000 {
        maker.read_until_prefix(&format!("OK JOIN #r{n:05}"));
        maker.expect(&format!("OK PART #r{n:05}"));
    }
    let mut reader = Client::register(server.addr(), "reader");
    reader.send("LIST\nPING after");
    for n in 0..20_000 {
        reader.expect(&format!("ROOM #r{n:05} 0 no"));
    }
    reader.expect("OK LIST 20000");
    reader.expect("PONG after");
    reader.send("INFO");
    let info = reader.read_until_prefix("OK INFO");
    assert!(info.contains(&"INFO rooms 20000".to_string()), "{info:?}");
}
