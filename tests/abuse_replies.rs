//! Large replies and room limits end to end: replies far larger than a
//! connection's send queue (HISTORY, LIST, NAMES, WHO, CHATHISTORY) reach
//! the client whole, with their final reply, and the connection lives;
//! rooms are bounded in number and in creation rate, and empty rooms
//! expire. Against a real server on 127.0.0.1:0.

mod common;

use common::irc::{Irc, SERVER};
use common::*;

/// Flood control lifted: the tests send thousands of lines at once.
const NO_FLOOD: &str = "[limits]\nflood_burst = 1000000\nflood_rate_per_sec = 1000000\n";

/// Flood control and the room limits lifted: one client makes thousands
/// of rooms.
const NO_ROOM_LIMITS: &str = "[limits]\nflood_burst = 1000000\nflood_rate_per_sec = 1000000\n\
    max_rooms = 100000\nroom_creates_burst = 100000\nroom_creates_per_min = 1000000\n\
    room_creates_per_ip_burst = 100000\nroom_creates_per_ip_per_min = 1000000\n";

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
fn past_the_large_replies_budget_a_reply_counts_against_the_send_queue() {
    // No budget at all: every reply is queued as it comes, and one four
    // times the send queue overflows it, as before pacing.
    let server = start(&format!("{NO_FLOOD}large_replies_bytes = 0\n"));
    let mut alice = Client::join(server.addr(), "alice", "#big");
    fill_room(&mut alice, "#big", 500, 1900);
    alice.send("HISTORY #big 500");
    alice.expect("SERVER send queue exceeded");
    alice.expect_closed();
    // A reply within the queue is answered as ever.
    let mut bob = Client::join(server.addr(), "bob", "#big");
    bob.send("HISTORY #big 2");
    bob.read_until_prefix("OK HISTORY #big 2");
}

#[test]
fn list_of_twenty_thousand_rooms_arrives_whole() {
    let server = start(NO_ROOM_LIMITS);
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

/// Reads the `353` lines of `chan` for `me` up to its `366`: the nicknames.
fn names_of(c: &mut Irc, me: &str, chan: &str) -> Vec<String> {
    let prefix = format!(":{SERVER} 353 {me} = {chan} :");
    let mut nicks = Vec::new();
    for l in c.until_numeric("366") {
        if let Some(rest) = l.strip_prefix(&prefix) {
            nicks.extend(rest.split(' ').map(str::to_string));
        } else {
            assert_eq!(l, format!(":{SERVER} 366 {me} {chan} :End of /NAMES list"));
        }
    }
    nicks
}

#[test]
fn irc_list_who_names_and_chathistory_on_big_data_complete() {
    // A small send queue: every answer below is several times its size.
    let server = start(&format!("{NO_ROOM_LIMITS}sendq_bytes = 16384\n"));
    let crowd: Vec<Client> = (0..300)
        .map(|n| Client::join(server.addr(), &format!("crowd_member_{n:04}"), "#crowd"))
        .collect();
    let mut maker = Client::register(server.addr(), "maker");
    let mut all = String::new();
    for n in 0..1000 {
        all.push_str(&format!("JOIN #room_{n:04}\nPART #room_{n:04}\n"));
    }
    maker.send_bytes(all.as_bytes());
    for n in 0..1000 {
        maker.read_until_prefix(&format!("OK JOIN #room_{n:04}"));
        maker.expect(&format!("OK PART #room_{n:04}"));
    }
    let mut talker = Client::join(server.addr(), "talker", "#talk");
    fill_room(&mut talker, "#talk", 100, 400);

    let mut me = Irc::connect(server.irc_addr());
    me.name = "asker".into();
    me.send("CAP REQ :batch");
    me.expect(&format!(":{SERVER} CAP * ACK :batch"));
    me.send("NICK asker\r\nUSER asker 0 * :Real asker\r\nCAP END");
    me.until_numeric("422");

    // JOIN: the listing of 301 members.
    me.send("JOIN #crowd");
    me.expect(":asker!~asker@irc JOIN #crowd");
    let mut want: Vec<String> = vec!["asker".into(), "@crowd_member_0000".into()];
    want.extend((1..300).map(|n| format!("crowd_member_{n:04}")));
    assert_eq!(names_of(&mut me, "asker", "#crowd"), want);

    // WHO and LIST sent together: answered whole, in order.
    me.send("WHO #crowd\r\nLIST");
    me.expect(&format!(
        ":{SERVER} 352 asker #crowd ~asker irc chatroom asker H :0 Real asker"
    ));
    for n in 0..300 {
        let (nick, op) = (
            format!("crowd_member_{n:04}"),
            if n == 0 { "@" } else { "" },
        );
        me.expect(&format!(
            ":{SERVER} 352 asker #crowd native native chatroom {nick} H{op} :0 {nick}"
        ));
    }
    me.expect(&format!(":{SERVER} 315 asker #crowd :End of WHO list"));
    me.expect(&format!(":{SERVER} 321 asker Channel :Users  Name"));
    me.expect(&format!(":{SERVER} 322 asker #crowd 301 :"));
    for n in 0..1000 {
        me.expect(&format!(":{SERVER} 322 asker #room_{n:04} 0 :"));
    }
    me.expect(&format!(":{SERVER} 322 asker #talk 1 :"));
    me.expect(&format!(":{SERVER} 323 asker :End of /LIST"));

    // JOIN's replay (20 messages) and CHATHISTORY (100 messages of 400
    // bytes: more than twice the queue).
    me.send("JOIN #talk");
    me.expect(":asker!~asker@irc JOIN #talk");
    assert_eq!(names_of(&mut me, "asker", "#talk"), ["asker", "@talker"]);
    let said = |batch: &str, n: usize| {
        format!("@batch={batch} :talker PRIVMSG #talk :{}", text_of(n, 400))
    };
    me.expect(&format!(":{SERVER} BATCH +h1 chathistory #talk"));
    for n in 80..100 {
        me.expect(&said("h1", n));
    }
    me.expect(&format!(":{SERVER} BATCH -h1"));
    me.send("CHATHISTORY LATEST #talk * 100\r\nNAMES #crowd");
    me.expect(&format!(":{SERVER} BATCH +h2 chathistory #talk"));
    for n in 0..100 {
        me.expect(&said("h2", n));
    }
    me.expect(&format!(":{SERVER} BATCH -h2"));
    assert_eq!(names_of(&mut me, "asker", "#crowd"), want);
    me.sync();
    talker.expect("JOIN #talk asker");
    talker.sync();
    drop(crowd);
}

#[test]
fn no_room_is_created_past_max_rooms() {
    let server = start(&NO_ROOM_LIMITS.replace("max_rooms = 100000", "max_rooms = 3"));
    let mut a = Client::register(server.addr(), "alice");
    for room in ["#a", "#b", "#c"] {
        a.send(&format!("JOIN {room}"));
        a.read_until_prefix(&format!("OK JOIN {room}"));
    }
    a.send("JOIN #d");
    a.expect(
        "ERR JOIN SERVER_ROOMS_FULL #d does not exist and the server has as many rooms \
         as it allows: join an existing one",
    );
    // Rooms that exist can still be joined, by anyone.
    let mut b = Client::register(server.addr(), "bob");
    b.send("JOIN #a");
    b.expect("JOIN #a bob");
    b.expect("NAMES #a alice bob");
    b.expect("OK JOIN #a");
    a.expect("JOIN #a bob");
    let mut irc = Irc::register(server.irc_addr(), "ian");
    irc.send("JOIN #e");
    irc.expect(&format!(
        ":{SERVER} 437 ian #e :Cannot create channel: the server has too many channels"
    ));
    irc.sync();
    a.sync();
}

#[test]
fn rooms_are_created_at_a_bounded_rate_per_connection_and_per_address() {
    let server = start(&format!(
        "{NO_FLOOD}room_creates_burst = 2\nroom_creates_per_min = 0.001\n\
         room_creates_per_ip_burst = 3\nroom_creates_per_ip_per_min = 0.001\n"
    ));
    let mut a = Client::register(server.addr(), "alice");
    for room in ["#a1", "#a2"] {
        a.send(&format!("JOIN {room}"));
        a.read_until_prefix(&format!("OK JOIN {room}"));
    }
    a.send("JOIN #a3");
    a.expect(
        "ERR JOIN RATE_LIMITED #a3 does not exist and you are creating rooms too fast: \
         try again later",
    );
    // Another connection from the same address: the address has one left.
    let mut b = Client::register(server.addr(), "bob");
    b.send("JOIN #b1");
    b.read_until_prefix("OK JOIN #b1");
    b.send("JOIN #b2");
    b.expect(
        "ERR JOIN RATE_LIMITED #b2 does not exist and you are creating rooms too fast: \
         try again later",
    );
    // Joining a room that exists creates nothing: always allowed.
    b.send("JOIN #a1");
    b.read_until_prefix("OK JOIN #a1");
    let mut irc = Irc::register(server.irc_addr(), "ian");
    irc.send("JOIN #c1");
    irc.expect(&format!(
        ":{SERVER} 263 ian JOIN :Please wait a while and try again."
    ));
    irc.sync();
}

/// `INFO rooms <n>` as `c` sees it now.
fn rooms_now(c: &mut Client) -> String {
    c.send("INFO");
    c.read_until_prefix("OK INFO")
        .into_iter()
        .find(|l| l.starts_with("INFO rooms "))
        .expect("an INFO rooms line")
}

/// Polls INFO until it says `want` rooms, for at most five seconds.
fn wait_for_rooms(c: &mut Client, want: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let got = rooms_now(c);
        if got == format!("INFO rooms {want}") {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "still {got:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn empty_rooms_that_never_held_anything_expire_from_memory_and_disk() {
    let toml = format!("{NO_ROOM_LIMITS}[history]\nempty_room_secs = 1\n");
    let server = start(&toml);
    let mut a = Client::register(server.addr(), "alice");
    // Three rooms left empty: one never used, one with a message, one
    // with a topic. Only the first is worth nothing.
    a.send("JOIN #tmp\nPART #tmp");
    a.read_until_prefix("OK JOIN #tmp");
    a.expect("OK PART #tmp");
    a.send("JOIN #said\nMSG #said hello\nPART #said");
    a.read_until_prefix("OK JOIN #said");
    a.expect("OK MSG #said");
    a.expect("OK PART #said");
    a.send("JOIN #topic\nTOPIC #topic kept\nPART #topic");
    a.read_until_prefix("OK JOIN #topic");
    a.expect("TOPIC #topic alice kept");
    a.expect("OK TOPIC #topic kept");
    a.expect("OK PART #topic");
    a.send("JOIN #locked sesame\nPART #locked");
    a.read_until_prefix("OK JOIN #locked");
    a.expect("OK PART #locked");
    // And one in use, never expired, however long.
    a.send("JOIN #used");
    a.read_until_prefix("OK JOIN #used");
    assert_eq!(rooms_now(&mut a), "INFO rooms 5");
    wait_for_rooms(&mut a, "4");
    a.send("LIST");
    a.expect_lines(&[
        "ROOM #locked 0 yes",
        "ROOM #said 0 no",
        "ROOM #topic 0 no kept",
        "ROOM #used 1 no",
        "OK LIST 4",
    ]);
    // Made again by the next JOIN, as new.
    a.send("JOIN #tmp");
    a.expect("JOIN #tmp alice");
    a.expect("NAMES #tmp alice");
    a.expect("OK JOIN #tmp");
    a.send("PART #tmp");
    a.expect("OK PART #tmp");
    wait_for_rooms(&mut a, "4");
    drop(a);
    // Gone from the database too: not back after a restart.
    let data = server.shutdown();
    let mut config = chatroom::config::Config::from_toml(&toml).unwrap();
    config.server.listen = "127.0.0.1:0".into();
    let server = start_config(config, Some(data));
    let mut b = Client::register(server.addr(), "bob");
    b.send("LIST");
    b.expect_lines(&[
        "ROOM #locked 0 yes",
        "ROOM #said 0 no",
        "ROOM #topic 0 no kept",
        "ROOM #used 0 no",
        "OK LIST 4",
    ]);
}
